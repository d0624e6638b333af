//! Attack-P, the population attack (Ye et al. 2022, "Enhanced Membership Inference Attacks
//! against Machine Learning Models"): no references, only the target's losses on population
//! records. The score is the share of population records whose loss is at least the
//! candidate's (its loss percentile); higher = more likely a member. It ranks records exactly
//! as LOSS does (up to ties); what it adds is thresholds calibrated on the population.

use super::reference::ReferenceSet;
use super::{Context, Outcome, Scores};

pub(super) const DOC: &str = "Attack-P (Ye et al. 2022): the share of population records whose loss is at least the record's";

pub(super) fn run(cx: &Context<'_>) -> Result<Outcome, String> {
    let set = cx.references()?;
    let mut out = Outcome::plain(set.attack_p()?);
    out.parameters.insert("population".into(), set.population().into());
    Ok(out)
}

impl ReferenceSet {
    /// Attack-P: the share of population records whose target loss is ≥ the candidate's.
    ///
    /// # Errors
    /// No population rows.
    pub fn attack_p(&self) -> Result<Scores, String> {
        let mut pop: Vec<f64> = self.target.loss[self.candidates..].to_vec();
        if pop.is_empty() {
            return Err("Attack-P needs population records".into());
        }
        pop.sort_by(f64::total_cmp);
        let n = pop.len() as f64;
        Ok(Scores(self.target.loss[..self.candidates].iter().map(|&l| (pop.len() - pop.partition_point(|&z| z < l)) as f64 / n).collect()))
    }
}
