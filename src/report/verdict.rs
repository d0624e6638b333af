//! The verdict: what the numbers mean, in sentences a privacy officer can quote, graded from
//! every valid attack's intervals.
//!
//! The rule, with A the attacks considered (every attack but those the report itself declares
//! invalid, e.g. reference attacks whose references did not learn) and 1 − α the report's
//! confidence:
//! - each considered attack's interval is read at 1 − α/A (Bonferroni), from the same bootstrap
//!   resamples as the tables' intervals: each lower end is then a one-sided test at α/(2A), so
//!   over the 2A claims below (a TPR and an AUC per attack) a leak is claimed where there is
//!   none with probability at most α, whichever attack turns out strongest;
//! - **identifiable**: some attack's TPR at the level (FPR ≤ 0.001, or the smallest level the
//!   non-members can measure) has its lower end above the level: individual training records
//!   are picked out more often than chance picks them;
//! - **on average**: otherwise, some attack's AUC has its lower end above 0.5;
//! - **none**: neither; the sentence says how much the intervals still allow;
//! - **untested**: no resamples, so no intervals: the point values are given, and no grade.
//!
//! The advantage is not a criterion: it is the largest TPR − FPR over all thresholds, which
//! is above 0 by chance alone (a Kolmogorov–Smirnov statistic), so its interval rarely holds 0
//! even when nothing leaks. The ε bound over all attacks is likewise each attack's at α/A.

use super::format::fixed_pct as conf_pct;
use super::{AttackResult, AuditReport, CombinedEpsilon, Evidence, ExcludedAttack, Verdict};
use crate::metrics::Intervals;

impl Default for Verdict {
    fn default() -> Self {
        Verdict {
            summary: Vec::new(),
            grade: "no_valid_attack".into(),
            fpr_level: "0.001".into(),
            strongest_attack: String::new(),
            members_identified: 0.0,
            leak_measured: false,
            attacks_considered: Vec::new(),
            excluded: Vec::new(),
            confidence: None,
            evidence: Vec::new(),
            epsilon: None,
            gate: None,
        }
    }
}

impl Verdict {
    /// The grade, the attack the first sentence names and the members it identifies.
    fn settle(&mut self, grade: &str, attack: &AttackResult, identified: f64) {
        self.grade = grade.into();
        self.strongest_attack = attack.name.clone();
        self.members_identified = identified;
    }
}

/// What the verdict reads besides the report.
#[derive(Clone, Debug, Default)]
pub struct VerdictInputs {
    /// The ROC ε bound over the considered attacks, each at α/A.
    pub epsilon: Option<CombinedEpsilon>,
    /// Attacks left out, and why.
    pub excluded: Vec<ExcludedAttack>,
    /// The corrected confidence 1 − α/A and every attack's intervals at it (in report order,
    /// excluded ones included); `None` without resamples.
    pub corrected: Option<(f64, Vec<Intervals>)>,
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

/// A rate as a percentage: whole numbers from 10 %, one decimal from 1 %, two below; trailing
/// zeros dropped ("1 %", "2.5 %", "0.06 %").
fn pct(v: f64) -> String {
    let p = 100.0 * v;
    let s = if p == 0.0 || p >= 10.0 {
        format!("{p:.0}")
    } else if p >= 1.0 {
        format!("{p:.1}")
    } else {
        format!("{p:.2}")
    };
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s} %")
}

/// The level the first sentence reads: 0.001 if measurable, else the smallest level at or
/// above 1/N.
fn level(r: &AuditReport) -> (String, f64) {
    let unmeasurable = &r.statistics.unmeasurable_fpr_levels;
    ["0.001", "0.01", "0.1"]
        .iter()
        .map(|k| (k.to_string(), k.parse::<f64>().unwrap_or(0.1)))
        .find(|(k, _)| !unmeasurable.contains(k))
        .unwrap_or(("0.1".into(), 0.1))
}

/// The item with the largest key, the first of equals (report order decides a tie: loss before
/// confidence, whose ROC is the same).
fn first_max<T: Copy>(items: impl IntoIterator<Item = T>, key: impl Fn(T) -> (f64, f64)) -> Option<T> {
    items.into_iter().fold(None, |best: Option<T>, x| match best {
        Some(b) if key(x).0.total_cmp(&key(b).0).then(key(x).1.total_cmp(&key(b).1)).is_le() => Some(b),
        _ => Some(x),
    })
}

/// A list of names: "a", "a and b", "a, b and c".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The verdict of `r` (whose `verdict` is not read).
pub fn verdict(r: &AuditReport, inputs: VerdictInputs) -> Verdict {
    let VerdictInputs { epsilon, excluded, corrected } = inputs;
    let (key, level) = level(r);
    let rate = one_in(level);
    let members = r.data.members;
    let is_excluded = |name: &str| excluded.iter().any(|e| e.attack == name);
    let considered: Vec<(usize, &AttackResult)> = r.attacks.iter().enumerate().filter(|(_, a)| !is_excluded(&a.name)).collect();
    let a_count = considered.len();
    let mut v = Verdict {
        fpr_level: key.clone(),
        attacks_considered: considered.iter().map(|(_, a)| a.name.clone()).collect(),
        excluded: excluded.clone(),
        epsilon,
        ..Verdict::default()
    };
    // Why the attacks left out were left out, one sentence per reason.
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for e in &excluded {
        match reasons.iter_mut().find(|(why, _)| *why == e.reason) {
            Some((_, names)) => names.push(&e.attack),
            None => reasons.push((&e.reason, vec![&e.attack])),
        }
    }
    let left_out: Vec<String> = reasons.iter().map(|(why, names)| format!("Left out of this verdict: {}, because {why}.", and_list(names))).collect();
    if considered.is_empty() {
        v.summary.push("No verdict: every attack of this audit is declared invalid (see the warnings), so none can say whether the model leaks.".into());
        v.summary.extend(left_out);
        return v;
    }
    let tpr = |a: &AttackResult| a.metrics.tpr_at_fpr.get(&key).copied().unwrap_or(0.0);
    let why_level = if key == "0.001" {
        String::new()
    } else {
        format!(" (with {} non-members, {rate} is the lowest false-alarm rate this audit can measure)", r.data.nonmembers)
    };
    let of = |name: &str| if a_count > 1 { format!("{name} (the strongest of {a_count} attacks at this rate)") } else { name.to_string() };
    let best_tpr = first_max(considered.iter().map(|(_, a)| *a), |a| (tpr(a), 0.0)).unwrap_or(considered[0].1);
    let best_auc = first_max(considered.iter().map(|(_, a)| *a), |a| (a.metrics.auc, 0.0)).unwrap_or(considered[0].1);
    let evidence: Option<(f64, Vec<(&AttackResult, Evidence)>)> = corrected.map(|(c, ivs)| {
        let ev = considered
            .iter()
            .filter_map(|(i, a)| {
                let iv = ivs.get(*i)?;
                Some((*a, Evidence { attack: a.name.clone(), auc: iv.auc, tpr: iv.tpr_at_fpr.get(&key).copied().unwrap_or([0.0, 0.0]) }))
            })
            .collect();
        (c, ev)
    });
    let Some((conf, ev)) = evidence else {
        v.settle("untested", best_tpr, tpr(best_tpr) * members as f64);
        v.summary.push(format!(
            "Not tested: with no bootstrap resamples there are no intervals, so this report cannot say whether a leak is measurable. Point values only: {} identifies {:.0} of the {members} training records ({}) at {rate} false alarms, where chance would give {}{why_level}; the best AUC is {:.3} ({}), 0.5 being guessing.",
            best_tpr.name,
            v.members_identified,
            pct(tpr(best_tpr)),
            pct(level),
            best_auc.metrics.auc,
            best_auc.name
        ));
        v.summary.extend(left_out);
        v.summary.extend(epsilon_sentence(r, &v));
        return v;
    };
    v.confidence = Some(conf);
    v.evidence = ev.iter().map(|(_, e)| e.clone()).collect();
    let identifiable = first_max(ev.iter().filter(|(_, e)| e.tpr[0] > level), |(a, e)| (tpr(a), e.tpr[0]));
    let on_average = first_max(ev.iter().filter(|(_, e)| e.auc[0] > 0.5), |(a, e)| (a.metrics.auc, e.auc[0]));
    let ev_of = |a: &AttackResult| ev.iter().find(|(x, _)| x.name == a.name).map(|(_, e)| e.clone());
    let tpr_iv = |e: &Evidence| format!("interval {}–{}", pct(e.tpr[0]), pct(e.tpr[1]));
    let auc_iv = |e: &Evidence| format!("interval {:.3}–{:.3}", e.auc[0], e.auc[1]);
    if let Some((a, e)) = identifiable {
        v.settle("identifiable", a, tpr(a) * members as f64);
        v.summary.push(format!(
            "Leak of identifiable records: an attacker who accepts {rate} false alarms identifies about {:.0} of the {members} training records ({}; {}) with {}; chance would give {}{why_level}.",
            v.members_identified,
            pct(tpr(a)),
            tpr_iv(e),
            of(&a.name),
            pct(level)
        ));
        if let Some(e) = ev_of(best_auc) {
            v.summary.push(format!(
                "Over all thresholds the best AUC is {:.3} ({}), from {}; 0.5 is guessing.",
                best_auc.metrics.auc,
                auc_iv(&e),
                best_auc.name
            ));
        }
    } else if let Some((a, e)) = on_average {
        v.settle("on_average", a, tpr(a) * members as f64);
        let t = ev_of(best_tpr).map(|e| tpr_iv(&e)).unwrap_or_default();
        v.summary.push(format!(
            "Leak on average: over all thresholds {} tells members from non-members better than guessing (AUC {:.3}, {}; 0.5 is guessing). At {rate} false alarms, though, no attack identifies measurably more training records than chance would ({}): the most, {}, identifies {:.0} of the {members} ({}; {t}){why_level}.",
            a.name,
            a.metrics.auc,
            auc_iv(e),
            pct(level),
            best_tpr.name,
            tpr(best_tpr) * members as f64,
            pct(tpr(best_tpr))
        ));
    } else {
        v.settle("none", best_tpr, tpr(best_tpr) * members as f64);
        let auc_hi = ev.iter().map(|(_, e)| e.auc[1]).fold(0.0, f64::max);
        let tpr_hi = ev.iter().map(|(_, e)| e.tpr[1]).fold(0.0, f64::max);
        v.summary.push(format!(
            "No leak measurable with these records: no attack's AUC is measurably above 0.5 (guessing), and none identifies measurably more training records than chance at {rate} false alarms ({} identifies {:.0} of the {members}, {}; chance {}). The intervals still allow an AUC up to {auc_hi:.3} and up to {} of the training records ({:.0}) identified at that rate{why_level}.",
            best_tpr.name,
            v.members_identified,
            pct(tpr(best_tpr)),
            pct(level),
            pct(tpr_hi),
            tpr_hi * members as f64
        ));
    }
    v.leak_measured = matches!(v.grade.as_str(), "identifiable" | "on_average");
    // Attacks whose members score measurably lower than the non-members.
    let below: Vec<&(&AttackResult, Evidence)> = ev.iter().filter(|(_, e)| e.auc[1] < 0.5).collect();
    if let Some((a, e)) = below.iter().min_by(|x, y| x.0.metrics.auc.total_cmp(&y.0.metrics.auc)) {
        let names: Vec<&str> = below.iter().map(|(a, _)| a.name.as_str()).collect();
        v.summary.push(format!(
            "{} {} members lower than non-members ({}: AUC {:.3}, {}, all below 0.5): the opposite of what {} expect. With a given split this usually means the two sets differ (the non-members are easier records, say) rather than that the model leaks; check how the sets were drawn.",
            and_list(&names),
            if names.len() == 1 { "scores" } else { "score" },
            a.name,
            a.metrics.auc,
            auc_iv(e),
            if names.len() == 1 { "the attack would" } else { "these attacks would" }
        ));
    }
    if a_count > 1 {
        v.summary.push(format!(
            "Choosing the strongest of {a_count} attacks is accounted for: the intervals in this verdict are {} intervals (the tables' {} with α divided by {a_count}, Bonferroni), so they are wider than the tables'.",
            conf_pct(conf),
            conf_pct(r.statistics.confidence)
        ));
    }
    v.summary.extend(left_out);
    v.summary.extend(epsilon_sentence(r, &v));
    v
}

/// The ε sentence, naming how the verdict's ε differs from the table's for the same attack.
fn epsilon_sentence(r: &AuditReport, v: &Verdict) -> Option<String> {
    let e = v.epsilon.as_ref()?;
    let corrected = if e.attacks > 1 {
        let table = r.attacks.iter().find(|a| a.name == e.attack).map(|a| a.metrics.epsilon.roc.epsilon);
        format!(
            ", corrected for taking the largest of {} attacks' bounds{}",
            e.attacks,
            table.map(|t| format!("; the ε table's {t:.2} is that attack's bound on its own")).unwrap_or_default()
        )
    } else {
        String::new()
    };
    let conf = r.statistics.confidence;
    Some(if r.statistics.epsilon_basis == "dp_audit" {
        format!(
            "DP audit: at {} confidence the training is not (ε, δ = {})-differentially private for any ε below {:.2} ({}{corrected}; {} records could show at most {:.2}).",
            conf_pct(conf),
            r.statistics.delta,
            e.epsilon,
            e.attack,
            r.data.members + r.data.nonmembers,
            e.ceiling
        )
    } else {
        format!(
            "Heuristic ε lower bound {:.2} ({}{corrected}; at most {:.2} could show with these records): the members and non-members were not a randomised split, so this is not a DP audit.",
            e.epsilon, e.attack, e.ceiling
        )
    })
}
