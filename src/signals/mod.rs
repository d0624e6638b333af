//! Signals: a model's outputs → per-record values in `f64`.
//!
//! Everything is derived from logits with a stable log-sum-exp, never from probabilities
//! followed by `log`: the tails (a confidence of 1 − 1e-12) decide TPR at low FPR. Outputs given
//! as probabilities are first turned into log-probabilities, which are valid logits.

use crate::error::{AuditError, Result};
use serde::{Deserialize, Serialize};

/// How a matrix of model outputs should be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Detect: every row in [0, 1] and summing to 1 (±1e-3) means probabilities; else logits.
    #[default]
    Auto,
    /// Unnormalised scores; softmax gives probabilities.
    Logits,
    /// Rows of class probabilities.
    Probabilities,
}

/// A `rows × classes` matrix of logits (row-major, f64).
#[derive(Clone, Debug, PartialEq)]
pub struct Logits {
    /// Row-major logits.
    pub values: Vec<f64>,
    /// Number of records.
    pub rows: usize,
    /// Number of classes.
    pub classes: usize,
}

impl Logits {
    /// One record's logits.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.classes..(i + 1) * self.classes]
    }

    /// Read outputs as logits, converting probabilities to log-probabilities.
    ///
    /// Returns the logits and the kind that was used (never `Auto`).
    ///
    /// # Errors
    /// Non-finite values or values beyond ±[`crate::limits::MAX_LOGIT`]; `Probabilities` forced
    /// on rows that are not probability vectors; fewer than two or more than
    /// [`crate::limits::MAX_CLASSES`] classes.
    pub fn from_outputs(file: &str, values: Vec<f64>, rows: usize, classes: usize, kind: OutputKind) -> Result<(Self, OutputKind)> {
        if classes == 1 {
            return Self::from_single_column(file, values, rows, kind);
        }
        if classes < 2 {
            return Err(AuditError::ShapeMismatch {
                file: file.into(),
                what: "number of output columns (classes)".into(),
                expected: "at least 2".into(),
                actual: classes.to_string(),
            });
        }
        if classes > crate::limits::MAX_CLASSES {
            return Err(AuditError::ShapeMismatch {
                file: file.into(),
                what: "number of output columns (classes)".into(),
                expected: format!("at most {}", crate::limits::MAX_CLASSES),
                actual: classes.to_string(),
            });
        }
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(AuditError::BadCell {
                file: file.into(),
                row: k / classes + 1,
                column: format!("class {}", k % classes),
                message: "NaN or Inf output".into(),
            });
        }
        if let Some(k) = values.iter().position(|v| v.abs() > crate::limits::MAX_LOGIT) {
            return Err(AuditError::BadCell {
                file: file.into(),
                row: k / classes + 1,
                column: format!("class {}", k % classes),
                message: format!("output {:e} is beyond ±1e30, where a softmax no longer means anything; these are not logits or probabilities", values[k]),
            });
        }
        let is_prob_row = |r: &[f64]| r.iter().all(|&p| (0.0..=1.0).contains(&p)) && (r.iter().sum::<f64>() - 1.0).abs() <= 1e-3;
        let kind = match kind {
            OutputKind::Auto => {
                if values.chunks_exact(classes).all(is_prob_row) {
                    OutputKind::Probabilities
                } else {
                    OutputKind::Logits
                }
            }
            OutputKind::Probabilities => {
                if let Some(r) = values.chunks_exact(classes).position(|r| !is_prob_row(r)) {
                    return Err(AuditError::BadCell {
                        file: file.into(),
                        row: r + 1,
                        column: "outputs".into(),
                        message: "outputs were declared probabilities, but this row is not in [0,1] or does not sum to 1".into(),
                    });
                }
                OutputKind::Probabilities
            }
            OutputKind::Logits => OutputKind::Logits,
        };
        let values = if kind == OutputKind::Probabilities { values.into_iter().map(|p| p.max(f64::MIN_POSITIVE).ln()).collect() } else { values };
        Ok((Self { values, rows, classes }, kind))
    }

    /// A binary model's one output column: the positive class's logit z, or its probability p.
    /// Both classes' logits are then (0, z), since softmax(0, z) = (1 − σ(z), σ(z)); a
    /// probability becomes z = ln p − ln(1 − p), computed in f64 with `ln_1p` (no `log(1 − p)`
    /// of a rounded p). Auto reads a column wholly in [0, 1] as probabilities.
    ///
    /// # Errors
    /// Non-finite values, logits beyond ±[`crate::limits::MAX_LOGIT`], probabilities outside
    /// [0, 1].
    fn from_single_column(file: &str, values: Vec<f64>, rows: usize, kind: OutputKind) -> Result<(Self, OutputKind)> {
        let bad = |k: usize, message: String| AuditError::BadCell {
            file: file.into(),
            row: k + 1,
            column: "output (one column: the positive class)".into(),
            message,
        };
        if let Some(k) = values.iter().position(|v| !v.is_finite()) {
            return Err(bad(k, "NaN or Inf output".into()));
        }
        if let Some(k) = values.iter().position(|v| v.abs() > crate::limits::MAX_LOGIT) {
            return Err(bad(k, format!("output {:e} is beyond ±1e30; these are not logits or probabilities", values[k])));
        }
        let kind = match kind {
            OutputKind::Auto if values.iter().all(|p| (0.0..=1.0).contains(p)) => OutputKind::Probabilities,
            OutputKind::Auto => OutputKind::Logits,
            k => k,
        };
        if kind == OutputKind::Probabilities {
            if let Some(k) = values.iter().position(|p| !(0.0..=1.0).contains(p)) {
                return Err(bad(k, format!("outputs were declared probabilities, but {} is outside [0, 1]", values[k])));
            }
        }
        let out = values
            .iter()
            .flat_map(|&v| {
                let z = if kind == OutputKind::Probabilities {
                    // ln p − ln(1 − p), clamped where p is exactly 0 or 1.
                    v.max(f64::MIN_POSITIVE).ln() - (-v).ln_1p().max(f64::MIN_POSITIVE.ln())
                } else {
                    v
                };
                [0.0, z]
            })
            .collect();
        Ok((Self { values: out, rows, classes: 2 }, kind))
    }
}

/// Per-record signals, each a vector with one value per record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Signals {
    /// Cross-entropy loss −log p_y.
    pub loss: Vec<f64>,
    /// True-class confidence p_y.
    pub confidence: Vec<f64>,
    /// Prediction entropy −Σ p_i log p_i (nats).
    pub entropy: Vec<f64>,
    /// Modified entropy (Song & Mittal 2021): −(1−p_y) log p_y − Σ_{i≠y} p_i log(1−p_i).
    pub modified_entropy: Vec<f64>,
    /// LiRA's logit-scaled confidence φ = log p_y − log Σ_{i≠y} p_i.
    pub phi: Vec<f64>,
    /// Whether argmax of the logits equals the label (the first maximum wins ties).
    pub correct: Vec<bool>,
}

/// log Σ exp(v) over the values of `v` whose index is not `skip`, stably. −∞ for an empty set.
fn lse_except(v: &[f64], skip: Option<usize>) -> f64 {
    let m = v.iter().enumerate().filter(|&(i, _)| Some(i) != skip).map(|(_, &x)| x).fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    let s: f64 = v.iter().enumerate().filter(|&(i, _)| Some(i) != skip).map(|(_, &x)| (x - m).exp()).sum();
    m + s.ln()
}

/// Compute every signal from logits and labels.
///
/// # Shapes
/// `logits.rows == labels.len()`; every label `< logits.classes` (checked upstream).
pub fn compute(logits: &Logits, labels: &[usize]) -> Signals {
    let n = logits.rows;
    let mut s = Signals {
        loss: Vec::with_capacity(n),
        confidence: Vec::with_capacity(n),
        entropy: Vec::with_capacity(n),
        modified_entropy: Vec::with_capacity(n),
        phi: Vec::with_capacity(n),
        correct: Vec::with_capacity(n),
    };
    for (i, &y) in labels.iter().enumerate().take(n) {
        let z = logits.row(i);
        // log p_j = (z_j − m) − log1p(Σ_{k≠argmax} e^{z_k − m}): exact for the top class even
        // when its probability is 1 − 1e-20 (m + tiny would round the tail away).
        let top = z.iter().enumerate().fold(0, |b, (k, &v)| if v > z[b] { k } else { b });
        let m = z[top];
        let rest: f64 = z.iter().enumerate().filter(|&(k, _)| k != top).map(|(_, &v)| (v - m).exp()).sum();
        let log_norm = rest.ln_1p();
        let lse = m + log_norm;
        let logp: Vec<f64> = z.iter().map(|&v| (v - m) - log_norm).collect();
        let p: Vec<f64> = logp.iter().map(|&l| l.exp()).collect();
        // log(1 − p_i) = log Σ_{j≠i} p_j, computed without cancellation when p_i is near 1.
        let log1m = |k: usize| {
            if p[k] < 0.5 { (-p[k]).ln_1p() } else { lse_except(z, Some(k)) - lse }
        };
        let entropy: f64 = -p.iter().zip(&logp).map(|(&pi, &li)| if pi > 0.0 { pi * li } else { 0.0 }).sum::<f64>();
        // 1 − p_y, computed as Σ_{j≠y} p_j when p_y is near 1 so it keeps its relative precision.
        let one_minus_py = if p[y] < 0.5 { 1.0 - p[y] } else { log1m(y).exp() };
        let mut mentr = -one_minus_py * logp[y];
        for k in 0..z.len() {
            if k != y && p[k] > 0.0 {
                mentr -= p[k] * log1m(k);
            }
        }
        s.loss.push(-logp[y]);
        s.confidence.push(p[y]);
        s.entropy.push(entropy);
        s.modified_entropy.push(mentr);
        s.phi.push(z[y] - lse_except(z, Some(y)));
        s.correct.push(top == y);
    }
    s
}
