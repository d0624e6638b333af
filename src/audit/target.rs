//! Stage 2, the target: the data files read into tables, and the audited model's outputs on
//! every row (by running the ONNX model, or read from the outputs files).
//!
//! Rows are handled in one order throughout: members, then non-members, then the population
//! file (the order of a user's membership matrix).

use super::plan::Plan;
use super::{AuditInput, Say, Target};
use crate::backend::{self, Backend};
use crate::data::{self, Table};
use crate::error::{AuditError, Result};
use crate::model::pipeline::{Estimator, Pipeline, ReadKind};
use crate::model::{Audited, OnnxModel};
use crate::report::ModelInfo;
use crate::signals::{Logits, OutputKind};

/// Every row's data: the files' tables (members, non-members, then the population when one is
/// used) and their labels in that order.
pub(crate) struct Records {
    pub tables: Vec<Table>,
    pub labels: Vec<usize>,
    /// How image folders were read, when the records are images.
    pub images: Option<crate::report::ImageInfo>,
    /// The model's image input, when the records are images.
    pub geometry: Option<data::image::Geometry>,
    /// The slice column's or slice file's name, when the records carry slice values (`groups`).
    pub slice_name: Option<String>,
}

impl Records {
    pub(crate) fn count(&self) -> usize {
        self.labels.len()
    }

    pub(crate) fn members(&self) -> usize {
        self.tables[0].rows
    }

    pub(crate) fn nonmembers(&self) -> usize {
        self.tables[1].rows
    }

    /// Whether a population file's rows follow the non-members.
    pub(crate) fn has_population_file(&self) -> bool {
        self.tables.len() > 2
    }

    pub(crate) fn all_features(&self) -> Vec<f64> {
        self.tables.iter().flat_map(|t| t.values.iter().copied()).collect()
    }

    /// Remove the non-members at `rows` (0-based within the non-members, ascending).
    pub(crate) fn drop_nonmembers(&mut self, rows: &[usize]) {
        let t = &mut self.tables[1];
        let keep: Vec<usize> = (0..t.rows).filter(|r| rows.binary_search(r).is_err()).collect();
        t.values = keep.iter().flat_map(|&r| t.values[r * t.cols..(r + 1) * t.cols].iter().copied()).collect();
        t.labels = keep.iter().map(|&r| t.labels[r]).collect();
        if !t.ids.is_empty() {
            t.ids = keep.iter().map(|&r| t.ids[r].clone()).collect();
        }
        if !t.groups.is_empty() {
            t.groups = keep.iter().map(|&r| t.groups[r].clone()).collect();
        }
        t.rows = keep.len();
        self.labels = self.tables.iter().flat_map(|t| t.labels.iter().copied()).collect();
    }

    /// (table, row in it) of global row `i < count()`.
    pub(crate) fn locate(&self, mut i: usize) -> (usize, usize) {
        for (k, t) in self.tables.iter().enumerate() {
            if i < t.rows {
                return (k, i);
            }
            i -= t.rows;
        }
        (self.tables.len() - 1, i)
    }
}

/// Parse the audited model (model mode), before the data: image folders are read for its input.
///
/// # Errors
/// A malformed or unsupported model.
pub(crate) fn parse_model(input: &AuditInput, plan: &Plan, say: &mut Say<'_>) -> Result<Option<Audited>> {
    match &input.target {
        Target::Outputs => Ok(None),
        Target::Model { model, model_data } => {
            say("model", 0.01, format!("parsing {}", model.name));
            crate::model::parse_audited(model, model_data.as_ref(), plan.opts.output.as_deref()).map(Some)
        }
    }
}

/// Read the members, the non-members and (when an attack uses it) the population: tables, or
/// image folders preprocessed for `model`'s input.
///
/// # Errors
/// Any malformed data file; image folders in outputs-only mode or mixed with tables.
pub(crate) fn read_records(input: &AuditInput, plan: &Plan, audited: Option<&Audited>) -> Result<Records> {
    let model = audited.and_then(|a| a.onnx.as_ref());
    let pipeline = audited.and_then(|a| a.pipeline.as_ref());
    let mut sources = vec![("members", &input.members), ("nonmembers", &input.nonmembers)];
    if let (Some(p), true) = (&input.population, plan.need_population) {
        sources.push(("population", p));
    }
    let mut images = None;
    let mut geometry = None;
    let tables = if let Some(p) = pipeline {
        // A pipeline's records: its preprocessing run on them (columns matched to its inputs).
        // Its graph scales its own inputs: scale/shift would act on its preprocessed features
        // (a transform the file does not do), so they are refused rather than applied.
        for (name, v, identity) in [("scale", plan.opts.scale, 1.0), ("shift", plan.opts.shift, 0.0)] {
            if v != identity {
                return Err(AuditError::option(
                    name,
                    format!(
                        "{} is a pipeline that preprocesses its own input columns ({}); privaudit feeds it the files' values as they are, so {name} must be {identity} (got {v})",
                        p.file(),
                        p.preprocessing.join(" → ")
                    ),
                ));
            }
        }
        sources.iter().map(|(_, s)| p.features(s, &plan.table)).collect::<Result<Vec<_>>>()?
    } else if sources.iter().any(|(_, s)| s.is_images()) {
        let Some(model) = model else {
            return Err(AuditError::option("members", "image folders are a model's inputs; in outputs-only mode give the outputs as CSV or NPY"));
        };
        let opts = &plan.opts.image;
        let g = data::image::Geometry::of(model.file(), &model.input_shape, opts.layout)?;
        opts.check(&g)?;
        let mut tables = Vec::new();
        let mut skipped = 0;
        for (key, s) in &sources {
            if !s.is_images() {
                return Err(AuditError::option(key, format!("{} is a table while other sets are image folders; give every set the same way", s.file.name)));
            }
            let (t, k) = data::read_images(s, opts, &g)?;
            skipped += k;
            tables.push(t);
        }
        // One class list for every set: the given one, or the sorted union of their folders
        // (a set missing a class must not shift the others' labels).
        let classes: Vec<String> = match &opts.classes {
            Some(c) => c.clone(),
            None => {
                let mut all: Vec<String> = tables.iter().flat_map(|t| t.classes.iter().cloned()).collect();
                all.sort_unstable();
                all.dedup();
                all
            }
        };
        let index: std::collections::HashMap<&str, usize> = classes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
        for t in &mut tables {
            let map: Vec<usize> = t.classes.iter().map(|c| index.get(c.as_str()).copied().unwrap_or(0)).collect();
            for l in &mut t.labels {
                *l = map.get(*l).copied().unwrap_or(0);
            }
            t.classes = classes.clone();
        }
        images = Some(crate::report::ImageInfo { class_names: classes, preprocessing: opts.steps(&g), skipped_files: skipped });
        geometry = Some(g);
        tables
    } else {
        sources.iter().map(|(_, s)| data::read_table(s, &plan.table)).collect::<Result<Vec<_>>>()?
    };
    let labels = tables.iter().flat_map(|t| t.labels.iter().copied()).collect();
    let mut tables = tables;
    let mut slice_name = plan.opts.slice_column.clone();
    if let Some(f) = &input.slice_file {
        let ids = |t: &data::Table| t.ids.clone();
        let (m_ids, n_ids) = (ids(&tables[0]), ids(&tables[1]));
        let (name, [m, n]) = data::read_slice_file(&f.name, &f.bytes, [("members", tables[0].rows, &m_ids), ("nonmembers", tables[1].rows, &n_ids)])?;
        tables[0].groups = m;
        tables[1].groups = n;
        slice_name = Some(name);
    }
    if let Some(col) = &slice_name {
        if let Some(t) = tables.iter().take(2).find(|t| t.groups.len() != t.rows) {
            return Err(AuditError::file(
                &t.file,
                format!("no slice column '{}': the members and the non-members must be CSV files with that column", crate::limits::quote(col)),
            ));
        }
        let mut values: Vec<&str> = tables.iter().take(2).flat_map(|t| t.groups.iter().map(String::as_str)).collect();
        values.sort_unstable();
        values.dedup();
        if values.len() > crate::limits::MAX_SLICE_GROUPS {
            return Err(AuditError::option(
                "sliceColumn",
                format!(
                    "'{}' has {} distinct values; at most {} slices (a column with a value per record is an id, not a group)",
                    crate::limits::quote(col),
                    values.len(),
                    crate::limits::MAX_SLICE_GROUPS
                ),
            ));
        }
    }
    Ok(Records { tables, labels, images, geometry, slice_name })
}

/// The audited model's outputs on every row, and what we know of it.
pub(crate) struct TargetOutputs {
    pub logits: Logits,
    pub info: ModelInfo,
    /// Features per record (model mode).
    pub features: Option<usize>,
    /// The parsed model and the device it ran on (model mode; a pipeline's network part).
    pub model: Option<(OnnxModel, Backend)>,
    /// The tabular pipeline, when the model is one.
    pub pipeline: Option<Pipeline>,
}

/// Run the model on every row of `values`, reporting progress from `from` to `to`.
pub(crate) async fn model_logits(
    onnx: &OnnxModel,
    be: &Backend,
    values: &[f64],
    rows: usize,
    say: &mut Say<'_>,
    (from, to): (f64, f64),
    what: &str,
) -> Result<Logits> {
    let prepared = onnx.prepare(be)?;
    let (z, classes) =
        prepared.logits(values, rows, |d, n| say("inference", from + (to - from) * d as f64 / n as f64, format!("{what}: {d} of {n} records"))).await?;
    Ok(Logits::from_outputs(onnx.file(), z, rows, classes, OutputKind::Logits)?.0)
}

/// The target's outputs: read from the tables in outputs-only mode, else computed by the model.
///
/// # Errors
/// Tables that disagree with each other or with the model, labels outside its classes, model
/// and device failures.
pub(crate) async fn outputs(input: &AuditInput, plan: &Plan, records: &mut Records, audited: Option<Audited>, say: &mut Say<'_>) -> Result<TargetOutputs> {
    let tables = &mut records.tables;
    match &input.target {
        Target::Outputs => {
            let cols = tables[0].cols;
            let mut kind = None;
            let mut values = Vec::new();
            for t in tables.iter() {
                if t.cols != cols {
                    return Err(AuditError::ShapeMismatch {
                        file: t.file.clone(),
                        what: "number of output columns".into(),
                        expected: format!("{cols} (as in {})", tables[0].file),
                        actual: t.cols.to_string(),
                    });
                }
                // One column is a binary model's positive class (see `Logits::from_outputs`).
                t.check_labels(cols.max(2))?;
                let (l, k) = Logits::from_outputs(&t.file, t.values.clone(), t.rows, t.cols, plan.opts.outputs)?;
                if let Some(k0) = kind.filter(|&k0| k0 != k) {
                    return Err(AuditError::file(
                        &t.file,
                        format!("these outputs look like {k:?} but {}'s look like {k0:?}; set the option ‘outputs’", tables[0].file),
                    ));
                }
                kind = Some(k);
                values.extend(l.values);
            }
            let kind = if kind == Some(OutputKind::Probabilities) { "probabilities" } else { "logits" };
            let logits = Logits { rows: records.labels.len(), values, classes: cols.max(2) };
            Ok(TargetOutputs { logits, info: model_info("outputs", None, None, kind), features: None, model: None, pipeline: None })
        }
        Target::Model { model, .. } => {
            let Audited { onnx, pipeline } = audited.ok_or_else(|| AuditError::model(&model.name, "internal: the model was not parsed"))?;
            let onnx = match (onnx, pipeline) {
                (Some(o), p) => (o, p),
                (None, Some(p)) => return host_outputs(plan, records, p, say),
                (None, None) => return Err(AuditError::model(&model.name, "internal: the model was not parsed")),
            };
            let (onnx, pipeline) = onnx;
            let f = onnx.features();
            for t in tables.iter_mut() {
                if t.cols != f {
                    return Err(AuditError::ShapeMismatch {
                        file: t.file.clone(),
                        what: "number of feature columns".into(),
                        expected: format!("{f} (the input of {} is {:?} per record)", onnx.file(), onnx.input_shape),
                        actual: t.cols.to_string(),
                    });
                }
                t.scale_shift(plan.opts.scale, plan.opts.shift)?;
                t.check_f32()?;
                if let Some(c) = onnx.classes {
                    t.check_labels(c)?;
                }
            }
            if plan.trains() {
                onnx.check_trainable()?;
            }
            say("device", 0.05, "initialising the compute device".into());
            let be = backend::select(plan.opts.backend).await?;
            say("inference", 0.06, format!("target model: {} records on {}", records.labels.len(), if be.name == "cpu" { "the CPU" } else { "the GPU" }));
            let values: Vec<f64> = tables.iter().flat_map(|t| t.values.iter().copied()).collect();
            let end = if plan.references.is_some() { 0.15 } else { 0.85 };
            let logits = model_logits(&onnx, &be, &values, records.labels.len(), say, (0.06, end), "target model").await?;
            for t in tables.iter() {
                t.check_labels(logits.classes)?;
            }
            let mut info = model_info("onnx", onnx.opset, Some(onnx.parameters), "logits");
            info.reading = Some(match &pipeline {
                Some(p) => p.reading.clone(),
                None => graph_reading(&onnx),
            });
            if let Some(p) = &pipeline {
                info.opset = p.opset();
                info.parameters = Some(p.parameters());
                info.estimator = Some(format!(
                    "network ({}; references are trained as the same network on the preprocessed records, the preprocessing kept as the file has it)",
                    p.estimator_op
                ));
                info.preprocessing = Some(p.preprocessing.clone());
            }
            Ok(TargetOutputs { logits, info, features: Some(f), model: Some((onnx, be)), pipeline })
        }
    }
}

fn model_info(format: &str, opset: Option<i64>, parameters: Option<u64>, outputs: &str) -> ModelInfo {
    ModelInfo {
        format: format.into(),
        opset,
        parameters,
        accuracy_members: 0.0,
        accuracy_nonmembers: 0.0,
        generalization_gap: 0.0,
        outputs: outputs.into(),
        reading: None,
        estimator: None,
        preprocessing: None,
    }
}

/// What was read of a plain graph, for the report.
fn graph_reading(onnx: &OnnxModel) -> String {
    let how = if onnx.skipped_final_softmax {
        "the input of the final Softmax (logits)"
    } else if onnx.skipped_final_sigmoid {
        "the input of the final Sigmoid: one output unit, read as the positive class's logit z (classes' logits 0 and z)"
    } else if onnx.single_unit {
        "one output unit, read as the positive class's logit z (classes' logits 0 and z)"
    } else {
        "the output as logits"
    };
    format!("output '{}': {how}", onnx.output)
}

/// A pipeline whose estimator runs on the CPU (a tree ensemble): its outputs on every row of the
/// preprocessed records.
fn host_outputs(plan: &Plan, records: &mut Records, p: Pipeline, say: &mut Say<'_>) -> Result<TargetOutputs> {
    if plan.trains() {
        let why = match &p.estimator {
            Estimator::Trees => "a tree ensemble cannot be trained by gradient".to_string(),
            Estimator::Host(why) => why.clone(),
            Estimator::Network => String::new(),
        };
        return Err(AuditError::option(
            "attacks",
            format!(
                "{}: {why}, so privaudit cannot train its reference models; run the attacks that need none (loss, confidence, entropy, modified_entropy, attack_p), or give references' outputs (the option ‘referenceOutputs’)",
                p.file()
            ),
        ));
    }
    say("inference", 0.06, format!("running {} ({}) on the CPU", p.file(), p.estimator_op));
    let values: Vec<f64> = records.tables.iter().flat_map(|t| t.values.iter().copied()).collect();
    let rows = records.labels.len();
    let (z, k) = p.host_outputs(&values, rows)?;
    let (kind, label) = match p.kind {
        ReadKind::Probabilities => (OutputKind::Probabilities, "probabilities"),
        ReadKind::Logits | ReadKind::SingleLogit => (OutputKind::Logits, "logits"),
    };
    let logits = Logits::from_outputs(p.file(), z, rows, k, kind)?.0;
    for t in records.tables.iter() {
        t.check_labels(logits.classes)?;
    }
    let mut info = model_info("onnx", p.opset(), Some(p.parameters()), label);
    info.reading = Some(p.reading.clone());
    info.estimator = Some(match &p.estimator {
        Estimator::Trees => format!(
            "tree ensemble ({}, run on the CPU): it cannot be trained by gradient, so it gets the attacks that need no reference model, or references' outputs you give",
            p.estimator_op
        ),
        Estimator::Host(why) => format!("{} run on the CPU: {why}, so it gets the attacks that need no reference model", p.estimator_op),
        Estimator::Network => p.estimator_op.clone(),
    });
    info.preprocessing = Some(p.preprocessing.clone());
    let f = p.width;
    Ok(TargetOutputs { logits, info, features: Some(f), model: None, pipeline: Some(p) })
}
