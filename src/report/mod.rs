//! Report: plain serde data, and pure renderers (JSON, scores CSV, a text summary, SVG plots).
//!
//! The JSON field names are a contract (see `schema/report.schema.json`); bump
//! [`SCHEMA_VERSION`] when they change.

mod comparison;
pub mod diff;
pub mod gate;
pub mod records;
mod svg;
mod verdict;

pub use verdict::verdict;

pub use comparison::{comparison_html, comparison_svg, comparison_text};

pub use records::{DuplicateExample, DuplicateExposure, DuplicateInfo, ExposedRecord, Exposure, RecordRef, ReferenceView, Slice, SliceAttack};

pub use svg::{escape, histogram_svg, roc_svg, slices_svg};

pub use crate::metrics::{AttackMetrics, EpsilonBounds, FPR_LEVELS, Interval, RocPoints};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report's JSON layout. 3: `best_threshold` is null when no threshold beats
/// flagging nobody (it was +∞, written as null against the schema). 5: `statistics`, and per
/// attack `ci`, `roc_band` and `epsilon`; `verdict` and `provenance`. 6: `exposure`, `slices` and
/// `duplicates`.
pub const SCHEMA_VERSION: u32 = 6;

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
    /// How the intervals and ε bounds were computed, and what they assume.
    pub statistics: StatisticsInfo,
    /// One entry per attack, in the order run.
    pub attacks: Vec<AttackResult>,
    /// Warnings a reader should see (e.g. a model with 100 % accuracy on both sets).
    pub warnings: Vec<String>,
    /// The findings in plain language, the ε bound over all attacks and the gate's result.
    pub verdict: Verdict,
    /// What exactly was audited: every input's SHA-256, the options, the engine, the date.
    pub provenance: Provenance,
    /// The members the strongest attack is most sure of, and the non-members it mistakes for
    /// members.
    pub exposure: Exposure,
    /// Every attack's metrics per slice (class, correct or not, loss quartile, slice column);
    /// empty when slices were turned off.
    pub slices: Vec<Slice>,
    /// Duplicate records (null in outputs-only mode, where there are no inputs to compare).
    pub duplicates: Option<DuplicateInfo>,
}

/// The findings in a few sentences a privacy officer can quote, and what they rest on.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// Plain-language sentences, most important first.
    pub summary: Vec<String>,
    /// The FPR level the first sentence reads (`tpr_at_fpr` key): 0.001 when 1/N allows it,
    /// else the smallest measurable one.
    pub fpr_level: String,
    /// The attack with the highest TPR at that level.
    pub strongest_attack: String,
    /// Members it identifies there (TPR × members).
    pub members_identified: f64,
    /// Whether that TPR is measurably above the level (its interval's lower end exceeds it;
    /// without intervals, the point does).
    pub leak_measured: bool,
    /// The largest ROC ε bound over all attacks, corrected for their number; null when no
    /// attack ran.
    pub epsilon: Option<CombinedEpsilon>,
    /// The `failIf` gate's result, when one was given.
    pub gate: Option<gate::GateResult>,
}

/// The ROC ε lower bound over every attack of the report, each computed at α/A (Bonferroni
/// over the A attacks), so that the largest holds at confidence 1 − α.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CombinedEpsilon {
    /// ε̂ ≥ 0.
    pub epsilon: f64,
    /// The attack that gave it.
    pub attack: String,
    /// The largest value these counts could show at that level.
    pub ceiling: f64,
    /// A, the number of attacks corrected for.
    pub attacks: usize,
}

/// Provenance: enough to tie a report to its exact inputs and re-run it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Provenance {
    /// When the audit ran, UTC (ISO 8601).
    pub created: String,
    /// The engine, its version and where it ran (native or in the browser).
    pub engine: String,
    /// Every input file, by role.
    pub inputs: Vec<InputDigest>,
    /// Every option, defaults filled in (the seed included).
    pub options: serde_json::Value,
}

/// One input's identity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InputDigest {
    /// model, model_data, members, members_labels, nonmembers, population, reference_model_0, …
    pub role: String,
    /// Its name as given.
    pub name: String,
    /// Its size in bytes (an image folder: all its files').
    pub bytes: u64,
    /// SHA-256 of the file (as `sha256sum`), or of an image folder's files (see the README).
    pub sha256: String,
    /// An image folder's number of files.
    pub files: Option<usize>,
    /// Records read from it (members, non-members, population).
    pub records: Option<usize>,
}

/// How the report's uncertainty was computed, and what its ε bounds assume.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StatisticsInfo {
    /// Confidence of every interval and ε bound (1 − α).
    pub confidence: f64,
    /// δ of the ε bounds.
    pub delta: f64,
    /// Bootstrap resamples behind the intervals (0: none).
    pub bootstrap_resamples: u64,
    /// How the intervals were computed.
    pub interval_method: String,
    /// The smallest non-zero FPR these non-members can show: 1/N.
    pub min_measurable_fpr: f64,
    /// FPR levels of `tpr_at_fpr` below 1/N: what is reported there is the TPR at zero false
    /// positives, not a measurement at that level.
    pub unmeasurable_fpr_levels: Vec<String>,
    /// "randomised" (each record put in training by a fair coin, as the user stated) or
    /// "fixed" (a given split).
    pub membership: String,
    /// "dp_audit" when membership was randomised, else "heuristic".
    pub epsilon_basis: String,
    /// What the ε bounds mean here, in a sentence.
    pub epsilon_note: String,
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
    /// Which value of the graph was read and how (the output's name, a final Softmax or Sigmoid
    /// skipped, one output unit read as a binary model's logit …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<String>,
    /// A tabular pipeline's estimator and what it gets: "network (…)" or "tree ensemble (…)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimator: Option<String>,
    /// A tabular pipeline's preprocessing operators, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preprocessing: Option<Vec<String>>,
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
    /// Image folders: classes, preprocessing and skipped files (absent for tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageInfo>,
}

/// How image folders were read.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImageInfo {
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// The preprocessing steps, in order (e.g. "resize to 32×32 (PIL bilinear)", "ToTensor: ÷255").
    pub preprocessing: Vec<String>,
    /// Files skipped because they are not PNG or JPEG by name, or not in a class folder.
    pub skipped_files: usize,
}

/// One attack's result: its name, its metrics and the parameters it ran with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttackResult {
    /// The attack's registry name (`loss`, `lira_offline`, …).
    pub name: String,
    /// Its metrics (flattened into this object in JSON).
    #[serde(flatten)]
    pub metrics: AttackMetrics,
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
    /// How privaudit's references were trained: side by side on how many threads or Web
    /// Workers, or one at a time on the GPU, and why (absent when none were trained here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<String>,
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
    /// One row per audited record, members first.
    pub rows: Vec<ScoreRow>,
}

/// One audited record's scores.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreRow {
    /// Whether the record is a member (it came from the members file).
    pub member: bool,
    /// Its 1-based data row in that file.
    pub row: usize,
    /// Its label.
    pub label: usize,
    /// Its name in its set (an image's path), if it has one.
    pub id: Option<String>,
    /// One score per attack, in the table's attack order.
    pub scores: Vec<f64>,
    /// The model's loss on it, −log p(label).
    pub loss: f64,
    /// The model's predicted class.
    pub predicted: usize,
    /// Whether that is the label.
    pub correct: bool,
    /// Its rank by the strongest attack (the report's `exposure.attack`): 1 + the number of
    /// records scoring strictly higher.
    pub rank: usize,
}

/// The report as pretty JSON.
pub fn to_json(report: &AuditReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// The per-record scores as CSV (written by the `csv` crate, so a header from an attack name
/// can never break the quoting): `set,row,[id,]label,member,<attack>...,model_loss,
/// model_predicted,model_correct,rank`, full f64 precision.
pub fn scores_csv(t: &ScoreTable) -> String {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    // An `id` column (the image's path) when the records have names.
    let ids = t.rows.iter().any(|r| r.id.is_some());
    let header = ["set", "row"]
        .into_iter()
        .chain(ids.then_some("id"))
        .chain(["label", "member"])
        .map(String::from)
        .chain(t.attacks.iter().cloned())
        .chain(["model_loss", "model_predicted", "model_correct", "rank"].map(String::from));
    // Writing to a Vec<u8> cannot fail, and every record has the header's length.
    let _ = w.write_record(header);
    for r in &t.rows {
        let set = if r.member { "members" } else { "nonmembers" }.to_string();
        let id = ids.then(|| r.id.clone().unwrap_or_default());
        let fixed = [set, r.row.to_string()].into_iter().chain(id).chain([r.label.to_string(), u8::from(r.member).to_string()]);
        let model = [format!("{:e}", r.loss), r.predicted.to_string(), u8::from(r.correct).to_string(), r.rank.to_string()];
        let _ = w.write_record(fixed.chain(r.scores.iter().map(|v| format!("{v:e}"))).chain(model));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A metric column of the text and HTML tables: a header, the value (if any), its interval
/// (if computed) and the `tpr_at_fpr` key it reads (for the measurability of its level).
type MetricCell = (&'static str, Option<f64>, Option<Interval>, Option<&'static str>);

fn metric_cells(m: &AttackMetrics) -> [MetricCell; 7] {
    let t = |k: &'static str| (m.tpr_at_fpr.get(k).copied(), m.ci.as_ref().and_then(|c| c.tpr_at_fpr.get(k).copied()), Some(k));
    let (t1, t2, t3, t0) = (t("0.1"), t("0.01"), t("0.001"), t("0"));
    [
        ("AUC", Some(m.auc), m.ci.as_ref().map(|c| c.auc), None),
        ("TPR@10%", t1.0, t1.1, t1.2),
        ("TPR@1%", t2.0, t2.1, t2.2),
        ("TPR@0.1%", t3.0, t3.1, t3.2),
        ("TPR@0", t0.0, t0.1, t0.2),
        ("advantage", Some(m.advantage), m.ci.as_ref().map(|c| c.advantage), None),
        ("PPV", m.ppv, None, None),
    ]
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.4}"))
}

/// `lo–hi` to 3 places.
fn range(iv: Interval) -> String {
    format!("{:.3}–{:.3}", iv[0], iv[1])
}

/// Whether `tpr_at_fpr[key]` is measured at its level with these non-members.
fn measurable(r: &AuditReport, key: Option<&str>) -> bool {
    key.is_none_or(|k| !r.statistics.unmeasurable_fpr_levels.iter().any(|u| u == k))
}

/// An ε value to 2 places, or "–".
fn eps(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |v| format!("{v:.2}"))
}

/// The ε table's columns for one attack: header and text.
fn epsilon_cells(e: &EpsilonBounds) -> [(&'static str, String); 5] {
    [
        ("ε (ROC)", format!("{} (≤ {})", eps(Some(e.roc.epsilon)), eps(Some(e.roc.ceiling)))),
        ("μ (GDP)", format!("{} (≤ {})", eps(Some(e.gdp.mu)), eps(Some(e.gdp.mu_ceiling)))),
        ("ε from μ", format!("{} (≤ {})", eps(e.gdp.epsilon), eps(e.gdp.epsilon_ceiling))),
        ("ε (one run)", e.one_run.as_ref().map_or_else(|| "–".to_string(), |o| format!("{} (≤ {})", eps(Some(o.epsilon)), eps(Some(o.ceiling))))),
        ("one-run guesses", e.one_run.as_ref().map_or_else(|| "–".to_string(), |o| format!("{} of {} right", o.correct, o.guesses))),
    ]
}

/// The sentence on how the intervals were computed, and on 1/N.
pub fn statistics_line(r: &AuditReport) -> String {
    let s = &r.statistics;
    let pct = |x: f64| format!("{}", 100.0 * x);
    let ci = if s.bootstrap_resamples > 0 {
        format!("Intervals: {} % from {} bootstrap resamples ({}).", pct(s.confidence), s.bootstrap_resamples, s.interval_method)
    } else {
        "No intervals (0 bootstrap resamples).".to_string()
    };
    let levels = if s.unmeasurable_fpr_levels.is_empty() {
        String::new()
    } else {
        format!(
            " With {} non-members the smallest FPR that can be measured is {:.3} %; the levels {} are below it (greyed, or marked *): they show the TPR at zero false positives.",
            r.data.nonmembers,
            100.0 * s.min_measurable_fpr,
            s.unmeasurable_fpr_levels.iter().map(|k| format!("{} %", pct(k.parse::<f64>().unwrap_or(0.0)))).collect::<Vec<_>>().join(", ")
        )
    };
    format!("{ci}{levels}")
}

/// The sentence on what the ε bounds mean here.
pub fn epsilon_line(r: &AuditReport) -> String {
    let s = &r.statistics;
    format!(
        "ε lower bounds at confidence {} with δ = {}; in brackets the largest value these {} members and {} non-members could show at all. {}",
        s.confidence, s.delta, r.data.members, r.data.nonmembers, s.epsilon_note
    )
}

/// What of the model was read (and, for a pipeline, its preprocessing and estimator), or
/// `None` for a plain graph read as it is.
pub fn model_line(r: &AuditReport) -> Option<String> {
    let m = &r.model;
    let mut parts: Vec<String> = m.reading.iter().cloned().collect();
    if let Some(p) = m.preprocessing.as_ref().filter(|p| !p.is_empty()) {
        parts.push(format!("preprocessing {}", p.join(" → ")));
    }
    parts.extend(m.estimator.iter().map(|e| format!("estimator: {e}")));
    (!parts.is_empty()).then(|| format!("model read: {}", parts.join("; ")))
}

/// A short text table for terminals: the metrics, their intervals, the ε bounds.
pub fn summary_text(r: &AuditReport) -> String {
    let mut s = format!(
        "backend {}   members {}   non-members {}   accuracy {:.3} / {:.3} (gap {:+.3})\n",
        r.backend, r.data.members, r.data.nonmembers, r.model.accuracy_members, r.model.accuracy_nonmembers, r.model.generalization_gap
    );
    if let Some(line) = model_line(r) {
        s.push_str(&line);
        s.push('\n');
    }
    if let Some(line) = references_line(r) {
        s.push_str(&line);
        s.push('\n');
    }
    for v in &r.verdict.summary {
        s.push_str(&format!("» {v}\n"));
    }
    let Some(first) = r.attacks.first() else { return s };
    s.push('\n');
    s.push_str(&format!("{:<28}", "attack"));
    for (h, _, _, key) in metric_cells(&first.metrics) {
        // An asterisk marks a level below 1/N.
        let h = if measurable(r, key) { h.to_string() } else { format!("{h}*") };
        s.push_str(&format!("{h:>11}"));
    }
    s.push('\n');
    for a in &r.attacks {
        s.push_str(&format!("{:<28}", a.name));
        for (_, v, _, _) in metric_cells(&a.metrics) {
            s.push_str(&format!("{:>11}", cell(v)));
        }
        s.push('\n');
    }
    if first.metrics.ci.is_some() {
        s.push_str(&format!("\n{:<28}", format!("{} % interval", 100.0 * r.statistics.confidence)));
        for (h, _, iv, _) in metric_cells(&first.metrics) {
            if iv.is_some() {
                s.push_str(&format!("{h:>14}"));
            }
        }
        s.push('\n');
        for a in &r.attacks {
            s.push_str(&format!("{:<28}", a.name));
            for (_, _, iv, _) in metric_cells(&a.metrics) {
                if let Some(iv) = iv {
                    s.push_str(&format!("{:>14}", range(iv)));
                }
            }
            s.push('\n');
        }
    }
    s.push_str(&format!("\n{:<28}", format!("ε lower bounds ({})", r.statistics.epsilon_basis.replace('_', " "))));
    for (h, _) in epsilon_cells(&first.metrics.epsilon) {
        s.push_str(&format!("{h:>18}"));
    }
    s.push('\n');
    for a in &r.attacks {
        s.push_str(&format!("{:<28}", a.name));
        for (_, v) in epsilon_cells(&a.metrics.epsilon) {
            s.push_str(&format!("{v:>18}"));
        }
        s.push('\n');
    }
    s.push_str(&format!("{}\n{}\n", statistics_line(r), epsilon_line(r)));
    s.push_str(&records::records_text(r));
    for w in &r.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    if let Some(g) = &r.verdict.gate {
        s.push_str(&format!("gate \"{}\": {}\n", g.expression, if g.passed { "passed" } else { "CROSSED" }));
        for c in &g.conditions {
            s.push_str(&format!(
                "  {} {}: {}{}\n",
                if c.crossed { "✗" } else { "✓" },
                c.condition,
                c.value,
                c.attack.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
            ));
        }
    }
    s.push_str(&format!("{}\n", provenance_line(r)));
    s
}

/// One line on what was audited: the model's and the data's SHA-256 (shortened), the date.
pub fn provenance_line(r: &AuditReport) -> String {
    let p = &r.provenance;
    let files: Vec<String> = p.inputs.iter().map(|d| format!("{} {} sha256 {}…", d.role, d.name, &d.sha256[..12.min(d.sha256.len())])).collect();
    format!("audited {} by {}: {}", p.created, p.engine, files.join("; "))
}

/// One line on the reference models, if any.
pub fn references_line(r: &AuditReport) -> Option<String> {
    let refs = r.references.as_ref()?;
    let acc = |f: fn(&ReferenceModelInfo) -> Option<f64>| {
        refs.models.iter().map(|m| f(m).map_or("–".to_string(), |v| format!("{v:.3}"))).collect::<Vec<_>>().join(" ")
    };
    let secs = refs.training_seconds.map(|t| format!(", {t:.1} s")).unwrap_or_default();
    let secs = match &refs.parallelism {
        Some(p) => format!("{secs}; {p}"),
        None => secs,
    };
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
    let mut head = String::new();
    for (i, a) in r.attacks.iter().enumerate() {
        rows.push_str(&format!("<tr><th scope=\"row\">{}</th>", escape(&a.name)));
        for (h, v, iv, key) in metric_cells(&a.metrics) {
            let grey = if measurable(r, key) { "" } else { " class=\"unmeasurable\"" };
            if i == 0 {
                head.push_str(&format!("<th{grey}>{h}</th>"));
            }
            let iv = iv.map(|iv| format!("<br><small>{}</small>", range(iv))).unwrap_or_default();
            rows.push_str(&format!("<td{grey}>{}{iv}</td>", cell(v)));
        }
        rows.push_str("</tr>");
    }
    let mut eps_head = String::new();
    let mut eps_rows = String::new();
    for (i, a) in r.attacks.iter().enumerate() {
        eps_rows.push_str(&format!("<tr><th scope=\"row\">{}</th>", escape(&a.name)));
        for (h, v) in epsilon_cells(&a.metrics.epsilon) {
            if i == 0 {
                eps_head.push_str(&format!("<th>{}</th>", escape(h)));
            }
            eps_rows.push_str(&format!("<td>{}</td>", escape(&v)));
        }
        eps_rows.push_str("</tr>");
    }
    let hists: String = r.attacks.iter().map(histogram_svg).collect();
    let verdict: String = r.verdict.summary.iter().map(|v| format!("<li>{}</li>", escape(v))).collect();
    let gate = r.verdict.gate.as_ref().map_or_else(String::new, |g| {
        let rows: String = g
            .conditions
            .iter()
            .map(|c| {
                format!(
                    "<li>{} {}: {}{}</li>",
                    if c.crossed { "✗" } else { "✓" },
                    escape(&c.condition),
                    c.value,
                    c.attack.as_ref().map(|a| format!(" ({})", escape(a))).unwrap_or_default()
                )
            })
            .collect();
        format!("<p class=\"gate\"><b>Gate “{}”: {}</b></p><ul>{rows}</ul>", escape(&g.expression), if g.passed { "passed" } else { "crossed" })
    });
    let inputs: String = r
        .provenance
        .inputs
        .iter()
        .map(|d| {
            format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                escape(&d.role),
                escape(&d.name),
                d.bytes,
                d.records.map_or_else(|| d.files.map_or(String::new(), |f| format!("{f} files")), |n| n.to_string()),
                d.sha256
            )
        })
        .collect();
    let options = escape(&serde_json::to_string(&r.provenance.options).unwrap_or_default());
    let mut warnings: String = r.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
    if let Some(line) = references_line(r) {
        warnings.push_str(&format!("<li>{}</li>", escape(&line)));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>privaudit report</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<style>body{{font:14px system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}th[scope=row]{{text-align:left}}small{{color:#555}}.unmeasurable{{color:#999}}caption{{text-align:left}}.verdict{{background:#f4f6fa;padding:.2em 1em;border-left:4px solid #1f77b4}}.inputs td{{text-align:left}}tr.small{{color:#777}}.records small{{color:#555}}code{{font-size:11px;word-break:break-all}}pre{{white-space:pre-wrap;font-size:11px}}@media print{{details{{display:none}}body{{margin:0}}}}svg{{max-width:100%}}.h svg{{width:300px}}</style></head><body>\
<h1>Membership-inference audit</h1><p>Backend <b>{}</b> · {} members · {} non-members · accuracy {:.3} (members) / {:.3} (non-members), gap {:+.3}</p>{}\
<section class=\"verdict\"><h2>Verdict</h2><ul>{verdict}</ul>{gate}</section>\
<table><caption>Attack metrics (TPR at FPR ≤ level), with their intervals beneath. {}</caption><thead><tr><th>attack</th>{head}</tr></thead><tbody>{rows}</tbody></table>\
<table><caption>{}</caption><thead><tr><th>attack</th>{eps_head}</tr></thead><tbody>{eps_rows}</tbody></table>\
<ul>{warnings}</ul>{}<div class=\"h\">{hists}</div>{}\
<footer><h2>Provenance</h2><p>Audited {} by {} · report schema {}</p><table class=\"inputs\"><thead><tr><th>role</th><th>file</th><th>bytes</th><th>records</th><th>SHA-256</th></tr></thead><tbody>{inputs}</tbody></table><details><summary>Options</summary><pre>{options}</pre></details></footer></body></html>",
        r.backend,
        r.data.members,
        r.data.nonmembers,
        r.model.accuracy_members,
        r.model.accuracy_nonmembers,
        r.model.generalization_gap,
        model_line(r).map_or_else(String::new, |l| format!("<p><small>{}</small></p>", escape(&l))),
        escape(&statistics_line(r)),
        escape(&epsilon_line(r)),
        roc_svg(r),
        records::records_html(r),
        escape(&r.provenance.created),
        escape(&r.provenance.engine),
        r.schema_version
    )
}
