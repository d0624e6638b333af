//! Report: plain serde data, and pure renderers (JSON, scores CSV, a text summary, SVG plots).
//!
//! The JSON field names are a contract (see `schema/report.schema.json`); bump
//! [`SCHEMA_VERSION`] when they change.

mod comparison;
pub mod diff;
pub mod format;
pub mod gate;
pub mod records;
mod svg;
mod verdict;

pub use verdict::{VerdictInputs, verdict};

pub use comparison::{comparison_html, comparison_svg, comparison_text};

pub use records::{DuplicateExample, DuplicateExposure, DuplicateInfo, ExposedRecord, Exposure, RecordRef, ReferenceView, Slice, SliceAttack};

pub use svg::{escape, histogram_svg, roc_svg, slices_svg};

pub use crate::metrics::{AttackMetrics, EpsilonBounds, FPR_LEVELS, Interval, RocPoints};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the report's JSON layout. 3: `best_threshold` is null when no threshold beats
/// flagging nobody (it was +∞, written as null against the schema). 5: `statistics`, and per
/// attack `ci`, `roc_band` and `epsilon`; `verdict` and `provenance`. 6: `exposure`, `slices` and
/// `duplicates`. 7: `device`; the verdict's `grade`, `attacks_considered`, `excluded`, `confidence` and
/// `evidence` (graded from every valid attack, corrected for choosing among them).
pub const SCHEMA_VERSION: u32 = 7;

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
    /// What ran the model, in words, and why it was chosen (e.g. "the CPU: auto chose it over
    /// the GPU adapter SwiftShader …, a software renderer …").
    pub device: String,
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

/// The findings in a few sentences a privacy officer can quote, and what they rest on (see
/// [`verdict()`] for the rule).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    /// Plain-language sentences, most important first.
    pub summary: Vec<String>,
    /// What the evidence shows: "identifiable" (an attack's TPR at `fpr_level` measurably above
    /// that level: individual training records are picked out), "on_average" (no such TPR, but
    /// an AUC measurably above 0.5), "none" (neither), "untested" (no intervals: 0 bootstrap
    /// resamples) or "no_valid_attack" (every attack was left out, see `excluded`).
    pub grade: String,
    /// The FPR level the first sentence reads (`tpr_at_fpr` key): 0.001 when 1/N allows it,
    /// else the smallest measurable one.
    pub fpr_level: String,
    /// The attack the first sentence names: for "identifiable" the highest TPR at the level
    /// among those measurably above it, for "on_average" the highest AUC among those measurably
    /// above 0.5, else the highest TPR at the level; it ranks the exposed records. Empty when
    /// no attack is valid.
    pub strongest_attack: String,
    /// Members it identifies at `fpr_level` (its TPR × members).
    pub members_identified: f64,
    /// Whether a leak is measured: `grade` is "identifiable" or "on_average".
    pub leak_measured: bool,
    /// The attacks the verdict chose among (every attack of the report but the excluded).
    pub attacks_considered: Vec<String>,
    /// Attacks the report itself declares invalid (e.g. references that did not learn), left
    /// out of the verdict, with why.
    pub excluded: Vec<ExcludedAttack>,
    /// Confidence of the verdict's intervals: 1 − α/A for A considered attacks (Bonferroni), so
    /// that choosing the strongest is accounted for; null without intervals.
    pub confidence: Option<f64>,
    /// The considered attacks' intervals at `confidence` (same resamples as the tables'), the
    /// evidence the grade rests on; empty without intervals.
    pub evidence: Vec<Evidence>,
    /// The largest ROC ε bound over the considered attacks, each at α/A; null when none ran.
    pub epsilon: Option<CombinedEpsilon>,
    /// The `failIf` gate's result, when one was given.
    pub gate: Option<gate::GateResult>,
}

/// An attack the verdict left out, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ExcludedAttack {
    /// Its name.
    pub attack: String,
    /// Why its results are not valid here.
    pub reason: String,
}

/// One considered attack's intervals at the verdict's corrected confidence.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// The attack.
    pub attack: String,
    /// Interval of its AUC.
    pub auc: Interval,
    /// Interval of its TPR at the verdict's `fpr_level`.
    pub tpr: Interval,
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
    s.push_str(&format!("ran on {}\n", r.device));
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
    let files: Vec<String> = p.inputs.iter().map(|d| format!("{} {} sha256 {}…", d.role, d.name, diff::short_digest(&d.sha256))).collect();
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

/// The terms a reader meets in the tables, explained once: the HTML report's glossary and the
/// page's (the engine hands it to the page with every result).
pub const GLOSSARY: [(&str, &str); 10] = [
    (
        "AUC",
        "Area under the ROC curve: the chance that the attack scores a random member above a random non-member. 0.5 is guessing, 1 is perfect. Below 0.5 the attack scores members lower than non-members, the opposite of what it expects: with a given split this usually means the two sets differ (the non-members are easier records, say) rather than that the model leaks.",
    ),
    (
        "TPR and FPR",
        "True-positive rate: the share of the members (training records) an attack flags. False-positive rate: the share of the non-members it flags by mistake, its false alarms. “TPR @ 1 %” is the best TPR among the thresholds with at most 1 % false alarms; a level below 1/N (N non-members) cannot be measured and is greyed.",
    ),
    (
        "advantage",
        "The largest TPR − FPR over all thresholds (Yeom et al. 2018): how much better than chance the best single threshold tells members from non-members; 0 is none, 1 is perfect. Even without any leak it is above 0 by chance, so the verdict does not rest on it.",
    ),
    (
        "PPV",
        "Positive predictive value (precision) at the best-advantage threshold: the share of the flagged records that really are members. It depends on how many of the audited records are members.",
    ),
    (
        "ε",
        "A lower bound on ε of (ε, δ)-differential privacy: at the stated confidence the training is not DP with any smaller ε. Larger means more leakage. In brackets: the largest value these counts of records could show at all, so a small bound from few records is not read as a small ε. Heuristic unless each record was put in training by a fair coin.",
    ),
    (
        "μ",
        "The Gaussian-DP parameter (Dong, Roth & Su 2022): how far apart the members' and non-members' scores are, as two Gaussians that many standard deviations apart would be; 0 is none. “ε from μ” is the ε that μ-GDP implies at δ.",
    ),
    (
        "one-run guesses",
        "The one-run audit (Steinke, Nasr & Jagielski 2023) guesses “member” for the highest-scored records: “k of r right” is how many of its r guesses were right. It is a DP audit only when each record was put in training by an independent fair coin.",
    ),
    (
        "interval",
        "Where the value would fall if the audit were repeated on other records from the same sources: a stratified bootstrap (members and non-members resampled separately), percentile method, at the stated confidence.",
    ),
    (
        "rank",
        "A record's position among all audited records by the ranking attack's score: 1 is the record it is most sure is a member. Tied scores share a rank, so ranks can jump (1, 1, 3). Rows count from 1, as in the file, without its header line.",
    ),
    ("percentile", "A score's position among the non-members' scores, 0 to 100: 99 % means the record scores above 99 % of the records the model never saw."),
];

/// The glossary as an HTML section (id `glossary`, which the tables' captions link to).
pub fn glossary_html() -> String {
    let items: String = GLOSSARY.iter().map(|(t, d)| format!("<dt>{}</dt><dd>{}</dd>", escape(t), escape(d))).collect();
    format!("<section id=\"glossary\"><h2>Glossary</h2><dl>{items}</dl></section>")
}

/// The style of the HTML reports: the system's light or dark scheme, prints in black on white.
pub(crate) const HTML_STYLE: &str = ":root{color-scheme:light dark;--muted:#4b5563;--line:#d1d5db;--box:#f4f6fa;--accent:#0b6bcb;--warn:#8a4b00;--warnbox:#fff4e5}@media (prefers-color-scheme:dark){:root{--muted:#b8bec9;--line:#4b5563;--box:#1f2937;--accent:#6cb2ff;--warn:#ffc46b;--warnbox:#2d2213}}@media print{:root{color-scheme:light;--muted:#333;--box:#fff;--warnbox:#fff}details{display:none}body{margin:0}}body{font:14px system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap;vertical-align:top}th[scope=row],td.text{text-align:left;white-space:normal}small{color:var(--muted)}.unmeasurable{color:var(--muted);font-style:italic}caption{text-align:left;color:var(--muted);caption-side:bottom;padding-top:.3em}a{color:var(--accent)}.verdict{background:var(--box);padding:.2em 1em;border-left:4px solid var(--accent)}.warnings{background:var(--warnbox);border-left:4px solid var(--warn);padding:.2em 1em}.warnings h2{color:var(--warn)}.inputs td{text-align:left}tr.small{font-style:italic}code{font-size:11px;word-break:break-all}pre{white-space:pre-wrap;font-size:11px}svg{max-width:100%}.h{display:flex;flex-wrap:wrap;gap:1em}.h svg{width:320px}dt{font-weight:600;margin-top:.5em}dd{margin-left:1.5em}";

/// A self-contained HTML page of the report (no scripts, no external resources): the verdict,
/// the warnings above the tables, the tables, the plots, the records, a glossary and the
/// provenance. It follows the reader's light or dark scheme and prints cleanly.
pub fn html(r: &AuditReport) -> String {
    let mut rows = String::new();
    let mut head = String::new();
    for (i, a) in r.attacks.iter().enumerate() {
        rows.push_str(&format!("<tr><th scope=\"row\">{}</th>", escape(&a.name)));
        for (h, v, iv, key) in metric_cells(&a.metrics) {
            let grey = if measurable(r, key) { "" } else { " class=\"unmeasurable\" title=\"below 1/N: the TPR at zero false positives\"" };
            if i == 0 {
                head.push_str(&format!("<th scope=\"col\"{grey}>{h}</th>"));
            }
            let iv = iv.map(|iv| format!("<br><small>{}</small>", range(iv))).unwrap_or_default();
            let below = if h == "AUC" && v.is_some_and(|v| v < 0.5) {
                " <a href=\"#glossary\" title=\"below 0.5: members score lower than non-members (see the glossary)\">↓</a>"
            } else {
                ""
            };
            rows.push_str(&format!("<td{grey}>{}{below}{iv}</td>", cell(v)));
        }
        rows.push_str("</tr>");
    }
    let mut eps_head = String::new();
    let mut eps_rows = String::new();
    for (i, a) in r.attacks.iter().enumerate() {
        eps_rows.push_str(&format!("<tr><th scope=\"row\">{}</th>", escape(&a.name)));
        for (h, v) in epsilon_cells(&a.metrics.epsilon) {
            if i == 0 {
                eps_head.push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
            }
            eps_rows.push_str(&format!("<td>{}</td>", escape(&v)));
        }
        eps_rows.push_str("</tr>");
    }
    let hists: String = r.attacks.iter().map(histogram_svg).collect();
    let verdict: String = r
        .verdict
        .summary
        .iter()
        .enumerate()
        .map(|(i, v)| if i == 0 { format!("<li><b>{}</b></li>", escape(v)) } else { format!("<li>{}</li>", escape(v)) })
        .collect();
    let gate = r.verdict.gate.as_ref().map_or_else(String::new, |g| {
        let rows: String = g
            .conditions
            .iter()
            .map(|c| {
                format!(
                    "<li>{} {}: {}{}</li>",
                    if c.crossed { "✗" } else { "✓" },
                    escape(&c.condition),
                    format::num(c.value),
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
    let warnings = if r.warnings.is_empty() {
        String::new()
    } else {
        let items: String = r.warnings.iter().map(|w| format!("<li>{}</li>", escape(w))).collect();
        format!("<section class=\"warnings\" role=\"note\"><h2>Warnings</h2><ul>{items}</ul></section>")
    };
    let references = references_line(r).map_or_else(String::new, |l| format!("<p><small>{}</small></p>", escape(&l)));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>privaudit report</title>\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<style>{HTML_STYLE}</style></head><body>\
<h1>Membership-inference audit</h1><p>Backend <b>{}</b> · {} members · {} non-members · accuracy {:.3} (members) / {:.3} (non-members), gap {:+.3}</p>{}\
<section class=\"verdict verdict-{}\"><h2>Verdict</h2><ul>{verdict}</ul>{gate}</section>{warnings}\
<table><caption>Attack metrics (TPR at FPR ≤ level), with their {} intervals beneath. {} Terms: see the <a href=\"#glossary\">glossary</a>.</caption><thead><tr><th scope=\"col\">attack</th>{head}</tr></thead><tbody>{rows}</tbody></table>\
<table><caption>{} Terms: see the <a href=\"#glossary\">glossary</a>.</caption><thead><tr><th scope=\"col\">attack</th>{eps_head}</tr></thead><tbody>{eps_rows}</tbody></table>\
{references}{}<div class=\"h\">{hists}</div>{}{}\
<footer><h2>Provenance</h2><p>Audited {} by {} · report schema {}</p><table class=\"inputs\"><thead><tr><th scope=\"col\">role</th><th scope=\"col\">file</th><th scope=\"col\">bytes</th><th scope=\"col\">records</th><th scope=\"col\">SHA-256</th></tr></thead><tbody>{inputs}</tbody></table><details><summary>Options</summary><pre>{options}</pre></details></footer></body></html>",
        r.backend,
        r.data.members,
        r.data.nonmembers,
        r.model.accuracy_members,
        r.model.accuracy_nonmembers,
        r.model.generalization_gap,
        model_line(r).map_or_else(String::new, |l| format!("<p><small>{}</small></p>", escape(&l))),
        r.verdict.grade,
        format::fixed_pct(r.statistics.confidence),
        escape(&statistics_line(r)),
        escape(&epsilon_line(r)),
        roc_svg(r),
        records::records_html(r),
        glossary_html(),
        escape(&r.provenance.created),
        escape(&r.provenance.engine),
        r.schema_version
    )
}
