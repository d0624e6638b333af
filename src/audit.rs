//! The audit: inputs and options → report and per-record scores. The one place that walks the
//! pipeline data → model → signals → attacks → metrics → report.

use crate::attacks::AttackKind;
use crate::backend::{self, BackendChoice};
use crate::data::{self, DataSource, InputFile, TableOptions};
use crate::error::{AuditError, Result};
use crate::metrics::{Histogram, RocCurve};
use crate::model::OnnxModel;
use crate::report::{self, AttackResult, AuditReport, DataInfo, ModelInfo, RocPoints, ScoreTable, ToolInfo};
use crate::signals::{self, Logits, OutputKind};
use serde::{Deserialize, Serialize};

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
    /// Attacks to run. Default: all threshold attacks.
    pub attacks: Vec<AttackKind>,
    /// Where the model runs. Default: `auto`.
    pub backend: BackendChoice,
    /// Outputs-only mode: how to read the outputs. Default: `auto` (detect probabilities).
    pub outputs: OutputKind,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            label_column: "label".into(),
            id_column: None,
            scale: 1.0,
            shift: 0.0,
            attacks: AttackKind::ALL.to_vec(),
            backend: BackendChoice::Auto,
            outputs: OutputKind::Auto,
        }
    }
}

/// What to audit.
#[derive(Clone, Debug)]
pub enum AuditInput {
    /// An ONNX model and the members / non-members it is audited on.
    Model {
        /// The `.onnx` file.
        model: InputFile,
        /// Its external weights (`.onnx.data`), when it has them.
        model_data: Option<InputFile>,
        /// Records the model was trained on.
        members: DataSource,
        /// Records from the same distribution it never saw.
        nonmembers: DataSource,
    },
    /// The model's outputs (logits or probabilities, with labels) on members and non-members.
    Outputs {
        /// Outputs on the members.
        members: DataSource,
        /// Outputs on the non-members.
        nonmembers: DataSource,
    },
}

/// A progress event: a stage name, the fraction of the whole audit done, and a message.
#[derive(Clone, Debug, Serialize)]
pub struct Progress {
    /// "read", "model", "device", "inference", "attacks" or "done".
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
}

/// Run a whole audit.
///
/// # Errors
/// Any input problem, as an [`AuditError`] naming the file and place.
pub async fn run(input: AuditInput, opts: &AuditOptions, progress: &mut dyn FnMut(Progress)) -> Result<AuditOutput> {
    if opts.attacks.is_empty() {
        return Err(AuditError::option("attacks", "choose at least one attack"));
    }
    let topts = TableOptions { label_column: opts.label_column.clone(), id_column: opts.id_column.clone() };
    let mut say = |stage, fraction, message: String| progress(Progress { stage, fraction, message });
    say("read", 0.0, "reading files".into());
    let (mem_logits, non_logits, mem_labels, non_labels, model_info, features, backend, note) = match input {
        AuditInput::Outputs { members, nonmembers } => {
            let (m, n) = (data::read_table(&members, &topts)?, data::read_table(&nonmembers, &topts)?);
            if m.cols != n.cols {
                return Err(AuditError::ShapeMismatch { file: n.file.clone(), what: "number of output columns".into(), expected: format!("{} (as in {})", m.cols, m.file), actual: n.cols.to_string() });
            }
            m.check_labels(m.cols)?;
            n.check_labels(n.cols)?;
            let (lm, km) = Logits::from_outputs(&m.file, m.values, m.rows, m.cols, opts.outputs)?;
            let (ln, kn) = Logits::from_outputs(&n.file, n.values, n.rows, n.cols, opts.outputs)?;
            if km != kn {
                return Err(AuditError::file(&n.file, format!("these outputs look like {kn:?} but {}'s look like {km:?}; set the outputs option", m.file)));
            }
            let kind = if km == OutputKind::Probabilities { "probabilities" } else { "logits" };
            let info = ModelInfo { format: "outputs".into(), opset: None, parameters: None, accuracy_members: 0.0, accuracy_nonmembers: 0.0, generalization_gap: 0.0, outputs: kind.into() };
            (lm, ln, m.labels, n.labels, info, None, "cpu", None)
        }
        AuditInput::Model { model, model_data, members, nonmembers } => {
            let (mut m, mut n) = (data::read_table(&members, &topts)?, data::read_table(&nonmembers, &topts)?);
            say("model", 0.05, format!("parsing {}", model.name));
            let onnx = OnnxModel::parse(&model, model_data.as_ref())?;
            let f = onnx.features();
            for t in [&m, &n] {
                if t.cols != f {
                    return Err(AuditError::ShapeMismatch { file: t.file.clone(), what: "number of feature columns".into(), expected: format!("{f} (the input of {} is {:?} per record)", onnx.file(), onnx.input_shape), actual: t.cols.to_string() });
                }
            }
            m.scale_shift(opts.scale, opts.shift)?;
            n.scale_shift(opts.scale, opts.shift)?;
            if let Some(c) = onnx.classes {
                m.check_labels(c)?;
                n.check_labels(c)?;
            }
            say("device", 0.1, "initialising the compute device".into());
            let be = backend::select(opts.backend).await?;
            let prepared = onnx.prepare(&be.device)?;
            let total = m.rows + n.rows;
            say("inference", 0.15, format!("running the model on {total} records ({})", be.name));
            let (zm, cm) = prepared
                .logits(&m.values, m.rows, |d, _| say("inference", 0.15 + 0.7 * d as f64 / total as f64, format!("{d} of {total} records")))
                .await?;
            let (zn, cn) = prepared
                .logits(&n.values, n.rows, |d, _| say("inference", 0.15 + 0.7 * (m.rows + d) as f64 / total as f64, format!("{} of {total} records", m.rows + d)))
                .await?;
            let classes = cm.max(cn);
            let (lm, _) = Logits::from_outputs(&model.name, zm, m.rows, classes, OutputKind::Logits)?;
            let (ln, _) = Logits::from_outputs(&model.name, zn, n.rows, classes, OutputKind::Logits)?;
            m.check_labels(classes)?;
            n.check_labels(classes)?;
            let info = ModelInfo { format: "onnx".into(), opset: onnx.opset, parameters: Some(onnx.parameters), accuracy_members: 0.0, accuracy_nonmembers: 0.0, generalization_gap: 0.0, outputs: "logits".into() };
            (lm, ln, m.labels, n.labels, info, Some(f), be.name, be.note)
        }
    };
    say("attacks", 0.9, "computing signals and attacks".into());
    let sm = signals::compute(&mem_logits, &mem_labels);
    let sn = signals::compute(&non_logits, &non_labels);
    let acc = |c: &[bool]| c.iter().filter(|&&b| b).count() as f64 / c.len() as f64;
    let mut model_info = model_info;
    model_info.accuracy_members = acc(&sm.correct);
    model_info.accuracy_nonmembers = acc(&sn.correct);
    model_info.generalization_gap = model_info.accuracy_members - model_info.accuracy_nonmembers;
    let is_member: Vec<bool> = (0..mem_labels.len() + non_labels.len()).map(|i| i < mem_labels.len()).collect();
    let mut attacks = Vec::new();
    let mut columns = Vec::new();
    for kind in dedup(&opts.attacks) {
        let mut scores = kind.score(&sm).0;
        scores.extend(kind.score(&sn).0);
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
        });
        columns.push(scores);
    }
    let mut warnings = Vec::new();
    if mem_labels.len() < 50 || non_labels.len() < 50 {
        warnings.push("fewer than 50 members or non-members: the metrics are very noisy, and TPR at 0.1 % FPR needs at least 1000 non-members to mean anything".into());
    } else if non_labels.len() < 1000 {
        warnings.push(format!("with {} non-members the smallest non-zero FPR is {:.2} %, so TPR at 0.1 % FPR equals TPR at 0 FPR", non_labels.len(), 100.0 / non_labels.len() as f64));
    }
    if let Some(n) = &note {
        warnings.push(n.clone());
    }
    let rows = is_member
        .iter()
        .enumerate()
        .map(|(i, &m)| {
            let (row, label) = if m { (i + 1, mem_labels[i]) } else { (i - mem_labels.len() + 1, non_labels[i - mem_labels.len()]) };
            (m, row, label, columns.iter().map(|c| c[i]).collect())
        })
        .collect();
    let report = AuditReport {
        schema_version: report::SCHEMA_VERSION,
        tool: ToolInfo { name: "privaudit".into(), version: env!("CARGO_PKG_VERSION").into() },
        backend: backend.into(),
        backend_note: note,
        model: model_info,
        data: DataInfo { members: mem_labels.len(), nonmembers: non_labels.len(), features, classes: mem_logits.classes },
        attacks,
        warnings,
    };
    say("done", 1.0, "audit complete".into());
    Ok(AuditOutput { report, scores: ScoreTable { attacks: columns_names(&opts.attacks), rows } })
}

fn dedup(a: &[AttackKind]) -> Vec<AttackKind> {
    let mut out = Vec::new();
    for &k in a {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

fn columns_names(a: &[AttackKind]) -> Vec<String> {
    dedup(a).iter().map(|k| k.name().to_string()).collect()
}
