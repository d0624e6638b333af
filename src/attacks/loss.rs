//! LOSS threshold attack (Yeom, Giacomelli, Fredrikson, Jha 2018, "Privacy Risk in Machine
//! Learning: Analyzing the Connection to Overfitting").
//!
//! Threat model: black-box access to the target's outputs on a record and its true label.
//! Members were fitted, so their loss is lower. Score = −ℓ(x, y) = log p_y; higher = member.

use super::Scores;
use crate::signals::Signals;

pub(super) fn score(s: &Signals) -> Scores {
    Scores(s.loss.iter().map(|l| -l).collect())
}
