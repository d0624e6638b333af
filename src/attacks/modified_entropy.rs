//! Modified-entropy threshold attack (Song & Mittal 2021, "Systematic Evaluation of Privacy
//! Risks of Machine Learning Models", eq. 4).
//!
//! Mentr(p, y) = −(1 − p_y) log p_y − Σ_{i≠y} p_i log(1 − p_i). It is low when the model is
//! confident *and right*, unlike plain entropy. Threat model: black-box outputs and the true
//! label. Score = −Mentr; higher = member.

use super::Scores;
use crate::signals::Signals;

pub(super) fn score(s: &Signals) -> Scores {
    Scores(s.modified_entropy.iter().map(|m| -m).collect())
}
