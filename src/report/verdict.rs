//! The verdict: what the numbers mean, in sentences a privacy officer can quote.
//!
//! The first sentence reads the strongest attack at one false alarm in 1,000 (FPR ≤ 0.001),
//! or, when the non-members are too few to measure that (1/N > 0.001), at the smallest level
//! they can: "an attacker who accepts 1 false alarm in 1,000 identifies about N of the M
//! training records". A TPR whose interval does not clear the level is not called a leak: the
//! sentence then says how much the interval still allows. Then the AUC, then ε.

use super::{AuditReport, CombinedEpsilon, Verdict};

impl Default for Verdict {
    fn default() -> Self {
        Verdict {
            summary: Vec::new(),
            fpr_level: "0.001".into(),
            strongest_attack: String::new(),
            members_identified: 0.0,
            leak_measured: false,
            epsilon: None,
            gate: None,
        }
    }
}

/// "1 in 1,000" for 0.001.
fn one_in(level: f64) -> String {
    let n = (1.0 / level).round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("1 in {out}")
}

fn pct(v: f64) -> String {
    let p = 100.0 * v;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.0} %")
    } else if p >= 1.0 {
        format!("{p:.1} %")
    } else {
        format!("{p:.2} %")
    }
}

/// The verdict of `r` (whose `verdict` is not read), with the combined ε bound.
pub fn verdict(r: &AuditReport, epsilon: Option<CombinedEpsilon>) -> Verdict {
    let unmeasurable = &r.statistics.unmeasurable_fpr_levels;
    // 0.001 if measurable, else the smallest level at or above 1/N.
    let (key, level) = ["0.001", "0.01", "0.1"]
        .iter()
        .map(|k| (k.to_string(), k.parse::<f64>().unwrap_or(0.1)))
        .find(|(k, _)| !unmeasurable.contains(k))
        .unwrap_or(("0.1".into(), 0.1));
    let Some(best) = r.attacks.iter().max_by(|a, b| {
        let t = |x: &super::AttackResult| x.metrics.tpr_at_fpr.get(&key).copied().unwrap_or(0.0);
        t(a).total_cmp(&t(b))
    }) else {
        return Verdict { epsilon, ..Verdict::default() };
    };
    let m = &best.metrics;
    let tpr = m.tpr_at_fpr.get(&key).copied().unwrap_or(0.0);
    let ci = m.ci.as_ref().and_then(|c| c.tpr_at_fpr.get(&key).copied());
    let members = r.data.members;
    let identified = tpr * members as f64;
    let leak = match ci {
        Some([lo, _]) => lo > level,
        None => tpr > level,
    };
    let n_attacks = r.attacks.len();
    let of = if n_attacks > 1 { format!("{} (the strongest of {n_attacks} attacks at this rate)", best.name) } else { best.name.clone() };
    let interval = ci.map(|[lo, hi]| format!(" (95 % interval {}–{})", pct(lo), pct(hi))).unwrap_or_default();
    let mut summary = Vec::new();
    let rate = one_in(level);
    let why_level = if key == "0.001" {
        String::new()
    } else {
        format!(" (with {} non-members, {rate} is the lowest false-alarm rate this audit can measure)", r.data.nonmembers)
    };
    if leak {
        summary.push(format!(
            "An attacker who accepts {rate} false alarms identifies about {:.0} of the {members} training records ({}{interval}) with {of}; chance would give {}{why_level}.",
            identified,
            pct(tpr),
            pct(level)
        ));
    } else {
        let allows = ci.map(|[_, hi]| format!("; the interval still allows up to {} ({:.0} records)", pct(hi), hi * members as f64)).unwrap_or_default();
        summary.push(format!(
            "No leak measurable at {rate} false alarms with this many records: {of} identifies {:.0} of the {members} training records ({}), no more than chance would ({}){allows}{why_level}.",
            identified,
            pct(tpr),
            pct(level)
        ));
    }
    if let Some(best_auc) = r.attacks.iter().max_by(|a, b| a.metrics.auc.total_cmp(&b.metrics.auc)) {
        let iv = best_auc.metrics.ci.as_ref().map(|c| format!(" (95 % interval {:.3}–{:.3})", c.auc[0], c.auc[1])).unwrap_or_default();
        summary.push(format!("Over all thresholds the best AUC is {:.3}{iv}, from {}; 0.5 is guessing.", best_auc.metrics.auc, best_auc.name));
    }
    if let Some(e) = &epsilon {
        let conf = r.statistics.confidence;
        summary.push(if r.statistics.epsilon_basis == "dp_audit" {
            format!(
                "DP audit: at {}% confidence the training is not (ε, δ = {})-differentially private for any ε below {:.2} ({}; {} records could show at most {:.2}).",
                100.0 * conf,
                r.statistics.delta,
                e.epsilon,
                e.attack,
                r.data.members + r.data.nonmembers,
                e.ceiling
            )
        } else {
            format!(
                "Heuristic ε lower bound {:.2} ({}, at most {:.2} could show with these records): the members and non-members were not a randomised split, so this is not a DP audit.",
                e.epsilon, e.attack, e.ceiling
            )
        });
    }
    Verdict { summary, fpr_level: key, strongest_attack: best.name.clone(), members_identified: identified, leak_measured: leak, epsilon, gate: None }
}
