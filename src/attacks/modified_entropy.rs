//! Modified-entropy threshold attack (Song & Mittal 2021, "Systematic Evaluation of Privacy
//! Risks of Machine Learning Models", eq. 4).
//!
//! Mentr(p, y) = −(1 − p_y) log p_y − Σ_{i≠y} p_i log(1 − p_i). It is low when the model is
//! confident *and right*, unlike plain entropy. Threat model: black-box outputs and the true
//! label. Score = −Mentr; higher = member.

use super::{Context, Outcome, Scores};

pub(super) const DOC: &str = "modified entropy (Song & Mittal 2021): score = −Mentr(p, y)";

pub(super) fn run(cx: &Context<'_>) -> Result<Outcome, String> {
    let s = cx.signals;
    Ok(Outcome::plain(Scores(s.modified_entropy.iter().map(|m| -m).collect())))
}
