//! Stage 5, evaluate: every chosen attack through the registry, then its metrics, once.

use super::plan::Plan;
use crate::attacks::{Context, ReferenceSet};
use crate::error::{AuditError, Result};
use crate::metrics::{AttackMetrics, RocCurve};
use crate::report::AttackResult;
use crate::signals::Signals;

/// The attacks' results and their per-record scores (one column per result).
pub(crate) struct Evaluation {
    pub results: Vec<AttackResult>,
    pub columns: Vec<Vec<f64>>,
    /// The results the report itself declares invalid, by position, with why: left out of the
    /// verdict.
    pub excluded: Vec<(usize, String)>,
    /// The verdict's evidence: every result's intervals at 1 − α/A, A the number of valid
    /// results (Bonferroni over the attacks the verdict chooses among), from the same
    /// resamples as the tables' intervals; `None` without resamples.
    pub corrected: Option<(f64, Vec<crate::metrics::Intervals>)>,
}

/// Run the plan's attacks on the candidates. `invalid_references`: why the reference models
/// cannot be trusted (they did not learn), which voids every attack that reads them.
///
/// # Errors
/// An attack the user named explicitly cannot run on these inputs, or its scores have no
/// metrics (a non-finite score).
pub(crate) fn run(
    plan: &Plan,
    signals: &Signals,
    references: Option<&ReferenceSet>,
    invalid_references: Option<&str>,
    is_member: &[bool],
    warnings: &mut Vec<String>,
) -> Result<Evaluation> {
    let auc = |scores: &[f64], labels: &[bool]| RocCurve::new(scores, labels).map(|r| r.auc()).map_err(|e| e.to_string());
    let cx = Context { signals, references, rmia: plan.rmia, auc: &auc };
    let mut ran = Vec::new();
    let mut columns = Vec::new();
    for chosen in &plan.attacks {
        let name = chosen.kind.name();
        let outcome = match chosen.kind.run(&cx) {
            Ok(o) => o,
            // A variant that came with a group ("lira") and cannot run on these references
            // (e.g. per-record variances from 2 references) is skipped and said; an attack
            // named explicitly fails the audit.
            Err(why) if !chosen.explicit => {
                warnings.push(format!("{name} was skipped: {why}"));
                continue;
            }
            Err(why) => return Err(AuditError::option("attacks", format!("{name}: {why}"))),
        };
        warnings.extend(outcome.warnings);
        ran.push((chosen.kind, outcome.parameters));
        columns.push(outcome.scores.0);
    }
    if ran.is_empty() {
        return Err(AuditError::option("attacks", format!("none of the chosen attacks could run on these inputs: {}", warnings.join("; "))));
    }
    let excluded: Vec<(usize, String)> = match invalid_references {
        Some(why) => ran.iter().enumerate().filter(|(_, (kind, _))| kind.needs_references()).map(|(i, _)| (i, why.to_string())).collect(),
        None => Vec::new(),
    };
    // Metrics once, for every attack together: the bootstrap draws the same resamples for all,
    // the tables' intervals and the verdict's corrected ones alike.
    let valid = ran.len() - excluded.len();
    let corrected = (valid > 0).then(|| 1.0 - plan.opts.statistics.alpha() / valid as f64);
    let names: Vec<&str> = ran.iter().map(|(k, _)| k.name()).collect();
    let (metrics, extra) = AttackMetrics::compute_all_with(&names, &columns, is_member, &plan.opts.statistics, plan.opts.seed, corrected)?;
    let results = ran.into_iter().zip(metrics).map(|((kind, parameters), metrics)| AttackResult { name: kind.name().into(), metrics, parameters }).collect();
    Ok(Evaluation { results, columns, excluded, corrected: corrected.zip(extra) })
}
