//! Empirical lower bounds on ε, each labelled with what it assumes.
//!
//! **From the ROC** (Jagielski et al. 2020; Nasr et al. 2021). (ε, δ)-DP implies, for every
//! threshold test, TPR ≤ e^ε·FPR + δ and TNR ≤ e^ε·FNR + δ. At each of the curve's n finite
//! thresholds, one-sided Clopper–Pearson bounds FPR_ub (on FP of N) and FNR_ub (on FN of P) at
//! level α/(2n) each (Bonferroni over the 2n bounds) hold together with probability ≥ 1 − α, so
//! ε̂ = max(0, max_t max(ln(1 − FNR_ub − δ) − ln FPR_ub, ln(1 − FPR_ub − δ) − ln FNR_ub)) is a
//! lower bound at confidence 1 − α, whichever threshold turns out best. TensorFlow Privacy's
//! `epsilon_lower_bound` instead reports its best thresholds with δ = 0 and no correction for
//! having looked at all of them, which overstates ε.
//!
//! **Gaussian DP** (Nasr et al. 2023): μ̂ = max(0, max_t [Φ⁻¹(1 − FPR_ub) − Φ⁻¹(FNR_ub)]) over the
//! same bounds (thresholds where either bound reaches 1 − δ are skipped, as in jax_privacy), and
//! the ε that μ̂-GDP implies at δ: the root of δ = Φ(−ε/μ + μ/2) − e^ε·Φ(−ε/μ − μ/2). μ-GDP's
//! constraint FNR ≥ Φ(Φ⁻¹(1 − FPR) − μ) reads the same with D and D′ swapped, so this one
//! expression covers both; a negative value is consistent with μ = 0. (jax_privacy's
//! `epsilon_from_gdp` takes the absolute value instead, which turns the weak bounds of a
//! threshold flagging few records — e.g. FNR_ub = 0.9995 with FPR_ub = 0.02 — into a large μ̂
//! that the counts do not support; privaudit does not.)
//!
//! **One run** (Steinke, Nasr & Jagielski 2023): valid only when each audited record was put in
//! the training set by an independent fair coin. The attack guesses "member" for its k highest
//! scores and abstains on the rest (one-sided, as jax_privacy); with r guesses of which v are
//! right, p(ε) = min(1, β + 2mδ·α′) with q = e^ε/(1 + e^ε), β = P[Binom(r, q) ≥ v] and
//! α′ = max_{i=1..v} (1/i)·Σ_{j=1..i} P[Binom(r, q) = v − j]; ε̂ = sup{ε : p(ε) ≤ α/G}. The k are a
//! grid of G values fixed by m alone before any score is seen, and the level is divided by G
//! (Bonferroni), so choosing the best k afterwards does not inflate the bound (ML Privacy Meter
//! takes the best of its grid at the full level). A tie group at the cut is left out (abstained
//! on) rather than split by record order.
//!
//! Each bound comes with its **ceiling**: the largest value this many records could ever show
//! (every member above every non-member), so that "ε ≥ 0.3" is not read as "ε ≤ 0.3".

use super::RocCurve;
use super::special::{binom_ln_pmf, binom_sf_ge, bisect, clopper_pearson_upper, norm_logcdf, norm_ppf};
use serde::{Deserialize, Serialize};

/// The largest ε any search here returns (e^100 is far beyond any meaningful claim).
pub const EPSILON_CAP: f64 = 100.0;

/// Bisection tolerance on ε.
const TOL: f64 = 1e-10;

/// The ROC-based bound.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RocEpsilon {
    /// ε̂ ≥ 0: ε is at least this, with confidence 1 − α.
    pub epsilon: f64,
    /// The largest ε̂ these counts of members and non-members could show at all.
    pub ceiling: f64,
    /// Finite thresholds considered (the Bonferroni n).
    pub thresholds: usize,
    /// Score threshold of the best test ("member iff score ≥ it"); null when ε̂ = 0.
    pub threshold: Option<f64>,
    /// Which inequality gave ε̂: "tpr" (TPR ≤ e^ε FPR + δ) or "tnr" (TNR ≤ e^ε FNR + δ); null
    /// when ε̂ = 0.
    pub rule: Option<String>,
    /// The lower bound on TPR at that threshold (1 − FNR_ub); null when ε̂ = 0.
    pub tpr_lb: Option<f64>,
    /// The upper bound on FPR at that threshold; null when ε̂ = 0.
    pub fpr_ub: Option<f64>,
}

/// The Gaussian-DP bound.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GdpBound {
    /// μ̂ ≥ 0: the training is at best μ̂-GDP, with confidence 1 − α.
    pub mu: f64,
    /// The largest μ̂ these counts could show.
    pub mu_ceiling: f64,
    /// The ε that μ̂-GDP implies at δ; null at δ = 0 with μ̂ > 0 (no finite ε then).
    pub epsilon: Option<f64>,
    /// The same for the ceiling of μ̂.
    pub epsilon_ceiling: Option<f64>,
}

/// The one-run bound.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OneRunBound {
    /// ε̂ ≥ 0 at confidence 1 − α, corrected for the grid of guess counts.
    pub epsilon: f64,
    /// The largest ε̂ this many records could show (every guess right at the largest k).
    pub ceiling: f64,
    /// Guesses made at the best k (after leaving out a tie group at the cut).
    pub guesses: usize,
    /// Of which right (members).
    pub correct: usize,
    /// The grid of k (highest scores guessed "member"), fixed by the record count.
    pub grid: Vec<usize>,
}

/// Every ε bound of one attack.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpsilonBounds {
    /// From the ROC, with Clopper–Pearson bounds and a Bonferroni correction.
    pub roc: RocEpsilon,
    /// Gaussian DP.
    pub gdp: GdpBound,
    /// One run; null unless membership was randomised.
    pub one_run: Option<OneRunBound>,
}

/// ln(e^a − e^b) for a ≥ b.
fn log_sub(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY { a } else { a + (-(b - a).exp()).ln_1p() }
}

/// The best of ln(lb − δ) − ln(ub) for the pairs, or None when no `lb` exceeds δ.
fn best_ratio(lb: f64, ub: f64, delta: f64) -> Option<f64> {
    (lb > delta && ub > 0.0).then(|| (lb - delta).ln() - ub.ln())
}

/// The one-sided Clopper–Pearson bounds at every finite threshold of a ROC, at level
/// α/(2n) each.
struct CpBounds {
    fpr_ub: Vec<f64>,
    fnr_ub: Vec<f64>,
    level: f64,
}

impl CpBounds {
    fn new(roc: &RocCurve, alpha: f64) -> Self {
        let (p, n) = (roc.positives, roc.negatives);
        let level = alpha / (2.0 * (roc.fpr.len() - 1) as f64);
        let fpr_ub = (1..roc.fpr.len()).map(|k| clopper_pearson_upper(roc.fp[k], n, level)).collect();
        let fnr_ub = (1..roc.fpr.len()).map(|k| clopper_pearson_upper(p - roc.tp[k], p, level)).collect();
        CpBounds { fpr_ub, fnr_ub, level }
    }
}

impl EpsilonBounds {
    /// Every bound of one attack: `roc` of `scores` against `is_member`, at confidence
    /// 1 − `alpha` and `delta`; the one-run bound only when membership was `randomised`.
    pub fn new(roc: &RocCurve, scores: &[f64], is_member: &[bool], alpha: f64, delta: f64, randomised: bool) -> Self {
        let cp = CpBounds::new(roc, alpha);
        EpsilonBounds {
            roc: RocEpsilon::new(roc, &cp, alpha, delta),
            gdp: GdpBound::new(roc, &cp, delta),
            one_run: randomised.then(|| OneRunBound::new(scores, is_member, alpha, delta)),
        }
    }
}

impl RocEpsilon {
    /// The ROC bound alone, of `roc` at level `alpha` and `delta`.
    pub fn of(roc: &RocCurve, alpha: f64, delta: f64) -> Self {
        Self::new(roc, &CpBounds::new(roc, alpha), alpha, delta)
    }

    fn new(roc: &RocCurve, cp: &CpBounds, alpha: f64, delta: f64) -> Self {
        let thresholds = roc.fpr.len() - 1;
        let mut best = RocEpsilon {
            epsilon: 0.0,
            ceiling: roc_ceiling(roc.positives, roc.negatives, thresholds, alpha, delta),
            thresholds,
            threshold: None,
            rule: None,
            tpr_lb: None,
            fpr_ub: None,
        };
        for (t, (&fpr_ub, &fnr_ub)) in cp.fpr_ub.iter().zip(&cp.fnr_ub).enumerate() {
            for (rule, value) in [("tpr", best_ratio(1.0 - fnr_ub, fpr_ub, delta)), ("tnr", best_ratio(1.0 - fpr_ub, fnr_ub, delta))] {
                if let Some(e) = value.filter(|&e| e > best.epsilon) {
                    best = RocEpsilon {
                        epsilon: e,
                        threshold: Some(roc.thresholds[t + 1]),
                        rule: Some(rule.into()),
                        tpr_lb: Some(1.0 - fnr_ub),
                        fpr_ub: Some(fpr_ub),
                        ..best
                    };
                }
            }
        }
        best
    }
}

/// The ROC bound's ceiling: its value when one threshold puts every member above every
/// non-member (FP = 0 and FN = 0 there), with the same n.
fn roc_ceiling(p: usize, n: usize, thresholds: usize, alpha: f64, delta: f64) -> f64 {
    let a = alpha / (2.0 * thresholds as f64);
    let (fpr_ub, fnr_ub) = (clopper_pearson_upper(0, n, a), clopper_pearson_upper(0, p, a));
    [best_ratio(1.0 - fnr_ub, fpr_ub, delta), best_ratio(1.0 - fpr_ub, fnr_ub, delta)].into_iter().flatten().fold(0.0, f64::max)
}

/// μ from a pair of bounds, or None where either reaches 1 − δ.
fn gdp_mu(fpr_ub: f64, fnr_ub: f64, delta: f64) -> Option<f64> {
    (fpr_ub.max(fnr_ub) < 1.0 - delta).then(|| (norm_ppf(1.0 - fpr_ub) - norm_ppf(fnr_ub)).max(0.0))
}

/// The ε that μ-GDP implies at δ (Dong, Roth & Su 2019, Corollary 2.13), in the log domain;
/// 0 when μ = 0 or δ ≥ δ(0), [`EPSILON_CAP`] when δ(cap) is still above δ, `None` at δ = 0
/// with μ > 0 (μ-GDP then implies no finite ε).
pub fn epsilon_from_gdp(mu: f64, delta: f64) -> Option<f64> {
    if mu <= 0.0 {
        return Some(0.0);
    }
    if delta <= 0.0 {
        return None;
    }
    // ln δ(ε) − ln δ: decreasing in ε.
    let gap = |eps: f64| log_sub(norm_logcdf(-eps / mu + mu / 2.0), eps + norm_logcdf(-eps / mu - mu / 2.0)) - delta.ln();
    if gap(0.0) <= 0.0 {
        return Some(0.0);
    }
    if gap(EPSILON_CAP) >= 0.0 {
        return Some(EPSILON_CAP);
    }
    Some(bisect(0.0, EPSILON_CAP, TOL, |e| -gap(e)))
}

impl GdpBound {
    fn new(roc: &RocCurve, cp: &CpBounds, delta: f64) -> Self {
        let mu = cp.fpr_ub.iter().zip(&cp.fnr_ub).filter_map(|(&f, &n)| gdp_mu(f, n, delta)).fold(0.0, f64::max);
        let mu_ceiling = gdp_mu(clopper_pearson_upper(0, roc.negatives, cp.level), clopper_pearson_upper(0, roc.positives, cp.level), delta).unwrap_or(0.0);
        GdpBound { mu, mu_ceiling, epsilon: epsilon_from_gdp(mu, delta), epsilon_ceiling: epsilon_from_gdp(mu_ceiling, delta) }
    }
}

/// The one-run audit's p-value: the probability, under (ε, δ)-DP, of `v` or more right out of
/// `r` guesses among `m` randomised records.
pub fn one_run_p_value(m: usize, r: usize, v: usize, eps: f64, delta: f64) -> f64 {
    let q = 1.0 / (1.0 + (-eps).exp());
    let beta = binom_sf_ge(v, r, q);
    if delta == 0.0 || v == 0 {
        return beta.min(1.0);
    }
    // α′ = max over i of the mean of P[X = v − 1], …, P[X = v − i]; the probabilities by the
    // ratio P[X = k − 1] / P[X = k] = k(1 − q) / ((r − k + 1) q), from P[X = v − 1], in logs
    // (P[X = v − 1] may underflow where the terms nearer the mode do not).
    let (ln_q, ln_1q) = (q.ln(), (-q).ln_1p());
    let mut ln_pk = binom_ln_pmf(v - 1, r, q);
    let (mut sum, mut alpha) = (0.0f64, 0.0f64);
    for i in 1..=v {
        sum += ln_pk.exp();
        alpha = alpha.max(sum / i as f64);
        let k = v - i; // ln_pk is ln P[X = k]; step to k − 1
        if k == 0 {
            break;
        }
        ln_pk += (k as f64).ln() + ln_1q - ((r - k + 1) as f64).ln() - ln_q;
    }
    (beta + 2.0 * m as f64 * delta * alpha).min(1.0)
}

/// sup{ε : p(ε) ≤ level} for `v` right of `r` guesses among `m` records.
pub fn one_run_epsilon(m: usize, r: usize, v: usize, level: f64, delta: f64) -> f64 {
    if r == 0 || one_run_p_value(m, r, v, 0.0, delta) > level {
        return 0.0;
    }
    if one_run_p_value(m, r, v, EPSILON_CAP, delta) <= level {
        return EPSILON_CAP;
    }
    bisect(0.0, EPSILON_CAP, TOL, |e| one_run_p_value(m, r, v, e, delta) - level)
}

/// The grid of guess counts for `m` records: 1, 2, 5 × 10^j up to m/2 (at least {1}).
pub fn one_run_grid(m: usize) -> Vec<usize> {
    let mut g = Vec::new();
    let mut scale = 1usize;
    'outer: loop {
        for f in [1, 2, 5] {
            let k = f * scale;
            if k > (m / 2).max(1) {
                break 'outer;
            }
            g.push(k);
        }
        scale *= 10;
    }
    g
}

impl OneRunBound {
    /// The bound of `scores` (higher = member) against randomised `is_member`, at level
    /// `alpha` (split over the grid) and `delta`.
    pub fn new(scores: &[f64], is_member: &[bool], alpha: f64, delta: f64) -> Self {
        let m = scores.len();
        let grid = one_run_grid(m);
        let level = alpha / grid.len() as f64;
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        // Right guesses among the top j records, for every j.
        let mut right = vec![0usize; m + 1];
        for (j, &i) in order.iter().enumerate() {
            right[j + 1] = right[j] + usize::from(is_member[i]);
        }
        let kmax = *grid.last().unwrap_or(&1);
        let mut best = OneRunBound { epsilon: 0.0, ceiling: one_run_epsilon(m, kmax, kmax, level, delta), guesses: 0, correct: 0, grid: grid.clone() };
        for &k in &grid {
            // Abstain on a tie group the cut would split: back up to its start.
            let mut r = k.min(m);
            while r > 0 && r < m && scores[order[r - 1]] == scores[order[r]] {
                r -= 1;
            }
            let v = right[r];
            let e = one_run_epsilon(m, r, v, level, delta);
            if e > best.epsilon || best.guesses == 0 {
                best = OneRunBound { epsilon: e, guesses: r, correct: v, ..best };
            }
        }
        best
    }
}
