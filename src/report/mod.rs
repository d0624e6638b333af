//! Report: plain serde data, and pure renderers (JSON, scores CSV, a text summary, SVG plots).
//!
//! The JSON field names are a contract (see `schema/report.schema.json`); bump
//! [`SCHEMA_VERSION`] when they change.

mod svg;

pub use svg::{histogram_svg, roc_svg};

use crate::metrics::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report's JSON layout.
pub const SCHEMA_VERSION: u32 = 2;

/// The FPR levels at which TPR is reported, as they appear as JSON keys.
pub const FPR_LEVELS: [(&str, f64); 4] = [("0.1", 0.1), ("0.01", 0.01), ("0.001", 0.001), ("0", 0.0)];

/// The whole audit result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditReport {
    /// Layout version of this JSON.
    pub schema_version: u32,
    /// The engine that produced it.
    pub tool: ToolInfo,
    /// Where the model ran: "webgpu" (browser GPU), "wgpu" (native GPU) or "cpu".
    pub backend: String,
    /// Why the backend is not the one asked for (e.g. no GPU adapter), if so.
    pub backend_note: Option<String>,
    /// The audited model.
    pub model: ModelInfo,
    /// The audited records.
    pub data: DataInfo,
    /// The reference models, when an attack used them.
    pub references: Option<ReferenceInfo>,
    /// One entry per attack, in the order run.
    pub attacks: Vec<AttackResult>,
    /// Warnings a reader should see (e.g. a model with 100 % accuracy on both sets).
    pub warnings: Vec<String>,
}

/// Engine name and version.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ToolInfo {
    /// Always "privaudit".
    pub name: String,
    /// The crate version.
    pub version: String,
}

/// Facts about the model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    /// "onnx", or "outputs" when the user gave the model's outputs instead of a model.
    pub format: String,
    /// Default-domain opset of the ONNX file.
    pub opset: Option<i64>,
    /// Number of weights in the ONNX initializers.
    pub parameters: Option<u64>,
    /// Fraction of members whose label is the model's top class.
    pub accuracy_members: f64,
    /// Fraction of non-members whose label is the model's top class.
    pub accuracy_nonmembers: f64,
    /// accuracy_members − accuracy_nonmembers.
    pub generalization_gap: f64,
    /// How outputs were read: "logits" or "probabilities".
    pub outputs: String,
}

/// Facts about the data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DataInfo {
    /// Number of member records.
    pub members: usize,
    /// Number of non-member records.
    pub nonmembers: usize,
    /// Population records used by Attack-P and RMIA (absent when no attack used any).
    pub population: Option<usize>,
    /// "file", or how many non-members were held out as population.
    pub population_source: Option<String>,
    /// Features per record (absent in outputs-only mode).
    pub features: Option<usize>,
    /// Number of classes.
    pub classes: usize,
}

/// ROC points kept for plotting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RocPoints {
    /// False-positive rates, non-decreasing, from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rates at the same points.
    pub tpr: Vec<f64>,
}

/// One attack's metrics.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttackResult {
    /// "loss", "confidence", "entropy" or "modified_entropy".
    pub name: String,
    /// Area under the ROC curve (scikit-learn's `roc_auc_score`, ties counted half).
    pub auc: f64,
    /// Best TPR among operating points with FPR ≤ the key ("0.1", "0.01", "0.001", "0").
    pub tpr_at_fpr: BTreeMap<String, f64>,
    /// max(TPR − FPR) over thresholds.
    pub advantage: f64,
    /// Precision of "member" calls at the best-advantage threshold; null if it flags nobody.
    pub ppv: Option<f64>,
    /// Threshold (on this attack's score) of the best-advantage point.
    pub best_threshold: f64,
    /// At most ~1000 ROC points, dense at low FPR.
    pub roc: RocPoints,
    /// Score histograms of members and non-members.
    pub histogram: Histogram,
    /// The parameters this attack ran with (references, a, γ, …); empty for threshold attacks.
    pub parameters: BTreeMap<String, serde_json::Value>,
}

/// The reference models behind LiRA and RMIA.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReferenceInfo {
    /// "trained" (by privaudit), "models" (the user's ONNX files) or "outputs" (their outputs).
    pub source: String,
    /// Number of references K.
    pub count: usize,
    /// "offline" or "online".
    pub mode: String,
    /// The seed of every random choice.
    pub seed: u64,
    /// The training settings, when privaudit trained them.
    pub training: Option<crate::model::TrainSettings>,
    /// Where the membership of records in the references' training sets comes from.
    pub membership: String,
    /// One entry per reference.
    pub models: Vec<ReferenceModelInfo>,
    /// Wall time spent training and evaluating the references, in seconds (null when they
    /// came from the user or from the cache).
    pub training_seconds: Option<f64>,
    /// Whether trained references were reused from an earlier run with the same inputs,
    /// settings and seed instead of trained again.
    pub cached: bool,
}

/// One reference model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ReferenceModelInfo {
    /// 0-based index (the column in the membership matrix).
    pub index: usize,
    /// Records it was trained on.
    pub train_records: usize,
    /// Its accuracy on the records it was trained on (null if none).
    pub accuracy_train: Option<f64>,
    /// Its accuracy on every other record (null if none).
    pub accuracy_test: Option<f64>,
    /// Mean training loss of each epoch (empty when not trained by privaudit).
    pub loss: Vec<f64>,
}

/// Per-record scores, the body of the scores CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoreTable {
    /// Attack names, one column each.
    pub attacks: Vec<String>,
    /// `(set, row in its file (1-based), label, is_member, scores per attack)`.
    pub rows: Vec<(bool, usize, usize, Vec<f64>)>,
}

/// The report as pretty JSON.
pub fn to_json(report: &AuditReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The per-record scores as CSV: `set,row,label,member,<attack>...`, full f64 precision.
pub fn scores_csv(t: &ScoreTable) -> String {
    let mut s = String::from("set,row,label,member");
    for a in &t.attacks {
        s.push(',');
        s.push_str(a);
    }
    s.push('\n');
    for (member, row, label, scores) in &t.rows {
        s.push_str(if *member { "members" } else { "nonmembers" });
        s.push_str(&format!(",{row},{label},{}", u8::from(*member)));
        for v in scores {
            s.push_str(&format!(",{v:e}"));
        }
        s.push('\n');
    }
    s
}

/// A short text table for terminals.
pub fn summary_text(r: &AuditReport) -> String {
    let mut s = format!(
        "backend {}   members {}   non-members {}   accuracy {:.3} / {:.3} (gap {:+.3})\n",
        r.backend, r.data.members, r.data.nonmembers, r.model.accuracy_members, r.model.accuracy_nonmembers, r.model.generalization_gap
    );
    if let Some(line) = references_line(r) {
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(&format!("{:<28}{:>8}{:>12}{:>12}{:>12}{:>12}{:>11}\n", "attack", "AUC", "TPR@10%", "TPR@1%", "TPR@0.1%", "TPR@0", "advantage"));
    for a in &r.attacks {
        let t = |k: &str| a.tpr_at_fpr.get(k).copied().unwrap_or(f64::NAN);
        s.push_str(&format!("{:<28}{:>8.4}{:>12.4}{:>12.4}{:>12.4}{:>12.4}{:>11.4}\n", a.name, a.auc, t("0.1"), t("0.01"), t("0.001"), t("0"), a.advantage));
    }
    for w in &r.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s
}

/// One line on the reference models, if any.
pub fn references_line(r: &AuditReport) -> Option<String> {
    let refs = r.references.as_ref()?;
    let acc = |f: fn(&ReferenceModelInfo) -> Option<f64>| {
        refs.models.iter().map(|m| f(m).map_or("–".to_string(), |v| format!("{v:.3}"))).collect::<Vec<_>>().join(" ")
    };
    let secs = refs.training_seconds.map(|t| format!(", {t:.1} s")).unwrap_or_default();
    Some(format!(
        "references: {} ({}, {}, seed {}{secs}); accuracy on own training records {} / on others {}; membership {}",
        refs.count,
        refs.source,
        refs.mode,
        refs.seed,
        acc(|m| m.accuracy_train),
        acc(|m| m.accuracy_test),
        refs.membership
    ))
}

/// A self-contained HTML page of the report (no scripts, no external resources).
pub fn html(r: &AuditReport) -> String {
    let mut rows = String::new();
    for a in &r.attacks {
        let t = |k: &str| a.tpr_at_fpr.get(k).map(|v| format!("{v:.4}")).unwrap_or_default();
        rows.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{:.4}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
            a.name,
            a.auc,
            t("0.1"),
            t("0.01"),
            t("0.001"),
            t("0"),
            a.advantage,
            a.ppv.map(|p| format!("{p:.4}")).unwrap_or_else(|| "–".into())
        ));
    }
    let hists: String = r.attacks.iter().map(histogram_svg).collect();
    let mut warnings: String = r.warnings.iter().map(|w| format!("<li>{}</li>", svg_escape(w))).collect();
    if let Some(line) = references_line(r) {
        warnings.push_str(&format!("<li>{}</li>", svg_escape(&line)));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>privaudit report</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<style>body{{font:14px system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}th[scope=row]{{text-align:left}}svg{{max-width:100%}}.h svg{{width:300px}}</style></head><body>\
<h1>Membership-inference audit</h1><p>Backend <b>{}</b> · {} members · {} non-members · accuracy {:.3} (members) / {:.3} (non-members), gap {:+.3}</p>\
<table><caption>Attack metrics (TPR at FPR ≤ level)</caption><thead><tr><th>attack</th><th>AUC</th><th>TPR@10%</th><th>TPR@1%</th><th>TPR@0.1%</th><th>TPR@0</th><th>advantage</th><th>PPV</th></tr></thead><tbody>{rows}</tbody></table>\
<ul>{warnings}</ul>{}<div class=\"h\">{hists}</div><p>privaudit {} · report schema {}</p></body></html>",
        r.backend,
        r.data.members,
        r.data.nonmembers,
        r.model.accuracy_members,
        r.model.accuracy_nonmembers,
        r.model.generalization_gap,
        roc_svg(r),
        r.tool.version,
        r.schema_version
    )
}

fn svg_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
