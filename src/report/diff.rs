//! Two reports of the same data compared, release to release: which leakage metrics got worse
//! by more than their intervals.
//!
//! A metric got **worse** when the new interval lies wholly above the old one (new.lo > old.hi),
//! **better** when wholly below (new.hi < old.lo); overlapping intervals are "within the
//! intervals", not a change. Only metrics with intervals are judged (AUC, TPR at each measurable
//! level, advantage); the ε bounds and accuracy are shown for reading. Reports of different
//! members or non-members (by their SHA-256 in `provenance`) are refused unless allowed: a
//! different data set changes every number by itself.

use super::{AuditReport, Interval};
use crate::error::{AuditError, Result};
use serde::Serialize;

/// How one metric changed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MetricChange {
    /// The attack.
    pub attack: String,
    /// `auc`, `tpr@0.01`, `advantage`…
    pub metric: String,
    /// The old value and interval.
    pub old: (f64, Interval),
    /// The new value and interval.
    pub new: (f64, Interval),
    /// "worse", "better" or "within the intervals".
    pub change: &'static str,
}

/// Two reports compared.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ReportDiff {
    /// Every judged metric of every attack in both reports.
    pub changes: Vec<MetricChange>,
    /// Attacks in only one of them.
    pub unmatched: Vec<String>,
    /// Things to know: different data (when allowed), a level not measurable, other settings.
    pub notes: Vec<String>,
    /// The ROC ε bound over all attacks, old and new.
    pub epsilon: (Option<f64>, Option<f64>),
    /// Accuracy on non-members (utility), old and new.
    pub accuracy: (f64, f64),
}

impl ReportDiff {
    /// The metrics that got worse.
    pub fn regressions(&self) -> impl Iterator<Item = &MetricChange> {
        self.changes.iter().filter(|c| c.change == "worse")
    }
}

/// The data inputs' hashes, by role.
fn data_hashes(r: &AuditReport) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .provenance
        .inputs
        .iter()
        .filter(|d| d.role.starts_with("members") || d.role.starts_with("nonmembers"))
        .map(|d| (d.role.clone(), d.sha256.clone()))
        .collect();
    v.sort();
    v
}

/// A digest's first 12 characters, for messages: characters, not bytes (a report's JSON may hold
/// any text there), and quoted like any user text.
pub(crate) fn short_digest(h: &str) -> String {
    crate::limits::quote(&h.chars().take(12).collect::<String>())
}

/// Compare `old` and `new` (named for messages).
///
/// # Errors
/// Reports without intervals (made with 0 resamples), or of different members or
/// non-members unless `allow_different_data`.
pub fn diff(old_name: &str, old: &AuditReport, new_name: &str, new: &AuditReport, allow_different_data: bool) -> Result<ReportDiff> {
    let mut notes = Vec::new();
    let (ho, hn) = (data_hashes(old), data_hashes(new));
    if ho != hn {
        let msg = format!(
            "{old_name} and {new_name} audited different members or non-members (SHA-256 {} vs {}): their numbers are not comparable",
            ho.iter().map(|(r, h)| format!("{} {}", crate::limits::quote(r), short_digest(h))).collect::<Vec<_>>().join(", "),
            hn.iter().map(|(r, h)| format!("{} {}", crate::limits::quote(r), short_digest(h))).collect::<Vec<_>>().join(", ")
        );
        if !allow_different_data {
            return Err(AuditError::option("diff", format!("{msg} (--allow-different-data to compare anyway)")));
        }
        notes.push(format!("WARNING: {msg}"));
    }
    for (name, r) in [(old_name, old), (new_name, new)] {
        if r.attacks.iter().any(|a| a.metrics.ci.is_none()) {
            return Err(AuditError::option(
                "diff",
                format!("{name} has no intervals (it was made with 0 bootstrap resamples): run the audit with --bootstrap 1000"),
            ));
        }
    }
    if old.statistics.confidence != new.statistics.confidence {
        notes.push(format!("the intervals are at different confidence: {} vs {}", old.statistics.confidence, new.statistics.confidence));
    }
    let mut changes = Vec::new();
    let mut unmatched = Vec::new();
    for a in &new.attacks {
        let Some(o) = old.attacks.iter().find(|x| x.name == a.name) else {
            unmatched.push(format!("{} (only in {new_name})", a.name));
            continue;
        };
        let (oc, nc) = (o.metrics.ci.as_ref().expect("checked above"), a.metrics.ci.as_ref().expect("checked above"));
        let mut rows = vec![("auc".to_string(), (o.metrics.auc, oc.auc), (a.metrics.auc, nc.auc))];
        for (k, _) in crate::metrics::FPR_LEVELS {
            if old.statistics.unmeasurable_fpr_levels.iter().chain(&new.statistics.unmeasurable_fpr_levels).any(|u| u == k) {
                continue;
            }
            let (ov, nv) = (o.metrics.tpr_at_fpr.get(k).copied(), a.metrics.tpr_at_fpr.get(k).copied());
            if let (Some(ov), Some(nv), Some(oi), Some(ni)) = (ov, nv, oc.tpr_at_fpr.get(k), nc.tpr_at_fpr.get(k)) {
                rows.push((format!("tpr@{k}"), (ov, *oi), (nv, *ni)));
            }
        }
        rows.push(("advantage".into(), (o.metrics.advantage, oc.advantage), (a.metrics.advantage, nc.advantage)));
        for (metric, old_v, new_v) in rows {
            let change = if new_v.1[0] > old_v.1[1] {
                "worse"
            } else if new_v.1[1] < old_v.1[0] {
                "better"
            } else {
                "within the intervals"
            };
            changes.push(MetricChange { attack: a.name.clone(), metric, old: old_v, new: new_v, change });
        }
    }
    for o in &old.attacks {
        if !new.attacks.iter().any(|a| a.name == o.name) {
            unmatched.push(format!("{} (only in {old_name})", o.name));
        }
    }
    Ok(ReportDiff {
        changes,
        unmatched,
        notes,
        epsilon: (old.verdict.epsilon.as_ref().map(|e| e.epsilon), new.verdict.epsilon.as_ref().map(|e| e.epsilon)),
        accuracy: (old.model.accuracy_nonmembers, new.model.accuracy_nonmembers),
    })
}

/// The diff as a terminal table.
pub fn diff_text(d: &ReportDiff, old_name: &str, new_name: &str) -> String {
    let mut s = format!("{:<28}{:<12}{:>26}{:>26}  change\n", "attack", "metric", old_name, new_name);
    let f = |(v, i): (f64, Interval)| format!("{v:.4} [{:.3}–{:.3}]", i[0], i[1]);
    for c in &d.changes {
        s.push_str(&format!("{:<28}{:<12}{:>26}{:>26}  {}\n", c.attack, c.metric, f(c.old), f(c.new), c.change));
    }
    let e = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2}"));
    s.push_str(&format!(
        "ε lower bound over all attacks: {} → {}; accuracy on non-members {:.3} → {:.3}\n",
        e(d.epsilon.0),
        e(d.epsilon.1),
        d.accuracy.0,
        d.accuracy.1
    ));
    for u in &d.unmatched {
        s.push_str(&format!("not compared: {u}\n"));
    }
    for n in &d.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    let worse: Vec<String> = d.regressions().map(|c| format!("{} {}", c.attack, c.metric)).collect();
    s.push_str(&if worse.is_empty() {
        "no metric got worse by more than its interval\n".to_string()
    } else {
        format!("worse by more than the intervals: {}\n", worse.join(", "))
    });
    s
}
