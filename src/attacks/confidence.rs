//! Confidence threshold attack (Salem et al. 2019; Song & Mittal 2021's "confidence" metric).
//!
//! Threat model: black-box outputs and the true label. Score = p_y, the softmax probability of
//! the true class; higher = member. Unlike the LOSS score it saturates at 1 in f64, so records
//! the model is certain about tie here.

use super::Scores;
use crate::signals::Signals;

pub(super) fn score(s: &Signals) -> Scores {
    Scores(s.confidence.clone())
}
