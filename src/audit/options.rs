//! The audit's options as users give them (JSON in the page and the JS API, flags in the CLI).
//! Their defaults are defined here once: the CLI's help, `www/index.d.ts`, the page and the
//! widget read them from here or are checked against them by `tests/integration/registry.rs`.

use crate::attacks::AttackKind;
use crate::backend::BackendChoice;
use crate::model::TrainSettings;
use crate::signals::OutputKind;
use serde::{Deserialize, Serialize};

/// Reference mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceMode {
    /// References never see the candidates (trained on population data only).
    #[default]
    Offline,
    /// Each candidate is in the training set of half of the references.
    Online,
}

/// The word `"tune"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tune {
    /// Tune the parameter.
    Tune,
}

/// Offline RMIA's `a`: a number in [0, 1], or `"tune"`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RmiaA {
    /// A fixed value.
    Value(f64),
    /// Tuned on a reference model treated as the target.
    Tune(Tune),
}

impl std::str::FromStr for RmiaA {
    type Err = String;

    /// `"tune"` or a number (range-checked by the plan).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "tune" => Ok(RmiaA::Tune(Tune::Tune)),
            v => v.parse().map(RmiaA::Value).map_err(|_| format!("expected a number in [0, 1] or 'tune', got '{}'", crate::limits::quote(v))),
        }
    }
}

/// Options of an audit. Unknown keys are an error.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct AuditOptions {
    /// CSV label column. Default: `"label"`.
    pub label_column: String,
    /// CSV column to ignore (record ids). Default: none.
    pub id_column: Option<String>,
    /// Features are fed to the model as `x * scale + shift`. Default: 1.
    pub scale: f64,
    /// See `scale`. Default: 0.
    pub shift: f64,
    /// Attacks to run, by name; `threshold`, `lira` and `rmia` stand for their variants.
    /// Default: the four threshold attacks.
    pub attacks: Vec<String>,
    /// Where the model runs. Default: `auto`.
    pub backend: BackendChoice,
    /// Outputs-only mode: how to read the outputs. Default: `auto` (detect probabilities).
    pub outputs: OutputKind,
    /// Number of reference models to train (even, 2 to [`crate::limits::MAX_REFERENCES`]).
    /// Default: 4.
    pub references: u64,
    /// Reference mode. Default: offline.
    pub mode: ReferenceMode,
    /// Seed of every random choice (hold-out, reference data splits, initialisation, batches).
    /// Default: 0.
    pub seed: u64,
    /// How references are trained.
    pub training: TrainSettings,
    /// Offline RMIA's `a`. Default: `"tune"`.
    pub rmia_a: RmiaA,
    /// RMIA's γ. Default: 1.
    pub rmia_gamma: f64,
    /// Share of the non-members held out as population when no population file is given.
    /// Default: 0.5.
    pub holdout: f64,
    /// How image folders become the model's input (resize, crop, range, normalisation, layout,
    /// class names). Default: torchvision's `ToTensor()`.
    pub image: crate::data::image::ImageOptions,
    /// Intervals and ε bounds: bootstrap resamples, confidence, δ, whether membership was
    /// randomised.
    pub statistics: crate::metrics::StatisticsSettings,
    /// A release gate, e.g. `"tpr@0.001 > 0.02, auc > 0.6, epsilon > 4"` (see
    /// [`crate::report::gate`]): the report's `verdict.gate` says whether any condition holds,
    /// and the CLI then exits 3. Default: none.
    pub fail_if: Option<String>,
    /// How many of the most exposed members (and as many false positives) the report lists.
    /// Default: 20.
    pub exposed: u64,
    /// Metrics per slice (class, correct or not, loss quartile, and the slice column). Default:
    /// true.
    pub slices: bool,
    /// A CSV column whose values group the records into slices (not a feature). Default: none.
    pub slice_column: Option<String>,
    /// Drop the non-members that duplicate a member (exactly, or nearly for images) before
    /// the audit: they would count as non-members what the model saw in training. Default:
    /// false (they are counted and warned about).
    pub drop_duplicates: bool,
    /// The graph output holding the class scores, when the model has several (a scikit-learn
    /// export's `probabilities` beside its `label`). Default: chosen by privaudit (the one
    /// float output, or a ZipMap's tensor, or the one named like "prob…").
    pub output: Option<String>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            label_column: "label".into(),
            id_column: None,
            scale: 1.0,
            shift: 0.0,
            attacks: AttackKind::THRESHOLD.iter().map(|a| a.name().to_string()).collect(),
            backend: BackendChoice::Auto,
            outputs: OutputKind::Auto,
            references: 4,
            mode: ReferenceMode::Offline,
            seed: 0,
            training: TrainSettings::default(),
            rmia_a: RmiaA::Tune(Tune::Tune),
            rmia_gamma: 1.0,
            holdout: 0.5,
            image: crate::data::image::ImageOptions::default(),
            statistics: crate::metrics::StatisticsSettings::default(),
            fail_if: None,
            exposed: 20,
            slices: true,
            slice_column: None,
            drop_duplicates: false,
            output: None,
        }
    }
}
