//! Attacks: signals → membership scores. Every attack returns [`Scores`], and a higher score
//! always means "more likely a member". ROC curves and metrics are computed downstream, once.

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

/// Membership scores, one per record; higher = more likely a member.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores(pub Vec<f64>);

/// The attacks this build runs. Names are fixed in the report schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The population-threshold attack (no references).
    AttackP,
}

impl AttackKind {
    /// Every threshold attack, in report order.
    pub const THRESHOLD: [AttackKind; 4] = [AttackKind::Loss, AttackKind::Confidence, AttackKind::Entropy, AttackKind::ModifiedEntropy];

    /// Every attack, in report order.
    pub const ALL: [AttackKind; 11] = [
        AttackKind::Loss,
        AttackKind::Confidence,
        AttackKind::Entropy,
        AttackKind::ModifiedEntropy,
        AttackKind::AttackP,
        AttackKind::LiraOnline,
        AttackKind::LiraOffline,
        AttackKind::LiraOnlineFixedVariance,
        AttackKind::LiraOfflineFixedVariance,
        AttackKind::RmiaOnline,
        AttackKind::RmiaOffline,
    ];

    /// Whether the attack needs reference models.
    pub fn needs_references(self) -> bool {
        !Self::THRESHOLD.contains(&self) && self != AttackKind::AttackP
    }

    /// Whether the attack needs population records.
    pub fn needs_population(self) -> bool {
        matches!(self, AttackKind::AttackP | AttackKind::RmiaOnline | AttackKind::RmiaOffline)
    }

    /// Whether the attack needs references that trained on the candidates.
    pub fn is_online(self) -> bool {
        matches!(self, AttackKind::LiraOnline | AttackKind::LiraOnlineFixedVariance | AttackKind::RmiaOnline)
    }

    /// Expand the names users give (`lira` and `rmia` stand for every variant the reference
    /// mode allows) into attacks, without duplicates, in report order.
    ///
    /// # Errors
    /// An unknown name, or an online variant in offline mode.
    pub fn parse_list(names: &[String], online: bool) -> Result<Vec<AttackKind>, String> {
        let mut out = Vec::new();
        for name in names {
            let group: Vec<AttackKind> = match name.as_str() {
                "lira" => [AttackKind::LiraOnline, AttackKind::LiraOffline, AttackKind::LiraOnlineFixedVariance, AttackKind::LiraOfflineFixedVariance]
                    .into_iter()
                    .filter(|a| online || !a.is_online())
                    .collect(),
                "rmia" => [AttackKind::RmiaOnline, AttackKind::RmiaOffline].into_iter().filter(|a| online || !a.is_online()).collect(),
                "threshold" => Self::THRESHOLD.to_vec(),
                n => match Self::from_name(n) {
                    Some(a) if a.is_online() && !online => {
                        return Err(format!("'{n}' needs references trained on the candidates: set the mode to online"));
                    }
                    Some(a) => vec![a],
                    None => {
                        let names: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                        return Err(format!("unknown attack '{n}'; choose from {}, or the groups threshold, lira, rmia", names.join(", ")));
                    }
                },
            };
            out.extend(group);
        }
        if out.is_empty() {
            return Err("choose at least one attack".into());
        }
        Ok(Self::ALL.into_iter().filter(|a| out.contains(a)).collect())
    }

    /// The name used in reports, CSV headers and options.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Loss => "loss",
            AttackKind::Confidence => "confidence",
            AttackKind::Entropy => "entropy",
            AttackKind::ModifiedEntropy => "modified_entropy",
            AttackKind::LiraOnline => "lira_online",
            AttackKind::LiraOffline => "lira_offline",
            AttackKind::LiraOnlineFixedVariance => "lira_online_fixed_variance",
            AttackKind::LiraOfflineFixedVariance => "lira_offline_fixed_variance",
            AttackKind::RmiaOnline => "rmia_online",
            AttackKind::RmiaOffline => "rmia_offline",
            AttackKind::AttackP => "attack_p",
        }
    }

    /// Parse a name as used by the CLI and the JS options.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Run a threshold attack on precomputed signals; `None` for the other attacks.
    pub fn threshold_score(self, signals: &Signals) -> Option<Scores> {
        match self {
            AttackKind::Loss => Some(loss::score(signals)),
            AttackKind::Confidence => Some(confidence::score(signals)),
            AttackKind::Entropy => Some(entropy::score(signals)),
            AttackKind::ModifiedEntropy => Some(modified_entropy::score(signals)),
            _ => None,
        }
    }
}
