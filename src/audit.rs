//! The audit: inputs and options → report and per-record scores. The one place that walks the
//! pipeline data → model → signals → attacks → metrics → report.
//!
//! Rows are handled in one order throughout: members, then non-members, then the population
//! file (the order of a user's membership matrix). When no population file is given and an
//! attack needs one, part of the non-members is held out as population.

use crate::attacks::{AttackKind, Mode, ModelSignals, ReferenceSet, Scores};
use crate::backend::{self, Backend, BackendChoice};
use crate::data::{self, DataSource, InputFile, Table, TableOptions};
use crate::error::{AuditError, Result};
use crate::metrics::{Histogram, RocCurve};
use crate::model::{OnnxModel, Rng, TrainSettings};
use crate::report::{self, AttackResult, AuditReport, DataInfo, ModelInfo, ReferenceInfo, ReferenceModelInfo, RocPoints, ScoreTable, ToolInfo};
use crate::signals::{self, Logits, OutputKind, Signals};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Reference mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceMode {
    /// References never see the candidates (trained on population data only).
    #[default]
    Offline,
    /// Each candidate is in the training set of half of the references.
    Online,
}

/// The word `"tune"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tune {
    /// Tune the parameter.
    Tune,
}

/// Offline RMIA's `a`: a number in [0, 1], or `"tune"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RmiaA {
    /// A fixed value.
    Value(f64),
    /// Tuned on a reference model treated as the target.
    Tune(Tune),
}

/// Options of an audit. Unknown keys are an error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AuditOptions {
    /// CSV label column. Default: `"label"`.
    pub label_column: String,
    /// CSV column to ignore (record ids). Default: none.
    pub id_column: Option<String>,
    /// Features are fed to the model as `x * scale + shift`. Default: 1.
    pub scale: f64,
    /// See `scale`. Default: 0.
    pub shift: f64,
    /// Attacks to run, by name; `threshold`, `lira` and `rmia` stand for their variants.
    /// Default: the four threshold attacks.
    pub attacks: Vec<String>,
    /// Where the model runs. Default: `auto`.
    pub backend: BackendChoice,
    /// Outputs-only mode: how to read the outputs. Default: `auto` (detect probabilities).
    pub outputs: OutputKind,
    /// Number of reference models to train. Default: 4.
    pub references: usize,
    /// Reference mode. Default: offline.
    pub mode: ReferenceMode,
    /// Seed of every random choice (hold-out, reference data splits, initialisation, batches).
    pub seed: u64,
    /// How references are trained.
    pub training: TrainSettings,
    /// Offline RMIA's `a`. Default: `"tune"`.
    pub rmia_a: RmiaA,
    /// RMIA's γ. Default: 1.
    pub rmia_gamma: f64,
    /// Share of the non-members held out as population when no population file is given.
    /// Default: 0.5.
    pub holdout: f64,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            label_column: "label".into(),
            id_column: None,
            scale: 1.0,
            shift: 0.0,
            attacks: AttackKind::THRESHOLD.iter().map(|a| a.name().to_string()).collect(),
            backend: BackendChoice::Auto,
            outputs: OutputKind::Auto,
            references: 4,
            mode: ReferenceMode::Offline,
            seed: 0,
            training: TrainSettings::default(),
            rmia_a: RmiaA::Tune(Tune::Tune),
            rmia_gamma: 1.0,
            holdout: 0.5,
        }
    }
}

/// The audited model: an ONNX file, or its outputs given in the data files.
#[derive(Clone, Debug)]
pub enum Target {
    /// An ONNX model (and its external weights, if any); the data files hold features.
    Model {
        /// The `.onnx` file.
        model: InputFile,
        /// Its external weights (`.onnx.data`).
        model_data: Option<InputFile>,
    },
    /// No model: the data files hold its outputs (logits or probabilities) and labels.
    Outputs,
}

/// Reference models given by the user instead of trained.
#[derive(Clone, Debug, Default)]
pub struct ReferenceInput {
    /// Reference ONNX models (with external weights when they have them).
    pub models: Vec<(InputFile, Option<InputFile>)>,
    /// Or the references' outputs on every row (members, non-members, population).
    pub outputs: Vec<DataSource>,
    /// Which reference trained on which row: `rows × K` of 0/1.
    pub membership: Option<InputFile>,
}

/// What to audit.
#[derive(Clone, Debug)]
pub struct AuditInput {
    /// The audited model.
    pub target: Target,
    /// Records the model was trained on (features, or outputs in outputs-only mode).
    pub members: DataSource,
    /// Records from the same distribution it never saw.
    pub nonmembers: DataSource,
    /// Records from the same distribution in neither set.
    pub population: Option<DataSource>,
    /// References to use instead of training them.
    pub references: ReferenceInput,
    /// Trained references kept from an earlier run (see [`reference_cache_key`]); used when
    /// their key matches this run's, else ignored.
    pub cached_references: Option<Vec<u8>>,
}

impl AuditInput {
    /// Audit an ONNX model on feature files.
    pub fn model(model: InputFile, model_data: Option<InputFile>, members: DataSource, nonmembers: DataSource) -> Self {
        Self {
            target: Target::Model { model, model_data },
            members,
            nonmembers,
            population: None,
            references: ReferenceInput::default(),
            cached_references: None,
        }
    }

    /// Audit a model's outputs.
    pub fn outputs(members: DataSource, nonmembers: DataSource) -> Self {
        Self { target: Target::Outputs, members, nonmembers, population: None, references: ReferenceInput::default(), cached_references: None }
    }

    /// The same input with a population file.
    #[must_use]
    pub fn with_population(mut self, population: DataSource) -> Self {
        self.population = Some(population);
        self
    }
}

/// A progress event: a stage name, the fraction of the whole audit done, and a message.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    /// "read", "model", "device", "inference", "train", "references", "attacks" or "done".
    pub stage: &'static str,
    /// 0..=1.
    pub fraction: f64,
    /// Human-readable detail.
    pub message: String,
}

/// The audit's results.
#[derive(Clone, Debug)]
pub struct AuditOutput {
    /// The report.
    pub report: AuditReport,
    /// Per-record scores.
    pub scores: ScoreTable,
    /// Freshly trained references to keep: `(key, bytes)` for [`AuditInput::cached_references`].
    pub reference_cache: Option<(String, Vec<u8>)>,
}

/// Trained references as kept between runs.
#[derive(Serialize, Deserialize)]
struct CachedReferences {
    key: String,
    classes: usize,
    logits: Vec<Vec<f32>>,
    member: Vec<Vec<bool>>,
    models: Vec<ReferenceModelInfo>,
    training_seconds: f64,
}

/// 128-bit FNV-1a (two 64-bit lanes with different bases) over length-prefixed parts.
struct KeyHasher([u64; 2]);

impl KeyHasher {
    fn part(&mut self, b: &[u8]) {
        for chunk in [&(b.len() as u64).to_le_bytes()[..], b] {
            for &x in chunk {
                for (lane, prime) in self.0.iter_mut().zip([0x0000_0100_0000_01B3u64, 0x0000_0100_0000_01B3]) {
                    *lane = (*lane ^ u64::from(x)).wrapping_mul(prime);
                }
                self.0[1] = self.0[1].rotate_left(5);
            }
        }
    }
}

/// The key under which this run's trained references are kept: a hash of every input file and
/// of every option that changes the references (scale, shift, columns, hold-out, backend, K,
/// mode, seed, training settings). `None` when the run trains no references.
pub fn reference_cache_key(input: &AuditInput, opts: &AuditOptions) -> Option<String> {
    let kinds = AttackKind::parse_list(&opts.attacks, opts.mode == ReferenceMode::Online).ok()?;
    let byo = !input.references.models.is_empty() || !input.references.outputs.is_empty();
    let Target::Model { model, model_data } = &input.target else {
        return None;
    };
    if byo || !kinds.iter().any(|k| k.needs_references()) {
        return None;
    }
    let mut h = KeyHasher([0xcbf2_9ce4_8422_2325, 0x6c62_272e_07bb_0142]);
    h.part(b"privaudit references v1");
    h.part(env!("CARGO_PKG_VERSION").as_bytes());
    for f in [Some(model), model_data.as_ref()] {
        h.part(f.map_or(&[][..], |f| &f.bytes));
    }
    for src in [Some(&input.members), Some(&input.nonmembers), input.population.as_ref()] {
        h.part(src.map_or(&[][..], |s| &s.file.bytes));
        h.part(src.and_then(|s| s.labels.as_ref()).map_or(&[][..], |l| &l.bytes));
    }
    let settings = serde_json::json!([
        opts.label_column,
        opts.id_column,
        opts.scale,
        opts.shift,
        opts.backend,
        opts.references,
        opts.mode,
        opts.seed,
        opts.training,
        opts.holdout
    ]);
    h.part(settings.to_string().as_bytes());
    Some(format!("{:016x}{:016x}", h.0[0], h.0[1]))
}

/// Offline RMIA's `a` when it cannot be tuned (said in the report's warnings).
const RMIA_A_FALLBACK: f64 = 0.3;

/// Milliseconds on a monotonic-enough clock (`Date.now()` on wasm, where `Instant` panics).
fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_family = "wasm"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Every row's data: the three files' tables and, with a model, their logits.
struct Rows {
    tables: Vec<Table>,
    logits: Logits,
    labels: Vec<usize>,
}

impl Rows {
    fn count(&self) -> usize {
        self.labels.len()
    }

    /// Feature values of the rows in `idx` (row-major) — model mode only.
    fn features(&self, idx: &[usize]) -> Vec<f64> {
        let mut out = Vec::new();
        for &i in idx {
            let (t, r) = self.locate(i);
            out.extend_from_slice(self.tables[t].row(r));
        }
        out
    }

    fn all_features(&self) -> Vec<f64> {
        self.tables.iter().flat_map(|t| t.values.iter().copied()).collect()
    }

    /// (table, row in it) of global row `i`.
    fn locate(&self, mut i: usize) -> (usize, usize) {
        for (k, t) in self.tables.iter().enumerate() {
            if i < t.rows {
                return (k, i);
            }
            i -= t.rows;
        }
        (self.tables.len() - 1, i)
    }
}

/// Run the model on every row of `tables`, reporting progress from `from` to `to`.
async fn model_logits(
    onnx: &OnnxModel,
    be: &Backend,
    values: &[f64],
    rows: usize,
    say: &mut dyn FnMut(&'static str, f64, String),
    (from, to): (f64, f64),
    what: &str,
) -> Result<Logits> {
    let prepared = onnx.prepare(&be.device)?;
    let (z, classes) =
        prepared.logits(values, rows, |d, n| say("inference", from + (to - from) * d as f64 / n as f64, format!("{what}: {d} of {n} records"))).await?;
    Ok(Logits::from_outputs(onnx.file(), z, rows, classes, OutputKind::Logits)?.0)
}

/// Run a whole audit.
///
/// # Errors
/// Any input problem, as an [`AuditError`] naming the file and place.
pub async fn run(input: AuditInput, opts: &AuditOptions, progress: &mut dyn FnMut(Progress)) -> Result<AuditOutput> {
    let cache_key = reference_cache_key(&input, opts);
    let mut reference_cache = None;
    let mut cached = false;
    let online = opts.mode == ReferenceMode::Online;
    let kinds = AttackKind::parse_list(&opts.attacks, online).map_err(|m| AuditError::option("attacks", m))?;
    let need_refs = kinds.iter().any(|k| k.needs_references());
    let need_pop = need_refs || kinds.iter().any(|k| k.needs_population());
    let byo = !input.references.models.is_empty() || !input.references.outputs.is_empty();
    if need_refs && !byo {
        opts.training.check()?;
        if opts.references < 2 || opts.references % 2 != 0 {
            return Err(AuditError::option(
                "references",
                format!("train an even number of reference models, at least 2, so every record is in exactly half of them (got {})", opts.references),
            ));
        }
    }
    if !(opts.holdout > 0.0 && opts.holdout < 1.0) {
        return Err(AuditError::option("holdout", format!("must be strictly between 0 and 1, got {}", opts.holdout)));
    }
    let topts = TableOptions { label_column: opts.label_column.clone(), id_column: opts.id_column.clone() };
    let mut say = |stage, fraction, message: String| progress(Progress { stage, fraction, message });
    let mut warnings = Vec::new();
    say("read", 0.0, "reading files".into());
    let mut tables = vec![data::read_table(&input.members, &topts)?, data::read_table(&input.nonmembers, &topts)?];
    let pop_given = match (&input.population, need_pop) {
        (Some(p), true) => {
            tables.push(data::read_table(p, &topts)?);
            true
        }
        (Some(p), false) => {
            warnings.push(format!("the population file {} was not used: none of the chosen attacks needs one", p.file.name));
            false
        }
        (None, _) => false,
    };

    // The target on every row.
    let mut backend_used: Option<Backend> = None;
    let (rows, model_info, features, onnx) = match &input.target {
        Target::Outputs => {
            let cols = tables[0].cols;
            for t in &tables[1..] {
                if t.cols != cols {
                    return Err(AuditError::ShapeMismatch {
                        file: t.file.clone(),
                        what: "number of output columns".into(),
                        expected: format!("{cols} (as in {})", tables[0].file),
                        actual: t.cols.to_string(),
                    });
                }
            }
            let mut kind = None;
            let mut values = Vec::new();
            for t in &tables {
                t.check_labels(cols)?;
                let (l, k) = Logits::from_outputs(&t.file, t.values.clone(), t.rows, t.cols, opts.outputs)?;
                if let Some(k0) = kind.filter(|&k0| k0 != k) {
                    return Err(AuditError::file(
                        &t.file,
                        format!("these outputs look like {k:?} but {}'s look like {k0:?}; set the outputs option", tables[0].file),
                    ));
                }
                kind = Some(k);
                values.extend(l.values);
            }
            let kind = if kind == Some(OutputKind::Probabilities) { "probabilities" } else { "logits" };
            let labels: Vec<usize> = tables.iter().flat_map(|t| t.labels.iter().copied()).collect();
            let logits = Logits { rows: labels.len(), values, classes: cols };
            let info = ModelInfo {
                format: "outputs".into(),
                opset: None,
                parameters: None,
                accuracy_members: 0.0,
                accuracy_nonmembers: 0.0,
                generalization_gap: 0.0,
                outputs: kind.into(),
            };
            (Rows { tables, logits, labels }, info, None, None)
        }
        Target::Model { model, model_data } => {
            say("model", 0.03, format!("parsing {}", model.name));
            let onnx = OnnxModel::parse(model, model_data.as_ref())?;
            let f = onnx.features();
            for t in &mut tables {
                if t.cols != f {
                    return Err(AuditError::ShapeMismatch {
                        file: t.file.clone(),
                        what: "number of feature columns".into(),
                        expected: format!("{f} (the input of {} is {:?} per record)", onnx.file(), onnx.input_shape),
                        actual: t.cols.to_string(),
                    });
                }
                t.scale_shift(opts.scale, opts.shift)?;
                if let Some(c) = onnx.classes {
                    t.check_labels(c)?;
                }
            }
            if need_refs && !byo {
                onnx.check_trainable()?;
            }
            say("device", 0.05, "initialising the compute device".into());
            let be = backend::select(opts.backend).await?;
            let labels: Vec<usize> = tables.iter().flat_map(|t| t.labels.iter().copied()).collect();
            let values: Vec<f64> = tables.iter().flat_map(|t| t.values.iter().copied()).collect();
            let end = if need_refs { 0.15 } else { 0.85 };
            let logits = model_logits(&onnx, &be, &values, labels.len(), &mut say, (0.06, end), "target model").await?;
            for t in &tables {
                t.check_labels(logits.classes)?;
            }
            let info = ModelInfo {
                format: "onnx".into(),
                opset: onnx.opset,
                parameters: Some(onnx.parameters),
                accuracy_members: 0.0,
                accuracy_nonmembers: 0.0,
                generalization_gap: 0.0,
                outputs: "logits".into(),
            };
            backend_used = Some(be);
            (Rows { tables, logits, labels }, info, Some(f), Some(onnx))
        }
    };
    let (n_mem, n_non) = (rows.tables[0].rows, rows.tables[1].rows);
    let total = rows.count();
    let classes = rows.logits.classes;
    let target_signals = signals::compute(&rows.logits, &rows.labels);

    // Candidates and population, as indices into the rows.
    let mut nonmember_idx: Vec<usize> = (n_mem..n_mem + n_non).collect();
    let mut population_idx: Vec<usize> = (n_mem + n_non..total).collect();
    let mut population_source = "file".to_string();
    if need_pop && !pop_given {
        if n_non < 2 {
            return Err(AuditError::option("population", "give a population file: there are too few non-members to hold some out"));
        }
        let held = ((n_non as f64 * opts.holdout).round() as usize).clamp(1, n_non - 1);
        let mut rng = Rng::new(opts.seed ^ 0x5EED_0F_D47A);
        let mut shuffled = nonmember_idx.clone();
        rng.shuffle(&mut shuffled);
        let mut taken: Vec<usize> = shuffled[..held].to_vec();
        taken.sort_unstable();
        nonmember_idx.retain(|i| taken.binary_search(i).is_err());
        population_idx = taken;
        population_source = format!("{held} of the {n_non} non-members held out (seeded) as population");
        warnings.push(format!("no population file: {held} of the {n_non} non-members were held out as population and are not audited"));
    }
    let candidate_idx: Vec<usize> = (0..n_mem).chain(nonmember_idx.iter().copied()).collect();
    let order: Vec<usize> = candidate_idx.iter().chain(&population_idx).copied().collect();
    let n_cand = candidate_idx.len();

    // References.
    let mut reference_info = None;
    let mut ref_set = None;
    if need_refs {
        let t0 = now_ms();
        let k_given = input.references.models.len().max(input.references.outputs.len());
        if !input.references.models.is_empty() && !input.references.outputs.is_empty() {
            return Err(AuditError::option("references", "give reference models or reference outputs, not both"));
        }
        let k = if byo { k_given } else { opts.references };
        let mut model_infos = Vec::new();
        let (ref_logits, member, source, membership_note): (Vec<Logits>, Vec<Vec<bool>>, &str, String) = if byo {
            let (member, note) = match &input.references.membership {
                Some(m) => (data::read_membership(m, total, k)?, format!("from {}", m.name)),
                None if online => return Err(AuditError::option("references", "online mode with your own references needs their membership matrix")),
                None => (vec![vec![false; total]; k], "none given: assumed that no reference trained on any audited or population record".into()),
            };
            let mut logits = Vec::new();
            if !input.references.outputs.is_empty() {
                for src in &input.references.outputs {
                    let t = data::read_table(src, &topts)?;
                    if t.rows != total || t.cols != classes {
                        return Err(AuditError::ShapeMismatch {
                            file: t.file.clone(),
                            what: "reference outputs".into(),
                            expected: format!("{total} rows (members, then non-members, then population) × {classes} classes"),
                            actual: format!("{} × {}", t.rows, t.cols),
                        });
                    }
                    if let Some(r) = (0..total).find(|&r| t.labels[r] != rows.labels[r]) {
                        return Err(AuditError::BadCell {
                            file: t.file.clone(),
                            row: r + 1,
                            column: opts.label_column.clone(),
                            message: format!(
                                "label {} but the audited record in this position has label {}; rows must be the members, then the non-members, then the population, in file order",
                                t.labels[r], rows.labels[r]
                            ),
                        });
                    }
                    logits.push(Logits::from_outputs(&t.file, t.values, t.rows, t.cols, opts.outputs)?.0);
                }
            } else {
                let (Some(_), Some(be)) = (&onnx, &backend_used) else {
                    return Err(AuditError::option(
                        "referenceModels",
                        "reference models need the records' features; in outputs-only mode give the references' outputs instead",
                    ));
                };
                let values = rows.all_features();
                for (i, (m, d)) in input.references.models.iter().enumerate() {
                    let r = OnnxModel::parse(m, d.as_ref())?;
                    if r.features() != rows.tables[0].cols {
                        return Err(AuditError::ShapeMismatch {
                            file: m.name.clone(),
                            what: "model input".into(),
                            expected: format!("{} features", rows.tables[0].cols),
                            actual: r.features().to_string(),
                        });
                    }
                    let span = (0.15 + 0.7 * i as f64 / k as f64, 0.15 + 0.7 * (i + 1) as f64 / k as f64);
                    let l = model_logits(&r, be, &values, total, &mut say, span, &format!("reference {}/{k}", i + 1)).await?;
                    if l.classes != classes {
                        return Err(AuditError::ShapeMismatch {
                            file: m.name.clone(),
                            what: "number of classes".into(),
                            expected: classes.to_string(),
                            actual: l.classes.to_string(),
                        });
                    }
                    logits.push(l);
                }
            }
            let source = if input.references.outputs.is_empty() { "models" } else { "outputs" };
            (logits, member, source, note)
        } else {
            let (Some(onnx), Some(be)) = (&onnx, &backend_used) else {
                return Err(AuditError::option(
                    "attacks",
                    "LiRA and RMIA need reference models: in outputs-only mode give the references' outputs (and their membership matrix)",
                ));
            };
            // Paired halves: references 2j and 2j+1 split a fresh random permutation of the pool
            // between them, so every pool row is in exactly half of the references and every
            // reference trains on half of the pool.
            let mut rng = Rng::new(opts.seed);
            let pool: Vec<usize> = if online { order.clone() } else { population_idx.clone() };
            let mut member = vec![vec![false; total]; k];
            for pair in 0..k / 2 {
                let mut perm = pool.clone();
                rng.shuffle(&mut perm);
                for (i, &r) in perm.iter().enumerate() {
                    member[2 * pair + usize::from(i >= pool.len() / 2)][r] = true;
                }
            }
            let values = rows.all_features();
            let mut logits = Vec::new();
            let epochs = opts.training.epochs;
            let kept: Option<CachedReferences> =
                input.cached_references.as_deref().and_then(|b| serde_json::from_slice(b).ok()).filter(|c: &CachedReferences| {
                    Some(&c.key) == cache_key.as_ref() && c.member == member && c.classes == classes && c.logits.iter().all(|l| l.len() == total * classes)
                });
            if let Some(c) = kept {
                say("train", 0.85, format!("using {k} references trained earlier with the same inputs and settings"));
                for l in &c.logits {
                    logits.push(Logits::from_outputs(onnx.file(), l.iter().map(|&v| f64::from(v)).collect(), total, classes, OutputKind::Logits)?.0);
                }
                model_infos = c.models;
                cached = true;
            }
            for j in (0..k).filter(|_| !cached) {
                let train_rows: Vec<usize> = (0..total).filter(|&r| member[j][r]).collect();
                let x = rows.features(&train_rows);
                let y: Vec<usize> = train_rows.iter().map(|&r| rows.labels[r]).collect();
                let seed_j = Rng::new(opts.seed.wrapping_add(1 + j as u64)).next_u64();
                let span = |e: usize| 0.15 + 0.7 * (j * epochs + e) as f64 / (k * epochs) as f64;
                let mut on_epoch = |e: usize, loss: f64| say("train", span(e), format!("reference {}/{k}: epoch {e}/{epochs}, loss {loss:.4}", j + 1));
                let (prepared, losses) = onnx.train(&be.device, &x, train_rows.len(), &y, classes, &opts.training, seed_j, &mut on_epoch).await?;
                let (z, c) = prepared.logits(&values, total, |_, _| {}).await?;
                logits.push(Logits::from_outputs(onnx.file(), z, total, c, OutputKind::Logits)?.0);
                model_infos.push(ReferenceModelInfo { index: j, train_records: train_rows.len(), accuracy_train: None, accuracy_test: None, loss: losses });
            }
            if let (Some(key), false) = (&cache_key, cached) {
                let c = CachedReferences {
                    key: key.clone(),
                    classes,
                    logits: logits.iter().map(|l| l.values.iter().map(|&v| v as f32).collect()).collect(),
                    member: member.clone(),
                    models: model_infos.clone(),
                    training_seconds: (now_ms() - t0) / 1000.0,
                };
                reference_cache = serde_json::to_vec(&c).ok().map(|b| (key.clone(), b));
            }
            let note = if online {
                "trained: every audited and population record is in exactly half of the references"
            } else {
                "trained: every population record is in exactly half of the references; no audited record is in any"
            };
            (logits, member, "trained", note.to_string())
        };
        say("references", 0.86, "reference signals".into());
        let signals: Vec<Signals> = ref_logits.iter().map(|l| signals::compute(l, &rows.labels)).collect();
        if model_infos.is_empty() {
            model_infos = (0..k)
                .map(|j| ReferenceModelInfo {
                    index: j,
                    train_records: member[j].iter().filter(|&&b| b).count(),
                    accuracy_train: None,
                    accuracy_test: None,
                    loss: Vec::new(),
                })
                .collect();
        }
        let target_train_acc = accuracy(&target_signals.correct, &(0..n_mem).collect::<Vec<_>>()).unwrap_or(1.0);
        let chance = 1.0 / classes as f64;
        for (j, info) in model_infos.iter_mut().enumerate() {
            let (tin, tout): (Vec<usize>, Vec<usize>) = (0..total).partition(|&r| member[j][r]);
            info.accuracy_train = accuracy(&signals[j].correct, &tin);
            info.accuracy_test = accuracy(&signals[j].correct, &tout);
            if let Some(a) = info.accuracy_train.filter(|&a| a < chance + 0.5 * (target_train_acc - chance)) {
                warnings.push(format!(
                    "REFERENCE MODEL {} DID NOT LEARN: training accuracy {a:.3} is less than halfway from chance ({chance:.3}) to the target's {target_train_acc:.3}; LiRA and RMIA results are not valid — train longer or with a higher learning rate",
                    j + 1
                ));
            }
        }
        ref_set = Some(ReferenceSet {
            target: ModelSignals::from_signals(&target_signals, &order),
            refs: signals.iter().map(|s| ModelSignals::from_signals(s, &order)).collect(),
            member: member.iter().map(|m| order.iter().map(|&i| m[i]).collect()).collect(),
            candidates: n_cand,
        });
        reference_info = Some(ReferenceInfo {
            source: source.into(),
            count: k,
            mode: if online { "online" } else { "offline" }.into(),
            seed: opts.seed,
            training: (source == "trained").then(|| opts.training.clone()),
            membership: membership_note,
            models: model_infos,
            training_seconds: (source == "trained" && !cached).then(|| (now_ms() - t0) / 1000.0),
            cached,
        });
    } else if need_pop {
        ref_set = Some(ReferenceSet { target: ModelSignals::from_signals(&target_signals, &order), refs: Vec::new(), member: Vec::new(), candidates: n_cand });
    }

    say("attacks", 0.9, "computing attacks and metrics".into());
    let cand_signals = subset(&target_signals, &candidate_idx);
    let is_member: Vec<bool> = candidate_idx.iter().map(|&i| i < n_mem).collect();
    let mut model_info = model_info;
    model_info.accuracy_members = accuracy(&target_signals.correct, &(0..n_mem).collect::<Vec<_>>()).unwrap_or(0.0);
    model_info.accuracy_nonmembers = accuracy(&target_signals.correct, &nonmember_idx).unwrap_or(0.0);
    model_info.generalization_gap = model_info.accuracy_members - model_info.accuracy_nonmembers;
    let mut rmia_a = None;
    let mut rmia_tuned = true;
    let mut attacks = Vec::new();
    let mut columns = Vec::new();
    for kind in &kinds {
        let mut parameters: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        let scores = match kind.threshold_score(&cand_signals) {
            Some(s) => s,
            None => {
                let set = ref_set.as_ref().ok_or_else(|| AuditError::option("attacks", "internal: no reference set"))?;
                let fail = |m: String| AuditError::option("attacks", format!("{}: {m}", kind.name()));
                let refs = set.refs.len();
                let r: std::result::Result<Scores, String> = match kind {
                    AttackKind::AttackP => {
                        parameters.insert("population".into(), (set.target.phi.len() - n_cand).into());
                        set.attack_p()
                    }
                    AttackKind::LiraOnline | AttackKind::LiraOffline | AttackKind::LiraOnlineFixedVariance | AttackKind::LiraOfflineFixedVariance => {
                        let fixed = matches!(kind, AttackKind::LiraOnlineFixedVariance | AttackKind::LiraOfflineFixedVariance);
                        let mode = if kind.is_online() { Mode::Online } else { Mode::Offline };
                        parameters.insert("references".into(), refs.into());
                        parameters.insert("fixed_variance".into(), fixed.into());
                        parameters.insert("signal".into(), "phi = log p_y - log(1 - p_y)".into());
                        set.lira(mode, fixed)
                    }
                    AttackKind::RmiaOnline | AttackKind::RmiaOffline => {
                        parameters.insert("references".into(), refs.into());
                        parameters.insert("gamma".into(), opts.rmia_gamma.into());
                        parameters.insert("population".into(), (set.target.phi.len() - n_cand).into());
                        if *kind == AttackKind::RmiaOnline {
                            set.rmia(Mode::Online, 0.0, opts.rmia_gamma)
                        } else {
                            let a = match (opts.rmia_a, rmia_a) {
                                (RmiaA::Value(a), _) => a,
                                (RmiaA::Tune(_), Some(a)) => a,
                                (RmiaA::Tune(_), None) => {
                                    let a = match set.tune_rmia_a(opts.rmia_gamma) {
                                        Ok(a) => a,
                                        Err(why) => {
                                            warnings.push(format!("rmia_offline: a could not be tuned ({why}); used the documented fallback a = {RMIA_A_FALLBACK}; set rmiaA / --rmia-a to choose it"));
                                            rmia_tuned = false;
                                            RMIA_A_FALLBACK
                                        }
                                    };
                                    rmia_a = Some(a);
                                    a
                                }
                            };
                            parameters.insert("a".into(), a.into());
                            parameters.insert("a_tuned".into(), (matches!(opts.rmia_a, RmiaA::Tune(_)) && rmia_tuned).into());
                            set.rmia(Mode::Offline, a, opts.rmia_gamma)
                        }
                    }
                    _ => Err("internal: not a reference attack".into()),
                };
                match r {
                    Ok(s) => s,
                    // A variant that came with a group ("lira") and cannot run on these
                    // references (e.g. per-record variances from 2 references) is skipped and
                    // said; an attack named explicitly fails the audit.
                    Err(why) if !opts.attacks.iter().any(|a| a == kind.name()) => {
                        warnings.push(format!("{} was skipped: {why}", kind.name()));
                        continue;
                    }
                    Err(why) => return Err(fail(why)),
                }
            }
        };
        let scores = scores.0;
        let roc = RocCurve::new(&scores, &is_member)?;
        let pts = roc.plot_points(1000);
        attacks.push(AttackResult {
            name: kind.name().into(),
            auc: roc.auc(),
            tpr_at_fpr: report::FPR_LEVELS.iter().map(|(k, x)| (k.to_string(), roc.tpr_at_fpr(*x))).collect(),
            advantage: roc.advantage(),
            ppv: roc.ppv(),
            best_threshold: roc.thresholds[roc.best_index()],
            roc: RocPoints { fpr: pts.iter().map(|p| p.0).collect(), tpr: pts.iter().map(|p| p.1).collect() },
            histogram: Histogram::new(&scores, &is_member, 30),
            parameters,
        });
        columns.push(scores);
    }
    let n_non_c = nonmember_idx.len();
    if n_mem < 50 || n_non_c < 50 {
        warnings.push(
            "fewer than 50 members or non-members: the metrics are very noisy, and TPR at 0.1 % FPR needs at least 1000 non-members to mean anything".into(),
        );
    } else if n_non_c < 1000 {
        warnings
            .push(format!("with {n_non_c} non-members the smallest non-zero FPR is {:.2} %, so TPR at 0.1 % FPR equals TPR at 0 FPR", 100.0 / n_non_c as f64));
    }
    let (backend_name, note) = match backend_used {
        Some(b) => (b.name, b.note),
        None => ("cpu", None),
    };
    if let Some(n) = &note {
        warnings.push(n.clone());
    }
    let score_rows = candidate_idx
        .iter()
        .enumerate()
        .map(|(c, &i)| {
            let (t, r) = rows.locate(i);
            (t == 0, r + 1, rows.labels[i], columns.iter().map(|col| col[c]).collect())
        })
        .collect();
    let report = AuditReport {
        schema_version: report::SCHEMA_VERSION,
        tool: ToolInfo { name: "privaudit".into(), version: env!("CARGO_PKG_VERSION").into() },
        backend: backend_name.into(),
        backend_note: note,
        model: model_info,
        data: DataInfo {
            members: n_mem,
            nonmembers: n_non_c,
            population: need_pop.then_some(population_idx.len()),
            population_source: need_pop.then_some(population_source),
            features,
            classes,
        },
        references: reference_info,
        attacks,
        warnings,
    };
    say("done", 1.0, "audit complete".into());
    let names = report.attacks.iter().map(|a| a.name.clone()).collect();
    Ok(AuditOutput { report, scores: ScoreTable { attacks: names, rows: score_rows }, reference_cache })
}

/// The fraction of `idx` rows that are correct; `None` for no rows.
fn accuracy(correct: &[bool], idx: &[usize]) -> Option<f64> {
    (!idx.is_empty()).then(|| idx.iter().filter(|&&i| correct[i]).count() as f64 / idx.len() as f64)
}

/// The signals of the rows in `idx`, in that order.
fn subset(s: &Signals, idx: &[usize]) -> Signals {
    let f = |v: &[f64]| idx.iter().map(|&i| v[i]).collect();
    Signals {
        loss: f(&s.loss),
        confidence: f(&s.confidence),
        entropy: f(&s.entropy),
        modified_entropy: f(&s.modified_entropy),
        phi: f(&s.phi),
        correct: idx.iter().map(|&i| s.correct[i]).collect(),
    }
}
