//! Reference-model attacks: LiRA (Carlini et al. 2022), RMIA (Zarifzadeh et al. 2024) and the
//! population attack Attack-P (Ye et al. 2022).
//!
//! All of them work on per-record signals of the target and of K reference models over the same
//! rows: first the audited candidates (members, then non-members), then the population. A
//! membership matrix says which reference trained on which row. Every score is higher for "more
//! likely a member"; every formula is in f64 and is mirrored by the numpy oracle in
//! `tests/fixtures/make_fixtures.py`.
//!
//! What each name means exactly:
//! - `lira_online`: per candidate, Gaussians are fitted to φ (logit-scaled confidence) of the
//!   references that trained on it (IN) and of those that did not (OUT); the score is
//!   log N(φ_target; μ_in, σ_in²) − log N(φ_target; μ_out, σ_out²). μ is the median and σ the
//!   standard deviation (ddof 0) of the reference values, plus 1e-30, as in the authors' code.
//! - `lira_offline`: the paper's one-sided test against OUT only. The score is the test statistic
//!   z = (φ_target − μ_out) / σ_out; the paper's Λ = Φ(z) is a monotone function of it, so the
//!   ROC and every metric are identical, and z keeps the tail that Φ(z) rounds to 1.
//! - `…_fixed_variance`: the same with one global σ_in (σ_out): the standard deviation of all IN
//!   (OUT) reference values of all candidates pooled, as in the authors' code.
//! - `rmia_online` / `rmia_offline`: Score(x) = Pr_z[ (p(x|θ)/Pr(x)) / (p(z|θ)/Pr(z)) ≥ γ ] over the
//!   population z, with p the softmax probability of the true class. Online, Pr(·) is the mean of
//!   all references' p; offline, Pr(·) = ½((1+a)·Pr_OUT(·) + (1−a)) with Pr_OUT the mean over the
//!   references that did not train on that record.
//! - `attack_p`: the fraction of population records whose target loss is at least the
//!   candidate's (the percentile of the candidate's loss in the population).

use super::Scores;
use crate::metrics::RocCurve;

/// Per-record signals of one model over all rows (candidates, then population).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelSignals {
    /// LiRA's φ = log p_y − log Σ_{i≠y} p_i.
    pub phi: Vec<f64>,
    /// True-class probability p_y.
    pub prob: Vec<f64>,
    /// Cross-entropy loss −log p_y.
    pub loss: Vec<f64>,
}

impl ModelSignals {
    /// Take the signals a reference attack needs.
    pub fn from_signals(s: &crate::signals::Signals) -> Self {
        Self { phi: s.phi.clone(), prob: s.confidence.clone(), loss: s.loss.clone() }
    }

    fn len(&self) -> usize {
        self.phi.len()
    }
}

/// The target and its references on the same rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReferenceSet {
    /// The audited model.
    pub target: ModelSignals,
    /// The K reference models.
    pub refs: Vec<ModelSignals>,
    /// `member[k][r]`: reference k trained on row r.
    pub member: Vec<Vec<bool>>,
    /// The first `candidates` rows are audited; the rest are the population.
    pub candidates: usize,
}

/// Which references a Pr(x) estimate may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// IN and OUT references.
    Online,
    /// OUT references only.
    Offline,
}

const SIGMA_FLOOR: f64 = 1e-30;
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

impl ReferenceSet {
    /// Check that every vector has the right length.
    ///
    /// # Errors
    /// A length that does not match the target's rows.
    pub fn check(&self) -> Result<(), String> {
        let n = self.target.len();
        if self.candidates > n {
            return Err(format!("{} candidates but only {n} rows", self.candidates));
        }
        if self.refs.len() != self.member.len() {
            return Err(format!("{} references but {} membership columns", self.refs.len(), self.member.len()));
        }
        for (k, (r, m)) in self.refs.iter().zip(&self.member).enumerate() {
            if r.len() != n || r.prob.len() != n || r.loss.len() != n || m.len() != n {
                return Err(format!("reference {k} has {} rows and {} membership entries; expected {n}", r.len(), m.len()));
            }
        }
        Ok(())
    }

    fn values(&self, row: usize, inside: bool) -> Vec<f64> {
        self.refs.iter().zip(&self.member).filter(|(_, m)| m[row] == inside).map(|(r, _)| r.phi[row]).collect()
    }

    /// LiRA over the candidates.
    ///
    /// # Errors
    /// A candidate without an IN (online) or OUT reference, or with a single one when each
    /// record's variance is estimated on its own.
    pub fn lira(&self, mode: Mode, fixed_variance: bool) -> Result<Scores, String> {
        self.check()?;
        let need = if fixed_variance { 1 } else { 2 };
        let mut fits = Vec::with_capacity(self.candidates);
        let (mut all_in, mut all_out) = (Vec::new(), Vec::new());
        for row in 0..self.candidates {
            let (vin, vout) = (self.values(row, true), self.values(row, false));
            if vout.len() < need || (mode == Mode::Online && vin.len() < need) {
                return Err(format!(
                    "candidate row {} has {} IN and {} OUT references; this LiRA variant needs at least {need} OUT{}",
                    row + 1,
                    vin.len(),
                    vout.len(),
                    if mode == Mode::Online { " and IN" } else { "" }
                ));
            }
            fits.push(((median(&vin), std(&vin)), (median(&vout), std(&vout))));
            all_in.extend(vin);
            all_out.extend(vout);
        }
        let (gin, gout) = (std(&all_in), std(&all_out));
        let scores = fits
            .iter()
            .enumerate()
            .map(|(row, &((mi, si), (mo, so)))| {
                let (si, so) = if fixed_variance { (gin, gout) } else { (si, so) };
                let phi = self.target.phi[row];
                match mode {
                    Mode::Online => log_normal(phi, mi, si + SIGMA_FLOOR) - log_normal(phi, mo, so + SIGMA_FLOOR),
                    Mode::Offline => (phi - mo) / (so + SIGMA_FLOOR),
                }
            })
            .collect();
        Ok(Scores(scores))
    }

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
    pub fn tune_rmia_a(&self, gamma: f64) -> Result<f64, String> {
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
            let auc = RocCurve::new(&scores.0, &labels).map_err(|e| format!("tuning a: {e}"))?.auc();
            if auc > best.0 {
                best = (auc, a);
            }
        }
        Ok(best.1)
    }

    /// Attack-P: the share of population records whose target loss is ≥ the candidate's.
    ///
    /// # Errors
    /// No population rows.
    pub fn attack_p(&self) -> Result<Scores, String> {
        let mut pop: Vec<f64> = self.target.loss[self.candidates..].to_vec();
        if pop.is_empty() {
            return Err("Attack-P needs population records".into());
        }
        pop.sort_by(f64::total_cmp);
        let n = pop.len() as f64;
        Ok(Scores(self.target.loss[..self.candidates].iter().map(|&l| (pop.len() - pop.partition_point(|&z| z < l)) as f64 / n).collect()))
    }
}

/// log of the normal density.
fn log_normal(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    -0.5 * z * z - sigma.ln() - HALF_LN_2PI
}

/// The median (numpy's: the mean of the two middle values for an even count).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

/// Standard deviation with ddof 0, in numpy's two-pass form.
fn std(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> ReferenceSet {
        // 2 candidates, 3 population rows, 2 references.
        let t = ModelSignals { phi: vec![3.0, -1.0, 0.0, 1.0, 2.0], prob: vec![0.9, 0.3, 0.5, 0.7, 0.8], loss: vec![0.1, 1.2, 0.7, 0.35, 0.2] };
        let r0 = ModelSignals { phi: vec![2.5, 0.0, 0.1, 0.2, 0.3], prob: vec![0.85, 0.5, 0.5, 0.55, 0.6], loss: vec![0.16, 0.69, 0.69, 0.6, 0.5] };
        let r1 = ModelSignals { phi: vec![-0.5, 1.0, 0.4, 0.5, 0.6], prob: vec![0.4, 0.7, 0.6, 0.62, 0.65], loss: vec![0.9, 0.36, 0.5, 0.48, 0.43] };
        ReferenceSet { target: t, refs: vec![r0, r1], member: vec![vec![true, false, true, false, true], vec![false, true, false, true, false]], candidates: 2 }
    }

    #[test]
    fn lira_online_fixed_variance_by_hand() {
        let s = set();
        let sc = s.lira(Mode::Online, true).unwrap().0;
        // IN values: 2.5 (row 0, r0), 1.0 (row 1, r1); OUT: -0.5, 0.0 → σ_in = 0.75, σ_out = 0.25.
        let want0 = log_normal(3.0, 2.5, 0.75) - log_normal(3.0, -0.5, 0.25);
        assert!((sc[0] - want0).abs() < 1e-12);
    }

    #[test]
    fn attack_p_is_a_population_percentile() {
        let sc = set().attack_p().unwrap().0;
        assert_eq!(sc, vec![1.0, 0.0]);
    }

    #[test]
    fn rmia_counts_population_ratios() {
        let s = set();
        let sc = s.rmia(Mode::Online, 0.0, 1.0).unwrap().0;
        let ratio = |r: usize| s.target.prob[r] / (0.5 * (s.refs[0].prob[r] + s.refs[1].prob[r]));
        let want = (2..5).filter(|&z| ratio(0) / ratio(z) >= 1.0).count() as f64 / 3.0;
        assert_eq!(sc[0], want);
        assert!(s.rmia(Mode::Online, 0.0, 0.0).is_err());
    }

    #[test]
    fn single_reference_per_side_needs_fixed_variance() {
        let s = set();
        assert!(s.lira(Mode::Online, false).is_err());
        assert!(s.lira(Mode::Online, true).is_ok());
    }
}
