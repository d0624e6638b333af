//! Confidence threshold attack (Salem et al. 2019; Song & Mittal 2021's "confidence" metric).
//!
//! Threat model: black-box outputs and the true label. Score = p_y, the softmax probability of
//! the true class; higher = member. Unlike the LOSS score it saturates at 1 in f64, so records
//! the model is certain about tie here.

use super::{Context, Outcome, Scores};

pub(super) const DOC: &str = "confidence: score = p_y, the true class's softmax probability";

pub(super) fn run(cx: &Context<'_>) -> Result<Outcome, String> {
    let s = cx.signals;
    Ok(Outcome::plain(Scores(s.confidence.clone())))
}
