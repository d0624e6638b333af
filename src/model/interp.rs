//! The graph interpreter: ONNX nodes → burn tensor operations.
//!
//! Float values are kept as rank-4 tensors left-padded with 1s, plus their logical rank. ONNX
//! broadcasting is numpy's (right-aligned), so left-padding makes burn's same-rank broadcasting
//! give exactly ONNX's result, and one code path serves ranks 0–4.

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

/// The operator's name: onnx-ir's for the ops it knows, the file's own for a custom one.
fn op_name(node: &Node) -> String {
    match node {
        Node::Custom(c) if c.domain.is_empty() => c.op_type.clone(),
        Node::Custom(c) => format!("{}.{}", c.domain, c.op_type),
        _ => node.node_type().to_string(),
    }
}

/// Reject, before any work, a node the interpreter cannot run.
pub(crate) fn check_supported(file: &str, node: &Node) -> Result<()> {
    let unsupported = |detail: &str| Err(AuditError::UnsupportedOp { file: file.into(), node: node.name().into(), op: op_name(node), detail: detail.into() });
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

/// The largest per-record activation width, to size batches.
pub(crate) fn widest_activation(graph: &OnnxGraph) -> usize {
    graph
        .nodes
        .iter()
        .flat_map(|n| n.outputs())
        .filter_map(|o| o.ty.static_shape().map(|s| s.iter().skip(1).map(|d| d.unwrap_or(1)).product::<usize>()))
        .max()
        .unwrap_or(1)
}

/// Run the graph on one batch and return the value named `output`.
pub(crate) fn run(file: &str, graph: &OnnxGraph, consts: &Consts, input: &str, x: Value, output: &str, training: Training<'_>) -> Result<Value> {
    let device = match &x {
        Value::F { t, .. } => t.device(),
        Value::I { .. } => return Err(AuditError::model(file, "internal: integer model input")),
    };
    let mut env: Env = HashMap::new();
    env.insert(input.to_string(), x);
    for (idx, node) in graph.nodes.iter().enumerate() {
        if let Some(v) = env.get(output) {
            return Ok(v.clone());
        }
        if matches!(node, Node::Constant(_)) {
            continue;
        }
        let get = |i: usize| -> Result<Option<Value>> {
            if let Some(v) = consts.get(&(idx, i)) {
                return Ok(Some(v.clone()));
            }
            match node.inputs().get(i) {
                None => Ok(None),
                Some(a) if a.is_optional() || a.name.is_empty() => Ok(None),
                Some(a) => env
                    .get(&a.name)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| AuditError::model(file, format!("node '{}': input '{}' has no value", node.name(), a.name))),
            }
        };
        let need = |i: usize| -> Result<Value> {
            get(i)?.ok_or_else(|| AuditError::model(file, format!("node '{}' ({}) is missing input {i}", node.name(), op_name(node))))
        };
        let y = eval(file, node, &need, &get, &device, training.map(|t| (t, idx)))?;
        if let Some(out) = node.outputs().first() {
            env.insert(out.name.clone(), y);
        }
    }
    env.remove(output).ok_or_else(|| AuditError::model(file, format!("the graph never computes its output '{output}'")))
}

fn eval(
    file: &str,
    node: &Node,
    need: &dyn Fn(usize) -> Result<Value>,
    get: &dyn Fn(usize) -> Result<Option<Value>>,
    device: &Device,
    training: Option<(&std::cell::RefCell<Vec<BnStats>>, usize)>,
) -> Result<Value> {
    let name = node.name();
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
            let eps = match &n.config {
                BatchNormConfig::Static(c) => c.epsilon,
                BatchNormConfig::Runtime(c) => c.epsilon,
            };
            let x = need(0)?;
            let xs = x.shape();
            if xs.len() < 2 {
                return Err(bad(format!("input must be at least 2-D, found {xs:?}")));
            }
            let (xt, rank) = fl(x)?;
            let c = xs[1];
            // Per-channel parameters, shaped [C, 1, …] so they broadcast over axis 1.
            let mut pshape = vec![c];
            pshape.extend(std::iter::repeat_n(1, rank - 2));
            let param = |i: usize| -> Result<Tensor<4>> {
                let (t, _) = fl(need(i)?)?;
                if t.dims().iter().product::<usize>() != c {
                    return Err(bad(format!("parameter {i} must have {c} values")));
                }
                Ok(t.reshape(pad4(&pshape)))
            };
            let (scale, bias) = (param(1)?, param(2)?);
            let (mean, var) = match training {
                None => (param(3)?, param(4)?),
                // Training: statistics over the batch and every axis but the channel's, as
                // torch's BatchNorm in train mode; normalised with the biased variance, the
                // running average takes the unbiased one.
                Some((stats, idx)) => {
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
                    (mean, var)
                }
            };
            let y = xt.sub(mean).div(var.add_scalar(eps).sqrt()).mul(scale).add(bias);
            Ok(Value::F { t: y, rank })
        }
        other => Err(AuditError::UnsupportedOp {
            file: file.into(),
            node: name.into(),
            op: op_name(other),
            detail: format!("supported operators: {}", supported_ops().join(", ")),
        }),
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
fn broadcast(sa: &[usize], sb: &[usize]) -> Option<Vec<usize>> {
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
    use super::{broadcast, reshape_dims};

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
