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
}

/// Run the plan's attacks on the candidates.
///
/// # Errors
/// An attack the user named explicitly cannot run on these inputs, or its scores have no
/// metrics (a non-finite score).
pub(crate) fn run(plan: &Plan, signals: &Signals, references: Option<&ReferenceSet>, is_member: &[bool], warnings: &mut Vec<String>) -> Result<Evaluation> {
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
        ran.push((name, outcome.parameters));
        columns.push(outcome.scores.0);
    }
    if ran.is_empty() {
        return Err(AuditError::option("attacks", format!("none of the chosen attacks could run on these inputs: {}", warnings.join("; "))));
    }
    // Metrics once, for every attack together: the bootstrap draws the same resamples for all.
    let names: Vec<&str> = ran.iter().map(|(n, _)| *n).collect();
    let metrics = AttackMetrics::compute_all(&names, &columns, is_member, &plan.opts.statistics, plan.opts.seed)?;
    let results = ran.into_iter().zip(metrics).map(|((name, parameters), metrics)| AttackResult { name: name.into(), metrics, parameters }).collect();
    Ok(Evaluation { results, columns })
}
