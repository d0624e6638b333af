//! The native command line: `privaudit audit …`. A thin shell over the library.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use privaudit::attacks::AttackKind;
use privaudit::data::{DataSource, InputFile};
use privaudit::signals::OutputKind;
use privaudit::{report, AuditInput, AuditOptions, BackendChoice};
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
    Audit(AuditArgs),
}

#[derive(clap::Args)]
struct AuditArgs {
    /// ONNX classifier.
    #[arg(long, required_unless_present = "member_outputs")]
    model: Option<PathBuf>,
    /// External weights of the model (default: the file its graph names, if it sits beside it).
    #[arg(long)]
    model_data: Option<PathBuf>,
    /// Records the model was trained on (CSV, NPZ with x/y, or NPY features + --members-labels).
    #[arg(long, requires = "model")]
    members: Option<PathBuf>,
    /// 1-D NPY of labels for NPY members.
    #[arg(long)]
    members_labels: Option<PathBuf>,
    /// Records from the same distribution the model never saw.
    #[arg(long, requires = "model")]
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
    #[arg(long, default_value = "label")]
    label_column: String,
    /// CSV column to ignore (record ids).
    #[arg(long)]
    id_column: Option<String>,
    /// Feed features as x * scale + shift.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// See --scale.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    shift: f64,
    /// Comma-separated attacks: loss, confidence, entropy, modified_entropy.
    #[arg(long, value_delimiter = ',', default_value = "loss,confidence,entropy,modified_entropy")]
    attacks: Vec<String>,
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
    Ok(DataSource { file: read(file)?, labels: labels.map(|l| read(l)).transpose()? })
}

fn main() -> ExitCode {
    let Command::Audit(a) = Cli::parse().command;
    match audit(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("privaudit: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn audit(a: AuditArgs) -> Result<(), String> {
    let attacks = a
        .attacks
        .iter()
        .map(|s| AttackKind::from_name(s.trim()).ok_or_else(|| format!("--attacks: unknown attack '{s}' (known: loss, confidence, entropy, modified_entropy)")))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = AuditOptions {
        label_column: a.label_column.clone(),
        id_column: a.id_column.clone(),
        scale: a.scale,
        shift: a.shift,
        attacks,
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
    };
    let input = match (&a.model, &a.member_outputs, &a.nonmember_outputs) {
        (Some(model), None, None) => {
            let (Some(m), Some(n)) = (&a.members, &a.nonmembers) else {
                return Err("--model needs --members and --nonmembers".into());
            };
            let model_file = read(model)?;
            let model_data = match &a.model_data {
                Some(p) => Some(read(p)?),
                None => beside(model, &model_file),
            };
            AuditInput::Model { model: model_file, model_data, members: source(m, a.members_labels.as_ref())?, nonmembers: source(n, a.nonmembers_labels.as_ref())? }
        }
        (None, Some(m), Some(n)) => AuditInput::Outputs { members: source(m, a.members_labels.as_ref())?, nonmembers: source(n, a.nonmembers_labels.as_ref())? },
        _ => return Err("give either --model with --members and --nonmembers, or --member-outputs with --nonmember-outputs".into()),
    };
    let bar = if a.quiet { ProgressBar::hidden() } else { ProgressBar::new(1000) };
    bar.set_style(ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()));
    let out = pollster::block_on(privaudit::run_audit(input, &opts, &mut |p| {
        bar.set_position((p.fraction * 1000.0) as u64);
        bar.set_message(format!("{}: {}", p.stage, p.message));
    }))
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    write(&a.out, &report::to_json(&out.report))?;
    if let Some(p) = &a.scores {
        write(p, &report::scores_csv(&out.scores))?;
    }
    if let Some(p) = &a.html {
        write(p, &report::html(&out.report))?;
    }
    print!("{}", report::summary_text(&out.report));
    Ok(())
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
