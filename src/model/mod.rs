//! Model: an ONNX classifier parsed at run time by onnx-ir and interpreted on burn tensors.
//!
//! The graph runs on whatever [`Device`] the caller picked (WebGPU, wgpu or the CPU) in f32.
//! Weights are uploaded once per device; records are fed in batches sized so that the widest
//! intermediate stays within a quarter of the device's storage-binding limit (queried from the
//! device: [`Backend::max_binding_bytes`]), and results are read back with `into_data_async`
//! only, which is the one read that works on wasm. A model whose one record is already too wide
//! for the device is refused by name (on wasm an over-limit dispatch would be skipped, not
//! failed: cubecl#1641).

mod interp;
pub mod pipeline;
pub(crate) mod proto;
mod spatial;
mod train;

use crate::backend::Backend;
use crate::data::InputFile;
use crate::error::{AuditError, Result};
use burn::tensor::{Device, TensorData};
use onnx_ir::{ArgType, Node, OnnxGraph};

pub use interp::{Init, OPS, OpSpec, supported_ops};
pub use train::{Augment, Optimizer, ReferenceParameter, Rng, TrainSettings};

/// A feature value as the model reads it: the data files' f64, or f32 already (the model runs
/// in f32, so records kept in f32 are exactly what it sees, in half the memory).
pub trait Feature: Copy {
    /// The value the model reads.
    fn to_f32(self) -> f32;
    /// The values the model reads, for many at once.
    fn narrow(values: &[Self]) -> Vec<f32>;
}

impl Feature for f64 {
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn narrow(values: &[Self]) -> Vec<f32> {
        // privaudit-kernels' loop: compiled for speed in the browser build, this crate is not.
        privaudit_kernels::to_f32(values)
    }
}

impl Feature for f32 {
    fn to_f32(self) -> f32 {
        self
    }
    fn narrow(values: &[Self]) -> Vec<f32> {
        values.to_vec()
    }
}

/// A parsed ONNX classifier, ready to be prepared on a device.
pub struct OnnxModel {
    file: String,
    graph: OnnxGraph,
    /// The default-domain opset the file declares.
    pub opset: Option<i64>,
    /// Number of weights in the initializers.
    pub parameters: u64,
    input_name: String,
    /// Per-record input shape (without the batch axis).
    pub input_shape: Vec<usize>,
    /// Number of output classes, when the file declares it.
    pub classes: Option<usize>,
    /// Name of the value we read as logits.
    output_name: String,
    /// The graph ends in a Softmax that we skip: its input already is the logits.
    pub skipped_final_softmax: bool,
    /// The graph ends in a Sigmoid over one output unit that we skip: its input is the positive
    /// class's logit.
    pub skipped_final_sigmoid: bool,
    /// The graph output read (before any skipped final Softmax or Sigmoid).
    pub output: String,
    /// The output has one unit: a binary model's positive-class logit (or sigmoid).
    pub single_unit: bool,
    /// Each node's name as the file gives it, for messages.
    node_names: Vec<String>,
    /// Per node: the nodes after a Conv that it computes itself ([`interp::graph_conv_chains`]).
    conv_chains: Vec<interp::Chain>,
}

impl OnnxModel {
    /// Parse an ONNX file; `external_data` is the `.onnx.data` file when the weights live there.
    ///
    /// # Errors
    /// Malformed protobuf, a graph onnx-ir rejects, weights in an external file that was not
    /// given, more or fewer than one data input, an operator outside [`OPS`].
    pub fn parse(model: &InputFile, external_data: Option<&InputFile>) -> Result<Self> {
        Self::parse_output(model, external_data, None)
    }

    /// [`OnnxModel::parse`], reading the graph output named `output` (default: the only output,
    /// or the only float output of rank 2 among several).
    ///
    /// # Errors
    /// As [`OnnxModel::parse`]; an output name that is not one; several candidate outputs and
    /// no name.
    pub fn parse_output(model: &InputFile, external_data: Option<&InputFile>, output: Option<&str>) -> Result<Self> {
        let file = model.name.clone();
        crate::data::check_size(model)?;
        let facts = proto::facts(&file, &model.bytes)?;
        let inlined;
        let bytes: &[u8] = match (facts.external_locations.is_empty(), external_data) {
            (true, _) => &model.bytes,
            (false, Some(data)) => {
                if let [a, b, ..] = facts.external_locations.as_slice() {
                    return Err(AuditError::model(
                        &file,
                        format!(
                            "the weights are split over {} external files ({}); privaudit reads one: save the model with all external data in one file",
                            facts.external_locations.len(),
                            crate::limits::list(&[a, b])
                        ),
                    ));
                }
                let location = &facts.external_locations[0];
                let base = data.name.rsplit(['/', '\\']).next().unwrap_or(&data.name);
                if base != location.as_str() {
                    return Err(AuditError::model(
                        &file,
                        format!(
                            "the weights are stored in '{}', but the data file given is '{}'; pick the file the model names",
                            crate::limits::quote(location),
                            crate::limits::quote(base)
                        ),
                    ));
                }
                crate::data::check_size(data)?;
                inlined = proto::inline_external_data(&file, &model.bytes, &data.name, &data.bytes)?;
                &inlined
            }
            (false, None) => {
                return Err(AuditError::model(
                    &file,
                    format!("the weights are stored in an external file ({}); pick it together with the model", facts.external_locations.join(", ")),
                ));
            }
        };
        let graph = onnx_ir::OnnxGraphBuilder::new().parse_bytes(bytes).map_err(|e| AuditError::model(&file, format!("cannot read the ONNX graph: {e}")))?;
        Self::from_graph(file, graph, facts, output)
    }

    /// The model's bytes with external weights inlined (what onnx-ir and the pipeline reader
    /// parse).
    ///
    /// # Errors
    /// As [`OnnxModel::parse`] for external data.
    pub fn resolved_bytes(model: &InputFile, external_data: Option<&InputFile>) -> Result<Vec<u8>> {
        let facts = proto::facts(&model.name, &model.bytes)?;
        match (facts.external_locations.is_empty(), external_data) {
            (true, _) => Ok(model.bytes.clone()),
            (false, Some(data)) => proto::inline_external_data(&model.name, &model.bytes, &data.name, &data.bytes),
            (false, None) => Err(AuditError::model(
                &model.name,
                format!("the weights are stored in an external file ({}); pick it together with the model", facts.external_locations.join(", ")),
            )),
        }
    }

    fn from_graph(file: String, graph: OnnxGraph, facts: proto::ModelFacts, wanted: Option<&str>) -> Result<Self> {
        let data_inputs: Vec<_> = graph.inputs.iter().filter(|a| a.value().is_none()).collect();
        let [input] = data_inputs.as_slice() else {
            return Err(AuditError::model(
                &file,
                format!(
                    "expected exactly one data input (the features), found {}: {}",
                    data_inputs.len(),
                    data_inputs.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        };
        let ArgType::Tensor(tt) = &input.ty else {
            return Err(AuditError::model(&file, format!("input '{}' is not a tensor", input.name)));
        };
        let static_shape = tt.static_shape.clone().unwrap_or_default();
        if tt.rank < 2 || static_shape.len() != tt.rank {
            return Err(AuditError::model(
                &file,
                format!("input '{}' must have a static shape [batch, features…]; found rank {} and shape {:?}", input.name, tt.rank, static_shape),
            ));
        }
        let input_shape = static_shape[1..]
            .iter()
            .map(|d| {
                d.ok_or_else(|| {
                    AuditError::model(
                        &file,
                        format!("input '{}' has a symbolic feature dimension ({:?}); only the batch axis may be dynamic", input.name, static_shape),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if crate::limits::product(&input_shape).is_none_or(|n| n > crate::limits::MAX_COLUMNS) {
            return Err(AuditError::model(
                &file,
                format!("input '{}' has {:?} values per record; at most {} are supported", input.name, input_shape, crate::limits::MAX_COLUMNS),
            ));
        }
        if input_shape.len() > 3 {
            return Err(AuditError::model(&file, format!("input '{}' has rank {}; at most 4 is supported", input.name, tt.rank)));
        }
        // The outputs as the file names them (onnx-ir renames values, e.g. `logits` to
        // `linear1_out1`): what the report shows and the output option accepts (onnx-ir's name
        // too, as earlier versions showed it).
        let file_names: Vec<String> =
            if facts.outputs.len() == graph.outputs.len() { facts.outputs.clone() } else { graph.outputs.iter().map(|o| o.name.clone()).collect() };
        let file_name = |o: &onnx_ir::Argument| {
            graph.outputs.iter().position(|g| g.name == o.name).and_then(|i| file_names.get(i)).cloned().unwrap_or_else(|| o.name.clone())
        };
        let output = match (wanted, graph.outputs.as_slice()) {
            (Some(w), outs) => outs.iter().zip(&file_names).find(|(o, f)| f.as_str() == w || o.name == w).map(|(o, _)| o).ok_or_else(|| {
                AuditError::model(&file, format!("no output '{}'; the model's outputs are {}", crate::limits::quote(w), crate::limits::list(&file_names)))
            })?,
            (None, [one]) => one,
            (None, []) => return Err(AuditError::model(&file, "the graph has no output; expected one holding the class scores")),
            (None, outs) => {
                // Several outputs: the one float tensor of rank 2 (class scores), if only one is.
                let scores: Vec<_> = outs
                    .iter()
                    .filter(|o| matches!(&o.ty, ArgType::Tensor(t) if t.rank == 2 && matches!(t.dtype, onnx_ir::DType::F32 | onnx_ir::DType::F64 | onnx_ir::DType::F16)))
                    .collect();
                match scores.as_slice() {
                    [one] => *one,
                    _ => {
                        return Err(AuditError::model(
                            &file,
                            format!(
                                "the model has {} outputs ({}); name the one holding the class scores with the option ‘output’",
                                outs.len(),
                                crate::limits::list(&file_names)
                            ),
                        ));
                    }
                }
            }
        };
        let node_names = interp::file_node_names(&graph, &facts.nodes);
        for (node, name) in graph.nodes.iter().zip(&node_names) {
            interp::check_supported(&file, node, name)?;
        }
        let width = match &output.ty {
            ArgType::Tensor(t) => t.static_shape.as_ref().and_then(|s| s.last().copied().flatten()),
            _ => None,
        };
        // A final Softmax turns logits into probabilities in f32, which loses the tails; we
        // read its input instead, which is exactly the logits. A final Sigmoid over one unit
        // likewise: its input is the positive class's logit.
        let mut output_name = output.name.clone();
        let mut skipped_final_softmax = false;
        let mut skipped_final_sigmoid = false;
        match graph.nodes.iter().find(|n| n.outputs().iter().any(|o| o.name == output.name)) {
            Some(Node::Softmax(s)) => {
                if let Some(input) = s.inputs.first().filter(|i| s.config.axis + 1 == i.ty.rank() && !i.name.is_empty()) {
                    output_name = input.name.clone();
                    skipped_final_softmax = true;
                }
            }
            Some(Node::Sigmoid(s)) if width == Some(1) => {
                if let Some(input) = s.inputs.first().filter(|i| !i.name.is_empty()) {
                    output_name = input.name.clone();
                    skipped_final_sigmoid = true;
                }
            }
            _ => {}
        }
        // One output unit: a binary model (read as (0, z), see `PreparedModel::logits`).
        let classes = width.map(|w| if w == 1 { 2 } else { w });
        let conv_chains = interp::graph_conv_chains(&graph, &output_name);
        Ok(Self {
            file,
            opset: facts.opset,
            parameters: facts.parameters,
            input_name: input.name.clone(),
            input_shape,
            classes,
            output_name,
            skipped_final_softmax,
            skipped_final_sigmoid,
            output: file_name(output),
            single_unit: width == Some(1),
            node_names,
            conv_chains,
            graph,
        })
    }

    /// Number of input features per record.
    pub fn features(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The model file's name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Upload the weights to `backend`'s device.
    ///
    /// # Errors
    /// Weight tensors of unsupported type or rank; one record wider than the device can hold
    /// ([`OnnxModel::records_per_batch`]).
    pub fn prepare(&self, backend: &Backend) -> Result<PreparedModel<'_>> {
        let batch = self.records_per_batch(backend)?;
        let consts = interp::load_constants(&self.file, &self.graph, &backend.device)?;
        Ok(PreparedModel { model: self, consts, device: backend.device.clone(), batch })
    }

    /// The widest per-record intermediate, in values, and where it is ("node 'conv1'", "the
    /// input 'x'"): what sizes batches.
    pub fn widest_record(&self) -> (usize, String) {
        let (widest, node) = interp::widest_activation(&self.graph);
        if self.features() >= widest {
            (self.features().max(1), format!("the input '{}'", self.input_name))
        } else {
            (widest, node.and_then(|i| self.node_names.get(i)).map_or_else(|| "a node".to_string(), |n| format!("node '{n}'")))
        }
    }

    /// Records per batch on `backend`: at most 4096, and few enough that the widest per-record
    /// intermediate (a node's output, a convolution's unfolded input, the input itself) times
    /// the batch stays within a quarter of the device's storage-binding limit — the rest is
    /// headroom for the kernels' own temporaries and, in training, the gradients.
    ///
    /// On the CPU, whose limit is only a budget, such a model runs one record at a time.
    ///
    /// # Errors
    /// On a GPU, one record's widest intermediate is already over that quarter: the error names
    /// the node and the device's limit, and points to the CPU backend.
    pub fn records_per_batch(&self, backend: &Backend) -> Result<usize> {
        let (widest, what) = self.widest_record();
        let budget = backend.max_binding_bytes / 4 / 4; // a quarter of the limit, in f32 values
        let fits = (budget / widest as u64).min(4096) as usize;
        if fits == 0 && backend.name != "cpu" {
            return Err(AuditError::model(
                &self.file,
                format!(
                    "one record needs {widest} values ({:.1} MiB of f32) at {what}, more than a quarter of this GPU's storage-binding limit of {} MiB ({}); a record cannot be split across bindings, so audit it on the CPU (the option ‘backend’: cpu)",
                    widest as f64 * 4.0 / (1024.0 * 1024.0),
                    backend.max_binding_bytes / (1024 * 1024),
                    backend.name,
                ),
            ));
        }
        Ok(fits.max(1))
    }
}

/// A model with its weights on a device.
pub struct PreparedModel<'m> {
    model: &'m OnnxModel,
    consts: interp::Consts,
    device: Device,
    batch: usize,
}

impl PreparedModel<'_> {
    /// Records per batch ([`OnnxModel::records_per_batch`] on the device it was prepared on).
    pub fn batch_size(&self) -> usize {
        self.batch
    }

    /// Run the model on `rows` records of `values` (row-major, converted to f32) and return
    /// the logits as f64, `rows × classes`.
    ///
    /// # Errors
    /// An output that is not `[rows, classes]`, a device failure on read-back.
    pub async fn logits<T: Feature>(&self, values: &[T], rows: usize, mut on_batch: impl FnMut(usize, usize)) -> Result<(Vec<f64>, usize)> {
        let m = self.model;
        let f = m.features();
        if rows.checked_mul(f) != Some(values.len()) {
            return Err(AuditError::ShapeMismatch {
                file: m.file.clone(),
                what: "model input".into(),
                expected: format!("{rows} records × {f} values ({:?} per record)", m.input_shape),
                actual: format!("{} values", values.len()),
            });
        }
        let bs = self.batch_size();
        let mut out = Vec::new();
        let mut classes = 0;
        let mut done = 0;
        while done < rows {
            let n = bs.min(rows - done);
            let chunk = T::narrow(&values[done * f..(done + n) * f]);
            let mut shape = vec![n];
            shape.extend_from_slice(&m.input_shape);
            let x = interp::Value::from_f32(&m.file, chunk, &shape, &self.device)?;
            let y = interp::run(&m.file, &m.graph, &m.node_names, &m.conv_chains, &self.consts, &m.input_name, x, &m.output_name, None)?;
            let (t, dims) = y.into_matrix(&m.file)?;
            if dims[0] != n {
                return Err(AuditError::model(&m.file, format!("the output has {} rows for a batch of {n} records", dims[0])));
            }
            // One output unit: the positive class's logit z of a binary model, read as the
            // two logits (0, z) (softmax(0, z) = (1 − σ(z), σ(z))).
            let single = dims[1] == 1;
            classes = if single { 2 } else { dims[1] };
            // All records' outputs are kept (f64 on the CPU): bounded like any data file.
            if rows.checked_mul(classes).is_none_or(|n| n > crate::limits::MAX_VALUES) {
                return Err(AuditError::model(
                    &m.file,
                    format!("{rows} records × {classes} outputs are more than the {} values privaudit keeps; audit fewer records", crate::limits::MAX_VALUES),
                ));
            }
            let data: TensorData =
                t.into_data_async().await.map_err(|e| AuditError::Device { backend: format!("{:?}", self.device), message: format!("{e:?}") })?;
            if single {
                out.extend(data.iter::<f32>().flat_map(|z| [0.0, f64::from(z)]));
            } else {
                out.extend(data.iter::<f32>().map(f64::from));
            }
            done += n;
            on_batch(done, rows);
        }
        Ok((out, classes))
    }
}

/// The file name an ONNX model's external weights are stored in, if any (only a bare file name
/// is returned: a path that leaves the model's folder is ignored).
pub fn external_data_location(model: &InputFile) -> Option<String> {
    let facts = proto::facts(&model.name, &model.bytes).ok()?;
    let loc = facts.external_locations.into_iter().next()?;
    let ok = !loc.is_empty() && !loc.contains("..") && !loc.starts_with('/') && !loc.contains('\\') && !loc.contains('\0');
    ok.then_some(loc)
}

/// The audited model: a graph run by onnx-ir and burn, or a tabular pipeline (its
/// preprocessing on the CPU) whose estimator is such a graph (a network) or runs on the CPU (trees).
pub struct Audited {
    /// The graph burn runs and trains: the model itself, or a pipeline's network part.
    pub onnx: Option<OnnxModel>,
    /// The pipeline, when the file is one.
    pub pipeline: Option<pipeline::Pipeline>,
}

/// Parse an audited model, as a pipeline when it is one ([`pipeline::is_pipeline`]).
///
/// # Errors
/// As [`OnnxModel::parse_output`] and [`pipeline::Pipeline::parse`].
pub fn parse_audited(model: &InputFile, external_data: Option<&InputFile>, output: Option<&str>) -> Result<Audited> {
    crate::data::check_size(model)?;
    if !pipeline::is_pipeline(&model.bytes) {
        return Ok(Audited { onnx: Some(OnnxModel::parse_output(model, external_data, output)?), pipeline: None });
    }
    let bytes = OnnxModel::resolved_bytes(model, external_data)?;
    let p = pipeline::Pipeline::parse(&model.name, &bytes, output)?;
    let onnx = match pipeline::network_file(&p) {
        Some(f) => Some(
            OnnxModel::parse(&f, None)
                .map_err(|e| AuditError::model(&model.name, format!("the pipeline's network part (from its {}) cannot be read: {e}", p.estimator_op)))?,
        ),
        None => None,
    };
    Ok(Audited { onnx, pipeline: Some(p) })
}

impl Audited {
    /// What its reference models depend on ([`OnnxModel::architecture_digest`]), with a
    /// pipeline's preprocessing (its constants decide the records references train on).
    ///
    /// # Errors
    /// As [`OnnxModel::architecture_digest`].
    pub fn architecture_digest(&self) -> Result<String> {
        let net = match &self.onnx {
            Some(o) => o.architecture_digest()?,
            None => String::new(),
        };
        Ok(match &self.pipeline {
            Some(p) => format!("{net}+{}", p.preprocessing_digest),
            None => net,
        })
    }

    /// Whether the graph is QDQ-quantised ([`OnnxModel::quantised`]).
    pub fn quantised(&self) -> bool {
        self.onnx.as_ref().is_some_and(OnnxModel::quantised)
    }
}
