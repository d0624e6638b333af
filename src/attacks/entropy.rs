//! Entropy threshold attack (Salem et al. 2019, "ML-Leaks"; Song & Mittal 2021).
//!
//! Threat model: black-box outputs; the label is not needed. Members get more confident, lower
//! entropy predictions. Score = −H(p) = Σ p_i log p_i; higher = member.

use super::{Context, Outcome, Scores};

pub(super) const DOC: &str = "entropy (Salem et al. 2019): score = −H(p), labels not needed";

pub(super) fn run(cx: &Context<'_>) -> Result<Outcome, String> {
    let s = cx.signals;
    Ok(Outcome::plain(Scores(s.entropy.iter().map(|h| -h).collect())))
}
