//! The operators of tabular pipelines, evaluated on the CPU with onnxruntime's semantics: f32
//! arithmetic for float tensors (as its CPU kernels compute them; a double-typed pipeline is
//! computed in f32 too, where onnxruntime would use f64: one code path, a smaller wasm), the `ai.onnx.ml` operators
//! scikit-learn exports (skl2onnx, onnxmltools), and the standard operators these graphs use.
//! Checked against onnxruntime 1.32's kernels in `tests/pipelines.rs`.

use super::graph::{self, HostNode};
use super::trees::TreeEnsemble;
use super::value::{Data, Tensor};
use crate::error::{AuditError, Result};

/// The operators a pipeline may contain (`domain.op`, default domain bare).
pub const PIPELINE_OPS: &[&str] = &[
    "ai.onnx.ml.Scaler",
    "ai.onnx.ml.Normalizer",
    "ai.onnx.ml.Imputer",
    "ai.onnx.ml.OneHotEncoder",
    "ai.onnx.ml.LabelEncoder",
    "ai.onnx.ml.ArrayFeatureExtractor",
    "ai.onnx.ml.Binarizer",
    "ai.onnx.ml.FeatureVectorizer",
    "ai.onnx.ml.LinearClassifier",
    "ai.onnx.ml.TreeEnsembleClassifier",
    "ai.onnx.ml.ZipMap",
    "Cast",
    "Concat",
    "Sigmoid",
    "Softmax",
    "Relu",
    "Tanh",
    "Identity",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "MatMul",
    "Gemm",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
];

pub(crate) type Bad<'a> = &'a dyn Fn(String) -> AuditError;

fn floats(t: &Tensor, what: &str, bad: Bad<'_>) -> Result<Vec<f32>> {
    t.data.as_f32().ok_or_else(|| bad(format!("{what} must be numeric, found strings")))
}

/// For every element of `out`, the index into a tensor of shape `s` that broadcasts to it.
fn broadcast_index(s: &[usize], out: &[usize]) -> Vec<usize> {
    let r = out.len();
    let total: usize = out.iter().product();
    let mut strides = vec![0usize; r];
    let mut acc = 1;
    for k in (0..s.len()).rev() {
        let o = k + r - s.len();
        strides[o] = if s[k] == 1 { 0 } else { acc };
        acc *= s[k];
    }
    let mut idx = vec![0usize; total];
    let mut pos = vec![0usize; r];
    for slot in idx.iter_mut() {
        *slot = pos.iter().zip(&strides).map(|(p, st)| p * st).sum();
        for k in (0..r).rev() {
            pos[k] += 1;
            if pos[k] < out[k] {
                break;
            }
            pos[k] = 0;
        }
    }
    idx
}

fn elementwise(a: &Tensor, b: &Tensor, op: &str, bad: Bad<'_>) -> Result<Tensor> {
    let shape = crate::model::interp::broadcast(&a.shape, &b.shape).ok_or_else(|| bad(format!("cannot broadcast shapes {:?} and {:?}", a.shape, b.shape)))?;
    if crate::limits::product(&shape).is_none_or(|n| n > crate::limits::MAX_VALUES) {
        return Err(bad(format!("a result of shape {shape:?} is larger than privaudit handles")));
    }
    let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
    let data = match (&a.data, &b.data) {
        (Data::I64(x), Data::I64(y)) => Data::I64(
            ia.iter()
                .zip(&ib)
                .map(|(&i, &j)| match op {
                    "Add" => Some(x[i].wrapping_add(y[j])),
                    "Sub" => Some(x[i].wrapping_sub(y[j])),
                    "Mul" => Some(x[i].wrapping_mul(y[j])),
                    _ => x[i].checked_div(y[j]),
                })
                .collect::<Option<Vec<i64>>>()
                .ok_or_else(|| bad("integer division by zero".into()))?,
        ),
        // Float and double operands are computed in f32 (doubles are rounded first).
        (x @ (Data::F32(_) | Data::F64(_)), y @ (Data::F32(_) | Data::F64(_))) => {
            let (x, y) = (x.as_f32().unwrap_or_default(), y.as_f32().unwrap_or_default());
            Data::F32(ia.iter().zip(&ib).map(|(&i, &j)| arith(x[i], y[j], op)).collect())
        }
        (x, y) => return Err(bad(format!("operands of types {} and {} (ONNX requires one type)", x.kind(), y.kind()))),
    };
    Ok(Tensor { data, shape })
}

fn arith(x: f32, y: f32, op: &str) -> f32 {
    match op {
        "Add" => x + y,
        "Sub" => x - y,
        "Mul" => x * y,
        _ => x / y,
    }
}

/// `f` on every value of a float tensor (a double one is rounded to f32 first).
fn map_float(t: Tensor, f: impl Fn(f32) -> f32, bad: Bad<'_>) -> Result<Tensor> {
    let data = match t.data {
        Data::F32(v) => Data::F32(v.into_iter().map(f).collect()),
        Data::F64(v) => Data::F32(v.into_iter().map(|x| f(x as f32)).collect()),
        other => return Err(bad(format!("expects a float tensor, found {}", other.kind()))),
    };
    Ok(Tensor { data, shape: t.shape })
}

fn sigmoid32(x: f32) -> f32 {
    // onnxruntime's form: stable for both signs.
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Softmax over the last axis of each row, in f32 (max subtracted first).
fn softmax_rows(v: &mut [f32], width: usize) {
    for row in v.chunks_mut(width.max(1)) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut s = 0.0f32;
        for x in row.iter_mut() {
            *x = (*x - m).exp();
            s += *x;
        }
        for x in row.iter_mut() {
            *x /= s;
        }
    }
}

fn axis(a: i64, rank: usize, bad: Bad<'_>) -> Result<usize> {
    let r = rank as i64;
    let k = if a < 0 { a + r } else { a };
    usize::try_from(k).ok().filter(|&k| k < rank).ok_or_else(|| bad(format!("axis {a} is outside a tensor of rank {rank}")))
}

fn ints_input(t: &Tensor, what: &str, bad: Bad<'_>) -> Result<Vec<i64>> {
    match &t.data {
        Data::I64(v) => Ok(v.clone()),
        other => Err(bad(format!("{what} must be an integer tensor, found {}", other.kind()))),
    }
}

fn reshape(t: Tensor, spec: &[i64], bad: Bad<'_>) -> Result<Tensor> {
    let total = t.data.len();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (k, &d) in spec.iter().enumerate() {
        match d {
            0 => out.push(*t.shape.get(k).ok_or_else(|| bad(format!("shape {spec:?}: 0 at axis {k} but the input has rank {}", t.shape.len())))?),
            -1 if infer.is_none() => {
                infer = Some(k);
                out.push(1);
            }
            d if d > 0 => out.push(usize::try_from(d).map_err(|_| bad(format!("invalid target shape {spec:?}")))?),
            _ => return Err(bad(format!("invalid target shape {spec:?}"))),
        }
    }
    let known = crate::limits::product(&out).ok_or_else(|| bad(format!("target shape {spec:?} overflows")))?;
    if let Some(k) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(bad(format!("cannot reshape {:?} to {spec:?}", t.shape)));
        }
        out[k] = total / known;
    } else if known != total {
        return Err(bad(format!("cannot reshape {:?} ({total} values) to {spec:?}", t.shape)));
    }
    Ok(Tensor { data: t.data, shape: out })
}

fn concat(inputs: Vec<Tensor>, a: i64, bad: Bad<'_>) -> Result<Tensor> {
    let Some(first) = inputs.first() else { return Err(bad("no inputs".into())) };
    let rank = first.shape.len();
    let ax = axis(a, rank, bad)?;
    for t in &inputs {
        if t.shape.len() != rank || (0..rank).any(|k| k != ax && t.shape[k] != first.shape[k]) || t.data.kind() != first.data.kind() {
            return Err(bad(format!(
                "inputs of shapes {:?} and types {:?} do not concatenate along axis {a}",
                inputs.iter().map(|t| t.shape.clone()).collect::<Vec<_>>(),
                inputs.iter().map(|t| t.data.kind()).collect::<Vec<_>>()
            )));
        }
    }
    let outer: usize = first.shape[..ax].iter().product();
    let inner: usize = first.shape[ax + 1..].iter().product();
    let mut shape = first.shape.clone();
    shape[ax] = inputs.iter().map(|t| t.shape[ax]).sum();
    // Gather indices into the inputs laid end to end.
    let mut offsets = Vec::with_capacity(inputs.len());
    let mut acc = 0;
    for t in &inputs {
        offsets.push(acc);
        acc += t.data.len();
    }
    let mut idx = Vec::with_capacity(acc);
    for o in 0..outer {
        for (t, off) in inputs.iter().zip(&offsets) {
            let slab = t.shape[ax] * inner;
            idx.extend(off + o * slab..off + (o + 1) * slab);
        }
    }
    let data = match &first.data {
        Data::F32(_) => Data::F32(inputs.iter().flat_map(|t| if let Data::F32(v) = &t.data { v.clone() } else { Vec::new() }).collect()),
        Data::F64(_) => Data::F64(inputs.iter().flat_map(|t| if let Data::F64(v) = &t.data { v.clone() } else { Vec::new() }).collect()),
        Data::I64(_) => Data::I64(inputs.iter().flat_map(|t| if let Data::I64(v) = &t.data { v.clone() } else { Vec::new() }).collect()),
        Data::Str(_) => Data::Str(inputs.iter().flat_map(|t| if let Data::Str(v) = &t.data { v.clone() } else { Vec::new() }).collect()),
    };
    Ok(Tensor { data: data.take(&idx), shape })
}

/// A[M,K]·B[K,N] in f32 (doubles rounded first), A's leading axes as rows.
fn matmul(a: &Tensor, b: &Tensor, trans_b: bool, bad: Bad<'_>) -> Result<Tensor> {
    if b.shape.len() != 2 || a.shape.is_empty() {
        return Err(bad(format!("operands of shapes {:?} × {:?}: a 2-D right operand is supported", a.shape, b.shape)));
    }
    let (k, n) = if trans_b { (b.shape[1], b.shape[0]) } else { (b.shape[0], b.shape[1]) };
    let (m, ka) = a.matrix_dims();
    if ka != k {
        return Err(bad(format!("inner dimensions differ: {:?} × {:?}", a.shape, b.shape)));
    }
    let mut shape = a.shape.clone();
    *shape.last_mut().unwrap_or(&mut 0) = n;
    if crate::limits::product(&shape).is_none_or(|v| v > crate::limits::MAX_VALUES) {
        return Err(bad(format!("a product of shape {shape:?} is larger than privaudit handles")));
    }
    let bi = |kk: usize, j: usize| if trans_b { j * k + kk } else { kk * n + j };
    let (x, y) = (floats(a, "the left operand", bad)?, floats(b, "the right operand", bad)?);
    let mut out = vec![0f32; m * n];
    for r in 0..m {
        for j in 0..n {
            let mut s = 0f32;
            for kk in 0..k {
                s += x[r * k + kk] * y[bi(kk, j)];
            }
            out[r * n + j] = s;
        }
    }
    let data = Data::F32(out);
    Ok(Tensor { data, shape })
}

/// Per-row post-transform of classifier scores (ai.onnx.ml's `post_transform`).
pub(crate) fn post_transform(scores: &mut [f32], width: usize, how: &str, bad: Bad<'_>) -> Result<()> {
    match how {
        "NONE" => {}
        "LOGISTIC" => scores.iter_mut().for_each(|s| *s = sigmoid32(*s)),
        "SOFTMAX" => softmax_rows(scores, width),
        "SOFTMAX_ZERO" => {
            for row in scores.chunks_mut(width.max(1)) {
                let m = row.iter().copied().filter(|&x| x != 0.0).fold(f32::NEG_INFINITY, f32::max);
                let mut s = 0.0;
                for x in row.iter_mut() {
                    *x = if *x == 0.0 { 0.0 } else { (*x - m).exp() };
                    s += *x;
                }
                if s > 0.0 {
                    row.iter_mut().for_each(|x| *x /= s);
                }
            }
        }
        other => return Err(bad(format!("post_transform '{}' is not supported (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO are)", crate::limits::quote(other)))),
    }
    Ok(())
}

/// Class labels of a classifier node: `classlabels_ints`/`classlabels_int64s` or `…_strings`.
pub(crate) fn class_labels(node: &HostNode) -> Option<Data> {
    if let Some(v) = node.ints("classlabels_ints").or_else(|| node.ints("classlabels_int64s")) {
        return Some(Data::I64(v.to_vec()));
    }
    node.strings("classlabels_strings").map(|v| Data::Str(v.to_vec()))
}

/// A classifier's `label` output, which privaudit never computes: it reads scores, and an
/// output holding labels is refused. An empty tensor, so that any use of it is a shape error.
fn no_labels() -> Tensor {
    Tensor { data: Data::I64(Vec::new()), shape: vec![0] }
}

/// The LinearClassifier's raw scores `X·Wᵀ + b` (`rows × targets`), its number of targets, and
/// its classes.
pub(crate) fn linear_scores(node: &HostNode, x: &Tensor, bad: Bad<'_>) -> Result<(Vec<f32>, usize)> {
    let coef = node.floats("coefficients").ok_or_else(|| bad("no coefficients".into()))?;
    let (rows, d) = x.matrix_dims();
    if d == 0 || coef.len() % d != 0 {
        return Err(bad(format!("{} coefficients do not divide into rows of the input's {d} features", coef.len())));
    }
    let targets = coef.len() / d;
    let intercepts = node.floats("intercepts").unwrap_or_default();
    if !intercepts.is_empty() && intercepts.len() != targets {
        return Err(bad(format!("{} intercepts for {targets} coefficient rows", intercepts.len())));
    }
    let xv = floats(x, "the input", bad)?;
    let mut out = vec![0f32; rows * targets];
    for r in 0..rows {
        for t in 0..targets {
            let mut s = 0f32;
            for k in 0..d {
                s += xv[r * d + k] * coef[t * d + k];
            }
            out[r * targets + t] = s + intercepts.get(t).copied().unwrap_or(0.0);
        }
    }
    Ok((out, targets))
}

/// Evaluate one node on its inputs (`None` for an omitted optional input). Classifiers return
/// a third value after `label` and `scores`: the raw scores before `post_transform`.
pub(crate) fn eval(node: &HostNode, mut inputs: Vec<Option<Tensor>>, opset: i64, bad: Bad<'_>) -> Result<Vec<Tensor>> {
    let mut take = |i: usize| -> Result<Tensor> { inputs.get_mut(i).and_then(Option::take).ok_or_else(|| bad(format!("input {i} is missing"))) };
    let one = |t: Tensor| Ok(vec![t]);
    match node.op_name().as_str() {
        "Identity" => one(take(0)?),
        "Cast" => {
            let t = take(0)?;
            let to = node.int("to", 0) as u64;
            let data = match (t.data, to) {
                (Data::Str(_), _) | (_, graph::STRING) => return Err(bad("casts from or to strings are not supported".into())),
                (d, graph::FLOAT) => Data::F32(d.as_f32().unwrap_or_default()),
                (Data::F32(v), graph::DOUBLE) => Data::F64(v.into_iter().map(f64::from).collect()),
                (Data::I64(v), graph::DOUBLE) => Data::F64(v.into_iter().map(|x| x as f64).collect()),
                (d @ Data::F64(_), graph::DOUBLE) => d,
                (Data::F32(v), graph::INT64 | graph::INT32 | graph::BOOL) => {
                    Data::I64(v.into_iter().map(|x| if to == graph::BOOL { i64::from(x != 0.0) } else { x as i64 }).collect())
                }
                (Data::F64(v), graph::INT64 | graph::INT32 | graph::BOOL) => {
                    Data::I64(v.into_iter().map(|x| if to == graph::BOOL { i64::from(x != 0.0) } else { x as i64 }).collect())
                }
                (Data::I64(v), graph::INT64 | graph::INT32 | graph::BOOL) => {
                    Data::I64(v.into_iter().map(|x| if to == graph::BOOL { i64::from(x != 0) } else { x }).collect())
                }
                (_, other) => return Err(bad(format!("cast to element type {other} is not supported"))),
            };
            one(Tensor { data, shape: t.shape })
        }
        "Relu" => one(map_float(take(0)?, |x| x.max(0.0), bad)?),
        "Tanh" => one(map_float(take(0)?, f32::tanh, bad)?),
        "Sigmoid" => one(map_float(take(0)?, sigmoid32, bad)?),
        "Softmax" => {
            let t = take(0)?;
            let rank = t.shape.len();
            let default = if opset >= 13 { -1 } else { 1 };
            let ax = axis(node.int("axis", default), rank, bad)?;
            if ax + 1 != rank && !(opset < 13 && t.shape[ax + 1..].iter().all(|&d| d == 1)) {
                return Err(bad(format!("softmax over axis {ax} of a rank-{rank} tensor: only the last axis is supported")));
            }
            let mut v = floats(&t, "the input", bad)?;
            softmax_rows(&mut v, t.shape[ax]);
            one(Tensor::f32(v, t.shape))
        }
        op @ ("Add" | "Sub" | "Mul" | "Div") => {
            let (a, b) = (take(0)?, take(1)?);
            one(elementwise(&a, &b, op, bad)?)
        }
        "MatMul" => {
            let (a, b) = (take(0)?, take(1)?);
            one(matmul(&a, &b, false, bad)?)
        }
        "Gemm" => {
            let (mut a, b) = (take(0)?, take(1)?);
            if node.int("transA", 0) != 0 {
                if a.shape.len() != 2 {
                    return Err(bad("transA needs a 2-D input".into()));
                }
                let (r, c) = (a.shape[0], a.shape[1]);
                let idx: Vec<usize> = (0..c).flat_map(|j| (0..r).map(move |i| i * c + j)).collect();
                a = Tensor { data: a.data.take(&idx), shape: vec![c, r] };
            }
            let mut y = matmul(&a, &b, node.int("transB", 0) != 0, bad)?;
            let alpha = node.float("alpha", 1.0);
            if alpha != 1.0 {
                y = map_float(y, |v| v * alpha, bad)?;
            }
            if let Some(Some(c)) = inputs.get_mut(2).map(Option::take) {
                let beta = node.float("beta", 1.0);
                let c = if beta != 1.0 { map_float(c, |v| v * beta, bad)? } else { c };
                y = elementwise(&y, &c, "Add", bad)?;
            }
            one(y)
        }
        "Reshape" => {
            let (t, s) = (take(0)?, take(1)?);
            let spec = ints_input(&s, "the target shape", bad)?;
            one(reshape(t, &spec, bad)?)
        }
        "Flatten" => {
            let t = take(0)?;
            let ax = usize::try_from(node.int("axis", 1)).map_err(|_| bad("negative axis".into()))?.min(t.shape.len());
            let (a, b) = (t.shape[..ax].iter().product::<usize>(), t.shape[ax..].iter().product::<usize>());
            one(Tensor { data: t.data, shape: vec![a, b] })
        }
        "Squeeze" | "Unsqueeze" => {
            let t = take(0)?;
            let axes: Vec<i64> = match (node.ints("axes"), inputs.get_mut(1).and_then(Option::take)) {
                (Some(a), _) => a.to_vec(),
                (None, Some(a)) => ints_input(&a, "axes", bad)?,
                (None, None) => Vec::new(),
            };
            let mut shape = t.shape.clone();
            if node.op == "Squeeze" {
                let rank = shape.len();
                let mut drop: Vec<usize> = if axes.is_empty() {
                    (0..rank).filter(|&k| shape[k] == 1).collect()
                } else {
                    axes.iter().map(|&a| axis(a, rank, bad)).collect::<Result<_>>()?
                };
                drop.sort_unstable();
                drop.dedup();
                for &k in drop.iter().rev() {
                    if shape[k] != 1 {
                        return Err(bad(format!("cannot squeeze axis {k} of shape {:?}", t.shape)));
                    }
                    shape.remove(k);
                }
            } else {
                let rank = shape.len() + axes.len();
                let mut ks: Vec<usize> = axes.iter().map(|&a| axis(a, rank, bad)).collect::<Result<_>>()?;
                ks.sort_unstable();
                for k in ks {
                    shape.insert(k.min(shape.len()), 1);
                }
            }
            one(Tensor { data: t.data, shape })
        }
        "Concat" => {
            let all: Vec<Tensor> = inputs.into_iter().flatten().collect();
            one(concat(all, node.int("axis", 0), bad)?)
        }
        "ai.onnx.ml.FeatureVectorizer" => {
            let all: Vec<Tensor> = inputs
                .into_iter()
                .flatten()
                .map(|t| {
                    let (r, w) = t.matrix_dims();
                    floats(&t, "an input", bad).map(|v| Tensor::f32(v, vec![r, w]))
                })
                .collect::<Result<_>>()?;
            one(concat(all, 1, bad)?)
        }
        "ai.onnx.ml.Scaler" => {
            let t = take(0)?;
            let (_, w) = t.matrix_dims();
            let v = floats(&t, "the input", bad)?;
            let offset = node.floats("offset").unwrap_or_else(|| vec![0.0]);
            let scale = node.floats("scale").unwrap_or_else(|| vec![1.0]);
            for (name, p) in [("offset", &offset), ("scale", &scale)] {
                if p.len() != 1 && p.len() != w {
                    return Err(bad(format!("{} {name} values for {w} columns (give 1 or one per column)", p.len())));
                }
            }
            let pick = |p: &[f32], i: usize| if p.len() == 1 { p[0] } else { p[i % w] };
            let out = v.iter().enumerate().map(|(i, &x)| (x - pick(&offset, i)) * pick(&scale, i)).collect();
            one(Tensor::f32(out, t.shape))
        }
        "ai.onnx.ml.Normalizer" => {
            let t = take(0)?;
            let (_, w) = t.matrix_dims();
            let mut v = floats(&t, "the input", bad)?;
            let how = node.string("norm").unwrap_or("MAX").to_string();
            for row in v.chunks_mut(w.max(1)) {
                let n = match how.as_str() {
                    "MAX" => row.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                    "L1" => row.iter().map(|x| x.abs()).sum(),
                    "L2" => row.iter().map(|x| x * x).sum::<f32>().sqrt(),
                    other => return Err(bad(format!("norm '{}': expected MAX, L1 or L2", crate::limits::quote(other)))),
                };
                row.iter_mut().for_each(|x| *x /= n);
            }
            one(Tensor::f32(v, t.shape))
        }
        "ai.onnx.ml.Imputer" => {
            let t = take(0)?;
            let (_, w) = t.matrix_dims();
            match t.data {
                Data::I64(v) => {
                    let imputed = node.ints("imputed_value_int64s").ok_or_else(|| bad("an int64 input needs imputed_value_int64s".into()))?.to_vec();
                    let replaced = node.int("replaced_value_int64", 0);
                    if imputed.len() != 1 && imputed.len() != w {
                        return Err(bad(format!("{} imputed values for {w} columns", imputed.len())));
                    }
                    let out = v.iter().enumerate().map(|(i, &x)| if x == replaced { imputed[if imputed.len() == 1 { 0 } else { i % w }] } else { x }).collect();
                    one(Tensor { data: Data::I64(out), shape: t.shape })
                }
                data => {
                    let v = floats(&Tensor { data, shape: vec![] }, "the input", bad)?;
                    let imputed = node.floats("imputed_value_floats").ok_or_else(|| bad("a float input needs imputed_value_floats".into()))?;
                    let replaced = node.float("replaced_value_float", 0.0);
                    if imputed.len() != 1 && imputed.len() != w {
                        return Err(bad(format!("{} imputed values for {w} columns", imputed.len())));
                    }
                    let hit = |x: f32| if replaced.is_nan() { x.is_nan() } else { x == replaced };
                    let out = v.iter().enumerate().map(|(i, &x)| if hit(x) { imputed[if imputed.len() == 1 { 0 } else { i % w }] } else { x }).collect();
                    one(Tensor::f32(out, t.shape))
                }
            }
        }
        "ai.onnx.ml.OneHotEncoder" => {
            let t = take(0)?;
            let zeros = node.int("zeros", 1) != 0;
            let (cats, found): (usize, Vec<Option<usize>>) = match &t.data {
                Data::Str(v) => {
                    let c = node.strings("cats_strings").ok_or_else(|| bad("a string input needs cats_strings".into()))?;
                    (c.len(), v.iter().map(|k| c.iter().position(|x| x == k)).collect())
                }
                d => {
                    let c = node.ints("cats_int64s").ok_or_else(|| bad("a numeric input needs cats_int64s".into()))?;
                    let keys: Vec<i64> = match d {
                        Data::I64(v) => v.clone(),
                        Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
                        Data::F64(v) => v.iter().map(|&x| x as i64).collect(),
                        Data::Str(_) => Vec::new(),
                    };
                    (c.len(), keys.iter().map(|k| c.iter().position(|x| x == k)).collect())
                }
            };
            let n = t.data.len();
            if n.checked_mul(cats).is_none_or(|v| v > crate::limits::MAX_VALUES) {
                return Err(bad(format!("{n} values × {cats} categories are more than privaudit handles")));
            }
            let mut out = vec![0f32; n * cats];
            for i in 0..n {
                match found[i] {
                    Some(c) => out[i * cats + c] = 1.0,
                    None if zeros => {}
                    None => return Err(bad(format!("value {} is not one of its categories (zeros = 0 makes that an error)", i + 1))),
                }
            }
            let mut shape = t.shape.clone();
            shape.push(cats);
            one(Tensor::f32(out, shape))
        }
        "ai.onnx.ml.LabelEncoder" => {
            let t = take(0)?;
            // ai.onnx.ml 1: classes_strings maps strings to their index and back.
            let (keys, values): (Data, Data) = if let Some(c) = node.strings("classes_strings") {
                match &t.data {
                    Data::Str(_) => (Data::Str(c.to_vec()), Data::I64((0..c.len() as i64).collect())),
                    _ => (Data::I64((0..c.len() as i64).collect()), Data::Str(c.to_vec())),
                }
            } else {
                let keys = node
                    .strings("keys_strings")
                    .map(|v| Data::Str(v.to_vec()))
                    .or_else(|| node.ints("keys_int64s").map(|v| Data::I64(v.to_vec())))
                    .or_else(|| node.floats("keys_floats").map(Data::F32))
                    .ok_or_else(|| bad("no keys_strings, keys_int64s or keys_floats".into()))?;
                let values = node
                    .strings("values_strings")
                    .map(|v| Data::Str(v.to_vec()))
                    .or_else(|| node.ints("values_int64s").map(|v| Data::I64(v.to_vec())))
                    .or_else(|| node.floats("values_floats").map(Data::F32))
                    .ok_or_else(|| bad("no values_strings, values_int64s or values_floats".into()))?;
                (keys, values)
            };
            if keys.len() != values.len() {
                return Err(bad(format!("{} keys for {} values", keys.len(), values.len())));
            }
            let key_of = |d: &Data, i: usize| -> String {
                match d {
                    Data::Str(v) => v[i].clone(),
                    Data::I64(v) => v[i].to_string(),
                    Data::F32(v) => v[i].to_bits().to_string(),
                    Data::F64(v) => (v[i] as f32).to_bits().to_string(),
                }
            };
            if keys.kind() != t.data.kind() && !(matches!(keys, Data::F32(_)) && matches!(t.data, Data::F64(_))) {
                return Err(bad(format!("keys are {} but the input is {}", keys.kind(), t.data.kind())));
            }
            let map: std::collections::HashMap<String, usize> = (0..keys.len()).map(|i| (key_of(&keys, i), i)).collect();
            let n = t.data.len();
            let found: Vec<Option<usize>> = (0..n).map(|i| map.get(&key_of(&t.data, i)).copied()).collect();
            let data = match values {
                Data::Str(v) => {
                    let d = node.string("default_string").unwrap_or("_Unused").to_string();
                    Data::Str(found.iter().map(|f| f.map_or_else(|| d.clone(), |i| v[i].clone())).collect())
                }
                Data::I64(v) => {
                    let d = node.int("default_int64", -1);
                    Data::I64(found.iter().map(|f| f.map_or(d, |i| v[i])).collect())
                }
                Data::F32(v) => {
                    let d = node.float("default_float", -0.0);
                    Data::F32(found.iter().map(|f| f.map_or(d, |i| v[i])).collect())
                }
                Data::F64(_) => return Err(bad("double values are not supported".into())),
            };
            one(Tensor { data, shape: t.shape })
        }
        "ai.onnx.ml.ArrayFeatureExtractor" => {
            let (x, y) = (take(0)?, take(1)?);
            let idx = ints_input(&y, "the indices", bad)?;
            let (rows, w) = x.matrix_dims();
            let idx: Vec<usize> = idx
                .iter()
                .map(|&i| usize::try_from(i).ok().filter(|&i| i < w).ok_or_else(|| bad(format!("index {i} is outside the last axis of {w} values"))))
                .collect::<Result<_>>()?;
            if rows.checked_mul(idx.len()).is_none_or(|v| v > crate::limits::MAX_VALUES) {
                return Err(bad("too many values selected".into()));
            }
            let all: Vec<usize> = (0..rows).flat_map(|r| idx.iter().map(move |&i| r * w + i)).collect();
            let mut shape = if x.shape.len() <= 1 { vec![1] } else { x.shape[..x.shape.len() - 1].to_vec() };
            shape.push(idx.len());
            one(Tensor { data: x.data.take(&all), shape })
        }
        "ai.onnx.ml.Binarizer" => {
            let t = take(0)?;
            let th = node.float("threshold", 0.0);
            one(map_float(t, |x| if x > th { 1.0 } else { 0.0 }, bad)?)
        }
        "ai.onnx.ml.LinearClassifier" => {
            let x = take(0)?;
            let (raw, targets) = linear_scores(node, &x, bad)?;
            let labels = class_labels(node).ok_or_else(|| bad("no classlabels_ints or classlabels_strings".into()))?;
            let how = node.string("post_transform").unwrap_or("NONE").to_string();
            let rows = raw.len() / targets.max(1);
            // One coefficient row of a two-class model: the positive class's score s; the
            // scores output is (1 − t, t) after a LOGISTIC transform t, else (−s, s).
            let (mut scores, width) = if targets == 1 && labels.len() == 2 {
                let mut t = raw.clone();
                post_transform(&mut t, 1, &how, bad)?;
                let pair: Vec<f32> = raw.iter().zip(&t).flat_map(|(&s, &p)| if how == "LOGISTIC" { [1.0 - p, p] } else { [-s, s] }).collect();
                (pair, 2)
            } else {
                let mut s = raw.clone();
                post_transform(&mut s, targets, &how, bad)?;
                (s, targets)
            };
            scores.truncate(rows * width);
            Ok(vec![no_labels(), Tensor::f32(scores, vec![rows, width]), Tensor::f32(raw, vec![rows, targets])])
        }
        "ai.onnx.ml.TreeEnsembleClassifier" => {
            let x = take(0)?;
            let ensemble = TreeEnsemble::from_node(node, bad)?;
            let (rows, d) = x.matrix_dims();
            let xv = floats(&x, "the input", bad)?;
            let raw = ensemble.raw_scores(&xv, rows, d, bad)?;
            let (scores, width) = ensemble.transformed(&raw, bad)?;
            let raw_width = ensemble.raw_width();
            Ok(vec![no_labels(), Tensor::f32(scores, vec![rows, width]), Tensor::f32(raw, vec![rows, raw_width])])
        }
        "ai.onnx.ml.ZipMap" => Err(bad("ZipMap's output is a sequence of maps; privaudit reads the tensor it is made from".into())),
        other => Err(bad(format!("operator {other} is not supported in pipelines (supported: {})", PIPELINE_OPS.join(", ")))),
    }
}
