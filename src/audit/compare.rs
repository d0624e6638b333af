//! Several models audited on the same members and non-members — a plain model beside its
//! DP-trained, pruned, distilled or quantised versions — with utility (accuracy) against
//! privacy (AUC, TPR at the smallest measurable FPR level up to 0.1 %, ε) in one table.
//!
//! Each model's audit is exactly its single audit ([`super::run`] with the same options).
//! Trained references depend only on the architecture ([`super::reference_cache_key`] hashes the
//! architecture, not the weights), so they are trained once per distinct architecture and
//! reused through the reference cache; a QDQ-quantised model, whose references cannot be
//! trained, shares those of the first float model of the comparison.

use super::{AuditInput, AuditOptions, AuditOutput, Progress, ReferenceInput, SharedReferences, Target};
use crate::data::{DataSource, InputFile};
use crate::error::{AuditError, Result};
use crate::metrics::Interval;
use crate::report::{AuditReport, ToolInfo};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One model of a comparison.
#[derive(Clone, Debug)]
pub struct CompareModel {
    /// Its name in the table (default: the file name without `.onnx`).
    pub name: String,
    /// The ONNX file.
    pub model: InputFile,
    /// Its external weights, if any.
    pub model_data: Option<InputFile>,
}

/// What to compare.
#[derive(Clone, Debug)]
pub struct CompareInput {
    /// The models, in table order.
    pub models: Vec<CompareModel>,
    /// Records every model was trained on.
    pub members: DataSource,
    /// Records none of them saw.
    pub nonmembers: DataSource,
    /// Records in neither set.
    pub population: Option<DataSource>,
    /// References given by the user (used for every model).
    pub references: ReferenceInput,
    /// References kept from earlier runs (any key; those whose key matches a model's are used).
    pub cached_references: Vec<Vec<u8>>,
    /// A sidecar CSV of slice values (see [`AuditInput::slice_file`]).
    pub slice_file: Option<InputFile>,
}

/// The comparison and every model's audit.
#[derive(Clone, Debug)]
pub struct CompareOutput {
    /// The table, with every model's report.
    pub comparison: Comparison,
    /// Every model's audit (scores included), in table order.
    pub audits: Vec<AuditOutput>,
}

/// Version of the comparison's JSON layout.
pub const COMPARISON_SCHEMA_VERSION: u32 = 1;

/// The comparison as written to JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    /// Layout version of this JSON.
    pub schema_version: u32,
    /// The engine that produced it.
    pub tool: ToolInfo,
    /// The FPR level of the `tpr` column (`tpr_at_fpr` key): 0.001 when 1/N allows it, else the
    /// smallest measurable one.
    pub fpr_level: String,
    /// Confidence of the intervals and the ε bounds.
    pub confidence: f64,
    /// One row per model, in the order given.
    pub rows: Vec<CompareRow>,
    /// What a reader should know about the comparison as a whole.
    pub warnings: Vec<String>,
    /// Every model's full report, in the rows' order: each equals that model's single audit.
    pub reports: Vec<AuditReport>,
}

/// One model's utility and privacy.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CompareRow {
    /// Its name.
    pub name: String,
    /// The ONNX file.
    pub model: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Whether it is QDQ-quantised.
    pub quantised: bool,
    /// Accuracy on the members.
    pub accuracy_members: f64,
    /// Accuracy on the non-members (its utility).
    pub accuracy_nonmembers: f64,
    /// Members' accuracy minus non-members'.
    pub generalization_gap: f64,
    /// The highest AUC over the attacks.
    pub auc: f64,
    /// Its interval.
    pub auc_ci: Option<Interval>,
    /// The attack with that AUC.
    pub auc_attack: String,
    /// The highest TPR at `fpr_level` over the attacks.
    pub tpr: f64,
    /// Its interval.
    pub tpr_ci: Option<Interval>,
    /// The attack with that TPR.
    pub tpr_attack: String,
    /// The ROC ε lower bound over all attacks (each at α/A), null without one.
    pub epsilon: Option<f64>,
    /// The largest ε these counts could show.
    pub epsilon_ceiling: Option<f64>,
    /// How its references came about: trained, reused (same architecture as an earlier model),
    /// shared (a QDQ model), the user's, or none.
    pub references: String,
}

/// Audit every model on the same data with the same options.
///
/// # Errors
/// Fewer than two models or more than [`crate::limits::MAX_COMPARED`]; a name given twice; any
/// model's audit error (which names its file).
pub async fn compare(input: CompareInput, opts: &AuditOptions, progress: &mut dyn FnMut(Progress)) -> Result<CompareOutput> {
    let m = input.models.len();
    if !(2..=crate::limits::MAX_COMPARED).contains(&m) {
        return Err(AuditError::option("models", format!("compare takes 2 to {} models, got {m}", crate::limits::MAX_COMPARED)));
    }
    let mut names: Vec<&str> = input.models.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(AuditError::option("models", format!("two models are named '{}'; name each once", crate::limits::quote(w[0]))));
    }
    let inputs: Vec<AuditInput> = input
        .models
        .iter()
        .map(|c| AuditInput {
            target: Target::Model { model: c.model.clone(), model_data: c.model_data.clone() },
            members: input.members.clone(),
            nonmembers: input.nonmembers.clone(),
            population: input.population.clone(),
            references: input.references.clone(),
            cached_references: None,
            shared_references: None,
            slice_file: input.slice_file.clone(),
        })
        .collect();
    // Float models first, so a QDQ model finds the references it shares.
    // Each model parsed once here: whether it is QDQ, and its architecture (the cache key).
    let (quantised, digests): (Vec<bool>, Vec<String>) = input
        .models
        .iter()
        .map(|c| {
            crate::model::parse_audited(&c.model, c.model_data.as_ref(), opts.output.as_deref()).and_then(|o| Ok((o.quantised(), o.architecture_digest()?)))
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&i| quantised[i]);
    let mut kept: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    let mut first_float: Option<(String, Vec<u8>)> = None;
    let mut outs: Vec<Option<(AuditOutput, String)>> = vec![None; m];
    for (done, &i) in order.iter().enumerate() {
        let name = &input.models[i].name;
        let mut one = inputs[i].clone();
        let key = super::references::cache_key(&one, opts, &digests[i]);
        let mut how = String::new();
        if let Some(k) = &key {
            if let Some((from, bytes)) = kept.get(k) {
                one.cached_references = Some(bytes.clone());
                how = format!("reused (trained for {from}, the same architecture)");
            } else if let Some(b) = input.cached_references.iter().find(|b| cache_key(b).as_deref() == Some(k)) {
                one.cached_references = Some(b.clone());
            }
        }
        if quantised[i] {
            one.shared_references = first_float.as_ref().map(|(from, bytes)| SharedReferences { from: from.clone(), bytes: bytes.clone() });
        }
        let mut say =
            |p: Progress| progress(Progress { stage: p.stage, fraction: (done as f64 + p.fraction) / m as f64, message: format!("{name}: {}", p.message) });
        let out = super::run(one, opts, &mut say).await?;
        let refs = out.report.references.as_ref();
        if how.is_empty() {
            how = match refs {
                None => "none".into(),
                Some(r) if r.source == "shared" => {
                    format!("shared (trained for {}; a QDQ model cannot be trained)", first_float.as_ref().map_or("?", |(n, _)| n.as_str()))
                }
                Some(r) if r.cached => "reused (kept from an earlier run)".into(),
                Some(r) => r.source.clone(),
            };
        }
        if let Some((k, bytes)) = &out.reference_cache {
            kept.insert(k.clone(), (name.clone(), bytes.clone()));
        }
        // The references this model used, kept or trained, for the QDQ models after it.
        if !quantised[i] && first_float.is_none() {
            let bytes = out.reference_cache.as_ref().map(|(_, b)| b.clone()).or_else(|| key.as_ref().and_then(|k| kept.get(k)).map(|(_, b)| b.clone()));
            let bytes = bytes.or_else(|| inputs_cached(&input, key.as_deref()));
            first_float = bytes.map(|b| (name.clone(), b));
        }
        outs[i] = Some((out, how));
    }
    let audits: Vec<(AuditOutput, String)> = outs.into_iter().map(|o| o.expect("every model audited")).collect();
    let first = &audits[0].0.report;
    let level = first.verdict.fpr_level.clone();
    let rows = input.models.iter().zip(&audits).zip(&quantised).map(|((c, (out, how)), &q)| row(c, &out.report, &level, how, q)).collect();
    let mut warnings = Vec::new();
    let (a, b) = (first.data.members, first.data.nonmembers);
    if audits.iter().any(|(o, _)| o.report.data.members != a || o.report.data.nonmembers != b) {
        warnings.push("the models were audited on different numbers of records (a duplicate drop or a population hold-out differed): their rows are not directly comparable".into());
    }
    let comparison = Comparison {
        schema_version: COMPARISON_SCHEMA_VERSION,
        tool: first.tool.clone(),
        fpr_level: level,
        confidence: opts.statistics.confidence,
        rows,
        warnings,
        reports: audits.iter().map(|(o, _)| o.report.clone()).collect(),
    };
    Ok(CompareOutput { comparison, audits: audits.into_iter().map(|(o, _)| o).collect() })
}

/// The key inside kept references' bytes.
fn cache_key(bytes: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Key {
        key: String,
    }
    serde_json::from_slice::<Key>(bytes).ok().map(|k| k.key)
}

/// Kept references of `key` given with the input.
fn inputs_cached(input: &CompareInput, key: Option<&str>) -> Option<Vec<u8>> {
    let key = key?;
    input.cached_references.iter().find(|b| cache_key(b).as_deref() == Some(key)).cloned()
}

fn row(c: &CompareModel, r: &AuditReport, level: &str, how: &str, quantised: bool) -> CompareRow {
    // The attacks the verdict considers: one the report declares invalid (references that did
    // not learn) is no model's strongest.
    let valid = || r.attacks.iter().filter(|a| r.verdict.attacks_considered.contains(&a.name));
    let best_auc = valid().max_by(|a, b| a.metrics.auc.total_cmp(&b.metrics.auc));
    let tpr = |a: &crate::report::AttackResult| a.metrics.tpr_at_fpr.get(level).copied().unwrap_or(0.0);
    let best_tpr = valid().max_by(|a, b| tpr(a).total_cmp(&tpr(b)));
    let eps = r.verdict.epsilon.as_ref();
    CompareRow {
        name: c.name.clone(),
        model: c.model.name.clone(),
        sha256: r.provenance.inputs.iter().find(|d| d.role == "model").map(|d| d.sha256.clone()).unwrap_or_default(),
        quantised,
        accuracy_members: r.model.accuracy_members,
        accuracy_nonmembers: r.model.accuracy_nonmembers,
        generalization_gap: r.model.generalization_gap,
        auc: best_auc.map_or(0.5, |a| a.metrics.auc),
        auc_ci: best_auc.and_then(|a| a.metrics.ci.as_ref().map(|c| c.auc)),
        auc_attack: best_auc.map(|a| a.name.clone()).unwrap_or_default(),
        tpr: best_tpr.map_or(0.0, tpr),
        tpr_ci: best_tpr.and_then(|a| a.metrics.ci.as_ref().and_then(|c| c.tpr_at_fpr.get(level).copied())),
        tpr_attack: best_tpr.map(|a| a.name.clone()).unwrap_or_default(),
        epsilon: eps.map(|e| e.epsilon),
        epsilon_ceiling: eps.map(|e| e.ceiling),
        references: how.into(),
    }
}
