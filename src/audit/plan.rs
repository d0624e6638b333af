//! Stage 1, the plan: every option, range and conflict checked before any file is parsed or
//! any model runs, so nothing fails after minutes of training. What later stages read comes
//! from the [`Plan`], already validated.

use super::options::{AuditOptions, ReferenceMode, RmiaA};
use super::{AuditInput, Target};
use crate::attacks::{AttackKind, Chosen, RmiaSettings};
use crate::data::TableOptions;
use crate::error::{AuditError, Result};
use crate::limits;

/// Where the reference models come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefSource {
    /// privaudit trains `k` of them (even, ≥ 2).
    Train { k: usize },
    /// The user's ONNX models.
    Models { k: usize },
    /// The user's references' outputs.
    Outputs { k: usize },
}

impl RefSource {
    pub(crate) fn count(self) -> usize {
        match self {
            RefSource::Train { k } | RefSource::Models { k } | RefSource::Outputs { k } => k,
        }
    }
}

/// A validated audit.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// The attacks, in report order.
    pub attacks: Vec<Chosen>,
    /// Online reference mode.
    pub online: bool,
    /// The references, when an attack needs them.
    pub references: Option<RefSource>,
    /// Whether an attack needs population records.
    pub need_population: bool,
    /// How data files are read.
    pub table: TableOptions,
    /// RMIA's validated settings.
    pub rmia: RmiaSettings,
    /// The options (validated).
    pub opts: AuditOptions,
    /// Things the user should know before anything runs (an input that will not be used).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Check every option against the inputs' kinds and the limits.
    ///
    /// # Errors
    /// An option out of range, an unknown attack, inputs that conflict (reference models and
    /// reference outputs both; references an attack cannot use; online mode without a
    /// membership matrix for the user's references), attacks the inputs cannot serve.
    pub(crate) fn new(input: &AuditInput, opts: &AuditOptions) -> Result<Plan> {
        let online = opts.mode == ReferenceMode::Online;
        let attacks = AttackKind::parse_list(&opts.attacks, online).map_err(|m| AuditError::option("attacks", m))?;
        let need_refs = attacks.iter().any(|c| c.kind.needs_references());
        let need_population = attacks.iter().any(|c| c.kind.needs_population() || c.kind.needs_references());
        let mut warnings = Vec::new();

        if !(opts.holdout > 0.0 && opts.holdout < 1.0) {
            return Err(AuditError::option("holdout", format!("must be strictly between 0 and 1, got {}", opts.holdout)));
        }
        for (name, v) in [("scale", opts.scale), ("shift", opts.shift)] {
            if !v.is_finite() {
                return Err(AuditError::option(name, format!("must be a finite number, got {v}")));
            }
        }
        if opts.scale == 0.0 {
            return Err(AuditError::option("scale", "must not be 0: every feature would become the shift"));
        }
        if !(opts.rmia_gamma > 0.0 && opts.rmia_gamma.is_finite()) {
            return Err(AuditError::option("rmiaGamma", format!("must be a positive number, got {}", opts.rmia_gamma)));
        }
        let a = match opts.rmia_a {
            RmiaA::Value(a) if (0.0..=1.0).contains(&a) => Some(a),
            RmiaA::Value(a) => return Err(AuditError::option("rmiaA", format!("must be in [0, 1] or \"tune\", got {a}"))),
            RmiaA::Tune(_) => None,
        };
        opts.statistics.check()?;
        if let Some(g) = &opts.fail_if {
            crate::report::gate::Gate::parse(g)?;
        }
        if opts.label_column.is_empty() {
            return Err(AuditError::option("labelColumn", "must not be empty"));
        }
        if opts.id_column.as_deref().is_some_and(|id| id == opts.label_column) {
            return Err(AuditError::option("idColumn", "is the label column too; name another column"));
        }
        if opts.slice_column.as_deref().is_some_and(str::is_empty) {
            return Err(AuditError::option("sliceColumn", "must not be empty; leave it out for no slice column"));
        }
        if opts.slice_column.is_some() && input.slice_file.is_some() {
            return Err(AuditError::option("sliceColumn", "give a slice column or a slice file, not both"));
        }
        if opts.slice_column.is_some() && opts.slice_column == opts.id_column {
            return Err(AuditError::option("sliceColumn", "is the id column too; name another column"));
        }
        if opts.drop_duplicates && matches!(input.target, super::Target::Outputs) {
            return Err(AuditError::option("dropDuplicates", "needs the model's inputs to compare records; outputs-only mode has none"));
        }
        if opts.exposed > crate::limits::MAX_EXPOSED as u64 {
            return Err(AuditError::option("exposed", format!("at most {} records, got {}", crate::limits::MAX_EXPOSED, opts.exposed)));
        }

        let refs = &input.references;
        let (models, outputs) = (refs.models.len(), refs.outputs.len());
        if models > 0 && outputs > 0 {
            return Err(AuditError::option("references", "give reference models or reference outputs, not both"));
        }
        if models.max(outputs) > limits::MAX_REFERENCES {
            return Err(AuditError::option("references", format!("at most {} reference models, got {}", limits::MAX_REFERENCES, models.max(outputs))));
        }
        let is_model = matches!(input.target, Target::Model { .. });
        if models > 0 && !is_model {
            return Err(AuditError::option(
                "referenceModels",
                "reference models need the records' features; in outputs-only mode give the references' outputs instead",
            ));
        }
        let byo = models > 0 || outputs > 0;
        if refs.membership.is_some() && !byo {
            return Err(AuditError::option("referenceMembership", "a membership matrix only describes your own references: give them too, or drop it"));
        }
        let references = if need_refs {
            Some(if models > 0 {
                RefSource::Models { k: models }
            } else if outputs > 0 {
                RefSource::Outputs { k: outputs }
            } else {
                if !is_model {
                    return Err(AuditError::option(
                        "attacks",
                        "LiRA and RMIA need reference models: in outputs-only mode give the references' outputs (and their membership matrix)",
                    ));
                }
                opts.training.check()?;
                let k = opts.references;
                if !(2..=limits::MAX_REFERENCES as u64).contains(&k) || k % 2 != 0 {
                    return Err(AuditError::option(
                        "references",
                        format!(
                            "train an even number of reference models from 2 to {}, so every record is in exactly half of them (got {k})",
                            limits::MAX_REFERENCES
                        ),
                    ));
                }
                RefSource::Train { k: k as usize }
            })
        } else {
            if byo {
                warnings.push("your reference models or outputs were not used: none of the chosen attacks needs references".into());
            }
            None
        };
        if online && byo && need_refs && refs.membership.is_none() {
            return Err(AuditError::option("references", "online mode with your own references needs their membership matrix"));
        }
        if let (Some(p), false) = (&input.population, need_population) {
            warnings.push(format!("the population file {} was not used: none of the chosen attacks needs one", limits::quote(&p.file.name)));
        }
        // A gate this audit could not check is refused now, not after the work.
        if let Some(g) = &opts.fail_if {
            let names: Vec<&str> = attacks.iter().map(|c| c.kind.name()).collect();
            crate::report::gate::Gate::parse(g)?.check_plan(&names, opts.statistics.bootstrap, opts.statistics.randomised_membership)?;
        }
        Ok(Plan {
            attacks,
            online,
            references,
            need_population,
            table: TableOptions { label_column: opts.label_column.clone(), id_column: opts.id_column.clone(), slice_column: opts.slice_column.clone() },
            rmia: RmiaSettings { a, gamma: opts.rmia_gamma },
            opts: opts.clone(),
            warnings,
        })
    }

    /// Whether references are trained by privaudit.
    pub(crate) fn trains(&self) -> bool {
        matches!(self.references, Some(RefSource::Train { .. }))
    }
}
