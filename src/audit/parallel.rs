//! Reference models trained side by side on the CPU: natively on threads, in the browser on a
//! pool of Web Workers (each with its own single-threaded engine, see `www/trainer.js`).
//!
//! A reference's training is a self-contained [`TrainJob`]: its training rows, labels and seed.
//! What every job shares is a [`JobContext`]: the model file (parsed again where the job runs,
//! so nothing crosses threads or workers but bytes and numbers) and the records every
//! reference is evaluated on. Every job runs the same code, [`run_job`], whether one at a time
//! or many at once, and each is single-threaded and seeded: the references — and so the
//! report — are the same bit for bit whatever the number of threads or workers.
//!
//! Why not threads inside the kernels (a shared-memory wasm build, as wasm-bindgen-rayon
//! does)? It needs a nightly toolchain with `build-std`, a second wasm build (about 6 minutes
//! of every cold `npm test` on the 2-core CI machine), and a cross-origin-isolated page
//! (COOP/COEP headers), which most sites embedding the widget cannot set; and a reduction split
//! across threads would make results depend on the thread count. The K references are
//! independent and each runs for seconds to minutes, so running them side by side uses every
//! core for K ≥ cores without any of that.

use crate::backend::Backend;
use crate::data::InputFile;
use crate::error::{AuditError, Result};
use crate::model::TrainSettings;

/// What every reference of one audit shares.
#[derive(Clone, Debug)]
pub struct JobContext {
    /// The audited model's file (a pipeline's whole file: its network is derived from it).
    pub model: InputFile,
    /// Its external weights, if any.
    pub model_data: Option<InputFile>,
    /// The graph output read (`output` option).
    pub output: Option<String>,
    /// Classes of the label.
    pub classes: usize,
    /// The training recipe.
    pub settings: TrainSettings,
    /// Every audited and population record's features, row-major, as the network reads them
    /// (f32: the model runs in f32, so this is exactly what it sees, in half the memory).
    pub eval: Vec<f32>,
    /// Records in `eval`.
    pub eval_rows: usize,
}

/// One reference model to train.
#[derive(Clone, Debug)]
pub struct TrainJob {
    /// Its index among the references.
    pub index: usize,
    /// Its training records: rows of [`JobContext::eval`], ascending.
    pub rows: Vec<usize>,
    /// Their labels.
    pub y: Vec<usize>,
    /// Its seed (weights and batch order).
    pub seed: u64,
}

/// A trained reference: its logits on every record of [`JobContext::eval`].
#[derive(Clone, Debug, PartialEq)]
pub struct TrainResult {
    pub index: usize,
    pub logits: Vec<f64>,
    pub classes: usize,
    /// Mean training loss per epoch.
    pub losses: Vec<f64>,
}

/// Train one reference on the CPU and evaluate it on every record.
///
/// # Errors
/// As [`crate::model::parse_audited`] and [`crate::model::OnnxModel::train`]; rows outside
/// the records.
pub async fn run_job(cx: &JobContext, job: &TrainJob, on_epoch: &mut dyn FnMut(usize, f64)) -> Result<TrainResult> {
    let audited = crate::model::parse_audited(&cx.model, cx.model_data.as_ref(), cx.output.as_deref())?;
    let onnx = audited.onnx.ok_or_else(|| AuditError::model(&cx.model.name, "has no network part to train"))?;
    let f = onnx.features();
    if cx.eval_rows.checked_mul(f) != Some(cx.eval.len()) || job.rows.len() != job.y.len() || job.rows.iter().any(|&r| r >= cx.eval_rows) {
        return Err(AuditError::option(
            "references",
            format!("internal: reference {} got {} rows and {} labels of {} records × {f} features", job.index + 1, job.rows.len(), job.y.len(), cx.eval_rows),
        ));
    }
    // Each record at most once and in order, as the engine makes jobs.
    if !job.rows.windows(2).all(|w| w[0] < w[1]) {
        return Err(AuditError::option("references", format!("internal: reference {}'s rows must be strictly ascending record indices", job.index + 1)));
    }
    let x = rows_of(&cx.eval, f, &job.rows)?;
    let be = Backend::cpu();
    let (prepared, losses) = onnx.train(&be, &x, job.rows.len(), &job.y, cx.classes, &cx.settings, job.seed, on_epoch).await?;
    drop(x);
    let (logits, classes) = prepared.logits(&cx.eval, cx.eval_rows, |_, _| {}).await?;
    Ok(TrainResult { index: job.index, logits, classes, losses })
}

/// The records at `rows` of `values`, `f` features each, row-major.
///
/// # Errors
/// A row outside `values`.
pub fn rows_of(values: &[f32], f: usize, rows: &[usize]) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(rows.len().saturating_mul(f));
    for &r in rows {
        let record = r.checked_mul(f).and_then(|a| values.get(a..a.checked_add(f)?));
        out.extend_from_slice(record.ok_or_else(|| AuditError::option("references", format!("internal: record {r} of {} × {f} values", values.len())))?);
    }
    Ok(out)
}

/// Train every job on the CPU, side by side where this platform allows: natively on threads
/// ([`native_threads`]), in the browser on the page's pool of Web Workers (registered by the
/// worker with `setReferenceTrainer`), else one after another here. Progress `(job, epoch,
/// loss)` reaches `on_epoch` on the calling thread. Returns the results in job order and a
/// sentence saying how they ran, for the report.
///
/// # Errors
/// The first failing job's error, by job order.
pub async fn train_on_cpu(cx: &JobContext, jobs: &[TrainJob], on_epoch: &mut dyn FnMut(usize, usize, f64)) -> Result<(Vec<TrainResult>, String)> {
    let k = jobs.len();
    #[cfg(not(target_family = "wasm"))]
    {
        let (threads, why) = native_threads(k);
        let results = run_native(cx, jobs, threads, on_epoch)?;
        let how = if threads > 1 {
            format!("{k} references trained side by side on {threads} CPU threads ({why})")
        } else {
            format!("{k} references trained one after another on 1 CPU thread ({why})")
        };
        Ok((results, how))
    }
    #[cfg(target_family = "wasm")]
    {
        let why = match crate::wasm::reference_trainer() {
            Some(trainer) => match crate::wasm::train_in_workers(&trainer, cx, jobs, on_epoch).await? {
                Ok(done) => return Ok(done),
                Err(why) => why,
            },
            None => "no pool of Web Workers was registered".to_string(),
        };
        let mut results = Vec::with_capacity(k);
        for job in jobs {
            let j = job.index;
            results.push(run_job(cx, job, &mut |e, loss| on_epoch(j, e, loss)).await?);
        }
        Ok((results, format!("{k} references trained one after another in the engine's worker ({why})")))
    }
}

/// Threads for `jobs` references natively, and why that many: the machine's cores, or
/// `PRIVAUDIT_THREADS`, never more than the jobs.
#[cfg(not(target_family = "wasm"))]
pub fn native_threads(jobs: usize) -> (usize, String) {
    let (n, why) = match std::env::var("PRIVAUDIT_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&n| n > 0) {
        Some(n) => (n, format!("PRIVAUDIT_THREADS={n}")),
        None => {
            let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
            (cores, format!("{cores} core{} here; PRIVAUDIT_THREADS sets another number", if cores == 1 { "" } else { "s" }))
        }
    };
    if n > jobs.max(1) { (jobs.max(1), format!("one per reference; {why}")) } else { (n, why) }
}

/// Run `jobs` on `threads` OS threads (each takes the next job when it finishes one); progress
/// `(job, epoch, loss)` reaches `on_epoch` on the calling thread. Results in job order.
///
/// # Errors
/// The first failing job's error, by job order.
#[cfg(not(target_family = "wasm"))]
pub fn run_native(cx: &JobContext, jobs: &[TrainJob], threads: usize, on_epoch: &mut dyn FnMut(usize, usize, f64)) -> Result<Vec<TrainResult>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    enum Msg {
        Epoch(usize, usize, f64),
        Done(usize, Result<TrainResult>),
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<TrainResult>>> = (0..jobs.len()).map(|_| None).collect();
    let mut spawn_error = None;
    std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<Msg>();
        for t in 0..threads.max(1) {
            let tx = tx.clone();
            let next = &next;
            let work = move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let mut progress = |e: usize, loss: f64| {
                        let _ = tx.send(Msg::Epoch(i, e, loss));
                    };
                    let r = pollster::block_on(run_job(cx, job, &mut progress));
                    // A failed job stops the others from starting more.
                    if r.is_err() {
                        next.store(jobs.len(), Ordering::Relaxed);
                    }
                    let _ = tx.send(Msg::Done(i, r));
                }
            };
            // The main thread's stack size: the model interpreter and burn's autodiff recurse
            // deeper than a spawned thread's default 2 MiB allows on large graphs.
            if let Err(e) = std::thread::Builder::new().name(format!("privaudit-reference-{t}")).stack_size(8 << 20).spawn_scoped(s, work) {
                spawn_error = Some(e.to_string());
                break;
            }
        }
        drop(tx);
        for m in rx {
            match m {
                Msg::Epoch(i, e, loss) => on_epoch(i, e, loss),
                Msg::Done(i, r) => results[i] = Some(r),
            }
        }
    });
    // A job's own error first (by job order): the jobs it stopped from starting have none.
    let (mut out, mut first_error, mut missing) = (Vec::with_capacity(jobs.len()), None, false);
    for r in results {
        match r {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                first_error.get_or_insert(e);
            }
            None => missing = true,
        }
    }
    match (first_error, missing) {
        (Some(e), _) => Err(e),
        (None, true) => Err(AuditError::option(
            "references",
            format!("cannot start a thread to train references on: {}", spawn_error.as_deref().unwrap_or("a thread ended without its result")),
        )),
        (None, false) => Ok(out),
    }
}
