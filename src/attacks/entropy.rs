//! Entropy threshold attack (Salem et al. 2019, "ML-Leaks"; Song & Mittal 2021).
//!
//! Threat model: black-box outputs; the label is not needed. Members get more confident, lower
//! entropy predictions. Score = −H(p) = Σ p_i log p_i; higher = member.

use super::Scores;
use crate::signals::Signals;

pub(super) fn score(s: &Signals) -> Scores {
    Scores(s.entropy.iter().map(|h| -h).collect())
}
