//! RMIA, the relative membership inference attack (Zarifzadeh et al. 2024, "Low-Cost
//! High-Power Membership Inference Attacks"). Higher score = more likely a member.
//!
//! Score(x) = Pr_z[ (p(x|θ)/Pr(x)) / (p(z|θ)/Pr(z)) ≥ γ ] over the population records z, with p
//! the softmax probability of the true class.
//! - `rmia_online`: Pr(·) is the mean of all references' p.
//! - `rmia_offline`: Pr(·) = ½((1+a)·Pr_OUT(·) + (1−a)), Pr_OUT the mean over the references that
//!   did not train on that record; `a` given, or tuned as ML Privacy Meter does (below).

use super::reference::{Mode, ModelSignals, ReferenceSet};
use super::{Context, Outcome, RMIA_A_FALLBACK, Scores};

pub(super) const DOC_ONLINE: &str = "RMIA online (Zarifzadeh et al. 2024): pairwise likelihood ratios against population records, Pr(x) from all references";
pub(super) const DOC_OFFLINE: &str = "RMIA offline: the same with Pr(x) from OUT references, corrected by a (given, or tuned on a reference)";

fn outcome(set: &ReferenceSet, scores: Scores, gamma: f64) -> Outcome {
    let mut out = Outcome::plain(scores);
    out.parameters.insert("references".into(), set.refs.len().into());
    out.parameters.insert("gamma".into(), gamma.into());
    out.parameters.insert("population".into(), set.population().into());
    out
}

pub(super) fn run_online(cx: &Context<'_>) -> Result<Outcome, String> {
    let set = cx.references()?;
    Ok(outcome(set, set.rmia(Mode::Online, 0.0, cx.rmia.gamma)?, cx.rmia.gamma))
}

pub(super) fn run_offline(cx: &Context<'_>) -> Result<Outcome, String> {
    let set = cx.references()?;
    let gamma = cx.rmia.gamma;
    let (a, tuned, warning) = match cx.rmia.a {
        Some(a) => (a, false, None),
        None => match set.tune_rmia_a(gamma, cx.auc) {
            Ok(a) => (a, true, None),
            Err(why) => (
                RMIA_A_FALLBACK,
                false,
                Some(format!(
                    "rmia_offline: a could not be tuned ({why}); used the documented fallback a = {RMIA_A_FALLBACK}; set the option ‘rmiaA’ to choose it"
                )),
            ),
        },
    };
    let mut out = outcome(set, set.rmia(Mode::Offline, a, gamma)?, gamma);
    out.parameters.insert("a".into(), a.into());
    out.parameters.insert("a_tuned".into(), tuned.into());
    out.warnings.extend(warning);
    Ok(out)
}

impl ReferenceSet {
    /// Pr(row) as RMIA estimates it from the references.
    fn pr_reference(&self, row: usize, mode: Mode, a: f64) -> Option<f64> {
        let use_ref = |m: &Vec<bool>| mode == Mode::Online || !m[row];
        let (sum, n) = self.refs.iter().zip(&self.member).filter(|(_, m)| use_ref(m)).fold((0.0, 0usize), |(s, n), (r, _)| (s + r.prob[row], n + 1));
        (n > 0).then(|| {
            let mean = sum / n as f64;
            match mode {
                Mode::Online => mean,
                Mode::Offline => 0.5 * ((1.0 + a) * mean + (1.0 - a)),
            }
        })
    }

    /// RMIA over the candidates, against every population row that has the references Pr(z)
    /// needs.
    ///
    /// # Errors
    /// A candidate without a usable reference, no usable population row, γ ≤ 0, a ∉ [0, 1].
    pub fn rmia(&self, mode: Mode, a: f64, gamma: f64) -> Result<Scores, String> {
        self.check()?;
        if !(gamma > 0.0 && gamma.is_finite()) {
            return Err(format!("gamma must be a positive number, got {gamma}"));
        }
        if !(0.0..=1.0).contains(&a) {
            return Err(format!("a must be in [0, 1], got {a}"));
        }
        let ratio = |row: usize| self.pr_reference(row, mode, a).map(|pr| self.target.prob[row].max(f64::MIN_POSITIVE) / pr.max(f64::MIN_POSITIVE));
        let mut rz: Vec<f64> = (self.candidates..self.target.len()).filter_map(ratio).collect();
        if rz.is_empty() {
            return Err("RMIA needs population records with at least one reference that did not train on them".into());
        }
        rz.sort_by(f64::total_cmp);
        let nz = rz.len() as f64;
        (0..self.candidates)
            .map(|row| {
                let rx = ratio(row).ok_or_else(|| format!("candidate row {} has no reference that did not train on it, which offline RMIA needs", row + 1))?;
                // rx / rz ≥ γ holds for a prefix of the ascending rz (division rounds
                // monotonically), so a binary search counts exactly what the pairwise test would.
                let count = rz.partition_point(|&z| rx / z >= gamma);
                Ok(count as f64 / nz)
            })
            .collect::<Result<Vec<f64>, String>>()
            .map(Scores)
    }

    /// Tune offline RMIA's `a` as ML Privacy Meter does: treat reference 0 as the target, audit
    /// it with the other references on the population rows that one of them did not train on
    /// (labels: whether reference 0 trained on each), and keep the a ∈ {0, 0.1, …, 1} with the
    /// highest AUC (the smallest on ties).
    ///
    /// # Errors
    /// Fewer than two references; those population rows all IN or all OUT for reference 0 (as
    /// with 2 references that split every record between them).
    pub fn tune_rmia_a(&self, gamma: f64, auc: &dyn Fn(&[f64], &[bool]) -> Result<f64, String>) -> Result<f64, String> {
        self.check()?;
        if self.refs.len() < 2 {
            return Err("tuning a needs at least two references (one plays the target)".into());
        }
        // Population rows that some other reference did not train on (Pr_OUT needs one).
        let pop: Vec<usize> = (self.candidates..self.target.len()).filter(|&r| self.member[1..].iter().any(|m| !m[r])).collect();
        let labels: Vec<bool> = pop.iter().map(|&r| self.member[0][r]).collect();
        if labels.iter().all(|&b| b) || labels.iter().all(|&b| !b) {
            return Err("tuning a needs population records both in and out of reference 0's training set (known from training or a membership matrix); give a fixed a instead".into());
        }
        // Rows: the population as candidates, then the same population again as z.
        let twice = |v: &[f64]| pop.iter().chain(&pop).map(|&r| v[r]).collect::<Vec<f64>>();
        let signals = |m: &ModelSignals| ModelSignals { phi: twice(&m.phi), prob: twice(&m.prob), loss: twice(&m.loss) };
        let sub = ReferenceSet {
            target: signals(&self.refs[0]),
            refs: self.refs[1..].iter().map(signals).collect(),
            member: self.member[1..].iter().map(|m| pop.iter().chain(&pop).map(|&r| m[r]).collect()).collect(),
            candidates: pop.len(),
        };
        let mut best = (f64::NEG_INFINITY, 0.0);
        for k in 0..=10 {
            let a = k as f64 / 10.0;
            let scores = sub.rmia(Mode::Offline, a, gamma)?;
            let auc = auc(&scores.0, &labels).map_err(|e| format!("tuning a: {e}"))?;
            if auc > best.0 {
                best = (auc, a);
            }
        }
        Ok(best.1)
    }
}
