//! Metrics: scores + membership → ROC curve → AUC, TPR at low FPR, advantage, PPV, their
//! bootstrap intervals ([`bootstrap`]) and the ε lower bounds ([`epsilon`]).
//!
//! Computed once, in f64, for every attack. The ROC has one point per distinct score (the same
//! points as scikit-learn's `roc_curve(..., drop_intermediate=False)`), so AUC equals
//! `roc_auc_score`, ties included (a tie contributes a diagonal segment, i.e. half credit).

pub mod bootstrap;
pub mod epsilon;
pub mod special;

pub use bootstrap::{Interval, Intervals, RocBand};
pub use epsilon::{EpsilonBounds, GdpBound, OneRunBound, RocEpsilon};

use crate::error::{AuditError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the report's uncertainty is computed. Unknown keys are an error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct StatisticsSettings {
    /// Bootstrap resamples behind every interval; 0 computes none. Default: 1000.
    pub bootstrap: u64,
    /// Confidence of the intervals and of the ε lower bounds (1 − α). Default: 0.95.
    pub confidence: f64,
    /// δ of the ε lower bounds. Default: 1e-5.
    pub delta: f64,
    /// Each audited record was put in the model's training set by an independent fair coin:
    /// the ε bounds are then a DP audit (and the one-run bound is computed), otherwise they
    /// are labelled heuristic. Default: false.
    pub randomised_membership: bool,
}

impl Default for StatisticsSettings {
    fn default() -> Self {
        Self { bootstrap: 1000, confidence: 0.95, delta: 1e-5, randomised_membership: false }
    }
}

impl StatisticsSettings {
    /// α = 1 − confidence.
    pub fn alpha(&self) -> f64 {
        1.0 - self.confidence
    }

    /// Check the ranges.
    ///
    /// # Errors
    /// A resample count over [`crate::limits::MAX_BOOTSTRAP`], a confidence outside [0.5, 1) or a
    /// δ outside [0, 1), each naming the option.
    pub fn check(&self) -> Result<()> {
        if self.bootstrap > crate::limits::MAX_BOOTSTRAP as u64 {
            return Err(AuditError::option("statistics.bootstrap", format!("at most {} resamples, got {}", crate::limits::MAX_BOOTSTRAP, self.bootstrap)));
        }
        if self.bootstrap == 1 {
            return Err(AuditError::option("statistics.bootstrap", "one resample gives no interval: use 0 (none) or at least 2"));
        }
        if !(self.confidence >= 0.5 && self.confidence < 1.0) {
            return Err(AuditError::option("statistics.confidence", format!("must be in [0.5, 1), got {}", self.confidence)));
        }
        if !(self.delta >= 0.0 && self.delta < 1.0) {
            return Err(AuditError::option("statistics.delta", format!("must be in [0, 1), got {}", self.delta)));
        }
        Ok(())
    }
}

/// The FPR levels at which TPR is reported, as they appear as JSON keys.
pub const FPR_LEVELS: [(&str, f64); 4] = [("0.1", 0.1), ("0.01", 0.01), ("0.001", 0.001), ("0", 0.0)];

/// Every metric of one attack, as the report carries it: the one definition the report's
/// schema, `index.d.ts`, `render.js` and the HTML report follow. Every number is finite.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AttackMetrics {
    /// Area under the ROC curve (scikit-learn's `roc_auc_score`, ties counted half).
    pub auc: f64,
    /// Best TPR among operating points with FPR ≤ the key ("0.1", "0.01", "0.001", "0").
    pub tpr_at_fpr: BTreeMap<String, f64>,
    /// max(TPR − FPR) over thresholds.
    pub advantage: f64,
    /// Precision of "member" calls at the best-advantage threshold; null if it flags nobody.
    pub ppv: Option<f64>,
    /// Threshold (on this attack's score) of the best-advantage point: "member iff score ≥ it";
    /// null when no threshold beats flagging nobody (advantage 0).
    pub best_threshold: Option<f64>,
    /// At most ~1000 ROC points, dense at low FPR.
    pub roc: RocPoints,
    /// Score histograms of members and non-members.
    pub histogram: Histogram,
    /// Bootstrap intervals of the AUC, the TPRs and the advantage; null when no resamples were
    /// asked for.
    pub ci: Option<Intervals>,
    /// A pointwise bootstrap band around the ROC; null with `ci`.
    pub roc_band: Option<RocBand>,
    /// Lower bounds on ε, each with its ceiling.
    pub epsilon: EpsilonBounds,
}

/// ROC points kept for plotting.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RocPoints {
    /// False-positive rates, non-decreasing, from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rates at the same points.
    pub tpr: Vec<f64>,
}

impl AttackMetrics {
    /// Every metric of every attack (`columns[a]`: its scores, higher = member) against
    /// `is_member`, with bootstrap intervals drawn from the stream of `seed` (the audit's seed)
    /// on the same resamples for every attack.
    ///
    /// # Errors
    /// As [`RocCurve::new`]: different lengths, a non-finite score, an empty class; the
    /// message starts with the attack's name from `names`.
    pub fn compute_all(names: &[&str], columns: &[Vec<f64>], is_member: &[bool], stats: &StatisticsSettings, seed: u64) -> Result<Vec<Self>> {
        Self::compute_all_with(names, columns, is_member, stats, seed, None).map(|(m, _)| m)
    }

    /// As [`AttackMetrics::compute_all`], and with `extra` a second confidence, every attack's
    /// intervals at it too, from the same resamples (the verdict's, corrected for choosing
    /// among attacks); `None` for them when there are no resamples.
    ///
    /// # Errors
    /// As [`AttackMetrics::compute_all`].
    pub fn compute_all_with(
        names: &[&str],
        columns: &[Vec<f64>],
        is_member: &[bool],
        stats: &StatisticsSettings,
        seed: u64,
        extra: Option<f64>,
    ) -> Result<(Vec<Self>, Option<Vec<Intervals>>)> {
        let mut out = Vec::with_capacity(columns.len());
        for (name, scores) in names.iter().zip(columns) {
            out.push(Self::compute(scores, is_member, stats).map_err(|e| match e {
                AuditError::Metric(m) => AuditError::Metric(format!("{name}: {m}")),
                other => other,
            })?);
        }
        let mut more = None;
        if stats.bootstrap > 0 {
            let levels: Vec<f64> = std::iter::once(stats.confidence).chain(extra).collect();
            let ci = bootstrap::intervals_at(columns, is_member, stats.bootstrap as usize, &levels, bootstrap::resample_seed(seed));
            let mut extra_ci = Vec::new();
            for (m, (mut ci, band)) in out.iter_mut().zip(ci) {
                if ci.len() > 1 {
                    extra_ci.push(ci.remove(1));
                }
                m.ci = Some(ci.remove(0));
                m.roc_band = Some(band);
            }
            more = extra.map(|_| extra_ci);
        }
        Ok((out, more))
    }

    /// Every metric of `scores` (higher = member) against `is_member` but the intervals
    /// (those need every attack: [`AttackMetrics::compute_all`]).
    ///
    /// # Errors
    /// As [`RocCurve::new`]: different lengths, a non-finite score, an empty class.
    pub fn compute(scores: &[f64], is_member: &[bool], stats: &StatisticsSettings) -> Result<Self> {
        let roc = RocCurve::new(scores, is_member)?;
        let pts = roc.plot_points(1000);
        let best = roc.best_index();
        Ok(Self {
            auc: roc.auc(),
            tpr_at_fpr: FPR_LEVELS.iter().map(|(k, x)| (k.to_string(), roc.tpr_at_fpr(*x))).collect(),
            advantage: roc.advantage(),
            ppv: roc.ppv(),
            // Point 0 is "flag nobody" at threshold +∞, which JSON cannot hold.
            best_threshold: (best > 0).then(|| roc.thresholds[best]),
            roc: RocPoints { fpr: pts.iter().map(|p| p.0).collect(), tpr: pts.iter().map(|p| p.1).collect() },
            histogram: Histogram::new(scores, is_member, 30),
            ci: None,
            roc_band: None,
            epsilon: EpsilonBounds::new(&roc, scores, is_member, stats.alpha(), stats.delta, stats.randomised_membership),
        })
    }
}

/// The ROC curve of a membership score.
///
/// Point `k` is the operating point "member iff score ≥ thresholds[k]"; point 0 is (0, 0) at
/// threshold +∞, the last point is (1, 1).
#[derive(Clone, Debug, PartialEq)]
pub struct RocCurve {
    /// False-positive rate at each point (non-decreasing).
    pub fpr: Vec<f64>,
    /// True-positive rate at each point (non-decreasing).
    pub tpr: Vec<f64>,
    /// Score threshold of each point (decreasing; the first is +∞).
    pub thresholds: Vec<f64>,
    /// True positives (members flagged) at each point.
    pub tp: Vec<usize>,
    /// False positives (non-members flagged) at each point.
    pub fp: Vec<usize>,
    /// Number of members.
    pub positives: usize,
    /// Number of non-members.
    pub negatives: usize,
}

impl RocCurve {
    /// Build the ROC of `scores` (higher = member) against `is_member`.
    ///
    /// # Errors
    /// Different lengths, a NaN or infinite score, or an empty class (no members or no
    /// non-members): the ROC is undefined, and we say so instead of returning a number.
    pub fn new(scores: &[f64], is_member: &[bool]) -> Result<Self> {
        if scores.len() != is_member.len() {
            return Err(AuditError::Metric(format!("{} scores but {} membership flags", scores.len(), is_member.len())));
        }
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(AuditError::Metric(format!("score of record {} is {}; scores must be finite", i + 1, scores[i])));
        }
        let positives = is_member.iter().filter(|&&m| m).count();
        let negatives = is_member.len() - positives;
        if positives == 0 || negatives == 0 {
            return Err(AuditError::Metric(format!("need both members and non-members, got {positives} members and {negatives} non-members")));
        }
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let (mut fpr, mut tpr, mut thresholds, mut tps, mut fps) = (vec![0.0], vec![0.0], vec![f64::INFINITY], vec![0], vec![0]);
        let (mut tp, mut fp) = (0usize, 0usize);
        for (k, &i) in order.iter().enumerate() {
            if is_member[i] {
                tp += 1
            } else {
                fp += 1
            }
            let last_of_tie = k + 1 == order.len() || scores[order[k + 1]] != scores[i];
            if last_of_tie {
                tps.push(tp);
                fps.push(fp);
                tpr.push(tp as f64 / positives as f64);
                fpr.push(fp as f64 / negatives as f64);
                thresholds.push(scores[i]);
            }
        }
        Ok(Self { fpr, tpr, thresholds, tp: tps, fp: fps, positives, negatives })
    }

    /// Area under the curve by the trapezoidal rule (equals scikit-learn's `roc_auc_score`).
    pub fn auc(&self) -> f64 {
        self.fpr.windows(2).zip(self.tpr.windows(2)).map(|(f, t)| (f[1] - f[0]) * (t[1] + t[0]) / 2.0).sum()
    }

    /// TPR at FPR ≤ `max_fpr`: the best TPR among the curve's operating points whose FPR does
    /// not exceed `max_fpr` (no interpolation between points). At `max_fpr = 0` this is the
    /// fraction of members flagged before the first non-member.
    pub fn tpr_at_fpr(&self, max_fpr: f64) -> f64 {
        self.fpr.iter().zip(&self.tpr).filter(|(f, _)| **f <= max_fpr).map(|(_, t)| *t).fold(0.0, f64::max)
    }

    /// Index of the point with the largest TPR − FPR (the first one on ties).
    pub fn best_index(&self) -> usize {
        let mut best = 0;
        for k in 1..self.fpr.len() {
            if self.tpr[k] - self.fpr[k] > self.tpr[best] - self.fpr[best] {
                best = k;
            }
        }
        best
    }

    /// Membership advantage max(TPR − FPR) (Yeom et al. 2018).
    pub fn advantage(&self) -> f64 {
        let b = self.best_index();
        self.tpr[b] - self.fpr[b]
    }

    /// Positive predictive value TP / (TP + FP) at the best-advantage threshold; `None` when that
    /// threshold flags nobody (advantage 0 at the start of the curve).
    pub fn ppv(&self) -> Option<f64> {
        let b = self.best_index();
        let flagged = self.tp[b] + self.fp[b];
        (flagged > 0).then(|| self.tp[b] as f64 / flagged as f64)
    }

    /// At most about `max_points` (FPR, TPR) points for plotting, dense at low FPR: the first
    /// and last points, every point if there are few, else the points nearest to a log-spaced
    /// and a linear grid of FPR values (each grid value keeps the last point at or below it and
    /// the first point above it, so steps are preserved).
    pub fn plot_points(&self, max_points: usize) -> Vec<(f64, f64)> {
        let n = self.fpr.len();
        if n <= max_points {
            return self.fpr.iter().copied().zip(self.tpr.iter().copied()).collect();
        }
        let mut keep = vec![false; n];
        keep[0] = true;
        keep[n - 1] = true;
        let per = (max_points / 2).saturating_sub(1).max(2);
        let mut grid: Vec<f64> = (0..per).map(|i| 10f64.powf(-6.0 + 6.0 * i as f64 / (per - 1) as f64)).collect();
        grid.extend((0..per / 2).map(|i| i as f64 / (per / 2) as f64));
        grid.push(0.0);
        for g in grid {
            let k = self.fpr.partition_point(|&f| f <= g);
            if k > 0 {
                keep[k - 1] = true;
            }
            if k < n {
                keep[k] = true;
            }
        }
        (0..n).filter(|&k| keep[k]).map(|k| (self.fpr[k], self.tpr[k])).collect()
    }
}

/// A histogram of member and non-member scores over shared bins whose edges are quantiles of
/// the pooled scores (numpy's `np.quantile`, method "linear"; a repeated edge, from ties, is
/// kept once): about equally many records per bin, so that members and non-members can both be
/// seen whatever the score's scale (a loss piles up at 0, a likelihood ratio spans decades).
/// Counting is numpy's `np.histogram` on those edges: bins are half-open, the last closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bin edges, increasing (at most `bins + 1`; at least 2).
    pub edges: Vec<f64>,
    /// Members per bin.
    pub members: Vec<usize>,
    /// Non-members per bin.
    pub nonmembers: Vec<usize>,
}

impl Histogram {
    /// Bin finite `scores` into at most `bins` pooled-quantile bins (one bin of width 1 around
    /// the value when every score is the same).
    pub fn new(scores: &[f64], is_member: &[bool], bins: usize) -> Self {
        let bins = bins.max(1);
        let mut sorted = scores.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> =
            if sorted.is_empty() { Vec::new() } else { (0..=bins).map(|i| bootstrap::quantile(&sorted, i as f64 / bins as f64)).collect() };
        edges.dedup();
        if edges.len() < 2 {
            let v = edges.first().copied().unwrap_or(0.0);
            edges = vec![v - 0.5, v + 0.5];
        }
        let nb = edges.len() - 1;
        let (mut members, mut nonmembers) = (vec![0; nb], vec![0; nb]);
        for (&s, &m) in scores.iter().zip(is_member) {
            // The last edge ≤ s opens its bin; the top edge closes the last one.
            let b = edges.partition_point(|&e| e <= s).saturating_sub(1).min(nb - 1);
            if m { members[b] += 1 } else { nonmembers[b] += 1 }
        }
        Self { edges, members, nonmembers }
    }
}
