//! Attacks: signals → membership scores. Every attack returns [`Scores`], and a higher score
//! always means "more likely a member". ROC curves and metrics are computed downstream, once.

mod confidence;
mod entropy;
mod loss;
mod modified_entropy;

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
}

impl AttackKind {
    /// Every threshold attack, in report order.
    pub const ALL: [AttackKind; 4] = [AttackKind::Loss, AttackKind::Confidence, AttackKind::Entropy, AttackKind::ModifiedEntropy];

    /// The name used in reports, CSV headers and options.
    pub fn name(self) -> &'static str {
        match self {
            AttackKind::Loss => "loss",
            AttackKind::Confidence => "confidence",
            AttackKind::Entropy => "entropy",
            AttackKind::ModifiedEntropy => "modified_entropy",
        }
    }

    /// Parse a name as used by the CLI and the JS options.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// Run this attack on precomputed signals.
    pub fn score(self, signals: &Signals) -> Scores {
        match self {
            AttackKind::Loss => loss::score(signals),
            AttackKind::Confidence => confidence::score(signals),
            AttackKind::Entropy => entropy::score(signals),
            AttackKind::ModifiedEntropy => modified_entropy::score(signals),
        }
    }
}
