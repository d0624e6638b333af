//! The graph interpreter: ONNX nodes → burn tensor operations.
//!
//! Float values are kept as rank-4 tensors left-padded with 1s, plus their logical rank. ONNX
//! broadcasting is numpy's (right-aligned), so left-padding makes burn's same-rank broadcasting
//! give exactly ONNX's result, and one code path serves ranks 0–4.

use super::spatial;
use crate::error::{AuditError, Result};
use burn::tensor::{Device, Tensor, TensorData, activation};
use onnx_ir::batch_norm::BatchNormConfig;
use onnx_ir::reshape::ReshapeInput;
use onnx_ir::{Argument, DType, Node, OnnxGraph};
use std::collections::HashMap;

/// How reference training initialises a trainable input, as torch initialises that layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// U(−1/√fan_in, 1/√fan_in), fan_in from the layer's weight (torch's `nn.Linear` weight,
    /// kaiming_uniform(a = √5), and bias).
    Uniform,
    /// All ones (BatchNormalization's scale).
    Ones,
    /// All zeros (BatchNormalization's bias).
    Zeros,
}

/// One operator of the interpreter: its name as ONNX files write it, and which of its inputs
/// are trainable parameters when they are constants. Reference training re-initialises exactly
/// those; every other constant (an in-graph normalisation's mean and std, a reshape target)
/// stays as the file has it.
#[derive(Debug)]
pub struct OpSpec {
    /// The ONNX operator name.
    pub name: &'static str,
    /// (input index, initialisation) of each trainable input.
    pub params: &'static [(usize, Init)],
    /// A constant operand is trainable only as the bias of the matrix product that computes the
    /// other operand (the `MatMul` + `Add` that torch exports for `nn.Linear`).
    pub bias_after_product: bool,
}

const fn op(name: &'static str) -> OpSpec {
    OpSpec { name, params: &[], bias_after_product: false }
}

const LINEAR: &[(usize, Init)] = &[(1, Init::Uniform), (2, Init::Uniform)];
/// Conv's weight and bias: fan_in = C_in/groups · kernel size, from the weight's shape.
const CONV: &[(usize, Init)] = &[(1, Init::Uniform), (2, Init::Uniform)];

/// Every operator this interpreter runs (inference semantics), with its parameters.
pub const OPS: &[OpSpec] = &[
    OpSpec { name: "Gemm", params: LINEAR, bias_after_product: false },
    OpSpec { name: "MatMul", params: &[(0, Init::Uniform), (1, Init::Uniform)], bias_after_product: false },
    OpSpec { name: "Add", params: &[], bias_after_product: true },
    op("Sub"),
    op("Mul"),
    op("Div"),
    op("Relu"),
    op("LeakyRelu"),
    op("Sigmoid"),
    op("Tanh"),
    op("Softmax"),
    op("LogSoftmax"),
    op("Flatten"),
    op("Reshape"),
    op("Identity"),
    op("Dropout"),
    op("Constant"),
    op("Cast"),
    OpSpec { name: "BatchNormalization", params: &[(1, Init::Ones), (2, Init::Zeros)], bias_after_product: false },
    op("Transpose"),
    OpSpec { name: "Conv", params: CONV, bias_after_product: false },
    op("MaxPool"),
    op("AveragePool"),
    op("GlobalAveragePool"),
    op("GlobalMaxPool"),
    op("Pad"),
    op("Concat"),
    op("Squeeze"),
    op("Unsqueeze"),
    op("ReduceMean"),
    op("ReduceMax"),
    op("Clip"),
    op("HardSigmoid"),
    op("HardSwish"),
    op("Shape"),
    op("Gather"),
    op("Slice"),
    op("QuantizeLinear"),
    op("DequantizeLinear"),
];

/// The names of [`OPS`], for messages.
pub fn supported_ops() -> Vec<&'static str> {
    OPS.iter().map(|o| o.name).collect()
}

/// The table entry of a node, by the ONNX operator it came from (onnx-ir turns Gemm and
/// MatMul + Add into `Linear`, whose inputs are Gemm's).
pub(crate) fn spec(node: &Node) -> Option<&'static OpSpec> {
    let name = match node {
        Node::Linear(_) | Node::Gemm(_) => "Gemm",
        Node::MatMul(_) => "MatMul",
        Node::Add(_) => "Add",
        Node::Sub(_) => "Sub",
        Node::Mul(_) => "Mul",
        Node::Div(_) => "Div",
        Node::Relu(_) => "Relu",
        Node::LeakyRelu(_) => "LeakyRelu",
        Node::Sigmoid(_) => "Sigmoid",
        Node::Tanh(_) => "Tanh",
        Node::Softmax(_) => "Softmax",
        Node::LogSoftmax(_) => "LogSoftmax",
        Node::Flatten(_) => "Flatten",
        Node::Reshape(_) => "Reshape",
        Node::Identity(_) => "Identity",
        Node::Dropout(_) => "Dropout",
        Node::Constant(_) => "Constant",
        Node::Cast(_) => "Cast",
        Node::BatchNormalization(_) => "BatchNormalization",
        Node::Transpose(_) => "Transpose",
        Node::Conv1d(_) | Node::Conv2d(_) => "Conv",
        Node::MaxPool1d(_) | Node::MaxPool2d(_) => "MaxPool",
        Node::AveragePool1d(_) | Node::AveragePool2d(_) => "AveragePool",
        Node::GlobalAveragePool(_) => "GlobalAveragePool",
        Node::GlobalMaxPool(_) => "GlobalMaxPool",
        Node::Pad(_) => "Pad",
        Node::Concat(_) => "Concat",
        Node::Squeeze(_) => "Squeeze",
        Node::Unsqueeze(_) => "Unsqueeze",
        Node::ReduceMean(_) => "ReduceMean",
        Node::ReduceMax(_) => "ReduceMax",
        Node::Clip(_) => "Clip",
        Node::HardSigmoid(_) => "HardSigmoid",
        Node::HardSwish(_) => "HardSwish",
        Node::Shape(_) => "Shape",
        Node::Gather(_) => "Gather",
        Node::Slice(_) => "Slice",
        Node::QuantizeLinear(_) => "QuantizeLinear",
        Node::DequantizeLinear(_) => "DequantizeLinear",
        _ => return None,
    };
    OPS.iter().find(|o| o.name == name)
}

/// A runtime value.
#[derive(Clone)]
pub(crate) enum Value {
    /// A float tensor padded to rank 4, and its logical rank.
    F { t: Tensor<4>, rank: usize },
    /// A small integer tensor kept on the host (shapes, axes).
    I { v: Vec<i64>, shape: Vec<usize> },
}

pub(crate) type Env = HashMap<String, Value>;

/// Batch statistics of one BatchNormalization node in a training pass (detached), for the
/// running averages: the per-channel mean and the unbiased variance, in the parameters' shape.
pub(crate) struct BnStats {
    /// The node's index in the graph.
    pub node: usize,
    /// Batch mean.
    pub mean: Tensor<4>,
    /// Unbiased batch variance.
    pub var: Tensor<4>,
}

/// Training-pass state: BatchNormalization normalises with batch statistics and reports them.
pub(crate) type Training<'a> = Option<&'a std::cell::RefCell<Vec<BnStats>>>;

pub(crate) fn pad4(shape: &[usize]) -> [usize; 4] {
    let mut s = [1; 4];
    s[4 - shape.len()..].copy_from_slice(shape);
    s
}

impl Value {
    pub(crate) fn from_f32(file: &str, v: Vec<f32>, shape: &[usize], device: &Device) -> Result<Self> {
        if shape.len() > 4 {
            return Err(AuditError::model(file, format!("a tensor of rank {} (shape {shape:?}); at most rank 4 is supported", shape.len())));
        }
        let t = Tensor::<4>::from_data(TensorData::new(v, pad4(shape)), device);
        Ok(Value::F { t, rank: shape.len() })
    }

    fn shape(&self) -> Vec<usize> {
        match self {
            Value::F { t, rank } => t.dims()[4 - rank..].to_vec(),
            Value::I { shape, .. } => shape.clone(),
        }
    }

    pub(crate) fn float(self, file: &str, node: &str, device: &Device) -> Result<(Tensor<4>, usize)> {
        match self {
            Value::F { t, rank } => Ok((t, rank)),
            Value::I { v, shape } => {
                let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                match Value::from_f32(file, f, &shape, device)? {
                    Value::F { t, rank } => Ok((t, rank)),
                    Value::I { .. } => Err(AuditError::model(file, format!("node '{node}': internal type error"))),
                }
            }
        }
    }

    /// The final output as a `[rows, classes]` matrix.
    pub(crate) fn into_matrix(self, file: &str) -> Result<(Tensor<2>, [usize; 2])> {
        let shape = self.shape();
        match (self, shape.as_slice()) {
            (Value::F { t, .. }, &[n, c]) => Ok((t.reshape([n, c]), [n, c])),
            (_, s) => Err(AuditError::model(file, format!("the model's output has shape {s:?}; expected [records, classes]"))),
        }
    }
}

/// The operator's name as the ONNX file writes it: onnx-ir renames some by their spatial rank
/// (`Conv2d`, `MaxPool1d` …) and turns Gemm and MatMul + Add into `Linear`.
pub(crate) fn op_name(node: &Node) -> String {
    match node {
        Node::Custom(c) if c.domain.is_empty() => c.op_type.clone(),
        Node::Custom(c) => format!("{}.{}", c.domain, c.op_type),
        _ => match spec(node) {
            Some(s) => s.name.to_string(),
            None => {
                let t = node.node_type().to_string();
                match t.strip_suffix("1d").or_else(|| t.strip_suffix("2d")).or_else(|| t.strip_suffix("3d")) {
                    Some(base) if ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"].contains(&base) => base.to_string(),
                    _ => t,
                }
            }
        },
    }
}

/// Reject, before any work, a node the interpreter cannot run.
pub(crate) fn check_supported(file: &str, node: &Node, name: &str) -> Result<()> {
    let unsupported = |detail: &str| Err(AuditError::UnsupportedOp { file: file.into(), node: name.into(), op: op_name(node), detail: detail.into() });
    match node {
        Node::Cast(c) => match c.config.to {
            DType::F64 | DType::F32 | DType::F16 | DType::BF16 | DType::I64 | DType::I32 => Ok(()),
            other => unsupported(&format!("cast to {other:?}")),
        },
        _ if spec(node).is_some() => Ok(()),
        _ => unsupported(&format!("supported operators: {}", supported_ops().join(", "))),
    }
}

/// Values known before the run, keyed by (node index, input index): initializers and
/// Constant outputs. onnx-ir may leave such arguments unnamed, so names cannot be the key.
pub(crate) type Consts = HashMap<(usize, usize), Value>;

/// Upload every constant and initializer used by the graph.
pub(crate) fn load_constants(file: &str, graph: &OnnxGraph, device: &Device) -> Result<Consts> {
    let mut consts = Consts::new();
    let mut by_name: HashMap<String, Value> = HashMap::new();
    for (n, node) in graph.nodes.iter().enumerate() {
        if let Node::Constant(c) = node {
            if let (Some(data), Some(out)) = (c.inputs.first().and_then(Argument::value), c.outputs.first()) {
                by_name.insert(out.name.clone(), value_from_data(file, &out.name, data, device)?);
            }
            continue;
        }
        for (k, arg) in node.inputs().iter().enumerate() {
            if let Some(v) = (!arg.name.is_empty()).then(|| by_name.get(&arg.name)).flatten() {
                consts.insert((n, k), v.clone());
            } else if let Some(data) = arg.value() {
                consts.insert((n, k), value_from_data(file, &arg.name, data, device)?);
            }
        }
    }
    Ok(consts)
}

fn value_from_data(file: &str, name: &str, data: TensorData, device: &Device) -> Result<Value> {
    let shape: Vec<usize> = data.shape().to_vec();
    match data.dtype() {
        DType::F64 | DType::F32 | DType::F16 | DType::BF16 => {
            let v: Vec<f32> = data.iter::<f32>().collect();
            Value::from_f32(file, v, &shape, device)
        }
        DType::I64 | DType::I32 | DType::I16 | DType::I8 | DType::U8 | DType::U16 | DType::U32 | DType::U64 => {
            Ok(Value::I { v: data.iter::<i64>().collect(), shape })
        }
        other => Err(AuditError::model(file, format!("initializer '{name}' has unsupported type {other:?}"))),
    }
}

/// The largest per-record intermediate, in values, to size batches: every node's output, and a
/// convolution's unfolded input (input channels × kernel offsets × output positions; see
/// [`spatial`]); with the index of the node that makes it.
pub(crate) fn widest_activation(graph: &OnnxGraph) -> (usize, Option<usize>) {
    let per_record = |a: &Argument| a.ty.static_shape().map(|s| s.iter().skip(1).map(|d| d.unwrap_or(1)).fold(1usize, |p, d| p.saturating_mul(d)));
    let unfolded = |n: &Node| -> Option<usize> {
        let k: usize = match n {
            Node::Conv1d(c) => c.config.kernel_size,
            Node::Conv2d(c) => c.config.kernel_size.iter().product(),
            _ => return None,
        };
        let channels = n.inputs().first()?.ty.static_shape()?.get(1).copied().flatten()?;
        let out = n.outputs().first()?.ty.static_shape()?;
        let positions = out.iter().skip(2).map(|d| d.unwrap_or(1)).fold(1usize, |p, d| p.saturating_mul(d));
        Some(channels.saturating_mul(k).saturating_mul(positions))
    };
    let mut widest = (1, None);
    for (i, n) in graph.nodes.iter().enumerate() {
        for v in n.outputs().iter().filter_map(per_record).chain(unfolded(n)) {
            if v > widest.0 {
                widest = (v, Some(i));
            }
        }
    }
    widest
}

/// The file's own name of every node of `graph` (onnx-ir renames them `conv2d1`, `linear2` …),
/// for messages: the k-th node of an operator is the file's k-th node of that operator when
/// both have as many; otherwise onnx-ir's name is kept.
pub(crate) fn file_node_names(graph: &OnnxGraph, file_nodes: &[(String, String)]) -> Vec<String> {
    let ops: Vec<String> = graph.nodes.iter().map(op_name).collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    graph
        .nodes
        .iter()
        .zip(&ops)
        .map(|(node, op)| {
            let k = seen.entry(op.as_str()).or_insert(0);
            *k += 1;
            let in_graph = ops.iter().filter(|o| *o == op).count();
            // A custom operator's name carries its domain; the file's op_type does not.
            let bare = op.rsplit('.').next().unwrap_or(op);
            let mut in_file = file_nodes.iter().filter(|(t, _)| t == bare);
            let same_count = file_nodes.iter().filter(|(t, _)| t == bare).count() == in_graph;
            match in_file.nth(*k - 1) {
                Some((_, n)) if same_count && !n.is_empty() => n.clone(),
                _ => node.name().to_string(),
            }
        })
        .collect()
}

/// Run the graph on one batch and return the value named `output`; `names` are the nodes'
/// names for messages ([`file_node_names`]), `chains` the nodes each Conv takes in
/// ([`graph_conv_chains`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    file: &str,
    graph: &OnnxGraph,
    names: &[String],
    chains: &[Chain],
    consts: &Consts,
    input: &str,
    x: Value,
    output: &str,
    training: Training<'_>,
) -> Result<Value> {
    let device = match &x {
        Value::F { t, .. } => t.device(),
        Value::I { .. } => return Err(AuditError::model(file, "internal: integer model input")),
    };
    let mut env: Env = HashMap::new();
    env.insert(input.to_string(), x);
    let name_of = |j: usize| names.get(j).map_or(graph.nodes[j].name(), String::as_str);
    // Input `i` of node `j`: a folded constant, a computed value, or none (an optional input).
    let input_of = |env: &Env, j: usize, i: usize| -> Result<Option<Value>> {
        if let Some(v) = consts.get(&(j, i)) {
            return Ok(Some(v.clone()));
        }
        match graph.nodes[j].inputs().get(i) {
            None => Ok(None),
            Some(a) if a.is_optional() || a.name.is_empty() => Ok(None),
            Some(a) => env
                .get(&a.name)
                .cloned()
                .map(Some)
                .ok_or_else(|| AuditError::model(file, format!("node '{}': input '{}' has no value", name_of(j), a.name))),
        }
    };
    // Nodes a Conv took in, still to pass over.
    let mut taken = 0;
    for (idx, node) in graph.nodes.iter().enumerate() {
        let name = name_of(idx);
        if let Some(v) = env.get(output) {
            return Ok(v.clone());
        }
        if taken > 0 {
            taken -= 1;
            continue;
        }
        // A Constant is folded.
        if matches!(node, Node::Constant(_)) {
            continue;
        }
        let get = |i: usize| input_of(&env, idx, i);
        let need =
            |i: usize| -> Result<Value> { get(i)?.ok_or_else(|| AuditError::model(file, format!("node '{name}' ({}) is missing input {i}", op_name(node)))) };
        let chain = chains.get(idx).map_or(0, |c| if training.is_some() { c.training } else { c.nodes });
        let later = idx + 1..=idx + chain;
        // The taken-in nodes' own checks and parameters, for the Conv's output of shape `out`,
        // with their own names in messages.
        let after = |out: &[usize]| -> Result<Taken> {
            let mut taken = Taken::default();
            for j in later.clone() {
                let Some(n) = graph.nodes.get(j) else { break };
                let name = name_of(j);
                let bad = |m: String| AuditError::model(file, format!("node '{name}' ({}): {m}", op_name(n)));
                let fl = |v: Value| v.float(file, name, &device);
                let need = |i: usize| -> Result<Value> {
                    input_of(&env, j, i)?.ok_or_else(|| AuditError::model(file, format!("node '{name}' ({}) is missing input {i}", op_name(n))))
                };
                match n {
                    Node::Relu(_) => taken.steps.push(spatial::After::Relu),
                    Node::BatchNormalization(bn) => {
                        let (scale, shift) = batch_norm_affine(bn, out, &need, &bad, &fl)?;
                        let c = out[1];
                        taken.steps.push(spatial::After::Affine { scale: scale.reshape([1, c, 1, 1]), shift: shift.reshape([1, c, 1, 1]) });
                    }
                    Node::MaxPool1d(p) => {
                        let c = &p.config;
                        let g = Geometry::d1(c.kernel_size, c.stride, c.dilation, c.padding.as_tuple(), &c.auto_pad);
                        taken.pool = Some(window(&g, out, c.ceil_mode, true, &bad)?);
                    }
                    Node::MaxPool2d(p) => {
                        let c = &p.config;
                        let g = Geometry::d2(c.kernel_size, c.strides, c.dilation, c.padding.as_tuple(), &c.auto_pad);
                        taken.pool = Some(window(&g, out, c.ceil_mode, true, &bad)?);
                    }
                    _ => return Err(bad("internal: not a node a Conv takes in".into())),
                }
            }
            Ok(taken)
        };
        let y = eval(file, node, name, &need, &get, &device, training.map(|t| (t, idx)), &after)?;
        let stored = graph.nodes.get(idx + chain).unwrap_or(node);
        if let Some(out) = stored.outputs().first() {
            env.insert(out.name.clone(), y);
        }
        taken = chain;
    }
    env.remove(output).ok_or_else(|| AuditError::model(file, format!("the graph never computes its output '{output}'")))
}

/// What a Conv applies to its output for the nodes it takes in ([`Chain`]).
#[derive(Default)]
struct Taken {
    steps: Vec<spatial::After>,
    pool: Option<spatial::Window>,
}

/// The nodes right after a Conv that it computes itself ([`graph_conv_chains`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Chain {
    /// How many, in inference.
    pub nodes: usize,
    /// How many while training: only its leading Relus (a BatchNormalization then normalises
    /// with the batch's statistics and records them, and training takes the general path,
    /// where a fused MaxPool would save nothing).
    pub training: usize,
}

/// What [`conv_chains`] needs to know of a node.
struct Step<'a> {
    kind: StepKind,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StepKind {
    /// A Conv over this many spatial axes.
    Conv(usize),
    Relu,
    BatchNorm,
    /// A MaxPool over this many spatial axes.
    MaxPool(usize),
    Other,
}

/// [`conv_chains`] of a parsed graph, computed once per model (not per batch).
pub(crate) fn graph_conv_chains(graph: &OnnxGraph, output: &str) -> Vec<Chain> {
    let steps: Vec<Step<'_>> = graph
        .nodes
        .iter()
        .map(|n| Step {
            kind: match n {
                Node::Conv1d(_) => StepKind::Conv(1),
                Node::Conv2d(_) => StepKind::Conv(2),
                Node::Relu(_) => StepKind::Relu,
                Node::BatchNormalization(_) => StepKind::BatchNorm,
                Node::MaxPool1d(_) => StepKind::MaxPool(1),
                Node::MaxPool2d(_) => StepKind::MaxPool(2),
                _ => StepKind::Other,
            },
            inputs: n.inputs().iter().map(|a| a.name.as_str()).collect(),
            outputs: n.outputs().iter().map(|a| a.name.as_str()).collect(),
        })
        .collect();
    conv_chains(&steps, output)
}

/// Per node: for a Conv, the nodes right after it that it computes itself — Relus and
/// BatchNormalizations in any order, then at most one MaxPool over as many axes — each reading
/// the one before it as its first input, which nothing else reads and which is not the graph's
/// output. [`run`] evaluates such a chain as one Conv that applies them in order to its result
/// (on the CPU a record at a time while it is in cache, instead of a pass over the batch per
/// node, as onnxruntime fuses a Conv and its activation); the values are the same.
fn conv_chains(steps: &[Step<'_>], output: &str) -> Vec<Chain> {
    let mut readers: HashMap<&str, usize> = HashMap::new();
    for name in steps.iter().flat_map(|s| &s.inputs) {
        *readers.entry(name).or_default() += 1;
    }
    let mut chains = vec![Chain::default(); steps.len()];
    for (i, first) in steps.iter().enumerate() {
        let StepKind::Conv(dims) = first.kind else { continue };
        let (mut chain, mut last) = (Chain::default(), first);
        while let Some(next) = steps.get(i + chain.nodes + 1) {
            let ([out], Some(&read)) = (last.outputs.as_slice(), next.inputs.first()) else { break };
            let joined = *out == read && *out != output && readers.get(out) == Some(&1) && !next.outputs.is_empty();
            let kind_fits = match next.kind {
                StepKind::Relu | StepKind::BatchNorm => true,
                StepKind::MaxPool(d) => d == dims,
                StepKind::Conv(_) | StepKind::Other => false,
            };
            if !joined || !kind_fits {
                break;
            }
            chain.nodes += 1;
            if next.kind == StepKind::Relu && chain.training + 1 == chain.nodes {
                chain.training += 1;
            }
            last = next;
            if matches!(next.kind, StepKind::MaxPool(_)) {
                break;
            }
        }
        chains[i] = chain;
    }
    chains
}

/// A QDQ scale or zero point, shaped to broadcast over a rank-`rank` input: a scalar (per
/// tensor), or a 1-D vector along `axis` (per channel; ONNX's default axis is 1).
fn quant_param(
    v: Value,
    axis: Option<i64>,
    dims: [usize; 4],
    rank: usize,
    what: &str,
    bad: &dyn Fn(String) -> AuditError,
    fl: &dyn Fn(Value) -> Result<(Tensor<4>, usize)>,
) -> Result<Tensor<4>> {
    let s = v.shape();
    let n: usize = s.iter().product();
    if s.len() <= 1 && n == 1 {
        return Ok(fl(v)?.0.reshape([1, 1, 1, 1]));
    }
    if s.len() != 1 {
        return Err(bad(format!("{what} of shape {s:?}: expected a scalar or a 1-D vector (blocked quantisation is not supported)")));
    }
    let a = axis.unwrap_or(1);
    let a = if a < 0 { a + rank as i64 } else { a };
    if !(0..rank as i64).contains(&a) {
        return Err(bad(format!("axis {a} is outside an input of rank {rank}")));
    }
    let at = a as usize + 4 - rank;
    if dims[at] != n {
        return Err(bad(format!("{what} has {n} values but the input has {} along axis {a}", dims[at])));
    }
    let mut shape = [1; 4];
    shape[at] = n;
    Ok(fl(v)?.0.reshape(shape))
}

#[allow(clippy::too_many_arguments)]
fn eval(
    file: &str,
    node: &Node,
    name: &str,
    need: &dyn Fn(usize) -> Result<Value>,
    get: &dyn Fn(usize) -> Result<Option<Value>>,
    device: &Device,
    training: Option<(&std::cell::RefCell<Vec<BnStats>>, usize)>,
    after: &dyn Fn(&[usize]) -> Result<Taken>,
) -> Result<Value> {
    let fl = |v: Value| v.float(file, name, device);
    let bad = |m: String| AuditError::model(file, format!("node '{name}' ({}): {m}", op_name(node)));
    let unary = |f: &dyn Fn(Tensor<4>) -> Tensor<4>| -> Result<Value> {
        let (t, rank) = fl(need(0)?)?;
        Ok(Value::F { t: f(t), rank })
    };
    let binary = |f: &dyn Fn(Tensor<4>, Tensor<4>) -> Tensor<4>| -> Result<Value> {
        let (a, b) = (need(0)?, need(1)?);
        if let (Value::I { .. }, Value::I { .. }) = (&a, &b) {
            return Err(bad("integer arithmetic is not supported (only float tensors)".into()));
        }
        let (sa, sb) = (a.shape(), b.shape());
        let rank = broadcast(&sa, &sb).ok_or_else(|| bad(format!("cannot broadcast shapes {sa:?} and {sb:?}")))?.len();
        let ((ta, _), (tb, _)) = (fl(a)?, fl(b)?);
        Ok(Value::F { t: f(ta, tb), rank })
    };
    // y + bias, checked like any broadcast (burn would panic on a mismatch).
    let add_checked = |y: Tensor<4>, yrank: usize, b: Value| -> Result<Value> {
        let (sy, sb) = (y.dims()[4 - yrank..].to_vec(), b.shape());
        if broadcast(&sy, &sb).is_none_or(|s| s != sy) {
            return Err(bad(format!("bias of shape {sb:?} does not broadcast to the output {sy:?}")));
        }
        let (bt, _) = fl(b)?;
        Ok(Value::F { t: y.add(bt), rank: yrank })
    };
    let axis4 = |axis: usize, rank: usize| axis + 4 - rank;
    match node {
        Node::Identity(_) | Node::Dropout(_) => need(0),
        Node::Cast(c) => match (need(0)?, c.config.to) {
            (v @ Value::F { .. }, DType::F64 | DType::F32 | DType::F16 | DType::BF16) => Ok(v),
            (v @ Value::I { .. }, DType::I64 | DType::I32) => Ok(v),
            (v @ Value::I { .. }, _) => {
                let (t, rank) = fl(v)?;
                Ok(Value::F { t, rank })
            }
            (Value::F { .. }, to) => Err(bad(format!("casting a float tensor to {to:?} is not supported"))),
        },
        Node::Relu(_) => unary(&activation::relu),
        Node::Sigmoid(_) => unary(&activation::sigmoid),
        Node::Tanh(_) => unary(&activation::tanh),
        Node::LeakyRelu(n) => {
            let a = n.config.alpha;
            unary(&|t| activation::leaky_relu(t, a))
        }
        Node::Softmax(n) => {
            let (t, rank) = fl(need(0)?)?;
            Ok(Value::F { t: activation::softmax(t, axis4(n.config.axis, rank)), rank })
        }
        Node::LogSoftmax(n) => {
            let (t, rank) = fl(need(0)?)?;
            Ok(Value::F { t: activation::log_softmax(t, axis4(n.config.axis, rank)), rank })
        }
        Node::Add(_) => binary(&|a, b| a.add(b)),
        Node::Sub(_) => binary(&|a, b| a.sub(b)),
        Node::Mul(_) => binary(&|a, b| a.mul(b)),
        Node::Div(_) => binary(&|a, b| a.div(b)),
        Node::MatMul(_) => matmul(file, name, need(0)?, need(1)?, device),
        Node::Linear(n) => {
            let (x, w) = (need(0)?, need(1)?);
            let ws = w.shape();
            if ws.len() != 2 {
                return Err(bad(format!("weight must be 2-D, found shape {ws:?}")));
            }
            let (wt, _) = fl(w)?;
            let wt = if n.config.transpose_weight { wt.swap_dims(2, 3) } else { wt };
            let y = matmul(file, name, x, Value::F { t: wt, rank: 2 }, device)?;
            match get(2)? {
                Some(b) => {
                    let (yt, rank) = fl(y)?;
                    add_checked(yt, rank, b)
                }
                None => Ok(y),
            }
        }
        Node::Gemm(n) => {
            let c = &n.config;
            let (a, b) = (need(0)?, need(1)?);
            if a.shape().len() != 2 || b.shape().len() != 2 {
                return Err(bad(format!("Gemm needs 2-D inputs, found {:?} and {:?}", a.shape(), b.shape())));
            }
            let (mut ta, _) = fl(a)?;
            let (mut tb, _) = fl(b)?;
            if c.trans_a != 0 {
                ta = ta.swap_dims(2, 3);
            }
            if c.trans_b != 0 {
                tb = tb.swap_dims(2, 3);
            }
            if ta.dims()[3] != tb.dims()[2] {
                return Err(bad(format!("inner dimensions differ: {:?} × {:?}", ta.dims(), tb.dims())));
            }
            let mut y = ta.matmul(tb);
            if c.alpha != 1.0 {
                y = y.mul_scalar(c.alpha);
            }
            match get(2)? {
                Some(cv) => {
                    let (t, rank) = fl(cv)?;
                    let t = if c.beta != 1.0 { t.mul_scalar(c.beta) } else { t };
                    add_checked(y, 2, Value::F { t, rank })
                }
                None => Ok(Value::F { t: y, rank: 2 }),
            }
        }
        Node::Flatten(n) => {
            let v = need(0)?;
            let s = v.shape();
            let axis = n.config.axis.min(s.len());
            let (t, _) = fl(v)?;
            let (a, b): (usize, usize) = (s[..axis].iter().product(), s[axis..].iter().product());
            Ok(Value::F { t: t.reshape([1, 1, a, b]), rank: 2 })
        }
        Node::Reshape(n) => {
            let v = need(0)?;
            let spec: Vec<i64> = match &n.config.shape {
                ReshapeInput::Static(s) => s.clone(),
                ReshapeInput::Runtime(r) => match need(r.input_index)? {
                    Value::I { v, .. } => v,
                    Value::F { .. } => {
                        return Err(bad("the target shape must be an integer tensor".into()));
                    }
                },
            };
            let s = v.shape();
            let new = reshape_dims(&s, &spec).map_err(bad)?;
            match v {
                Value::F { t, .. } => {
                    if new.len() > 4 {
                        return Err(bad(format!("reshape to rank {} is not supported (at most 4)", new.len())));
                    }
                    Ok(Value::F { t: t.reshape(pad4(&new)), rank: new.len() })
                }
                Value::I { v, .. } => Ok(Value::I { v, shape: new }),
            }
        }
        Node::Transpose(n) => {
            let (t, rank) = fl(need(0)?)?;
            let perm = &n.config.perm;
            if perm.len() != rank {
                return Err(bad(format!("permutation {perm:?} does not match rank {rank}")));
            }
            let mut p = [0usize, 1, 2, 3];
            for (k, &src) in perm.iter().enumerate() {
                let src = usize::try_from(src).ok().filter(|&s| s < rank).ok_or_else(|| bad(format!("bad permutation {perm:?}")))?;
                p[4 - rank + k] = 4 - rank + src;
            }
            Ok(Value::F { t: t.permute(p), rank })
        }
        Node::BatchNormalization(n) => {
            let x = need(0)?;
            let xs = x.shape();
            if xs.len() < 2 {
                return Err(bad(format!("input must be at least 2-D, found {xs:?}")));
            }
            let (xt, rank) = fl(x)?;
            // Per-channel parameters, shaped [C, 1, …] so they broadcast over axis 1.
            let mut pshape = vec![xs[1]];
            pshape.extend(std::iter::repeat_n(1, rank - 2));
            let Some((stats, idx)) = training else {
                let (a, shift) = batch_norm_affine(n, &xs, need, &bad, &fl)?;
                return Ok(Value::F { t: xt.mul(a.reshape(pad4(&pshape))).add(shift.reshape(pad4(&pshape))), rank });
            };
            let eps = batch_norm_epsilon(n);
            let param = |i: usize| batch_norm_param(need, i, xs[1], &bad, &fl).map(|t| t.reshape(pad4(&pshape)));
            let (scale, bias) = (param(1)?, param(2)?);
            // Training: statistics over the batch and every axis but the channel's, as torch's
            // BatchNorm in train mode; normalised with the biased variance, the running average
            // takes the unbiased one.
            let axes: Vec<usize> = std::iter::once(0).chain(2..rank).map(|a| axis4(a, rank)).collect();
            let count: usize = xs.iter().enumerate().filter(|(a, _)| *a != 1).map(|(_, d)| d).product();
            if count < 2 {
                return Err(bad("training needs at least 2 values per channel in a batch".into()));
            }
            let mut mean = xt.clone();
            for &a in &axes {
                mean = mean.mean_dim(a);
            }
            let mut var = xt.clone().sub(mean.clone()).powf_scalar(2.0);
            for &a in &axes {
                var = var.mean_dim(a);
            }
            let unbiased = var.clone().detach().mul_scalar(count as f64 / (count - 1) as f64);
            stats.borrow_mut().push(BnStats { node: idx, mean: mean.clone().detach().reshape(pad4(&pshape)), var: unbiased.reshape(pad4(&pshape)) });
            let y = xt.sub(mean).div(var.add_scalar(eps).sqrt()).mul(scale).add(bias);
            Ok(Value::F { t: y, rank })
        }
        Node::Conv1d(n) => {
            let c = &n.config;
            let geometry = Geometry::d1(c.kernel_size, c.stride, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            conv_node(need(0)?, need(1)?, get(2)?, &geometry, c.groups, 1, after, &bad, &fl)
        }
        Node::Conv2d(n) => {
            let c = &n.config;
            let geometry = Geometry::d2(c.kernel_size, c.stride, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            conv_node(need(0)?, need(1)?, get(2)?, &geometry, c.groups, 2, after, &bad, &fl)
        }
        Node::MaxPool1d(n) => {
            let c = &n.config;
            let geometry = Geometry::d1(c.kernel_size, c.stride, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            pool_node(need(0)?, &geometry, c.ceil_mode, 1, None, &bad, &fl)
        }
        Node::MaxPool2d(n) => {
            let c = &n.config;
            let geometry = Geometry::d2(c.kernel_size, c.strides, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            pool_node(need(0)?, &geometry, c.ceil_mode, 2, None, &bad, &fl)
        }
        Node::AveragePool1d(n) => {
            let c = &n.config;
            let geometry = Geometry::d1(c.kernel_size, c.stride, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            pool_node(need(0)?, &geometry, c.ceil_mode, 1, Some(c.count_include_pad), &bad, &fl)
        }
        Node::AveragePool2d(n) => {
            let c = &n.config;
            let geometry = Geometry::d2(c.kernel_size, c.strides, c.dilation, c.padding.as_tuple(), &c.auto_pad);
            pool_node(need(0)?, &geometry, c.ceil_mode, 2, Some(c.count_include_pad), &bad, &fl)
        }
        Node::GlobalAveragePool(_) | Node::GlobalMaxPool(_) => {
            let x = need(0)?;
            let s = x.shape();
            if !(3..=4).contains(&s.len()) {
                return Err(bad(format!("input must be [N, C, L] or [N, C, H, W], found {s:?}")));
            }
            let (t, rank) = fl(x)?;
            let (n, c) = (s[0], s[1]);
            let flat = t.reshape([1, n, c, s[2..].iter().product::<usize>()]);
            let y = if matches!(node, Node::GlobalMaxPool(_)) { flat.max_dim(3) } else { flat.mean_dim(3) };
            let mut out = vec![n, c];
            out.extend(std::iter::repeat_n(1, rank - 2));
            Ok(Value::F { t: y.reshape(pad4(&out)), rank })
        }
        Node::Clip(n) => {
            let (t, rank) = fl(need(0)?)?;
            // A bound given as a graph value (not folded into the attribute) stays on the
            // device: max(x, lo) = lo + relu(x − lo), min(x, hi) = hi − relu(hi − x).
            let bound = |b: &Option<onnx_ir::clip::ClipInput>| -> Result<Option<Tensor<4>>> {
                match b {
                    None => Ok(None),
                    Some(onnx_ir::clip::ClipInput::Static(v)) => Ok(Some(Tensor::<4>::full([1, 1, 1, 1], *v as f32, device))),
                    Some(onnx_ir::clip::ClipInput::Runtime(r)) => match get(r.input_index)? {
                        None => Ok(None),
                        Some(v) if v.shape().iter().product::<usize>() == 1 => Ok(Some(fl(v)?.0.reshape([1, 1, 1, 1]))),
                        Some(v) => Err(bad(format!("min and max must be scalars, found shape {:?}", v.shape()))),
                    },
                }
            };
            let mut y = t;
            if let Some(lo) = bound(&n.config.min)? {
                y = activation::relu(y.sub(lo.clone())).add(lo);
            }
            if let Some(hi) = bound(&n.config.max)? {
                y = hi.clone().sub(activation::relu(hi.sub(y)));
            }
            Ok(Value::F { t: y, rank })
        }
        Node::HardSigmoid(n) => {
            let (alpha, beta) = (n.config.alpha, n.config.beta);
            unary(&|t| t.mul_scalar(alpha).add_scalar(beta).clamp(0.0, 1.0))
        }
        Node::HardSwish(_) => unary(&|t| t.clone().mul(t.div_scalar(6.0).add_scalar(0.5).clamp(0.0, 1.0))),
        // QDQ (onnxruntime's quantize_static): integer values are carried as floats holding
        // integers, which f32 represents exactly up to 2^24 (16-bit types included).
        Node::QuantizeLinear(n) => {
            let (x, rank) = fl(need(0)?)?;
            let dtype = node.outputs().first().map(|o| o.ty.elem_type());
            let (lo, hi) = match dtype {
                Some(DType::U8) => (0.0, 255.0),
                Some(DType::I8) => (-128.0, 127.0),
                Some(DType::U16) => (0.0, 65535.0),
                Some(DType::I16) => (-32768.0, 32767.0),
                other => return Err(bad(format!("quantising to {other:?} is not supported (uint8, int8, uint16, int16)"))),
            };
            let scale = quant_param(need(1)?, n.config.axis, x.dims(), rank, "y_scale", &bad, &fl)?;
            let dims = x.dims();
            let y = x.div(scale).round();
            let y = match get(2)? {
                Some(z) => y.add(quant_param(z, n.config.axis, dims, rank, "y_zero_point", &bad, &fl)?),
                None => y,
            };
            Ok(Value::F { t: y.clamp(lo, hi), rank })
        }
        Node::DequantizeLinear(n) => {
            let (x, rank) = fl(need(0)?)?;
            let dims = x.dims();
            let scale = quant_param(need(1)?, n.config.axis, dims, rank, "x_scale", &bad, &fl)?;
            let x = match get(2)? {
                Some(z) => x.sub(quant_param(z, n.config.axis, dims, rank, "x_zero_point", &bad, &fl)?),
                None => x,
            };
            Ok(Value::F { t: x.mul(scale), rank })
        }
        Node::Pad(n) => pad_node(n, need(0)?, &get, &bad, &fl),
        Node::Concat(n) => {
            let inputs: Vec<Value> = (0..node.inputs().len()).map(&need).collect::<Result<_>>()?;
            concat(inputs, n.config.axis, &bad, &fl)
        }
        Node::Unsqueeze(n) => {
            let v = need(0)?;
            let axes = match &n.config {
                onnx_ir::unsqueeze::UnsqueezeConfig::Static(a) => a.clone(),
                onnx_ir::unsqueeze::UnsqueezeConfig::Runtime(r) => ints(need(r.input_index)?, &bad)?,
            };
            let s = v.shape();
            let rank = s.len() + axes.len();
            let mut axes =
                axes.iter().map(|&a| norm_axis(a, rank).ok_or_else(|| bad(format!("axis {a} is out of range for rank {rank}")))).collect::<Result<Vec<_>>>()?;
            axes.sort_unstable();
            axes.dedup();
            if axes.len() + s.len() != rank {
                return Err(bad("repeated axes".into()));
            }
            let mut dims = s.iter().copied();
            let new: Vec<usize> = (0..rank).map(|a| if axes.contains(&a) { 1 } else { dims.next().unwrap_or(1) }).collect();
            reshaped(v, new, &bad)
        }
        Node::Squeeze(n) => {
            let v = need(0)?;
            let s = v.shape();
            let axes: Option<Vec<i64>> = match &n.config.axes {
                None => None,
                Some(onnx_ir::squeeze::SqueezeInput::Static(a)) => Some(a.clone()),
                Some(onnx_ir::squeeze::SqueezeInput::Runtime(r)) => Some(ints(need(r.input_index)?, &bad)?),
            };
            let drop: Vec<usize> = match axes {
                None => (0..s.len()).filter(|&a| s[a] == 1).collect(),
                Some(a) => a
                    .iter()
                    .map(|&x| norm_axis(x, s.len()).filter(|&k| s[k] == 1).ok_or_else(|| bad(format!("axis {x} of shape {s:?} is not a dimension of size 1"))))
                    .collect::<Result<_>>()?,
            };
            let new: Vec<usize> = (0..s.len()).filter(|a| !drop.contains(a)).map(|a| s[a]).collect();
            reshaped(v, new, &bad)
        }
        Node::ReduceMean(onnx_ir::reduce::ReduceMeanNode { config: c, .. }) | Node::ReduceMax(onnx_ir::reduce::ReduceMaxNode { config: c, .. }) => {
            let max = matches!(node, Node::ReduceMax(_));
            let v = need(0)?;
            let s = v.shape();
            let axes: Vec<usize> = match &c.axes {
                onnx_ir::reduce::ReduceAxes::Static(a) => a.clone(),
                onnx_ir::reduce::ReduceAxes::Runtime(r) => ints(need(r.input_index)?, &bad)?
                    .iter()
                    .map(|&a| norm_axis(a, s.len()).ok_or_else(|| bad(format!("axis {a} is out of range for shape {s:?}"))))
                    .collect::<Result<_>>()?,
            };
            if axes.iter().any(|&a| a >= s.len()) {
                return Err(bad(format!("axes {axes:?} are out of range for shape {s:?}")));
            }
            if axes.is_empty() && c.noop_with_empty_axes {
                return Ok(v);
            }
            let axes: Vec<usize> = if axes.is_empty() { (0..s.len()).collect() } else { axes };
            let (mut t, rank) = fl(v)?;
            for &a in &axes {
                t = if max { t.max_dim(axis4(a, rank)) } else { t.mean_dim(axis4(a, rank)) };
            }
            let kept: Vec<usize> = (0..s.len()).map(|a| if axes.contains(&a) { 1 } else { s[a] }).collect();
            let out: Vec<usize> = if c.keepdims { kept } else { (0..s.len()).filter(|a| !axes.contains(a)).map(|a| s[a]).collect() };
            Ok(Value::F { t: t.reshape(pad4(&out)), rank: out.len() })
        }
        Node::Shape(n) => {
            let s = need(0)?.shape();
            let (start, end) = (n.config.start.min(s.len()), n.config.end.min(s.len()));
            let v: Vec<i64> = s[start..end.max(start)].iter().map(|&d| d as i64).collect();
            let len = v.len();
            Ok(Value::I { v, shape: vec![len] })
        }
        Node::Gather(n) => {
            let (data, idx) = (need(0)?, need(1)?);
            let (Value::I { v, shape }, Value::I { v: iv, shape: ishape }) = (&data, &idx) else {
                return Err(bad("only shape arithmetic (integer tensors) is supported; gathering float values is not".into()));
            };
            if shape.len() != 1 || n.config.axis != 0 || ishape.len() > 1 {
                return Err(bad(format!("only a 1-D gather along axis 0 is supported, found data {shape:?}, indices {ishape:?}, axis {}", n.config.axis)));
            }
            let out = iv
                .iter()
                .map(|&i| norm_axis(i, v.len()).map(|k| v[k]).ok_or_else(|| bad(format!("index {i} is out of range for {} values", v.len()))))
                .collect::<Result<Vec<i64>>>()?;
            Ok(Value::I { shape: ishape.clone(), v: out })
        }
        Node::Slice(n) => slice_node(&n.config, need(0)?, &need, &bad, &fl),
        other => Err(AuditError::UnsupportedOp {
            file: file.into(),
            node: name.into(),
            op: op_name(other),
            detail: format!("supported operators: {}", supported_ops().join(", ")),
        }),
    }
}

fn batch_norm_epsilon(n: &onnx_ir::batch_norm::BatchNormalizationNode) -> f64 {
    match &n.config {
        BatchNormConfig::Static(c) => c.epsilon,
        BatchNormConfig::Runtime(c) => c.epsilon,
    }
}

/// BatchNormalization's parameter `i` (1 scale, 2 bias, 3 mean, 4 variance), `[C]`.
fn batch_norm_param(need: &dyn Fn(usize) -> Result<Value>, i: usize, c: usize, bad: Bad<'_>, fl: Fl<'_>) -> Result<Tensor<4>> {
    let (t, _) = fl(need(i)?)?;
    if t.dims().iter().product::<usize>() != c {
        return Err(bad(format!("parameter {i} must have {c} values")));
    }
    Ok(t.reshape([1, 1, 1, c]))
}

/// An inference BatchNormalization of an input of shape `xs` (at least 2-D) as one scale and
/// one shift per channel, `[C]` each (in `[1, 1, 1, C]`), computed on the C values, so the
/// batch's values are read twice rather than four times (`x · scale + shift`).
fn batch_norm_affine(
    n: &onnx_ir::batch_norm::BatchNormalizationNode,
    xs: &[usize],
    need: &dyn Fn(usize) -> Result<Value>,
    bad: Bad<'_>,
    fl: Fl<'_>,
) -> Result<(Tensor<4>, Tensor<4>)> {
    let param = |i: usize| batch_norm_param(need, i, xs[1], bad, fl);
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let a = scale.div(var.add_scalar(batch_norm_epsilon(n)).sqrt());
    let shift = bias.sub(mean.mul(a.clone()));
    Ok((a, shift))
}

type Bad<'a> = &'a dyn Fn(String) -> AuditError;
type Fl<'a> = &'a dyn Fn(Value) -> Result<(Tensor<4>, usize)>;

/// A window operation's attributes as onnx-ir gives them, 1-D ones as 2-D with a unit first axis.
struct Geometry<'a> {
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    pads: [(usize, usize); 2],
    auto_pad: &'a onnx_ir::padding::AutoPad,
}

impl<'a> Geometry<'a> {
    /// A 1-D operation as 2-D over a unit first axis; `pads` (begin, end).
    fn d1(kernel: usize, stride: usize, dilation: usize, pads: (usize, usize), auto_pad: &'a onnx_ir::padding::AutoPad) -> Self {
        Geometry { kernel: [1, kernel], stride: [1, stride], dilation: [1, dilation], pads: [(0, 0), pads], auto_pad }
    }

    /// A 2-D operation; `pads` as onnx-ir gives them: (top, left, bottom, right).
    fn d2(kernel: [usize; 2], stride: [usize; 2], dilation: [usize; 2], pads: (usize, usize, usize, usize), auto_pad: &'a onnx_ir::padding::AutoPad) -> Self {
        let (top, left, bottom, right) = pads;
        Geometry { kernel, stride, dilation, pads: [(top, bottom), (left, right)], auto_pad }
    }
}

/// A `[N, C, L]` (1-D) or `[N, C, H, W]` (2-D) input as `[N, C, H, W]`.
fn spatial_input(x: Value, dims: usize, bad: Bad<'_>, fl: Fl<'_>) -> Result<(Tensor<4>, Vec<usize>)> {
    let s = x.shape();
    if s.len() != dims + 2 {
        return Err(bad(format!("input must have rank {} ([N, C, {}]), found shape {s:?}", dims + 2, if dims == 1 { "L" } else { "H, W" })));
    }
    let (t, _) = fl(x)?;
    let t = if dims == 1 { t.reshape([s[0], s[1], 1, s[2]]) } else { t };
    Ok((t, s))
}

/// `[N, C, OH, OW]` back to the input's rank.
fn spatial_output(y: Tensor<4>, dims: usize) -> Value {
    let [n, c, _, w] = y.dims();
    if dims == 1 { Value::F { t: y.reshape([1, n, c, w]), rank: 3 } } else { Value::F { t: y, rank: 4 } }
}

/// The window of a Conv or pool over `input` (`[N, C, L]` or `[N, C, H, W]`), refusing one whose
/// padded input would hold more values per record than privaudit computes with: both paths
/// allocate it (padding as large as the stride keeps the output small but not the input).
fn window(g: &Geometry<'_>, input: &[usize], ceil: bool, pool: bool, bad: Bad<'_>) -> Result<spatial::Window> {
    let hw = if input.len() == 3 { [1, input[2]] } else { [input[2], input[3]] };
    let w = spatial::Window::new(hw, g.kernel, g.stride, g.dilation, g.pads, g.auto_pad, ceil, pool).map_err(bad)?;
    // Each side is at most the input plus 3 × MAX_WINDOW (pads and ceil mode's extra).
    let side = |a: usize| w.input[a].saturating_add(w.pads[a].0 + w.pads[a].1 + w.extra[a]);
    let (ph, pw) = (side(0), side(1));
    if input[1].checked_mul(ph).and_then(|v| v.checked_mul(pw)).is_none_or(|v| v > crate::limits::MAX_VALUES) {
        return Err(bad(format!(
            "the input padded by {:?} would be {}×{ph}×{pw} values per record, more than the {} privaudit computes with",
            w.pads,
            input[1],
            crate::limits::MAX_VALUES
        )));
    }
    Ok(w)
}

#[allow(clippy::too_many_arguments)]
#[allow(clippy::too_many_arguments)]
fn conv_node(
    x: Value,
    w: Value,
    b: Option<Value>,
    g: &Geometry<'_>,
    groups: usize,
    dims: usize,
    after: &dyn Fn(&[usize]) -> Result<Taken>,
    bad: Bad<'_>,
    fl: Fl<'_>,
) -> Result<Value> {
    let ws = w.shape();
    let (xt, xs) = spatial_input(x, dims, bad, fl)?;
    if ws.len() != dims + 2 {
        return Err(bad(format!("weight must have rank {}, found shape {ws:?}", dims + 2)));
    }
    let (c, o, cg) = (xs[1], ws[0], ws[1]);
    let kernel = if dims == 1 { [1, ws[2]] } else { [ws[2], ws[3]] };
    if kernel != g.kernel {
        return Err(bad(format!("kernel_shape {:?} does not match the weight's shape {ws:?}", &g.kernel[2 - dims..])));
    }
    if groups == 0 || cg == 0 || c != cg * groups || o % groups != 0 || o == 0 {
        return Err(bad(format!("{c} input channels and a weight of shape {ws:?} do not fit group = {groups}")));
    }
    let win = window(g, &xs, false, false, bad)?;
    // im2col holds, per record, every input channel at every kernel place and output position.
    let unfolded = [c, win.kernel[0], win.kernel[1], win.out[0], win.out[1]].iter().try_fold(1usize, |p, &d| p.checked_mul(d));
    if unfolded.is_none_or(|u| u > crate::limits::MAX_VALUES) {
        return Err(bad(format!(
            "{c} channels × a {}×{} kernel × {}×{} outputs are more values per record than the {} privaudit computes with",
            win.kernel[0],
            win.kernel[1],
            win.out[0],
            win.out[1],
            crate::limits::MAX_VALUES
        )));
    }
    let wt = fl(w)?.0;
    let wt = if dims == 1 { wt.reshape([o, cg, 1, ws[2]]) } else { wt };
    let bias = match b {
        None => None,
        Some(b) if b.shape() == [o] => Some(fl(b)?.0),
        Some(b) => return Err(bad(format!("bias must have shape [{o}], found {:?}", b.shape()))),
    };
    // The nodes taken in, checked against the convolution's output shape.
    let out = if dims == 1 { vec![xs[0], o, win.out[1]] } else { vec![xs[0], o, win.out[0], win.out[1]] };
    let Taken { steps, pool } = after(&out)?;
    Ok(spatial_output(spatial::conv(xt, wt, bias, &win, groups, &steps, pool.as_ref()), dims))
}

/// MaxPool (`count_include_pad` = None) or AveragePool.
fn pool_node(x: Value, g: &Geometry<'_>, ceil: bool, dims: usize, count_include_pad: Option<bool>, bad: Bad<'_>, fl: Fl<'_>) -> Result<Value> {
    let (xt, xs) = spatial_input(x, dims, bad, fl)?;
    let win = window(g, &xs, ceil, true, bad)?;
    let y = match count_include_pad {
        None => spatial::max_pool(xt, &win),
        Some(include) => spatial::avg_pool(xt, &win, include),
    };
    Ok(spatial_output(y, dims))
}

/// The values of a small integer tensor (axes, pads, starts …).
fn ints(v: Value, bad: Bad<'_>) -> Result<Vec<i64>> {
    match v {
        Value::I { v, .. } => Ok(v),
        Value::F { .. } => Err(bad("expected an integer tensor (axes, pads, starts …), found a float one".into())),
    }
}

/// An ONNX axis (negative counts from the end) in `0..rank`.
fn norm_axis(a: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if a < 0 { a.checked_add(r)? } else { a };
    usize::try_from(a).ok().filter(|&k| k < rank)
}

/// The same values in a new shape of the same size.
fn reshaped(v: Value, new: Vec<usize>, bad: Bad<'_>) -> Result<Value> {
    match v {
        Value::F { t, .. } => {
            if new.len() > 4 {
                return Err(bad(format!("a result of rank {} (shape {new:?}); at most rank 4 is supported", new.len())));
            }
            Ok(Value::F { t: t.reshape(pad4(&new)), rank: new.len() })
        }
        Value::I { v, .. } => Ok(Value::I { v, shape: new }),
    }
}

fn concat(inputs: Vec<Value>, axis: usize, bad: Bad<'_>, fl: Fl<'_>) -> Result<Value> {
    let shapes: Vec<Vec<usize>> = inputs.iter().map(Value::shape).collect();
    let Some(first) = shapes.first() else {
        return Err(bad("no inputs".into()));
    };
    let rank = first.len();
    if axis >= rank || shapes.iter().any(|s| s.len() != rank || (0..rank).any(|a| a != axis && s[a] != first[a])) {
        return Err(bad(format!("shapes {shapes:?} do not concatenate along axis {axis}")));
    }
    if inputs.iter().all(|v| matches!(v, Value::I { .. })) {
        if rank != 1 {
            return Err(bad(format!("integer tensors are concatenated only in 1-D, found {shapes:?}")));
        }
        let v: Vec<i64> = inputs.into_iter().flat_map(|v| if let Value::I { v, .. } = v { v } else { Vec::new() }).collect();
        let len = v.len();
        return Ok(Value::I { v, shape: vec![len] });
    }
    let tensors = inputs.into_iter().map(|v| fl(v).map(|(t, _)| t)).collect::<Result<Vec<_>>>()?;
    Ok(Value::F { t: Tensor::cat(tensors, axis + 4 - rank), rank })
}

fn pad_node(n: &onnx_ir::pad::PadNode, x: Value, get: &dyn Fn(usize) -> Result<Option<Value>>, bad: Bad<'_>, fl: Fl<'_>) -> Result<Value> {
    use onnx_ir::pad::{AxesInput, ConstantValueInput, PadInput, PadMode as OnnxPad};
    let s = x.shape();
    let rank = s.len();
    let need = |i: usize| get(i)?.ok_or_else(|| bad(format!("missing input {i}")));
    let pairs: Vec<(usize, usize)> = match &n.config.pads {
        PadInput::Static(p) => p.clone(),
        PadInput::Runtime { input, axes } => {
            let v = ints(need(input.input_index)?, bad)?;
            let axes: Vec<usize> = match axes {
                None => (0..rank).collect(),
                Some(AxesInput::Static(a)) => a.clone(),
                Some(AxesInput::Runtime(r)) => ints(need(r.input_index)?, bad)?
                    .iter()
                    .map(|&a| norm_axis(a, rank).ok_or_else(|| bad(format!("axis {a} is out of range for rank {rank}"))))
                    .collect::<Result<_>>()?,
            };
            if v.len() != 2 * axes.len() {
                return Err(bad(format!("{} pads for {} axes; expected 2 per axis", v.len(), axes.len())));
            }
            let mut p = vec![(0usize, 0usize); rank];
            for (k, &a) in axes.iter().enumerate() {
                let conv = |x: i64| usize::try_from(x).ok().filter(|&x| x <= spatial::MAX_WINDOW);
                let (Some(b), Some(e)) = (conv(v[k]), conv(v[k + axes.len()])) else {
                    return Err(bad(format!("pads {v:?}: each must be from 0 to {} (negative pads, which crop, are not supported)", spatial::MAX_WINDOW)));
                };
                p[a] = (b, e);
            }
            p
        }
    };
    if pairs.len() != rank || pairs.iter().any(|&(b, e)| b > spatial::MAX_WINDOW || e > spatial::MAX_WINDOW) {
        return Err(bad(format!("pads {pairs:?} do not fit an input of shape {s:?}")));
    }
    let mode = match n.config.mode {
        OnnxPad::Constant => {
            let value = match &n.config.constant_value {
                ConstantValueInput::Static(v) => *v,
                ConstantValueInput::Runtime(r) => match get(r.input_index)? {
                    None => 0.0,
                    Some(Value::F { .. }) => return Err(bad("a constant_value computed by the graph is not supported (give it as an initializer)".into())),
                    Some(Value::I { v, .. }) => v.first().copied().unwrap_or(0) as f32,
                },
            };
            burn::tensor::ops::PadMode::Constant(value)
        }
        OnnxPad::Reflect => {
            if let Some(a) = (0..rank).find(|&a| pairs[a].0.max(pairs[a].1) >= s[a].max(1)) {
                return Err(bad(format!("reflect padding {:?} on axis {a} needs a dimension larger than the pad, found {}", pairs[a], s[a])));
            }
            burn::tensor::ops::PadMode::Reflect
        }
        OnnxPad::Edge => {
            if let Some(a) = (0..rank).find(|&a| s[a] == 0 && pairs[a] != (0, 0)) {
                return Err(bad(format!("edge padding of the empty axis {a}")));
            }
            burn::tensor::ops::PadMode::Edge
        }
    };
    let new: Vec<usize> = s.iter().zip(&pairs).map(|(d, (b, e))| d + b + e).collect();
    if crate::limits::product(&new).is_none_or(|n| n > crate::limits::MAX_VALUES) {
        return Err(bad(format!("padding {s:?} to {new:?} is larger than privaudit handles")));
    }
    let (t, _) = fl(x)?;
    let t = if pairs.iter().all(|&p| p == (0, 0)) { t } else { t.pad(pairs.as_slice(), mode) };
    Ok(Value::F { t, rank })
}

/// ONNX Slice with positive steps: on a small integer tensor (a shape) or a float tensor.
fn slice_node(c: &onnx_ir::slice::SliceConfig, x: Value, need: &dyn Fn(usize) -> Result<Value>, bad: Bad<'_>, fl: Fl<'_>) -> Result<Value> {
    use onnx_ir::slice::SliceInput;
    let read = |si: &SliceInput| -> Result<Vec<i64>> {
        match si {
            SliceInput::Static(v) => Ok(v.clone()),
            SliceInput::Runtime(r) => ints(need(r.input_index)?, bad),
        }
    };
    let s = x.shape();
    let rank = s.len();
    let (starts, ends) = (read(&c.starts)?, read(&c.ends)?);
    let axes: Vec<i64> = match &c.axes {
        Some(a) => read(a)?,
        None => (0..starts.len() as i64).collect(),
    };
    let steps: Vec<i64> = match &c.steps {
        Some(a) => read(a)?,
        None => vec![1; starts.len()],
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return Err(bad(format!("starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} differ in length")));
    }
    // Per axis: (start, end, step) clamped as ONNX does for a positive step.
    let mut ranges: Vec<(usize, usize, usize)> = s.iter().map(|&d| (0, d, 1)).collect();
    for k in 0..starts.len() {
        let a = norm_axis(axes[k], rank).ok_or_else(|| bad(format!("axis {} is out of range for shape {s:?}", axes[k])))?;
        let step = usize::try_from(steps[k]).ok().filter(|&st| st >= 1).ok_or_else(|| bad(format!("step {}: only positive steps are supported", steps[k])))?;
        let d = i64::try_from(s[a]).unwrap_or(i64::MAX);
        let clamp = |v: i64| (if v < 0 { v.saturating_add(d) } else { v }).clamp(0, d) as usize;
        let (b, e) = (clamp(starts[k]), clamp(ends[k]));
        ranges[a] = (b, e.max(b), step);
    }
    let new: Vec<usize> = ranges.iter().map(|&(b, e, st)| (e - b).div_ceil(st)).collect();
    match x {
        Value::I { v, .. } => {
            if rank != 1 {
                return Err(bad(format!("integer tensors are sliced only in 1-D, found {s:?}")));
            }
            let (b, e, st) = ranges[0];
            let out: Vec<i64> = v.get(b..e).ok_or_else(|| bad("internal: shape and values differ".into()))?.iter().step_by(st).copied().collect();
            Ok(Value::I { v: out, shape: new })
        }
        v @ Value::F { .. } => {
            if new.contains(&0) {
                return Err(bad(format!("the slice of {s:?} is empty")));
            }
            let (t, _) = fl(v)?;
            let mut sl: Vec<burn::tensor::Slice> = vec![burn::tensor::Slice::new(0, None, 1); 4 - rank];
            sl.extend(ranges.iter().map(|&(b, e, st)| burn::tensor::Slice::new(b as isize, Some(e as isize), st as isize)));
            let sl: [burn::tensor::Slice; 4] = sl.try_into().map_err(|_| bad("internal: slice rank".into()))?;
            Ok(Value::F { t: t.slice(sl), rank })
        }
    }
}

/// ONNX MatMul (numpy semantics): rank-1 operands are promoted and the added axis removed.
fn matmul(file: &str, node: &str, a: Value, b: Value, device: &Device) -> Result<Value> {
    let (sa, sb) = (a.shape(), b.shape());
    let bad = |m: String| AuditError::model(file, format!("node '{node}' (MatMul): {m}"));
    if sa.is_empty() || sb.is_empty() {
        return Err(bad("operands must be at least 1-D".into()));
    }
    let ka = *sa.last().unwrap_or(&0);
    let kb = if sb.len() == 1 { sb[0] } else { sb[sb.len() - 2] };
    if ka != kb {
        return Err(bad(format!("inner dimensions differ: {sa:?} × {sb:?}")));
    }
    let batch = |s: &[usize]| s[..s.len().saturating_sub(2)].to_vec();
    if broadcast(&batch(&sa), &batch(&sb)).is_none() {
        return Err(bad(format!("batch dimensions do not broadcast: {sa:?} × {sb:?}")));
    }
    let (ta, ra) = a.float(file, node, device)?;
    let (tb, rb) = b.float(file, node, device)?;
    // Rank-1 b: a column vector; rank-1 a: a row vector. Both already sit in the last axes.
    let tb = if rb == 1 { tb.swap_dims(2, 3) } else { tb };
    let y = ta.matmul(tb);
    let mut shape: Vec<usize> = y.dims()[4 - ra.max(rb).max(2)..].to_vec();
    if rb == 1 {
        shape.pop();
    }
    if ra == 1 {
        let l = shape.len();
        shape.remove(l - 1 - usize::from(rb != 1));
    }
    let rank = shape.len();
    Ok(Value::F { t: y.reshape(pad4(&shape)), rank })
}

/// The numpy broadcast of two shapes (right-aligned), or `None` when they do not broadcast.
pub(crate) fn broadcast(sa: &[usize], sb: &[usize]) -> Option<Vec<usize>> {
    let rank = sa.len().max(sb.len());
    (0..rank)
        .map(|k| {
            let da = if k + sa.len() >= rank { sa[k + sa.len() - rank] } else { 1 };
            let db = if k + sb.len() >= rank { sb[k + sb.len() - rank] } else { 1 };
            (da == db || da == 1 || db == 1).then_some(da.max(db))
        })
        .collect()
}

/// ONNX Reshape's target shape: 0 copies the input dimension, −1 is inferred.
fn reshape_dims(input: &[usize], spec: &[i64]) -> std::result::Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (k, &d) in spec.iter().enumerate() {
        match d {
            0 => out.push(*input.get(k).ok_or_else(|| format!("shape {spec:?}: 0 at axis {k} but the input has rank {}", input.len()))?),
            -1 if infer.is_none() => {
                infer = Some(k);
                out.push(1);
            }
            d if d > 0 => out.push(usize::try_from(d).map_err(|_| format!("invalid target shape {spec:?}"))?),
            _ => return Err(format!("invalid target shape {spec:?}")),
        }
    }
    let known = crate::limits::product(&out).ok_or_else(|| format!("target shape {spec:?} overflows"))?;
    if let Some(k) = infer {
        if known == 0 || total % known != 0 {
            return Err(format!("cannot reshape {input:?} to {spec:?}"));
        }
        out[k] = total / known;
    } else if known != total {
        return Err(format!("cannot reshape {input:?} ({total} values) to {spec:?}"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Chain, Step, StepKind, broadcast, conv_chains, reshape_dims};

    /// A Conv takes in the Relus and BatchNormalizations right after it, then at most one
    /// MaxPool over as many axes, each reading only the value before it, which nothing else
    /// reads and which is not the graph's output; while training only the leading Relus.
    #[test]
    fn conv_chain_rules() {
        let step = |kind, inputs: &[&'static str], outputs: &[&'static str]| Step { kind, inputs: inputs.to_vec(), outputs: outputs.to_vec() };
        use StepKind::{BatchNorm, Conv, MaxPool, Other, Relu};
        let chain = |nodes, training| Chain { nodes, training };
        let steps = [
            // 0: Conv, Relu, BatchNormalization, MaxPool, then a Relu after the pool: not taken.
            step(Conv(2), &["x", "w"], &["a"]),
            step(Relu, &["a"], &["b"]),
            step(BatchNorm, &["b", "s", "t", "m", "v"], &["c"]),
            step(MaxPool(2), &["c"], &["d"]),
            step(Relu, &["d"], &["e"]),
            // 5: read twice (the Relu and a residual Add): nothing taken.
            step(Conv(2), &["e", "w"], &["f"]),
            step(Relu, &["f"], &["g"]),
            step(Other, &["f", "g"], &["h"]),
            // 8: a Relu that is not right after its Conv: nothing taken.
            step(Conv(2), &["h", "w"], &["i"]),
            step(Other, &["h"], &["j"]),
            step(Relu, &["i"], &["k"]),
            // 11: the Relu of another value: nothing taken.
            step(Conv(2), &["k", "w"], &["l"]),
            step(Relu, &["k"], &["m2"]),
            step(Other, &["l", "m2"], &["n"]),
            // 14: BatchNormalization then Relu, the Relu's output read twice: both taken (only
            // the taken chain's last output may have other readers); not while training.
            step(Conv(1), &["n", "w"], &["o"]),
            step(BatchNorm, &["o", "s", "t", "m", "v"], &["p"]),
            step(Relu, &["p"], &["q"]),
            // 17: a 1-D Conv before a 2-D MaxPool: not taken; nor a pooled value as BN's
            // parameter rather than its input.
            step(Conv(1), &["q", "q"], &["r"]),
            step(MaxPool(2), &["r"], &["s2"]),
            step(Conv(2), &["s2", "w"], &["t2"]),
            step(BatchNorm, &["x", "t2", "t", "m", "v"], &["u"]),
            // 21: the Relu's output is the graph's output: the Relu is taken, nothing after it.
            step(Conv(2), &["u", "w"], &["v2"]),
            step(Relu, &["v2"], &["out"]),
            step(MaxPool(2), &["out"], &["y"]),
            // 24: the Conv's output is the graph's output.
            step(Conv(2), &["y", "w"], &["out2"]),
            step(Relu, &["out2"], &["z"]),
        ];
        let chains = conv_chains(&steps, "out");
        let mut expected = vec![Chain::default(); steps.len()];
        expected[0] = chain(3, 1);
        expected[14] = chain(2, 0);
        expected[21] = chain(1, 1);
        expected[24] = chain(1, 1);
        assert_eq!(chains, expected);
        assert_eq!(conv_chains(&steps[24..], "out2"), [Chain::default(); 2], "the Conv's output is the graph's");
        assert_eq!(conv_chains(&steps[..2], "b"), [chain(1, 1), Chain::default()], "the Relu's output may be the graph's");
        assert_eq!(conv_chains(&[], "out"), Vec::<Chain>::new());
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast(&[4, 3], &[3]), Some(vec![4, 3]));
        assert_eq!(broadcast(&[4, 1], &[1, 5]), Some(vec![4, 5]));
        assert_eq!(broadcast(&[], &[2, 2]), Some(vec![2, 2]));
        assert_eq!(broadcast(&[4, 3], &[4]), None);
    }

    #[test]
    fn reshape_rules() {
        assert_eq!(reshape_dims(&[4, 2, 3], &[0, -1]).unwrap(), vec![4, 6]);
        assert_eq!(reshape_dims(&[4, 6], &[-1, 2, 3]).unwrap(), vec![4, 2, 3]);
        assert!(reshape_dims(&[4, 6], &[5, -1]).is_err());
        assert!(reshape_dims(&[4, 6], &[-1, -1]).is_err());
        assert!(reshape_dims(&[4, 6], &[7]).is_err());
        assert!(reshape_dims(&[4, 6], &[i64::MAX, i64::MAX, -1]).is_err());
    }
}
