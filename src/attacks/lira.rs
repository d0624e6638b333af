//! LiRA, the likelihood-ratio attack (Carlini et al. 2022, "Membership Inference Attacks From
//! First Principles"). Higher score = more likely a member.
//!
//! For each candidate, Gaussians are fitted to φ (logit-scaled confidence, log p_y − log(1 − p_y))
//! of the references that trained on it (IN) and of those that did not (OUT). μ is the median and
//! σ the standard deviation (ddof 0) of those values, plus 1e-30, as in the authors' code.
//! - `lira_online`: log N(φ_target; μ_in, σ_in²) − log N(φ_target; μ_out, σ_out²).
//! - `lira_offline`: the paper's one-sided test against OUT only. The score is its statistic
//!   z = (φ_target − μ_out) / σ_out; the paper's Λ = Φ(z) is a monotone function of it, so the
//!   ROC and every metric are identical, and z keeps the tail that Φ(z) rounds to 1.
//! - `…_fixed_variance`: one global σ_in (σ_out): the standard deviation of all IN (OUT) values
//!   of all candidates pooled, as in the authors' code (better with few references).
//!
//! Threat model: black-box outputs of the target; K reference models of the same architecture
//! trained on data from the same distribution.

use super::reference::{Mode, ReferenceSet, SIGMA_FLOOR, log_normal, median, std};
use super::{Context, Outcome, Scores};

pub(super) const PARAMETERS: &[&str] = &["references", "fixed_variance", "signal"];
pub(super) const DOC_ONLINE: &str = "LiRA online (Carlini et al. 2022): Gaussian likelihood ratio of φ under IN and OUT references";
pub(super) const DOC_OFFLINE: &str = "LiRA offline: one-sided test of φ against OUT references, z = (φ − μ_out) / σ_out";
pub(super) const DOC_ONLINE_FIXED: &str = "LiRA online with one global variance per side (better with few references)";
pub(super) const DOC_OFFLINE_FIXED: &str = "LiRA offline with one global variance (better with few references)";

fn run(cx: &Context<'_>, mode: Mode, fixed_variance: bool) -> Result<Outcome, String> {
    let set = cx.references()?;
    let mut out = Outcome::plain(set.lira(mode, fixed_variance)?);
    out.parameters.insert("references".into(), set.refs.len().into());
    out.parameters.insert("fixed_variance".into(), fixed_variance.into());
    out.parameters.insert("signal".into(), "phi = log p_y - log(1 - p_y)".into());
    Ok(out)
}

pub(super) fn run_online(cx: &Context<'_>) -> Result<Outcome, String> {
    run(cx, Mode::Online, false)
}

pub(super) fn run_offline(cx: &Context<'_>) -> Result<Outcome, String> {
    run(cx, Mode::Offline, false)
}

pub(super) fn run_online_fixed(cx: &Context<'_>) -> Result<Outcome, String> {
    run(cx, Mode::Online, true)
}

pub(super) fn run_offline_fixed(cx: &Context<'_>) -> Result<Outcome, String> {
    run(cx, Mode::Offline, true)
}

impl ReferenceSet {
    fn values(&self, row: usize, inside: bool) -> Vec<f64> {
        self.refs.iter().zip(&self.member).filter(|(_, m)| m[row] == inside).map(|(r, _)| r.phi[row]).collect()
    }

    /// LiRA over the candidates.
    ///
    /// # Errors
    /// A candidate without an IN (online) or OUT reference, or with a single one when each
    /// record's variance is estimated on its own.
    pub fn lira(&self, mode: Mode, fixed_variance: bool) -> Result<Scores, String> {
        self.check()?;
        let need = if fixed_variance { 1 } else { 2 };
        let mut fits = Vec::with_capacity(self.candidates);
        let (mut all_in, mut all_out) = (Vec::new(), Vec::new());
        for row in 0..self.candidates {
            let (vin, vout) = (self.values(row, true), self.values(row, false));
            if vout.len() < need || (mode == Mode::Online && vin.len() < need) {
                return Err(format!(
                    "candidate row {} has {} IN and {} OUT references; this LiRA variant needs at least {need} OUT{}",
                    row + 1,
                    vin.len(),
                    vout.len(),
                    if mode == Mode::Online { " and IN" } else { "" }
                ));
            }
            fits.push(((median(&vin), std(&vin)), (median(&vout), std(&vout))));
            all_in.extend(vin);
            all_out.extend(vout);
        }
        let (gin, gout) = (std(&all_in), std(&all_out));
        let scores = fits
            .iter()
            .enumerate()
            .map(|(row, &((mi, si), (mo, so)))| {
                let (si, so) = if fixed_variance { (gin, gout) } else { (si, so) };
                let phi = self.target.phi[row];
                match mode {
                    Mode::Online => log_normal(phi, mi, si + SIGMA_FLOOR) - log_normal(phi, mo, so + SIGMA_FLOOR),
                    Mode::Offline => (phi - mo) / (so + SIGMA_FLOOR),
                }
            })
            .collect();
        Ok(Scores(scores))
    }
}
