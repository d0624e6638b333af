//! Confidence intervals by a seeded, stratified bootstrap (percentile method).
//!
//! Each resample draws P members from the P members and N non-members from the N non-members,
//! with replacement (so P and N stay fixed), recomputes every metric of every attack on the
//! *same* resample (common random numbers: attacks are compared on equal footing), and the
//! interval is the (1 − c)/2 and (1 + c)/2 quantiles of the resampled values, interpolated as
//! numpy's default `np.quantile` (method "linear").
//!
//! The draws are exactly reproducible by the reference script
//! (`tests/fixtures/make_statistics_fixtures.py`): SplitMix64 ([`Rng`]) seeded with
//! [`resample_seed`], and for each resample first P member draws `rng.below(P)` (positions among
//! the members, in record order), then N non-member draws `rng.below(N)`.
//!
//! A resample is a vector of multiplicities, so its ROC is one pass over each attack's scores
//! sorted once (O(N) per resample and attack, not O(N log N)); a tie group of scores stays one
//! ROC point, as in [`RocCurve`](super::RocCurve).

use super::FPR_LEVELS;
use crate::model::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The seed of the bootstrap's random stream, from the audit's seed (its own stream, so that
/// adding resamples changes no other random choice).
pub fn resample_seed(seed: u64) -> u64 {
    Rng::new(seed ^ 0x626F_6F74_7374_7270).next_u64() // "bootstrp"
}

/// A confidence interval `[lo, hi]`.
pub type Interval = [f64; 2];

/// One attack's intervals.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Intervals {
    /// Of the AUC.
    pub auc: Interval,
    /// Of the TPR at each reported FPR level (the same keys as `tpr_at_fpr`).
    pub tpr_at_fpr: BTreeMap<String, Interval>,
    /// Of the advantage max(TPR − FPR).
    pub advantage: Interval,
}

/// A pointwise band around the ROC: at each FPR of a log-spaced grid (from 1/N to 1), the
/// interval of the best TPR with FPR ≤ that value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RocBand {
    /// The grid of false-positive rates.
    pub fpr: Vec<f64>,
    /// Lower ends of the TPR intervals.
    pub lo: Vec<f64>,
    /// Upper ends.
    pub hi: Vec<f64>,
}

/// Points of the band's FPR grid.
const BAND_POINTS: usize = 40;

/// The band's grid for `negatives` non-members: log-spaced from 1/N to 1.
fn band_grid(negatives: usize) -> Vec<f64> {
    let lo = (1.0 / negatives as f64).log10();
    (0..BAND_POINTS).map(|i| 10f64.powf(lo + (0.0 - lo) * i as f64 / (BAND_POINTS - 1) as f64)).collect()
}

/// One attack's scores, sorted once: record indices by decreasing score, and where each tie
/// group ends.
struct Sorted {
    order: Vec<usize>,
    group_end: Vec<bool>,
}

impl Sorted {
    fn new(scores: &[f64]) -> Self {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let group_end = (0..order.len()).map(|k| k + 1 == order.len() || scores[order[k + 1]] != scores[order[k]]).collect();
        Sorted { order, group_end }
    }
}

/// The metrics of one resample of one attack.
struct Draw {
    auc: f64,
    tpr: [f64; FPR_LEVELS.len()],
    advantage: f64,
    band: Vec<f64>,
}

/// Walk the sorted scores with the resample's multiplicities `weight` (per record).
fn draw(s: &Sorted, is_member: &[bool], weight: &[u32], p: f64, n: f64, grid: &[f64]) -> Draw {
    let (mut tp, mut fp) = (0u64, 0u64);
    let (mut f0, mut t0) = (0.0, 0.0);
    let mut d = Draw { auc: 0.0, tpr: [0.0; FPR_LEVELS.len()], advantage: 0.0, band: vec![0.0; grid.len()] };
    // The band at grid point g is the TPR of the last tie group with FPR ≤ g (TPR never falls
    // along the walk): the grid is ascending, so one pointer finalises each point once.
    let (mut j, mut last_t) = (0, 0.0);
    for (k, &i) in s.order.iter().enumerate() {
        if is_member[i] {
            tp += u64::from(weight[i]);
        } else {
            fp += u64::from(weight[i]);
        }
        if !s.group_end[k] {
            continue;
        }
        let (f, t) = (fp as f64 / n, tp as f64 / p);
        d.auc += (f - f0) * (t + t0) / 2.0;
        for (slot, (_, level)) in d.tpr.iter_mut().zip(FPR_LEVELS) {
            if f <= level && t > *slot {
                *slot = t;
            }
        }
        d.advantage = d.advantage.max(t - f);
        while j < grid.len() && grid[j] < f {
            d.band[j] = last_t;
            j += 1;
        }
        last_t = t;
        (f0, t0) = (f, t);
    }
    for slot in &mut d.band[j..] {
        *slot = last_t;
    }
    d
}

/// numpy's `np.quantile(values, q)` (method "linear"), on sorted `v`.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let (a, b, t) = (v[lo], v[hi], h - lo as f64);
    // numpy's `_lerp`: from the nearer end, so that t = 1 gives b exactly.
    if t >= 0.5 { b - (b - a) * (1.0 - t) } else { a + (b - a) * t }
}

/// The interval of `values` at confidence `c`.
fn interval(values: &mut [f64], c: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    [quantile(values, (1.0 - c) / 2.0), quantile(values, (1.0 + c) / 2.0)]
}

/// Intervals and ROC bands of every attack (`columns[a][record]`, higher = member) from
/// `resamples` stratified resamples at confidence `confidence`, drawn from `seed` (already
/// derived: [`resample_seed`]).
///
/// Both classes must be non-empty and every score finite (the caller's ROC has checked this).
pub fn intervals(columns: &[Vec<f64>], is_member: &[bool], resamples: usize, confidence: f64, seed: u64) -> Vec<(Intervals, RocBand)> {
    intervals_at(columns, is_member, resamples, &[confidence], seed).into_iter().map(|(mut iv, band)| (iv.remove(0), band)).collect()
}

/// As [`intervals`], with each attack's intervals at every confidence of `confidences` (in that
/// order) from the same resamples, and the ROC band at the first.
pub fn intervals_at(columns: &[Vec<f64>], is_member: &[bool], resamples: usize, confidences: &[f64], seed: u64) -> Vec<(Vec<Intervals>, RocBand)> {
    let members: Vec<usize> = (0..is_member.len()).filter(|&i| is_member[i]).collect();
    let nonmembers: Vec<usize> = (0..is_member.len()).filter(|&i| !is_member[i]).collect();
    let (p, n) = (members.len(), nonmembers.len());
    let grid = band_grid(n);
    let sorted: Vec<Sorted> = columns.iter().map(|c| Sorted::new(c)).collect();
    let mut draws: Vec<Vec<Draw>> = columns.iter().map(|_| Vec::with_capacity(resamples)).collect();
    let mut rng = Rng::new(seed);
    let mut weight = vec![0u32; is_member.len()];
    for _ in 0..resamples {
        weight.iter_mut().for_each(|w| *w = 0);
        for _ in 0..p {
            weight[members[rng.below(p)]] += 1;
        }
        for _ in 0..n {
            weight[nonmembers[rng.below(n)]] += 1;
        }
        for (s, out) in sorted.iter().zip(&mut draws) {
            out.push(draw(s, is_member, &weight, p as f64, n as f64, &grid));
        }
    }
    let first = confidences.first().copied().unwrap_or(0.95);
    draws
        .into_iter()
        .map(|d| {
            let col = |f: &dyn Fn(&Draw) -> f64, c: f64| interval(&mut d.iter().map(f).collect::<Vec<_>>(), c);
            let intervals = confidences
                .iter()
                .map(|&c| Intervals {
                    auc: col(&|x| x.auc, c),
                    tpr_at_fpr: FPR_LEVELS.iter().enumerate().map(|(j, (k, _))| (k.to_string(), col(&|x| x.tpr[j], c))).collect(),
                    advantage: col(&|x| x.advantage, c),
                })
                .collect();
            let (mut lo, mut hi) = (Vec::with_capacity(grid.len()), Vec::with_capacity(grid.len()));
            for g in 0..grid.len() {
                let [a, b] = col(&|x| x.band[g], first);
                lo.push(a);
                hi.push(b);
            }
            (intervals, RocBand { fpr: grid.clone(), lo, hi })
        })
        .collect()
}
