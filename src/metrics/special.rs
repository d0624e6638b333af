//! The few special functions the report's statistics need, over `statrs` (its regularised
//! incomplete beta, its inverse and the inverse error function: ports of Numerical Recipes / AS 64
//! / Boost, checked against scipy in `tests/integration/statistics.rs`).
//!
//! Each function states how it treats the ends of its domain, because the bounds are taken at
//! counts of 0 and of everything, and at levels such as α / (2 · 20 000).

use statrs::function::{beta, erf, gamma};

/// One-sided Clopper–Pearson upper bound on a binomial proportion: the `p` for which seeing
/// `k` or fewer successes in `n` trials has probability `alpha`, i.e. scipy's
/// `beta.ppf(1 − alpha, k + 1, n − k)`; 1 when `k = n`.
///
/// Computed as `1 − BetaInv(alpha; n − k, k + 1)` so that a tiny `alpha` is never rounded
/// through `1 − alpha`. `n ≥ 1`, `k ≤ n`, `0 < alpha < 1`.
pub fn clopper_pearson_upper(k: usize, n: usize, alpha: f64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if k == 0 {
        // Closed form: 1 − alpha^(1/n) (the Beta(1, n) quantile), exact to the last bit.
        return -f64::exp_m1(alpha.ln() / n as f64);
    }
    1.0 - beta::inv_beta_reg((n - k) as f64, (k + 1) as f64, alpha)
}

/// The standard normal CDF Φ(x).
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// ln Φ(x), accurate in the far left tail (where Φ underflows) by the asymptotic series of the
/// Mills ratio below x = −20.
pub fn norm_logcdf(x: f64) -> f64 {
    if x > -20.0 {
        return norm_cdf(x).ln();
    }
    // Φ(x) = φ(x)/|x| · (1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸ …) for x → −∞.
    let x2 = x * x;
    let series = 1.0 - 1.0 / x2 + 3.0 / (x2 * x2) - 15.0 / (x2 * x2 * x2) + 105.0 / (x2 * x2 * x2 * x2);
    -0.5 * x2 - 0.5 * (2.0 * std::f64::consts::PI).ln() - (-x).ln() + series.ln()
}

/// The standard normal quantile Φ⁻¹(p) (scipy's `norm.ppf`): −∞ at 0, +∞ at 1.
pub fn norm_ppf(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erf::erfc_inv(2.0 * p)
}

/// P[X ≥ v] for X ~ Binomial(r, q) (scipy's `binom.sf(v − 1, r, q)`): the regularised
/// incomplete beta I_q(v, r − v + 1); 1 for v = 0 and 0 for v > r.
pub fn binom_sf_ge(v: usize, r: usize, q: f64) -> f64 {
    if v == 0 {
        return 1.0;
    }
    if v > r {
        return 0.0;
    }
    beta::beta_reg(v as f64, (r - v + 1) as f64, q)
}

/// ln P[X = k] for X ~ Binomial(r, q), through log-gamma: finite for every k ≤ r and q in
/// (0, 1), where P itself may underflow; −∞ for k > r.
pub fn binom_ln_pmf(k: usize, r: usize, q: f64) -> f64 {
    if k > r {
        return f64::NEG_INFINITY;
    }
    let ln_choose = gamma::ln_gamma((r + 1) as f64) - gamma::ln_gamma((k + 1) as f64) - gamma::ln_gamma((r - k + 1) as f64);
    let (kf, rest) = (k as f64, (r - k) as f64);
    ln_choose + if kf > 0.0 { kf * q.ln() } else { 0.0 } + if rest > 0.0 { rest * (-q).ln_1p() } else { 0.0 }
}

/// The root of an increasing-then-sign-changing `f` on `[lo, hi]` (f(lo) ≤ 0 < f(hi), or the
/// reverse) by bisection to `tol`: slow but certain, and the same answer wherever it runs.
pub fn bisect(mut lo: f64, mut hi: f64, tol: f64, f: impl Fn(f64) -> f64) -> f64 {
    let f_lo_neg = f(lo) <= 0.0;
    for _ in 0..200 {
        if hi - lo <= tol {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if (f(mid) <= 0.0) == f_lo_neg {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}
