//! The native command line: `privaudit audit …`. A thin shell over the library.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use privaudit::data::image::{ImageOptions, Layout, Normalize, PixelRange};
use privaudit::data::{DataSource, InputFile};
use privaudit::metrics::StatisticsSettings;
use privaudit::model::{Augment, Optimizer, TrainSettings};
use privaudit::signals::OutputKind;
use privaudit::{AuditInput, AuditOptions, BackendChoice, ReferenceMode, RmiaA, report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "privaudit", version, about = "Membership-inference privacy audits of ML models, run locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit a model (or its outputs) on members and non-members.
    Audit(Box<AuditArgs>),
    /// Compare two reports of the same data: which leakage metrics got worse by more than
    /// their intervals.
    Diff(DiffArgs),
    /// Audit several models on the same members and non-members (a plain model beside its
    /// DP-trained, pruned or quantised versions): utility against privacy in one table.
    Compare(Box<CompareArgs>),
}

#[derive(clap::Args)]
struct CompareArgs {
    /// The ONNX models, comma-separated (each one's external weights are read from beside it).
    #[arg(long, value_delimiter = ',', required = true, help_heading = "Compare")]
    models: Vec<PathBuf>,
    /// Their names in the table, comma-separated (default: the file names without .onnx).
    #[arg(long, value_delimiter = ',', help_heading = "Compare")]
    names: Vec<String>,
    /// Everything else as `audit` takes it (--out writes the comparison, --html its page).
    #[command(flatten)]
    audit: AuditArgs,
}

#[derive(clap::Args)]
struct DiffArgs {
    /// The earlier report (JSON).
    old: PathBuf,
    /// The later report (JSON).
    new: PathBuf,
    /// Exit 3 when a metric got worse by more than its interval.
    #[arg(long)]
    fail_on_regression: bool,
    /// Compare reports of different members or non-members (refused otherwise).
    #[arg(long)]
    allow_different_data: bool,
}

#[derive(clap::Args)]
struct AuditArgs {
    /// ONNX classifier.
    #[arg(long)]
    model: Option<PathBuf>,
    /// External weights of the model (default: the file its graph names, if it sits beside it).
    #[arg(long)]
    model_data: Option<PathBuf>,
    /// Records the model was trained on (CSV, NPZ with x/y, or NPY features + --members-labels).
    #[arg(long)]
    members: Option<PathBuf>,
    /// 1-D NPY of labels for NPY members.
    #[arg(long)]
    members_labels: Option<PathBuf>,
    /// Records from the same distribution the model never saw.
    #[arg(long)]
    nonmembers: Option<PathBuf>,
    /// 1-D NPY of labels for NPY non-members.
    #[arg(long)]
    nonmembers_labels: Option<PathBuf>,
    /// Outputs-only mode: the model's outputs on members (CSV with a label column, NPZ, or NPY + --members-labels).
    #[arg(long, conflicts_with = "model", requires = "nonmember_outputs")]
    member_outputs: Option<PathBuf>,
    /// Outputs-only mode: the model's outputs on non-members.
    #[arg(long, conflicts_with = "model", requires = "member_outputs")]
    nonmember_outputs: Option<PathBuf>,
    /// How to read outputs in outputs-only mode.
    #[arg(long, value_enum, default_value = "auto")]
    outputs: Outputs,
    /// CSV label column.
    #[arg(long, default_value_t = AuditOptions::default().label_column)]
    label_column: String,
    /// CSV column to ignore (record ids).
    #[arg(long)]
    id_column: Option<String>,
    /// Feed features as x * scale + shift.
    #[arg(long, default_value_t = AuditOptions::default().scale, allow_negative_numbers = true)]
    scale: f64,
    /// See --scale.
    #[arg(long, default_value_t = AuditOptions::default().shift, allow_negative_numbers = true)]
    shift: f64,
    /// Population records in neither set (features with --model, outputs without). Default: hold
    /// out part of the non-members when an attack needs a population.
    #[arg(long)]
    population: Option<PathBuf>,
    /// 1-D NPY of labels for an NPY population.
    #[arg(long)]
    population_labels: Option<PathBuf>,
    /// Share of the non-members held out as population when there is no --population.
    #[arg(long, default_value_t = AuditOptions::default().holdout)]
    holdout: f64,
    /// Image folders: resize every image to H,W (or N×N) with PIL's bilinear filter before the
    /// crop. Default: images whose size differs from the model's (and no crop) are resized to it.
    #[arg(long, help_heading = "Images")]
    resize: Option<String>,
    /// Image folders: centre crop H,W (or N×N) after the resize.
    #[arg(long, help_heading = "Images")]
    center_crop: Option<String>,
    /// Image folders: unit (÷255, torchvision's ToTensor) or byte (0..255).
    #[arg(long, value_enum, default_value = "unit", help_heading = "Images")]
    pixel_range: RangeArg,
    /// Image folders: per-channel normalisation preset.
    #[arg(long, value_enum, default_value = "none", help_heading = "Images")]
    normalize: NormalizeArg,
    /// Image folders: per-channel mean, comma-separated (with --std), instead of a preset.
    #[arg(long, help_heading = "Images")]
    mean: Option<String>,
    /// Image folders: per-channel standard deviation, comma-separated (with --mean).
    #[arg(long, help_heading = "Images")]
    std: Option<String>,
    /// Image folders: the model input's layout.
    #[arg(long, value_enum, default_value = "auto", help_heading = "Images")]
    layout: LayoutArg,
    /// Image folders: class names in label order, comma-separated. Default: the sorted folder names.
    #[arg(long, help_heading = "Images")]
    classes: Option<String>,
    /// Comma-separated attacks: loss, confidence, entropy, modified_entropy, attack_p, lira, rmia
    /// (lira and rmia run every variant the mode allows), or exact names such as lira_offline.
    #[arg(long, value_delimiter = ',', default_values_t = AuditOptions::default().attacks)]
    attacks: Vec<String>,
    /// Number of reference models to train (even, 2 to 256).
    #[arg(long, default_value_t = AuditOptions::default().references)]
    refs: u64,
    /// offline: references never see the candidates; online: each candidate is in half of them.
    #[arg(long, value_enum, default_value = "offline")]
    mode: ModeArg,
    /// Seed of every random choice.
    #[arg(long, default_value_t = AuditOptions::default().seed)]
    seed: u64,
    /// Reference training: optimizer.
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerArg,
    /// Reference training: learning rate.
    #[arg(long, default_value_t = TrainSettings::default().learning_rate)]
    lr: f64,
    /// Reference training: epochs.
    #[arg(long, default_value_t = TrainSettings::default().epochs)]
    epochs: u64,
    /// Reference training: batch size.
    #[arg(long, default_value_t = TrainSettings::default().batch_size)]
    batch: u64,
    /// Reference training: weight decay (L2 added to the gradient).
    #[arg(long, default_value_t = TrainSettings::default().weight_decay)]
    weight_decay: f64,
    /// Reference training: augment image inputs (flip: left–right with probability ½;
    /// flip-crop: then a crop from the image zero-padded by 4), seeded.
    #[arg(long, value_enum, default_value = "none")]
    augment: AugmentArg,
    /// Offline RMIA's a in [0, 1], or "tune".
    #[arg(long, default_value = "tune")]
    rmia_a: String,
    /// RMIA's gamma.
    #[arg(long, default_value_t = AuditOptions::default().rmia_gamma)]
    rmia_gamma: f64,
    /// Your own reference models instead of training (comma-separated ONNX files).
    #[arg(long, value_delimiter = ',')]
    reference_models: Vec<PathBuf>,
    /// Your own references' outputs on members, non-members and population, in that order
    /// (comma-separated CSV/NPZ files with labels).
    #[arg(long, value_delimiter = ',', conflicts_with = "reference_models")]
    reference_outputs: Vec<PathBuf>,
    /// Which reference trained on which record: CSV (one column per reference) or NPY [records × K] of 0/1.
    #[arg(long)]
    reference_membership: Option<PathBuf>,
    /// Bootstrap resamples behind every interval (0: no intervals).
    #[arg(long, default_value_t = StatisticsSettings::default().bootstrap, help_heading = "Statistics")]
    bootstrap: u64,
    /// Confidence of the intervals and the ε lower bounds.
    #[arg(long, default_value_t = StatisticsSettings::default().confidence, help_heading = "Statistics", allow_negative_numbers = true)]
    confidence: f64,
    /// δ of the ε lower bounds.
    #[arg(long, default_value_t = StatisticsSettings::default().delta, help_heading = "Statistics", allow_negative_numbers = true)]
    delta: f64,
    /// Each audited record was put in the training set by an independent fair coin: the ε
    /// bounds are then a DP audit (with the one-run bound); otherwise they are labelled heuristic.
    #[arg(long, help_heading = "Statistics")]
    randomised_membership: bool,
    /// A release gate: exit 3 (after writing the report) when any condition holds, e.g.
    /// "tpr@0.001 > 0.02, auc > 0.6, epsilon > 4" (see the README for the metrics).
    #[arg(long, help_heading = "Statistics")]
    fail_if: Option<String>,
    /// How many of the most exposed members (and as many false positives) the report lists.
    #[arg(long, default_value_t = AuditOptions::default().exposed, help_heading = "Report")]
    exposed: u64,
    /// Leave out the metrics per slice (class, correct or not, loss quartile, slice column).
    #[arg(long, help_heading = "Report")]
    no_slices: bool,
    /// A CSV column whose values group the records into slices (not a feature), e.g. "group".
    #[arg(long, help_heading = "Report")]
    slice_column: Option<String>,
    /// A sidecar CSV of slice values instead: `set,row,<name>` or `set,id,<name>` (images by
    /// path), one line per member and non-member.
    #[arg(long, help_heading = "Report", conflicts_with = "slice_column")]
    slice_file: Option<PathBuf>,
    /// Drop the non-members that copy a member (exactly, or nearly for images) before the
    /// audit; otherwise they are counted and warned about.
    #[arg(long, help_heading = "Report")]
    drop_duplicates: bool,
    /// The graph output holding the class scores, when the model has several (default: the
    /// one float output, a ZipMap's probabilities, or the one named like "prob…").
    #[arg(long)]
    output: Option<String>,
    /// Where the model runs.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// The JSON report.
    #[arg(long)]
    out: PathBuf,
    /// Per-record scores as CSV.
    #[arg(long)]
    scores: Option<PathBuf>,
    /// A self-contained HTML report with the plots.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Where trained references are kept between runs (default: $XDG_CACHE_HOME/privaudit or
    /// ~/.cache/privaudit).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Neither read nor write the reference cache.
    #[arg(long)]
    no_cache: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Auto,
    Gpu,
    Cpu,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Offline,
    Online,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptimizerArg {
    Adam,
    Sgd,
}

#[derive(Clone, Copy, ValueEnum)]
enum AugmentArg {
    None,
    Flip,
    FlipCrop,
}

#[derive(Clone, Copy, ValueEnum)]
enum RangeArg {
    Unit,
    Byte,
}

#[derive(Clone, Copy, ValueEnum)]
enum NormalizeArg {
    None,
    Imagenet,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutArg {
    Auto,
    Nchw,
    Nhwc,
}

#[derive(Clone, Copy, ValueEnum)]
enum Outputs {
    Auto,
    Logits,
    Probabilities,
}

fn read(path: &Path) -> Result<InputFile, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(InputFile::new(path.display().to_string(), bytes))
}

fn source(file: &Path, labels: Option<&PathBuf>) -> Result<DataSource, String> {
    if file.is_dir() {
        if labels.is_some() {
            return Err(format!("{}: an image folder takes its labels from its class folders, not from a label file", file.display()));
        }
        return Ok(DataSource::folder(file.display().to_string(), folder_files(file)?));
    }
    Ok(DataSource { file: read(file)?, labels: labels.map(|l| read(l)).transpose()?, images: Vec::new() })
}

/// Every file under `root` (two levels: class folders and what they hold, any depth below),
/// named by its `/`-separated path inside it, in sorted order; at most
/// `privaudit::data::MAX_IMAGES` files and `MAX_FILE_BYTES` in all. Hidden entries are skipped.
fn folder_files(root: &Path) -> Result<Vec<InputFile>, String> {
    let mut out = Vec::new();
    let mut total = 0usize;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel: Vec<String> =
                p.strip_prefix(root).map_err(|e| e.to_string())?.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let name = rel.join("/");
            // Only images are read; other files are only named (and skipped, counted).
            let bytes = if privaudit::data::image::is_image_name(&name) { std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))? } else { Vec::new() };
            total += bytes.len();
            out.push(InputFile::new(name, bytes));
            if out.len() > privaudit::data::MAX_IMAGES || total > privaudit::limits::MAX_FILE_BYTES {
                return Err(format!(
                    "{}: more than {} files or {} bytes of images",
                    root.display(),
                    privaudit::data::MAX_IMAGES,
                    privaudit::limits::MAX_FILE_BYTES
                ));
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            // One line, like every other error: clap's first line, without its tips and usage.
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("privaudit: error: {first} (see privaudit audit --help)");
            return ExitCode::from(2);
        }
    };
    let done = match cli.command {
        Command::Audit(a) => audit(*a),
        Command::Diff(d) => diff(d),
        Command::Compare(c) => compare(*c),
    };
    match done {
        Ok(Outcome::Pass) => ExitCode::SUCCESS,
        // 3: the audit ran, and what it found crossed the user's bound.
        Ok(Outcome::Crossed(why)) => {
            eprintln!("privaudit: {why}");
            ExitCode::from(3)
        }
        Err(e) => {
            eprintln!("privaudit: error: {}", spell(&e.to_string()));
            ExitCode::from(2)
        }
    }
}

/// The engine names an option by its JSON key ("the option ‘dropDuplicates’", "option
/// 'references': …"); the CLI says it with its flag. Every key the engine's messages name is
/// here, and every flag here is one of the CLI's (tests/integration/registry.rs).
const FLAGS: [(&str, &str); 44] = [
    ("attacks", "--attacks"),
    ("backend", "--backend"),
    ("dropDuplicates", "--drop-duplicates"),
    ("exposed", "--exposed"),
    ("failIf", "--fail-if"),
    ("holdout", "--holdout"),
    ("idColumn", "--id-column"),
    ("image.centerCrop", "--center-crop"),
    ("image.classes", "--classes"),
    ("image.layout", "--layout"),
    ("image.mean", "--mean"),
    ("image.normalize", "--normalize"),
    ("image.range", "--pixel-range"),
    ("image.resize", "--resize"),
    ("image.std", "--std"),
    ("labelColumn", "--label-column"),
    ("members", "--members"),
    ("mode", "--mode"),
    ("model", "--model"),
    ("models", "--models"),
    ("output", "--output"),
    ("outputs", "--outputs"),
    ("population", "--population"),
    ("referenceMembership", "--reference-membership"),
    ("referenceModels", "--reference-models"),
    ("referenceOutputs", "--reference-outputs"),
    ("references", "--refs"),
    ("rmiaA", "--rmia-a"),
    ("rmiaGamma", "--rmia-gamma"),
    ("scale", "--scale"),
    ("scale/shift", "--scale/--shift"),
    ("seed", "--seed"),
    ("shift", "--shift"),
    ("sliceColumn", "--slice-column"),
    ("statistics.bootstrap", "--bootstrap"),
    ("statistics.confidence", "--confidence"),
    ("statistics.delta", "--delta"),
    ("statistics.randomisedMembership", "--randomised-membership"),
    ("training.augment", "--augment"),
    ("training.batchSize", "--batch"),
    ("training.epochs", "--epochs"),
    ("training.learningRate", "--lr"),
    ("training.optimizer", "--optimizer"),
    ("training.weightDecay", "--weight-decay"),
];

fn flag(key: &str) -> Option<&'static str> {
    FLAGS.iter().find(|(k, _)| *k == key).map(|(_, f)| *f)
}

/// `text` in the CLI's terms: every "the option ‘KEY’" as its flag, and an error about an
/// option's value ("option 'references': …") followed by the flag that sets it.
fn spell(text: &str) -> String {
    let mut out = FLAGS.iter().fold(text.to_string(), |t, (key, flag)| t.replace(&format!("the option ‘{key}’"), flag));
    if let Some(key) = out.strip_prefix("option '").and_then(|rest| rest.split_once("': ")).map(|(k, _)| k.to_string()) {
        if let Some(f) = flag(&key) {
            out.push_str(&format!(" ({f})"));
        }
    }
    out
}

/// How a command that ran ends.
enum Outcome {
    /// Exit 0.
    Pass,
    /// Exit 3, saying why.
    Crossed(String),
}

fn read_report(p: &Path) -> Result<report::AuditReport, String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("{}: not JSON ({e})", p.display()))?;
    // A comparison (`compare --out`) holds reports but is not one: say which to give.
    if v.get("rows").is_some() && v.get("reports").is_some() {
        return Err(format!("{}: a comparison of several models, not one report; give the report of one audit (audit --out)", p.display()));
    }
    // The version as a number, or as text or a float that says one ("6", 6.0).
    let version = match v.get("schema_version") {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match version {
        Some(n) if n == f64::from(report::SCHEMA_VERSION) => {}
        Some(n) => {
            return Err(format!(
                "{}: a report of schema_version {n}; diff reads version {} (re-run the audit with this privaudit)",
                p.display(),
                report::SCHEMA_VERSION
            ));
        }
        None => return Err(format!("{}: not a privaudit report (no schema_version number)", p.display())),
    }
    let mut v = v;
    v["schema_version"] = report::SCHEMA_VERSION.into();
    serde_json::from_value(v).map_err(|e| format!("{}: not a privaudit report: {}", p.display(), limits_quote(&e.to_string())))
}

/// User text in a message, bounded (the library's quoting).
fn limits_quote(s: &str) -> String {
    privaudit::limits::quote(s)
}

fn diff(d: DiffArgs) -> Result<Outcome, String> {
    let (old, new) = (read_report(&d.old)?, read_report(&d.new)?);
    let (on, nn) = (d.old.display().to_string(), d.new.display().to_string());
    let r = report::diff::diff(&on, &old, &nn, &new, d.allow_different_data).map_err(|e| e.to_string())?;
    print!("{}", report::diff::diff_text(&r, &on, &nn));
    let worse: Vec<String> = r.regressions().map(|c| format!("{} {}", c.attack, c.metric)).collect();
    Ok(if d.fail_on_regression && !worse.is_empty() {
        Outcome::Crossed(format!("worse than {on} by more than the intervals: {}", worse.join(", ")))
    } else {
        Outcome::Pass
    })
}

/// `H,W` or `N` (a square) for --resize and --center-crop.
fn size_arg(v: &Option<String>, flag: &str) -> Result<Option<[u64; 2]>, String> {
    let Some(v) = v else { return Ok(None) };
    let parts: Vec<&str> = v.split([',', 'x', '×']).map(str::trim).collect();
    let n = |s: &str| s.parse::<u64>().map_err(|_| format!("{flag}: '{v}' is not H,W or N"));
    match parts.as_slice() {
        [s] => Ok(Some([n(s)?, n(s)?])),
        [h, w] => Ok(Some([n(h)?, n(w)?])),
        _ => Err(format!("{flag}: '{v}' is not H,W or N")),
    }
}

/// Comma-separated numbers for --mean and --std.
fn list_arg(v: &Option<String>, flag: &str) -> Result<Option<Vec<f64>>, String> {
    v.as_ref().map(|v| v.split(',').map(|x| x.trim().parse::<f64>().map_err(|_| format!("{flag}: '{v}' is not comma-separated numbers"))).collect()).transpose()
}

/// The engine's options from the flags `audit` and `compare` share.
fn options(a: &AuditArgs) -> Result<AuditOptions, String> {
    let rmia_a: RmiaA = a.rmia_a.parse().map_err(|e| format!("--rmia-a: {e}"))?;
    let opts = AuditOptions {
        label_column: a.label_column.clone(),
        id_column: a.id_column.clone(),
        scale: a.scale,
        shift: a.shift,
        attacks: a.attacks.iter().map(|s| s.trim().to_string()).collect(),
        references: a.refs,
        mode: match a.mode {
            ModeArg::Offline => ReferenceMode::Offline,
            ModeArg::Online => ReferenceMode::Online,
        },
        seed: a.seed,
        training: TrainSettings {
            optimizer: match a.optimizer {
                OptimizerArg::Adam => Optimizer::Adam,
                OptimizerArg::Sgd => Optimizer::Sgd,
            },
            learning_rate: a.lr,
            epochs: a.epochs,
            batch_size: a.batch,
            weight_decay: a.weight_decay,
            augment: match a.augment {
                AugmentArg::None => Augment::None,
                AugmentArg::Flip => Augment::Flip,
                AugmentArg::FlipCrop => Augment::FlipCrop,
            },
        },
        rmia_a,
        rmia_gamma: a.rmia_gamma,
        holdout: a.holdout,
        backend: match a.backend {
            Backend::Auto => BackendChoice::Auto,
            Backend::Gpu => BackendChoice::Gpu,
            Backend::Cpu => BackendChoice::Cpu,
        },
        outputs: match a.outputs {
            Outputs::Auto => OutputKind::Auto,
            Outputs::Logits => OutputKind::Logits,
            Outputs::Probabilities => OutputKind::Probabilities,
        },
        image: ImageOptions {
            resize: size_arg(&a.resize, "--resize")?,
            center_crop: size_arg(&a.center_crop, "--center-crop")?,
            range: match a.pixel_range {
                RangeArg::Unit => PixelRange::Unit,
                RangeArg::Byte => PixelRange::Byte,
            },
            normalize: match a.normalize {
                NormalizeArg::None => Normalize::None,
                NormalizeArg::Imagenet => Normalize::Imagenet,
            },
            mean: list_arg(&a.mean, "--mean")?,
            std: list_arg(&a.std, "--std")?,
            layout: match a.layout {
                LayoutArg::Auto => Layout::Auto,
                LayoutArg::Nchw => Layout::Nchw,
                LayoutArg::Nhwc => Layout::Nhwc,
            },
            classes: a.classes.as_ref().map(|c| c.split(',').map(|s| s.trim().to_string()).collect()),
        },
        statistics: StatisticsSettings { bootstrap: a.bootstrap, confidence: a.confidence, delta: a.delta, randomised_membership: a.randomised_membership },
        fail_if: a.fail_if.clone(),
        exposed: a.exposed,
        slices: !a.no_slices,
        slice_column: a.slice_column.clone(),
        drop_duplicates: a.drop_duplicates,
        output: a.output.clone(),
    };
    // Names first: a typo should not wait for the files to be read.
    privaudit::attacks::AttackKind::parse_list(&opts.attacks, opts.mode == ReferenceMode::Online).map_err(|e| format!("--attacks: {e}"))?;
    Ok(opts)
}

fn audit(a: AuditArgs) -> Result<Outcome, String> {
    let opts = options(&a)?;
    let mut input = match (&a.model, &a.member_outputs, &a.nonmember_outputs) {
        (Some(model), None, None) => {
            let (Some(m), Some(n)) = (&a.members, &a.nonmembers) else {
                return Err("--model needs --members and --nonmembers".into());
            };
            let model_file = read(model)?;
            let model_data = match &a.model_data {
                Some(p) => Some(read(p)?),
                None => beside(model, &model_file),
            };
            AuditInput::model(model_file, model_data, source(m, a.members_labels.as_ref())?, source(n, a.nonmembers_labels.as_ref())?)
        }
        (None, Some(m), Some(n)) => AuditInput::outputs(source(m, a.members_labels.as_ref())?, source(n, a.nonmembers_labels.as_ref())?),
        _ => return Err("give either --model with --members and --nonmembers, or --member-outputs with --nonmember-outputs".into()),
    };
    input.population = a.population.as_ref().map(|p| source(p, a.population_labels.as_ref())).transpose()?;
    input.slice_file = a.slice_file.as_ref().map(|p| read(p)).transpose()?;
    input.references = user_references(&a)?;
    let cache = if a.no_cache {
        None
    } else {
        privaudit::reference_cache_key(&input, &opts).and_then(|k| cache_dir(&a).map(|d| d.join(format!("references-{k}.json"))))
    };
    if let Some(p) = &cache {
        input.cached_references = std::fs::read(p).ok();
    }
    let bar = if a.quiet { ProgressBar::hidden() } else { ProgressBar::new(1000) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let out = pollster::block_on(privaudit::run_audit(input, &opts, &mut |p| {
        bar.set_position((p.fraction * 1000.0) as u64);
        bar.set_message(format!("{}: {}", p.stage, p.message));
    }))
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if let (Some(p), Some((_, bytes))) = (&cache, &out.reference_cache) {
        // A cache that cannot be written costs a retraining next time, nothing more.
        let _ = p.parent().map(std::fs::create_dir_all);
        if let Err(e) = std::fs::write(p, bytes) {
            eprintln!("privaudit: note: could not keep the trained references in {}: {e}", p.display());
        }
    }
    write(&a.out, &report::to_json(&out.report))?;
    if let Some(p) = &a.scores {
        write(p, &report::scores_csv(&out.scores))?;
    }
    if let Some(p) = &a.html {
        write(p, &report::html(&out.report))?;
    }
    print!("{}", spell(&report::summary_text(&out.report)));
    Ok(match &out.report.verdict.gate {
        Some(g) if !g.passed => Outcome::Crossed(format!(
            "the gate was crossed: {}",
            g.conditions
                .iter()
                .filter(|c| c.crossed)
                .map(|c| format!("{} ({}{})", c.condition, c.value, c.attack.as_ref().map(|a| format!(", {a}")).unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        _ => Outcome::Pass,
    })
}

fn compare(c: CompareArgs) -> Result<Outcome, String> {
    let a = &c.audit;
    if a.model.is_some() || a.member_outputs.is_some() {
        return Err("compare takes its models as --models a.onnx,b.onnx (not --model or --member-outputs)".into());
    }
    if a.scores.is_some() {
        return Err("compare writes no scores CSV (--scores): every model's per-record scores come with its own audit".into());
    }
    if !c.names.is_empty() && c.names.len() != c.models.len() {
        return Err(format!("--names gives {} names for {} models", c.names.len(), c.models.len()));
    }
    let opts = options(a)?;
    let (Some(m), Some(n)) = (&a.members, &a.nonmembers) else {
        return Err("compare needs --members and --nonmembers".into());
    };
    let mut models = Vec::new();
    for (i, p) in c.models.iter().enumerate() {
        let file = read(p)?;
        let data = beside(p, &file);
        let name = c.names.get(i).cloned().unwrap_or_else(|| p.file_stem().map_or_else(|| format!("model {}", i + 1), |s| s.to_string_lossy().into_owned()));
        models.push(privaudit::CompareModel { name, model: file, model_data: data });
    }
    let mut input = privaudit::CompareInput {
        models,
        members: source(m, a.members_labels.as_ref())?,
        nonmembers: source(n, a.nonmembers_labels.as_ref())?,
        population: a.population.as_ref().map(|p| source(p, a.population_labels.as_ref())).transpose()?,
        references: user_references(a)?,
        cached_references: Vec::new(),
        slice_file: a.slice_file.as_ref().map(|p| read(p)).transpose()?,
    };
    // The kept references of every model's architecture.
    let dir = if a.no_cache { None } else { cache_dir(a) };
    for cm in &input.models {
        let one = AuditInput {
            population: input.population.clone(),
            references: input.references.clone(),
            ..AuditInput::model(cm.model.clone(), cm.model_data.clone(), input.members.clone(), input.nonmembers.clone())
        };
        if let (Some(k), Some(d)) = (privaudit::reference_cache_key(&one, &opts), &dir)
            && let Ok(b) = std::fs::read(d.join(format!("references-{k}.json")))
        {
            input.cached_references.push(b);
        }
    }
    let bar = if a.quiet { ProgressBar::hidden() } else { ProgressBar::new(1000) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let out = pollster::block_on(privaudit::run_compare(input, &opts, &mut |p| {
        bar.set_position((p.fraction * 1000.0) as u64);
        bar.set_message(format!("{}: {}", p.stage, p.message));
    }))
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if let Some(d) = &dir {
        for o in &out.audits {
            if let Some((k, bytes)) = &o.reference_cache {
                let p = d.join(format!("references-{k}.json"));
                let _ = std::fs::create_dir_all(d);
                if let Err(e) = std::fs::write(&p, bytes) {
                    eprintln!("privaudit: note: could not keep the trained references in {}: {e}", p.display());
                }
            }
        }
    }
    write(&a.out, &serde_json::to_string_pretty(&out.comparison).map_err(|e| e.to_string())?)?;
    if let Some(p) = &a.html {
        write(p, &report::comparison_html(&out.comparison))?;
    }
    print!("{}", spell(&report::comparison_text(&out.comparison)));
    let crossed: Vec<String> = out
        .comparison
        .reports
        .iter()
        .zip(&out.comparison.rows)
        .filter_map(|(r, row)| {
            r.verdict
                .gate
                .as_ref()
                .filter(|g| !g.passed)
                .map(|g| format!("{}: {}", row.name, g.conditions.iter().filter(|c| c.crossed).map(|c| c.condition.clone()).collect::<Vec<_>>().join(", ")))
        })
        .collect();
    Ok(if crossed.is_empty() { Outcome::Pass } else { Outcome::Crossed(format!("the gate was crossed by {}", crossed.join("; "))) })
}

/// The user's own references: models (each with the external weights beside it), outputs, and
/// the membership matrix.
fn user_references(a: &AuditArgs) -> Result<privaudit::ReferenceInput, String> {
    let mut r = privaudit::ReferenceInput::default();
    for p in &a.reference_models {
        let f = read(p)?;
        let d = beside(p, &f);
        r.models.push((f, d));
    }
    for p in &a.reference_outputs {
        r.outputs.push(source(p, None)?);
    }
    r.membership = a.reference_membership.as_ref().map(|p| read(p)).transpose()?;
    Ok(r)
}

fn cache_dir(a: &AuditArgs) -> Option<PathBuf> {
    if let Some(d) = &a.cache_dir {
        return Some(d.clone());
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("privaudit"))
}

/// The external-data file named by the model, when it sits beside the model.
fn beside(model: &Path, file: &InputFile) -> Option<InputFile> {
    let loc = privaudit::model::external_data_location(file)?;
    let p = model.parent().unwrap_or(Path::new(".")).join(loc);
    read(&p).ok()
}

fn write(p: &Path, s: &str) -> Result<(), String> {
    std::fs::write(p, s).map_err(|e| format!("{}: {e}", p.display()))
}
