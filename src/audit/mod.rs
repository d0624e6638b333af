//! The audit: inputs and options → report and per-record scores, as a pipeline of stages with
//! named types between them:
//!
//! ```text
//! plan        options + inputs' kinds → Plan          (every check that needs no file parsed)
//! target      files → Records, TargetOutputs          (tables; the model's logits on every row)
//! duplicates  Records → Found                          (exact and near copies, by hashing)
//! population  Records → Split                         (candidates, population, hold-out)
//! references  → References                            (trained, cached or the user's; signals)
//! evaluate    signals (+ references) → Evaluation     (attacks through the registry; metrics)
//! assemble    → AuditReport + ScoreTable
//! ```

mod compare;
mod duplicates;
mod evaluate;
mod exposure;
mod options;
pub(crate) mod parallel;
mod plan;
mod population;
mod provenance;
mod references;
mod target;

pub use compare::{COMPARISON_SCHEMA_VERSION, CompareInput, CompareModel, CompareOutput, CompareRow, Comparison, compare};
pub use options::{AuditOptions, ReferenceMode, RmiaA, Tune};
pub use provenance::{digests as input_digests, iso8601_utc};
pub use references::reference_cache_key;

use crate::attacks::{ModelSignals, ReferenceSet};
use crate::data::{DataSource, InputFile};
use crate::error::Result;
use crate::report::{self, AuditReport, DataInfo, ScoreRow, ScoreTable, ToolInfo};
use crate::signals::{self, Signals};
use serde::Serialize;

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
    /// For a QDQ-quantised model, whose references cannot be trained: the references trained
    /// for a float model of its architecture (`compare` sets this), as
    /// [`AuditOutput::reference_cache`] holds them.
    pub shared_references: Option<SharedReferences>,
    /// A sidecar CSV of slice values (`set,row,<name>` or `set,id,<name>`), instead of the
    /// `sliceColumn` option.
    pub slice_file: Option<InputFile>,
}

/// References trained for another model, lent to a QDQ-quantised one.
#[derive(Clone, Debug)]
pub struct SharedReferences {
    /// The model they were trained for.
    pub from: String,
    /// Their kept form (the bytes of [`AuditOutput::reference_cache`]).
    pub bytes: Vec<u8>,
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
            shared_references: None,
            slice_file: None,
        }
    }

    /// Audit a model's outputs.
    pub fn outputs(members: DataSource, nonmembers: DataSource) -> Self {
        Self { target: Target::Outputs, ..Self::model(InputFile::new("", Vec::new()), None, members, nonmembers) }
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

/// The progress callback as the stages call it: stage, fraction of the whole audit, message.
pub(crate) type Say<'a> = dyn FnMut(&'static str, f64, String) + 'a;

/// Milliseconds on a monotonic-enough clock (`Date.now()` on wasm, where `Instant` panics).
pub(crate) fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_family = "wasm"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
}

/// Run a whole audit.
///
/// # Errors
/// Any input problem, as an [`AuditError`](crate::AuditError) naming the file and place; every
/// option is checked before any file is parsed.
pub async fn run(input: AuditInput, opts: &AuditOptions, progress: &mut dyn FnMut(Progress)) -> Result<AuditOutput> {
    let plan = plan::Plan::new(&input, opts)?;
    let mut warnings = plan.warnings.clone();
    let say: &mut Say<'_> = &mut |stage, fraction, message| progress(Progress { stage, fraction, message });
    say("read", 0.0, "hashing the inputs (SHA-256)".into());
    let digests = provenance::digests(&input);
    say("read", 0.01, "reading files".into());
    let onnx = target::parse_model(&input, &plan, say)?;
    let mut records = target::read_records(&input, &plan, onnx.as_ref())?;
    // Duplicates among the model's inputs (outputs-only mode has none to compare).
    let mut duplicates = onnx.is_some().then(|| {
        say("read", 0.02, "looking for duplicate records (hashing)".into());
        duplicates::find(&records, records.geometry.as_ref())
    });
    if let Some(d) = duplicates.as_mut().filter(|d| !d.nonmember_copies.is_empty()) {
        let k = d.nonmember_copies.len();
        if plan.opts.drop_duplicates {
            // Dropping every non-member leaves nothing to audit: say so, naming the file and the drop.
            let n_non = records.tables.get(1).map_or(0, |t| t.rows);
            if k >= n_non {
                let file = records.tables.get(1).map_or_else(String::new, |t| t.file.clone());
                return Err(crate::error::AuditError::file(
                    &file,
                    format!(
                        "every one of its {n_non} non-members copies a member (exactly or nearly), so the option ‘dropDuplicates’ would leave none to audit; give non-members the model never saw"
                    ),
                ));
            }
            records.drop_nonmembers(&d.nonmember_copies);
            d.info.dropped_nonmembers = k;
            warnings.push(format!("{k} non-members copy a member (exactly or nearly) and were dropped before the audit (the option ‘dropDuplicates’)"));
        } else {
            warnings.push(format!(
                "{k} non-members copy a member (exactly or nearly): the model saw them in training, so counting them as non-members undercounts the leak; drop them with the option ‘dropDuplicates’"
            ));
        }
    }
    let target = target::outputs(&input, &plan, &mut records, onnx, say).await?;
    warnings.extend(probability_like_logits(&input, &plan, &records, &target));
    let target_signals = signals::compute(&target.logits, &records.labels);
    let split = population::split(&records, &plan, &mut warnings)?;
    let references = match plan.references {
        Some(source) => {
            let cx = references::Inputs { input: &input, plan: &plan, records: &records, target: &target, target_signals: &target_signals, split: &split };
            Some(references::build(cx, source, say, &mut warnings).await?)
        }
        None => None,
    };
    // Attack-P without references still reads the target's signals on the population.
    let population_only = (plan.need_population && references.is_none()).then(|| ReferenceSet {
        target: ModelSignals::from_signals(&target_signals, &split.order),
        refs: Vec::new(),
        member: Vec::new(),
        candidates: split.candidates.len(),
    });
    let (ref_set, reference_info, reference_cache, invalid_references) = match references {
        Some(r) => (Some(r.set), Some(r.info), r.cache, r.invalid),
        None => (None, None, None, None),
    };
    let set = ref_set.as_ref().or(population_only.as_ref());

    say("attacks", 0.9, "computing attacks and metrics".into());
    let is_member = split.is_member(records.members());
    let evaluation = evaluate::run(&plan, &subset(&target_signals, &split.candidates), set, invalid_references.as_deref(), &is_member, &mut warnings)?;
    let parts = Parts { records: &records, target: &target, target_signals: &target_signals, split: &split, set, duplicates };
    let output = assemble(&plan, parts, evaluation, reference_info, warnings, digests, &is_member)?;
    say("done", 1.0, "audit complete".into());
    Ok(AuditOutput { reference_cache, ..output })
}

/// Outputs read as logits by `auto` whose every value lies in [0, 1] look like probabilities
/// that do not sum to 1 (a sigmoid per class, a rounding, a missing column): said, with the
/// file, the first row that does not sum to 1 and the reading chosen.
fn probability_like_logits(input: &AuditInput, plan: &plan::Plan, records: &target::Records, target: &target::TargetOutputs) -> Option<String> {
    let auto = plan.opts.outputs == crate::signals::OutputKind::Auto;
    if !matches!(input.target, Target::Outputs) || !auto || target.info.outputs != "logits" {
        return None;
    }
    let t = records.tables.iter().find(|t| t.cols > 1 && !t.values.is_empty() && t.values.iter().all(|v| (0.0..=1.0).contains(v)))?;
    let (r, sum) = (0..t.rows).map(|r| (r, t.values[r * t.cols..(r + 1) * t.cols].iter().sum::<f64>())).find(|(_, s)| (s - 1.0).abs() > 1e-3)?;
    Some(format!(
        "{}: every value lies in [0, 1], as probabilities do, but row {} sums to {}, not 1, so the outputs were read as logits (the option ‘outputs’ is auto); if they are probabilities, check the file (a missing class column, rounding)",
        crate::limits::quote(&t.file),
        r + 1,
        crate::report::format::num(sum)
    ))
}

/// What the report is assembled from, besides the attacks' results.
struct Parts<'a> {
    records: &'a target::Records,
    target: &'a target::TargetOutputs,
    target_signals: &'a Signals,
    split: &'a population::Split,
    /// The target's and the references' signals (reference attacks, or Attack-P's population).
    set: Option<&'a ReferenceSet>,
    duplicates: Option<duplicates::Found>,
}

/// Stage 6: the report and the score table.
fn assemble(
    plan: &plan::Plan,
    parts: Parts<'_>,
    evaluation: evaluate::Evaluation,
    references: Option<report::ReferenceInfo>,
    mut warnings: Vec<String>,
    mut digests: Vec<report::InputDigest>,
    is_member: &[bool],
) -> Result<AuditOutput> {
    let Parts { records, target, target_signals, split, set, duplicates } = parts;
    let n_mem = records.members();
    let mut model = target.info.clone();
    model.accuracy_members = accuracy(&target_signals.correct, &(0..n_mem).collect::<Vec<_>>()).unwrap_or(0.0);
    model.accuracy_nonmembers = accuracy(&target_signals.correct, &split.nonmembers).unwrap_or(0.0);
    model.generalization_gap = model.accuracy_members - model.accuracy_nonmembers;
    let n_non = split.nonmembers.len();
    if n_mem < 50 || n_non < 50 {
        warnings.push(
            "fewer than 50 members or non-members: the metrics are very noisy, and TPR at 0.1 % FPR needs at least 1000 non-members to mean anything".into(),
        );
    } else if n_non < 1000 {
        warnings.push(format!("with {n_non} non-members the smallest non-zero FPR is {:.2} %, so TPR at 0.1 % FPR equals TPR at 0 FPR", 100.0 / n_non as f64));
    }
    if plan.opts.statistics.randomised_membership {
        // Fair coins give m/2 ± √m/2 members; beyond 3.29 standard deviations (two-sided
        // p < 0.001) the stated randomisation is implausible.
        let m = (n_mem + n_non) as f64;
        let z = (n_mem as f64 - m / 2.0).abs() / (m.sqrt() / 2.0);
        if z > 3.29 {
            warnings.push(format!(
                "membership was said to be randomised, but {n_mem} of the {} audited records are members where independent fair coins give about {:.0} ± {:.0}: check that claim, or the one-run bound and the DP-audit reading of the ε bounds do not hold",
                n_mem + n_non,
                m / 2.0,
                m.sqrt() / 2.0
            ));
        }
    }
    let (backend, backend_note, device) = match &target.model {
        Some((_, b)) => (b.name, b.note.clone(), b.detail.clone()),
        None if target.pipeline.is_some() => ("cpu", None, "the CPU: a tree ensemble runs there".into()),
        None => ("cpu", None, "none: the model's outputs were given".into()),
    };
    warnings.extend(backend_note.clone());
    let need_pop = plan.need_population;
    // The files' own record counts: non-members dropped as copies of members were in the file.
    let dropped = duplicates.as_ref().map_or(0, |d| d.info.dropped_nonmembers);
    for d in &mut digests {
        d.records = match d.role.as_str() {
            "members" => Some(n_mem),
            "nonmembers" => Some(records.tables.get(1).map_or(n_non, |t| t.rows) + dropped),
            "population" => records.tables.get(2).map(|t| t.rows),
            _ => None,
        };
    }
    let combined = combined_epsilon(&evaluation, is_member, &plan.opts.statistics);
    let excluded =
        evaluation.excluded.iter().map(|(i, why)| report::ExcludedAttack { attack: evaluation.results[*i].name.clone(), reason: why.clone() }).collect();
    let verdict_inputs = report::VerdictInputs { epsilon: combined, excluded, corrected: evaluation.corrected.clone() };
    let mut report = AuditReport {
        schema_version: report::SCHEMA_VERSION,
        tool: ToolInfo { name: "privaudit".into(), version: env!("CARGO_PKG_VERSION").into() },
        backend: backend.into(),
        backend_note,
        device,
        model,
        data: DataInfo {
            members: n_mem,
            nonmembers: n_non,
            population: need_pop.then_some(split.population.len()),
            population_source: need_pop.then(|| split.source.clone()),
            features: target.features,
            classes: target.logits.classes,
            images: records.images.clone(),
        },
        references,
        statistics: statistics_info(&plan.opts.statistics, n_non),
        attacks: evaluation.results,
        warnings,
        verdict: report::Verdict::default(),
        provenance: provenance::provenance(digests, &plan.opts),
        exposure: report::Exposure::default(),
        slices: Vec::new(),
        duplicates: None,
    };
    report.verdict = report::verdict(&report, verdict_inputs);
    // The records: ranked by the strongest attack, the exposure tables, slices, duplicates.
    // (The strongest attack ranks the records; with every attack declared invalid, the first.)
    let strongest = report.attacks.iter().position(|a| a.name == report.verdict.strongest_attack).unwrap_or(0);
    let x = exposure::Inputs {
        plan,
        records,
        target,
        target_signals,
        split,
        set,
        columns: &evaluation.columns,
        is_member,
        names: report.attacks.iter().map(|a| a.name.as_str()).collect(),
    };
    let (order, rank) = report::records::ranking(&evaluation.columns[strongest]);
    let rows = split
        .candidates
        .iter()
        .enumerate()
        .map(|(c, &i)| {
            let (t, r) = records.locate(i);
            let id = records.tables[t].ids.get(r).cloned();
            let scores = evaluation.columns.iter().map(|col| col[c]).collect();
            ScoreRow {
                member: t == 0,
                row: r + 1,
                label: records.labels[i],
                id,
                scores,
                loss: target_signals.loss[i],
                predicted: x.predicted(i),
                correct: target_signals.correct[i],
                rank: rank[c],
            }
        })
        .collect();
    report.exposure = x.exposure(strongest, (&order, &rank));
    if plan.opts.slices {
        report.slices = x.slices()?;
    }
    report.duplicates = duplicates.map(|d| {
        let mut info = d.info;
        info.exposure = Some(x.duplicate_exposure(strongest, &d.duplicated_members));
        info
    });
    if let Some(expr) = &plan.opts.fail_if {
        report.verdict.gate = Some(report::gate::Gate::parse(expr)?.check(expr, &report)?);
    }
    let attacks = report.attacks.iter().map(|a| a.name.clone()).collect();
    Ok(AuditOutput { report, scores: ScoreTable { attacks, rows }, reference_cache: None })
}

/// The largest ROC ε bound over the attacks the verdict considers (not those the report
/// declares invalid), each at α/A, so that it holds at 1 − α whichever turns out strongest.
fn combined_epsilon(e: &evaluate::Evaluation, is_member: &[bool], s: &crate::metrics::StatisticsSettings) -> Option<report::CombinedEpsilon> {
    let valid = |i: usize| !e.excluded.iter().any(|(x, _)| *x == i);
    let a = (0..e.columns.len()).filter(|&i| valid(i)).count();
    e.columns
        .iter()
        .zip(&e.results)
        .enumerate()
        .filter(|(i, _)| valid(*i))
        .filter_map(|(_, (col, r))| {
            let roc = crate::metrics::RocCurve::new(col, is_member).ok()?;
            let b = crate::metrics::RocEpsilon::of(&roc, s.alpha() / a as f64, s.delta);
            Some(report::CombinedEpsilon { epsilon: b.epsilon, attack: r.name.clone(), ceiling: b.ceiling, attacks: a })
        })
        .reduce(|x, y| if y.epsilon > x.epsilon { y } else { x })
}

/// The report's `statistics` section for `nonmembers` non-members.
fn statistics_info(s: &crate::metrics::StatisticsSettings, nonmembers: usize) -> report::StatisticsInfo {
    let min = 1.0 / nonmembers as f64;
    let randomised = s.randomised_membership;
    report::StatisticsInfo {
        confidence: s.confidence,
        delta: s.delta,
        bootstrap_resamples: s.bootstrap,
        interval_method: "stratified bootstrap (members and non-members resampled separately), percentile intervals".into(),
        min_measurable_fpr: min,
        unmeasurable_fpr_levels: crate::metrics::FPR_LEVELS.iter().filter(|(_, x)| *x < min).map(|(k, _)| k.to_string()).collect(),
        membership: if randomised { "randomised" } else { "fixed" }.into(),
        epsilon_basis: if randomised { "dp_audit" } else { "heuristic" }.into(),
        epsilon_note: if randomised {
            format!(
                "Each record was put in training by a fair coin (as stated), so each ε bound is a lower bound on the training's (ε, δ = {}) at confidence {}: the training is not DP with any smaller ε.",
                s.delta, s.confidence
            )
        } else {
            "Heuristic: members and non-members were a given split, not a randomised one, so a difference between the two sets themselves (not only what the model memorised) can raise these bounds; they are not a DP audit. Say that membership was randomised (the option ‘statistics.randomisedMembership’) only if each record was put in training by an independent fair coin.".into()
        },
    }
}

/// The fraction of `idx` rows that are correct; `None` for no rows.
pub(crate) fn accuracy(correct: &[bool], idx: &[usize]) -> Option<f64> {
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
