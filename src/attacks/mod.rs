//! Attacks: signals → membership scores. Every attack returns [`Scores`], and a higher score
//! always means "more likely a member". ROC curves and metrics are computed downstream, once.
//!
//! # Adding an attack
//! One file here with a `run(&Context) -> Result<Outcome, String>`, one variant of
//! [`AttackKind`] and one entry of [`REGISTRY`] (in the same position). The report schema's
//! attack-name enum, `www/index.d.ts`'s `AttackName` and the page's and widget's checkboxes are
//! checked against the registry by `tests/integration/registry.rs`, so they cannot drift.

mod attack_p;
mod confidence;
mod entropy;
mod lira;
mod loss;
mod modified_entropy;
mod reference;
mod rmia;

pub use reference::{Mode, ModelSignals, ReferenceSet};

use crate::signals::Signals;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Membership scores, one per record; higher = more likely a member.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores(pub Vec<f64>);

/// The attacks this build runs, in report order. Each variant's position is its entry in
/// [`REGISTRY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    /// LOSS threshold (Yeom et al. 2018).
    Loss,
    /// True-class confidence threshold.
    Confidence,
    /// Prediction entropy threshold.
    Entropy,
    /// Modified entropy threshold (Song & Mittal 2021).
    ModifiedEntropy,
    /// The population-threshold attack (no references).
    AttackP,
    /// LiRA with IN and OUT references, per-record variances.
    LiraOnline,
    /// LiRA's one-sided test against OUT references, per-record variance.
    LiraOffline,
    /// LiRA online with one global variance per side.
    LiraOnlineFixedVariance,
    /// LiRA offline with one global variance.
    LiraOfflineFixedVariance,
    /// RMIA with Pr(x) from all references.
    RmiaOnline,
    /// RMIA with Pr(x) from OUT references, linearly corrected by `a`.
    RmiaOffline,
}

/// What an attack needs besides the target's outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Needs {
    /// Reference models (trained, or the user's).
    pub references: bool,
    /// Population records (in neither set).
    pub population: bool,
    /// References that trained on the audited records (online mode).
    pub online: bool,
}

const NONE: Needs = Needs { references: false, population: false, online: false };
const OFFLINE_REFS: Needs = Needs { references: true, population: false, online: false };
const ONLINE_REFS: Needs = Needs { references: true, population: false, online: true };

/// RMIA's settings, validated by the plan.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmiaSettings {
    /// Offline `a` in [0, 1]; `None`: tune it.
    pub a: Option<f64>,
    /// γ > 0.
    pub gamma: f64,
}

/// Offline RMIA's `a` when it cannot be tuned (said in the report's warnings).
pub const RMIA_A_FALLBACK: f64 = 0.3;

/// Everything an attack may read.
pub struct Context<'a> {
    /// The target's signals on the audited records (members, then non-members).
    pub signals: &'a Signals,
    /// Target and references on candidates then population; `None` when no attack needs them.
    pub references: Option<&'a ReferenceSet>,
    /// RMIA's `a` and γ.
    pub rmia: RmiaSettings,
    /// The AUC of scores against labels, from the evaluate stage (RMIA tunes `a` with it).
    pub auc: &'a dyn Fn(&[f64], &[bool]) -> Result<f64, String>,
}

impl Context<'_> {
    fn references(&self) -> Result<&ReferenceSet, String> {
        self.references.ok_or_else(|| "internal: this attack needs the reference set".to_string())
    }
}

/// What one attack produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// One score per audited record.
    pub scores: Scores,
    /// The parameters it ran with, for the report.
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// Things the reader must know (e.g. a fallback value was used).
    pub warnings: Vec<String>,
}

impl Outcome {
    fn plain(scores: Scores) -> Self {
        Self { scores, parameters: BTreeMap::new(), warnings: Vec::new() }
    }
}

/// One attack: its name, group, needs, parameters, a one-line description and how to run it.
pub struct AttackSpec {
    /// The variant this entry describes.
    pub kind: AttackKind,
    /// The name used in reports, CSV headers and options.
    pub name: &'static str,
    /// The group name that selects it with its siblings (`threshold`, `lira`, `rmia`).
    pub group: Option<&'static str>,
    /// What it needs besides the target's outputs.
    pub needs: Needs,
    /// The names of the parameters it reports.
    pub parameters: &'static [&'static str],
    /// One line for help texts.
    pub doc: &'static str,
    run: fn(&Context<'_>) -> Result<Outcome, String>,
}

/// Every attack, in report order (the order of [`AttackKind`]'s variants).
pub const REGISTRY: [AttackSpec; 11] = [
    AttackSpec { kind: AttackKind::Loss, name: "loss", group: Some("threshold"), needs: NONE, parameters: &[], doc: loss::DOC, run: loss::run },
    AttackSpec {
        kind: AttackKind::Confidence,
        name: "confidence",
        group: Some("threshold"),
        needs: NONE,
        parameters: &[],
        doc: confidence::DOC,
        run: confidence::run,
    },
    AttackSpec { kind: AttackKind::Entropy, name: "entropy", group: Some("threshold"), needs: NONE, parameters: &[], doc: entropy::DOC, run: entropy::run },
    AttackSpec {
        kind: AttackKind::ModifiedEntropy,
        name: "modified_entropy",
        group: Some("threshold"),
        needs: NONE,
        parameters: &[],
        doc: modified_entropy::DOC,
        run: modified_entropy::run,
    },
    AttackSpec {
        kind: AttackKind::AttackP,
        name: "attack_p",
        group: None,
        needs: Needs { references: false, population: true, online: false },
        parameters: &["population"],
        doc: attack_p::DOC,
        run: attack_p::run,
    },
    AttackSpec {
        kind: AttackKind::LiraOnline,
        name: "lira_online",
        group: Some("lira"),
        needs: ONLINE_REFS,
        parameters: lira::PARAMETERS,
        doc: lira::DOC_ONLINE,
        run: lira::run_online,
    },
    AttackSpec {
        kind: AttackKind::LiraOffline,
        name: "lira_offline",
        group: Some("lira"),
        needs: OFFLINE_REFS,
        parameters: lira::PARAMETERS,
        doc: lira::DOC_OFFLINE,
        run: lira::run_offline,
    },
    AttackSpec {
        kind: AttackKind::LiraOnlineFixedVariance,
        name: "lira_online_fixed_variance",
        group: Some("lira"),
        needs: ONLINE_REFS,
        parameters: lira::PARAMETERS,
        doc: lira::DOC_ONLINE_FIXED,
        run: lira::run_online_fixed,
    },
    AttackSpec {
        kind: AttackKind::LiraOfflineFixedVariance,
        name: "lira_offline_fixed_variance",
        group: Some("lira"),
        needs: OFFLINE_REFS,
        parameters: lira::PARAMETERS,
        doc: lira::DOC_OFFLINE_FIXED,
        run: lira::run_offline_fixed,
    },
    AttackSpec {
        kind: AttackKind::RmiaOnline,
        name: "rmia_online",
        group: Some("rmia"),
        needs: Needs { references: true, population: true, online: true },
        parameters: &["references", "gamma", "population"],
        doc: rmia::DOC_ONLINE,
        run: rmia::run_online,
    },
    AttackSpec {
        kind: AttackKind::RmiaOffline,
        name: "rmia_offline",
        group: Some("rmia"),
        needs: Needs { references: true, population: true, online: false },
        parameters: &["references", "gamma", "population", "a", "a_tuned"],
        doc: rmia::DOC_OFFLINE,
        run: rmia::run_offline,
    },
];

/// The group names users may give instead of attack names.
pub const GROUPS: [&str; 3] = ["threshold", "lira", "rmia"];

/// An attack chosen for a run, and whether the user named it (rather than its group): a
/// variant that came with a group and cannot run on these references is skipped and said; one
/// named explicitly fails the audit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chosen {
    /// The attack.
    pub kind: AttackKind,
    /// Named by the user, not only through its group.
    pub explicit: bool,
}

impl AttackKind {
    /// Every attack, in report order.
    pub const ALL: [AttackKind; 11] = {
        let mut all = [AttackKind::Loss; 11];
        let mut i = 0;
        while i < REGISTRY.len() {
            all[i] = REGISTRY[i].kind;
            i += 1;
        }
        all
    };

    /// Every threshold attack, in report order.
    pub const THRESHOLD: [AttackKind; 4] = [AttackKind::Loss, AttackKind::Confidence, AttackKind::Entropy, AttackKind::ModifiedEntropy];

    /// This attack's registry entry.
    pub fn spec(self) -> &'static AttackSpec {
        &REGISTRY[self as usize]
    }

    /// The name used in reports, CSV headers and options.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Whether the attack needs reference models.
    pub fn needs_references(self) -> bool {
        self.spec().needs.references
    }

    /// Whether the attack needs population records.
    pub fn needs_population(self) -> bool {
        self.spec().needs.population
    }

    /// Whether the attack needs references that trained on the candidates.
    pub fn is_online(self) -> bool {
        self.spec().needs.online
    }

    /// Parse a name as used by the CLI and the JS options.
    pub fn from_name(s: &str) -> Option<Self> {
        REGISTRY.iter().find(|a| a.name == s).map(|a| a.kind)
    }

    /// Run this attack.
    ///
    /// # Errors
    /// The references cannot support it (too few IN/OUT models, no population), said in words.
    pub fn run(self, cx: &Context<'_>) -> Result<Outcome, String> {
        (self.spec().run)(cx)
    }

    /// Expand the names users give (a group stands for every variant of it the reference mode
    /// allows) into attacks, without duplicates, in report order.
    ///
    /// # Errors
    /// An unknown name, an online variant in offline mode, an empty list.
    pub fn parse_list(names: &[String], online: bool) -> Result<Vec<Chosen>, String> {
        let mut chosen: Vec<Chosen> = Vec::new();
        let mut add = |kind: AttackKind, explicit: bool| match chosen.iter_mut().find(|c| c.kind == kind) {
            Some(c) => c.explicit |= explicit,
            None => chosen.push(Chosen { kind, explicit }),
        };
        for name in names {
            let name = name.trim();
            if name.is_empty() {
                continue;
            }
            if GROUPS.contains(&name) {
                for s in REGISTRY.iter().filter(|s| s.group == Some(name) && (online || !s.needs.online)) {
                    add(s.kind, false);
                }
                continue;
            }
            match Self::from_name(name) {
                Some(a) if a.is_online() && !online => {
                    return Err(format!("'{name}' needs references trained on the candidates: set the mode to online"));
                }
                Some(a) => add(a, true),
                None => {
                    let names: Vec<&str> = REGISTRY.iter().map(|a| a.name).collect();
                    return Err(format!(
                        "unknown attack '{}'; choose from {}, or the groups {}",
                        crate::limits::quote(name),
                        names.join(", "),
                        GROUPS.join(", ")
                    ));
                }
            }
        }
        if chosen.is_empty() {
            return Err("choose at least one attack".into());
        }
        chosen.sort_by_key(|c| c.kind);
        Ok(chosen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_positions_match_the_enum() {
        for (i, s) in REGISTRY.iter().enumerate() {
            assert_eq!(s.kind as usize, i, "{}", s.name);
            assert_eq!(AttackKind::from_name(s.name), Some(s.kind));
            assert!(s.group.is_none_or(|g| GROUPS.contains(&g)), "{}", s.name);
        }
    }

    #[test]
    fn groups_expand_and_explicit_names_are_marked() {
        let c = AttackKind::parse_list(&["lira".into(), "lira_offline".into(), "loss".into()], false).unwrap();
        let names: Vec<(&str, bool)> = c.iter().map(|c| (c.kind.name(), c.explicit)).collect();
        assert_eq!(names, [("loss", true), ("lira_offline", true), ("lira_offline_fixed_variance", false)]);
        assert!(AttackKind::parse_list(&["rmia_online".into()], false).is_err());
        assert!(AttackKind::parse_list(&[], false).is_err());
        let e = AttackKind::parse_list(&["x".repeat(1000)], true).unwrap_err();
        assert!(e.len() < 400, "{e}");
    }
}
