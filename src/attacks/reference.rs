//! What the reference attacks share: per-record signals of the target and of K reference models
//! over the same rows — first the audited candidates (members, then non-members), then the
//! population — and a membership matrix saying which reference trained on which row. LiRA,
//! RMIA and Attack-P (one file each) are methods on [`ReferenceSet`]. Every formula is in f64 and
//! is mirrored by the pairwise numpy oracle in `tests/fixtures/make_fixtures.py`.

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
    /// Take the signals a reference attack needs, of the rows in `order` (candidates first,
    /// then the population).
    pub fn from_signals(s: &crate::signals::Signals, order: &[usize]) -> Self {
        let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect();
        Self { phi: pick(&s.phi), prob: pick(&s.confidence), loss: pick(&s.loss) }
    }

    pub(super) fn len(&self) -> usize {
        self.phi.len()
    }
}

impl ReferenceSet {
    /// Number of population rows (after the candidates).
    pub fn population(&self) -> usize {
        self.target.len().saturating_sub(self.candidates)
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

pub(super) const SIGMA_FLOOR: f64 = 1e-30;
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
}

/// log of the normal density.
pub(super) fn log_normal(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    -0.5 * z * z - sigma.ln() - HALF_LN_2PI
}

/// The median (numpy's: the mean of the two middle values for an even count).
pub(super) fn median(v: &[f64]) -> f64 {
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
pub(super) fn std(v: &[f64]) -> f64 {
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
