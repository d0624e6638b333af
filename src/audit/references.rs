//! Stage 4, the references: trained by privaudit (or reused from the cache), or the user's
//! own models or outputs; then their signals next to the target's on the same rows.
//!
//! The cache logic lives here once, for the CLI (a folder) and the worker (IndexedDB): both
//! only store the bytes [`AuditOutput::reference_cache`](super::AuditOutput) hands them and give
//! them back as [`AuditInput::cached_references`].

use super::parallel::{self, JobContext, TrainJob, TrainResult};
use super::plan::{Plan, RefSource};
use super::population::Split;
use super::target::{Records, TargetOutputs, model_logits};
use super::{AuditInput, Say, Target, now_ms};
use crate::attacks::{ModelSignals, ReferenceSet};
use crate::data;
use crate::error::{AuditError, Result};
use crate::limits;
use crate::model::Rng;
use crate::report::{ReferenceInfo, ReferenceModelInfo};
use crate::signals::{self, Logits, OutputKind, Signals};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The references, ready for the attacks.
pub(crate) struct References {
    /// Target and references on candidates then population.
    pub set: ReferenceSet,
    /// What the report says about them.
    pub info: ReferenceInfo,
    /// Freshly trained references to keep: `(key, bytes)`.
    pub cache: Option<(String, Vec<u8>)>,
    /// Why the attacks that read these references are not valid (some did not learn), if so.
    pub invalid: Option<String>,
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
    /// SHA-256 of everything above, as [`CachedReferences::contents_digest`] computes it: kept
    /// references whose values were altered (finite, of the right shape) are not trusted.
    #[serde(default)]
    digest: String,
}

impl CachedReferences {
    /// SHA-256 (hex) of the key, the classes, every output (f32, little-endian), the membership
    /// and the models' entries, each length-prefixed.
    fn contents_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.key.as_bytes());
        h.update((self.classes as u64).to_le_bytes());
        for l in &self.logits {
            h.update((l.len() as u64).to_le_bytes());
            for v in l {
                h.update(v.to_le_bytes());
            }
        }
        for m in &self.member {
            h.update((m.len() as u64).to_le_bytes());
            h.update(m.iter().map(|&b| u8::from(b)).collect::<Vec<_>>());
        }
        h.update(serde_json::to_vec(&self.models).unwrap_or_default());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Why these kept references cannot serve this run, if they cannot.
    fn mismatch(&self, k: usize, member: &[Vec<bool>], classes: usize, total: usize) -> Option<String> {
        if self.logits.len() != k || self.models.len() != k || self.member.len() != k {
            return Some(format!("they hold {} references ({} model entries), this run needs {k}", self.logits.len(), self.models.len()));
        }
        if self.classes != classes {
            return Some(format!("they have {} classes, the target {classes}", self.classes));
        }
        if let Some(j) = self.logits.iter().position(|l| l.len() != total * classes || l.iter().any(|v| !v.is_finite())) {
            return Some(format!("reference {j}'s outputs do not cover {total} records × {classes} classes with finite values"));
        }
        if self.member != member {
            return Some("their training splits differ from this run's".into());
        }
        if self.digest != self.contents_digest() {
            return Some("their contents do not match the digest they were kept with (altered or damaged)".into());
        }
        None
    }
}

/// The key under which this run's trained references are kept: a SHA-256 of the model's
/// architecture ([`crate::model::OnnxModel::architecture_digest`]: everything but the weights
/// references re-initialise), of every data file and of every option that changes the
/// references (scale, shift, columns, hold-out, backend, K, mode, seed, training settings).
/// `None` when the run trains no references (or its inputs or options are invalid: the run
/// will say why).
pub fn reference_cache_key(input: &AuditInput, opts: &super::AuditOptions) -> Option<String> {
    let Target::Model { model, model_data } = &input.target else {
        return None;
    };
    let audited = crate::model::parse_audited(model, model_data.as_ref(), opts.output.as_deref()).ok()?;
    cache_key(input, opts, &audited.architecture_digest().ok()?)
}

/// [`reference_cache_key`] for a model already parsed (`digest`: its architecture digest).
pub(super) fn cache_key(input: &AuditInput, opts: &super::AuditOptions, digest: &str) -> Option<String> {
    let plan = Plan::new(input, opts).ok()?;
    if !plan.trains() {
        return None;
    }
    let mut h = Sha256::new();
    let mut part = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    part(b"privaudit references v4");
    part(env!("CARGO_PKG_VERSION").as_bytes());
    // The model's architecture, not its bytes: references re-initialise the trained weights,
    // so models that differ only there (a plain and a DP-trained one) share references.
    part(digest.as_bytes());
    for src in [Some(&input.members), Some(&input.nonmembers), input.population.as_ref()] {
        part(src.map_or(&[][..], |s| &s.file.bytes));
        part(src.and_then(|s| s.labels.as_ref()).map_or(&[][..], |l| &l.bytes));
        // An image folder: every file's path and bytes (the path is its label).
        let images = src.map_or(&[][..], |s| &s.images[..]);
        part(&(images.len() as u64).to_le_bytes());
        for f in images {
            part(f.name.as_bytes());
            part(&f.bytes);
        }
    }
    let settings = serde_json::json!([
        opts.label_column,
        opts.id_column,
        opts.slice_column,
        opts.scale,
        opts.shift,
        opts.backend,
        opts.references,
        opts.mode,
        opts.seed,
        opts.training,
        opts.holdout,
        opts.image
    ]);
    part(settings.to_string().as_bytes());
    let digest = h.finalize();
    Some(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// Everything the references stage reads.
pub(crate) struct Inputs<'a> {
    pub input: &'a AuditInput,
    pub plan: &'a Plan,
    pub records: &'a Records,
    pub target: &'a TargetOutputs,
    pub target_signals: &'a Signals,
    pub split: &'a Split,
}

/// Get the references and their signals.
///
/// # Errors
/// Malformed reference files or membership matrix, references that disagree with the target,
/// model, training and device failures.
pub(crate) async fn build(cx: Inputs<'_>, source: RefSource, say: &mut Say<'_>, warnings: &mut Vec<String>) -> Result<References> {
    let Inputs { input, plan, records, target, target_signals, split } = cx;
    let t0 = now_ms();
    let total = records.count();
    let classes = target.logits.classes;
    let k = source.count();
    let mut cache = None;
    let mut cached = false;
    let mut shared_from: Option<String> = None;
    let mut model_infos = Vec::new();
    let mut parallelism: Option<String> = None;
    let (logits, member, membership_note) = match source {
        RefSource::Outputs { .. } | RefSource::Models { .. } => {
            let (member, note) = match &input.references.membership {
                Some(m) => (data::read_membership(m, total, k)?, format!("from {}", m.name)),
                None => (vec![vec![false; total]; k], "none given: assumed that no reference trained on any audited or population record".into()),
            };
            let logits = if let RefSource::Outputs { .. } = source {
                user_outputs(input, plan, records, classes)?
            } else {
                user_models(input, records, target, classes, say).await?
            };
            (logits, member, note)
        }
        RefSource::Train { .. } => {
            let Some((onnx, be)) = &target.model else {
                return Err(AuditError::option("attacks", "internal: training references needs the model"));
            };
            // Paired halves: references 2j and 2j+1 split a fresh random permutation of the pool
            // between them, so every pool row is in exactly half of the references and every
            // reference trains on half of the pool.
            let mut rng = Rng::new(plan.opts.seed);
            let pool: &[usize] = if plan.online { &split.order } else { &split.population };
            let mut member = vec![vec![false; total]; k];
            for pair in 0..k / 2 {
                let mut perm = pool.to_vec();
                rng.shuffle(&mut perm);
                for (i, &r) in perm.iter().enumerate() {
                    member[2 * pair + usize::from(i >= pool.len() / 2)][r] = true;
                }
            }
            // The model is parsed already: its digest, not a second parse of the file.
            let digest = onnx.architecture_digest()?;
            let digest = match &target.pipeline {
                Some(p) => format!("{digest}+{}", p.preprocessing_digest),
                None => digest,
            };
            let key = cache_key(input, &plan.opts, &digest);
            let mut logits = Vec::new();
            // A QDQ-quantised model: rounding passes no gradient, so its references are the
            // ones trained for the float model it is compared with, or none.
            let shared = if onnx.quantised() {
                let Some(s) = &input.shared_references else {
                    return Err(AuditError::model(
                        onnx.file(),
                        "references cannot be trained for a QDQ-quantised model (QuantizeLinear/DequantizeLinear): rounding passes no gradient. Run the attacks that need no references, give reference models or outputs, or compare it with the float model it was made from (privaudit compare), whose references it then shares",
                    ));
                };
                match serde_json::from_slice::<CachedReferences>(&s.bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|c| c.mismatch(k, &member, classes, total).map_or(Ok(c), Err))
                {
                    Ok(c) => Some((c, s.from.clone())),
                    Err(why) => return Err(AuditError::model(onnx.file(), format!("the references of {} cannot serve this model: {why}", s.from))),
                }
            } else {
                None
            };
            if let Some((c, from)) = shared {
                say("train", 0.85, format!("using the {k} references trained for {from}"));
                for l in &c.logits {
                    logits.push(Logits::from_outputs(onnx.file(), l.iter().map(|&v| f64::from(v)).collect(), total, classes, OutputKind::Logits)?.0);
                }
                model_infos = c.models;
                shared_from = Some(from);
                cached = true;
            }
            match input.cached_references.as_deref().filter(|_| !cached).map(serde_json::from_slice::<CachedReferences>) {
                Some(Ok(c)) if Some(&c.key) == key.as_ref() => match c.mismatch(k, &member, classes, total) {
                    None => {
                        say("train", 0.85, format!("using {k} references trained earlier with the same inputs and settings"));
                        for l in &c.logits {
                            logits.push(Logits::from_outputs(onnx.file(), l.iter().map(|&v| f64::from(v)).collect(), total, classes, OutputKind::Logits)?.0);
                        }
                        model_infos = c.models;
                        cached = true;
                    }
                    Some(why) => warnings.push(format!("the references kept from an earlier run were ignored and trained again: {why}")),
                },
                Some(Ok(_)) | None => {}
                Some(Err(e)) => {
                    warnings.push(format!("the references kept from an earlier run were unreadable and trained again ({})", limits::quote(&e.to_string())))
                }
            }
            if !cached {
                let epochs = plan.opts.training.epochs as usize;
                let progress = TrainingProgress::new(k, epochs, classes, plan.opts.training.learning_rate);
                // Every record as the network reads it (f32), for training and evaluating each reference.
                let eval: Vec<f32> = records.all_features().iter().map(|&v| v as f32).collect();
                let jobs: Vec<TrainJob> = member
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        let rows: Vec<usize> = (0..total).filter(|&r| m[r]).collect();
                        let y = rows.iter().map(|&r| records.labels[r]).collect();
                        TrainJob { index: j, rows, y, seed: Rng::new(plan.opts.seed.wrapping_add(1 + j as u64)).next_u64() }
                    })
                    .collect();
                let trained = if be.name == "cpu" {
                    // On the CPU every reference is a self-contained job (parallel.rs): side by
                    // side on threads or Web Workers, or one after another where there are none,
                    // with the same result either way.
                    let Target::Model { model, model_data } = &input.target else {
                        return Err(AuditError::option("attacks", "internal: training references needs the model file"));
                    };
                    let jcx = JobContext {
                        model: model.clone(),
                        model_data: model_data.clone(),
                        output: plan.opts.output.clone(),
                        classes,
                        settings: plan.opts.training.clone(),
                        eval,
                        eval_rows: total,
                    };
                    let mut on_epoch = |j: usize, e: usize, loss: f64| {
                        let (f, m) = progress.epoch(j, jobs[j].rows.len(), e, loss);
                        say("train", f, m);
                    };
                    let (results, how) = parallel::train_on_cpu(&jcx, &jobs, &mut on_epoch).await?;
                    parallelism = Some(how);
                    results
                } else {
                    let mut results = Vec::with_capacity(k);
                    for job in &jobs {
                        let j = job.index;
                        let x = parallel::rows_of(&eval, onnx.features(), &job.rows)?;
                        let mut on_epoch = |e: usize, loss: f64| {
                            let (f, m) = progress.epoch(j, job.rows.len(), e, loss);
                            say("train", f, m);
                        };
                        let (prepared, losses) = onnx.train(be, &x, job.rows.len(), &job.y, classes, &plan.opts.training, job.seed, &mut on_epoch).await?;
                        let (z, c) = prepared.logits(&eval, total, |_, _| {}).await?;
                        results.push(TrainResult { index: j, logits: z, classes: c, losses });
                    }
                    parallelism = Some(format!("{k} references trained one after another on the GPU ({})", be.name));
                    results
                };
                for (job, r) in jobs.iter().zip(trained) {
                    logits.push(Logits::from_outputs(onnx.file(), r.logits, total, r.classes, OutputKind::Logits)?.0);
                    model_infos.push(ReferenceModelInfo {
                        index: job.index,
                        train_records: job.rows.len(),
                        accuracy_train: None,
                        accuracy_test: None,
                        loss: r.losses,
                    });
                }
                if let Some(key) = key {
                    let mut kept = CachedReferences {
                        key: key.clone(),
                        classes,
                        logits: logits.iter().map(|l| l.values.iter().map(|&v| v as f32).collect()).collect(),
                        member: member.clone(),
                        models: model_infos.clone(),
                        training_seconds: (now_ms() - t0) / 1000.0,
                        digest: String::new(),
                    };
                    kept.digest = kept.contents_digest();
                    cache = serde_json::to_vec(&kept).ok().map(|b| (key, b));
                }
            }
            let note = if plan.online {
                "trained: every audited and population record is in exactly half of the references"
            } else {
                "trained: every population record is in exactly half of the references; no audited record is in any"
            };
            let note = match &shared_from {
                Some(from) => format!("{note} (trained for {from}, the float model of this QDQ-quantised one)"),
                None => note.to_string(),
            };
            (logits, member, note)
        }
    };

    say("references", 0.86, "reference signals".into());
    let ref_signals: Vec<Signals> = logits.iter().map(|l| signals::compute(l, &records.labels)).collect();
    if model_infos.is_empty() {
        model_infos = member
            .iter()
            .enumerate()
            .map(|(j, m)| ReferenceModelInfo {
                index: j,
                train_records: m.iter().filter(|&&b| b).count(),
                accuracy_train: None,
                accuracy_test: None,
                loss: Vec::new(),
            })
            .collect();
    }
    let n_mem = records.members();
    let target_train_acc = super::accuracy(&target_signals.correct, &(0..n_mem).collect::<Vec<_>>()).unwrap_or(1.0);
    let chance = 1.0 / classes as f64;
    let mut not_learning = Vec::new();
    for (j, info) in model_infos.iter_mut().enumerate() {
        let (tin, tout): (Vec<usize>, Vec<usize>) = (0..total).partition(|&r| member[j][r]);
        info.accuracy_train = super::accuracy(&ref_signals[j].correct, &tin);
        info.accuracy_test = super::accuracy(&ref_signals[j].correct, &tout);
        if let Some(a) = info.accuracy_train.filter(|&a| a < chance + 0.5 * (target_train_acc - chance)) {
            not_learning.push(format!("{} ({a:.3})", j + 1));
        }
    }
    let invalid = (!not_learning.is_empty()).then(|| {
        let which = if not_learning.len() == 1 { format!("reference model {}", not_learning[0]) } else { format!("reference models {}", not_learning.join(", ")) };
        let why = format!(
            "{which} did not learn: accuracy on its own training records less than halfway from chance ({chance:.3}) to the target's {target_train_acc:.3}"
        );
        warnings.push(format!(
            "{why}. The attacks that compare with the references (LiRA, RMIA) are not valid here and are left out of the verdict; train the references longer or with a higher learning rate"
        ));
        why
    });
    let order = &split.order;
    let set = ReferenceSet {
        target: ModelSignals::from_signals(target_signals, order),
        refs: ref_signals.iter().map(|s| ModelSignals::from_signals(s, order)).collect(),
        member: member.iter().map(|m| order.iter().map(|&i| m[i]).collect()).collect(),
        candidates: split.candidates.len(),
    };
    let trained = matches!(source, RefSource::Train { .. });
    let info = ReferenceInfo {
        source: match source {
            RefSource::Train { .. } if shared_from.is_some() => "shared",
            RefSource::Train { .. } => "trained",
            RefSource::Models { .. } => "models",
            RefSource::Outputs { .. } => "outputs",
        }
        .into(),
        count: k,
        mode: if plan.online { "online" } else { "offline" }.into(),
        seed: plan.opts.seed,
        training: trained.then(|| plan.opts.training.clone()),
        membership: membership_note,
        models: model_infos,
        training_seconds: (trained && !cached).then(|| (now_ms() - t0) / 1000.0),
        parallelism,
        cached,
    };
    Ok(References { set, info, cache, invalid })
}

/// The user's references' outputs, one table per reference, in the audited rows' order.
fn user_outputs(input: &AuditInput, plan: &Plan, records: &Records, classes: usize) -> Result<Vec<Logits>> {
    let total = records.count();
    let mut logits = Vec::new();
    for src in &input.references.outputs {
        let t = data::read_table(src, &plan.table)?;
        if t.rows != total || t.cols != classes {
            return Err(AuditError::ShapeMismatch {
                file: t.file.clone(),
                what: "reference outputs".into(),
                expected: format!("{total} rows (members, then non-members, then population) × {classes} classes"),
                actual: format!("{} × {}", t.rows, t.cols),
            });
        }
        if let Some(r) = (0..total).find(|&r| t.labels[r] != records.labels[r]) {
            return Err(AuditError::BadCell {
                file: t.file.clone(),
                row: r + 1,
                column: plan.opts.label_column.clone(),
                message: format!(
                    "label {} but the audited record in this position has label {}; rows must be the members, then the non-members, then the population, in file order",
                    t.labels[r], records.labels[r]
                ),
            });
        }
        logits.push(Logits::from_outputs(&t.file, t.values, t.rows, t.cols, plan.opts.outputs)?.0);
    }
    Ok(logits)
}

/// The user's reference models, run on every row. A pipeline's references are pipelines with
/// the same preprocessing (compared by digest): their estimators run on the same preprocessed
/// records, a tree ensemble's on the CPU.
async fn user_models(input: &AuditInput, records: &Records, target: &TargetOutputs, classes: usize, say: &mut Say<'_>) -> Result<Vec<Logits>> {
    if target.model.is_none() && target.pipeline.is_none() {
        return Err(AuditError::option(
            "referenceModels",
            "reference models need the records' features; in outputs-only mode give the references' outputs instead",
        ));
    }
    let (total, k) = (records.count(), input.references.models.len());
    let values = records.all_features();
    let mut logits = Vec::new();
    for (i, (m, d)) in input.references.models.iter().enumerate() {
        let r = crate::model::parse_audited(m, d.as_ref(), None)?;
        match (&target.pipeline, &r.pipeline) {
            (Some(t), Some(p)) if t.preprocessing_digest != p.preprocessing_digest => {
                return Err(AuditError::model(
                    &m.name,
                    format!("its preprocessing differs from {}'s; reference pipelines must preprocess the records exactly as the audited one", t.file()),
                ));
            }
            (Some(t), None) => {
                return Err(AuditError::model(&m.name, format!("{} is a pipeline; its references must be pipelines with the same preprocessing", t.file())));
            }
            (None, Some(_)) => return Err(AuditError::model(&m.name, "a pipeline cannot be the reference of a plain model")),
            _ => {}
        }
        let span = (0.15 + 0.7 * i as f64 / k as f64, 0.15 + 0.7 * (i + 1) as f64 / k as f64);
        let l = match (&r.onnx, &r.pipeline, &target.model) {
            (Some(onnx), _, Some((_, be))) => {
                if onnx.features() != records.tables[0].cols {
                    return Err(AuditError::ShapeMismatch {
                        file: m.name.clone(),
                        what: "model input".into(),
                        expected: format!("{} features", records.tables[0].cols),
                        actual: onnx.features().to_string(),
                    });
                }
                model_logits(onnx, be, &values, total, say, span, &format!("reference {}/{k}", i + 1)).await?
            }
            (_, Some(p), _) if p.network.is_none() => {
                let (z, c) = p.host_outputs(&values, total)?;
                let kind = if p.kind == crate::model::pipeline::ReadKind::Probabilities { OutputKind::Probabilities } else { OutputKind::Logits };
                Logits::from_outputs(&m.name, z, total, c, kind)?.0
            }
            _ => {
                return Err(AuditError::model(
                    &m.name,
                    "a network reference of a tree ensemble (or the reverse): references must be models of the audited one's kind",
                ));
            }
        };
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
    Ok(logits)
}

/// The training's progress messages: which reference and epoch, its loss, the time left
/// (estimated from the epochs done so far over every reference: side by side, their epochs
/// interleave), and, once a reference's loss has not moved from chance after its first epochs, a
/// note that it is not learning and what would help, kept on every later message.
struct TrainingProgress {
    k: usize,
    epochs: usize,
    /// ln(classes): the cross-entropy of guessing.
    chance: f64,
    learning_rate: f64,
    t0: f64,
    done: std::cell::Cell<usize>,
    first: std::cell::RefCell<Vec<Option<f64>>>,
    stuck: std::cell::RefCell<Option<String>>,
}

impl TrainingProgress {
    fn new(k: usize, epochs: usize, classes: usize, learning_rate: f64) -> Self {
        Self {
            k,
            epochs,
            chance: (classes.max(2) as f64).ln(),
            learning_rate,
            t0: now_ms(),
            done: std::cell::Cell::new(0),
            first: std::cell::RefCell::new(vec![None; k]),
            stuck: std::cell::RefCell::new(None),
        }
    }

    /// The fraction of the audit done and the message after reference `j` (training on `rows`
    /// records) finished epoch `e` with mean loss `loss`.
    fn epoch(&self, j: usize, rows: usize, e: usize, loss: f64) -> (f64, String) {
        let (k, epochs) = (self.k, self.epochs);
        self.done.set(self.done.get() + 1);
        let (done, total) = (self.done.get(), (k * epochs).max(1));
        let mut first = self.first.borrow_mut();
        let l0 = first.get_mut(j).map_or(loss, |f| *f.get_or_insert(loss));
        // After a tenth of the epochs (at least 3), a loss still at chance and not 5 % below
        // the first epoch's: this reference is not learning.
        let check = (epochs / 10).max(3);
        if e == check && epochs > check && loss > 0.9 * self.chance && loss > 0.95 * l0 && self.stuck.borrow().is_none() {
            *self.stuck.borrow_mut() = Some(format!(
                "reference {} is not learning: loss {loss:.3} after {e} of {epochs} epochs, near {:.3}, a guess among the classes; a higher learning rate (now {}) or more epochs should help",
                j + 1,
                self.chance,
                self.learning_rate
            ));
        }
        let secs = (now_ms() - self.t0) / 1000.0;
        let left =
            if done >= k.min(2) && done < total { format!(", about {} left", duration(secs * (total - done) as f64 / done as f64)) } else { String::new() };
        let stuck = self.stuck.borrow().as_ref().map(|s| format!(" — {s}")).unwrap_or_default();
        (0.15 + 0.7 * done as f64 / total as f64, format!("reference {}/{k} ({rows} records): epoch {e}/{epochs}, loss {loss:.4}{left}{stuck}", j + 1))
    }
}

/// "40 s", "3 min" (up to 90 min), "1 h 40 min".
fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..90 => format!("{s} s"),
        90..5400 => format!("{} min", (s + 30) / 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_progress_says_the_time_left_and_a_reference_that_does_not_learn() {
        // 2 references × 20 epochs, 10 classes (a guess has loss ln 10 = 2.303).
        let p = TrainingProgress::new(2, 20, 10, 1e-4);
        let (f, m) = p.epoch(0, 50, 1, 2.31);
        assert!(f > 0.15 && m.starts_with("reference 1/2 (50 records): epoch 1/20, loss 2.3100"), "{m}");
        assert!(!m.contains("left"), "no estimate from one epoch: {m}");
        p.epoch(1, 50, 1, 2.30);
        let (_, m) = p.epoch(0, 50, 2, 1.2);
        assert!(m.contains("s left") && !m.contains("not learning"), "{m}");
        p.epoch(1, 50, 2, 2.29);
        p.epoch(0, 50, 3, 0.8);
        // Reference 2 after 3 epochs (a tenth of 20, at least 3): still at chance.
        let (_, m) = p.epoch(1, 50, 3, 2.29);
        assert!(m.contains("reference 2 is not learning: loss 2.290 after 3 of 20 epochs") && m.contains("a higher learning rate (now 0.0001)"), "{m}");
        // Said again on every later message.
        let (f, m) = p.epoch(0, 50, 4, 0.5);
        assert!(m.contains("reference 2 is not learning") && f < 0.85, "{m}");
        assert_eq!((duration(40.0), duration(200.0), duration(6000.0)), ("40 s".to_string(), "3 min".to_string(), "1 h 40 min".to_string()));
    }
}
