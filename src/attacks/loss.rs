//! LOSS threshold attack (Yeom, Giacomelli, Fredrikson, Jha 2018, "Privacy Risk in Machine
//! Learning: Analyzing the Connection to Overfitting").
//!
//! Threat model: black-box access to the target's outputs on a record and its true label.
//! Members were fitted, so their loss is lower. Score = −ℓ(x, y) = log p_y; higher = member.

use super::{Context, Outcome, Scores};

pub(super) const DOC: &str = "LOSS (Yeom et al. 2018): score = log p_y, the negated cross-entropy";

pub(super) fn run(cx: &Context<'_>) -> Result<Outcome, String> {
    let s = cx.signals;
    Ok(Outcome::plain(Scores(s.loss.iter().map(|l| -l).collect())))
}
