//! Stage 3, the split: which rows are audited (the candidates: members, then the non-members
//! that are not held out) and which are the population. When no population file is given and
//! an attack needs one, a seeded share of the non-members is held out as population.

use super::plan::Plan;
use super::target::Records;
use crate::error::{AuditError, Result};
use crate::model::Rng;

/// Rows, as indices into [`Records`].
pub(crate) struct Split {
    /// The audited non-members.
    pub nonmembers: Vec<usize>,
    /// The population rows.
    pub population: Vec<usize>,
    /// Members, then the audited non-members.
    pub candidates: Vec<usize>,
    /// Candidates, then the population: the row order of the reference attacks.
    pub order: Vec<usize>,
    /// "file", or how many non-members were held out.
    pub source: String,
}

impl Split {
    /// Whether each candidate is a member.
    pub(crate) fn is_member(&self, members: usize) -> Vec<bool> {
        self.candidates.iter().map(|&i| i < members).collect()
    }
}

/// Split the rows.
///
/// # Errors
/// A population is needed, no file was given, and there are fewer than 2 non-members.
pub(crate) fn split(records: &Records, plan: &Plan, warnings: &mut Vec<String>) -> Result<Split> {
    let (n_mem, n_non, total) = (records.members(), records.nonmembers(), records.count());
    let mut nonmembers: Vec<usize> = (n_mem..n_mem + n_non).collect();
    let mut population: Vec<usize> = (n_mem + n_non..total).collect();
    let mut source = "file".to_string();
    if plan.need_population && !records.has_population_file() {
        if n_non < 2 {
            return Err(AuditError::option("population", "give a population file: there are too few non-members to hold some out"));
        }
        let held = ((n_non as f64 * plan.opts.holdout).round() as usize).clamp(1, n_non - 1);
        let mut rng = Rng::new(plan.opts.seed ^ 0x5EED_0F_D47A);
        let mut shuffled = nonmembers.clone();
        rng.shuffle(&mut shuffled);
        let mut taken: Vec<usize> = shuffled[..held].to_vec();
        taken.sort_unstable();
        nonmembers.retain(|i| taken.binary_search(i).is_err());
        population = taken;
        source = format!("{held} of the {n_non} non-members held out (seeded) as population");
        warnings.push(format!("no population file: {held} of the {n_non} non-members were held out as population and are not audited"));
    }
    let candidates: Vec<usize> = (0..n_mem).chain(nonmembers.iter().copied()).collect();
    let order = candidates.iter().chain(&population).copied().collect();
    Ok(Split { nonmembers, population, candidates, order, source })
}
