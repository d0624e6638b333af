//! Training a fresh copy of an ONNX graph: the reference models of LiRA and RMIA.
//!
//! The graph is the target's own: exactly the inputs the interpreter's op table
//! ([`super::OPS`]) declares as parameters are re-initialised from a seeded generator the way
//! PyTorch initialises those layers (Gemm/MatMul/Linear weights and their biases: U(−1/√fan_in,
//! 1/√fan_in); BatchNormalization: scale 1, bias 0, running mean 0 and variance 1), and trained
//! with burn's autodiff through the same interpreter that runs inference. Every other constant
//! (an in-graph `(x − mean) / std`, a reshape target, a scalar) stays as the file has it.
//! BatchNormalization trains as torch's does (batch statistics, running averages with the
//! node's momentum). Dropout is the identity during training too (documented limitation).
//!
//! Data stay on the device: the training rows and their one-hot labels are uploaded once, each
//! batch is a `select` on them, and the only read-back is one loss value per epoch.

use super::interp::{self, Consts, Init, Value};
use super::{OnnxModel, PreparedModel};
use crate::error::{AuditError, Result};
use burn::tensor::{Device, Int, Tensor, TensorData, activation};
use onnx_ir::Node;
use serde::{Deserialize, Serialize};

/// The optimizer of the reference models.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (β = 0.9, 0.999; ε = 1e-8), weight decay added to the gradient as in `torch.optim.Adam`.
    #[default]
    Adam,
    /// Plain SGD without momentum, weight decay added to the gradient.
    Sgd,
}

/// Data augmentation while training references, as image models are trained (torchvision's
/// `RandomHorizontalFlip()`, and `RandomCrop(size, padding=4)` after it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Augment {
    /// None (default).
    #[default]
    None,
    /// Each record flipped left–right with probability ½, drawn per record and step.
    Flip,
    /// The flip, then a crop of the original size from the image zero-padded by 4 on every
    /// side, at an offset drawn uniformly from 0..=8 on each axis.
    FlipCrop,
}

/// How the reference models are trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TrainSettings {
    /// Default: Adam.
    pub optimizer: Optimizer,
    /// Learning rate. Default: 0.001.
    pub learning_rate: f64,
    /// Passes over the training half. Default: 100.
    pub epochs: u64,
    /// Records per step. Default: 32.
    pub batch_size: u64,
    /// L2 penalty added to the gradient. Default: 0.
    pub weight_decay: f64,
    /// Augmentation of image inputs. Default: none. Draws come from the training seed's
    /// generator, after each epoch's shuffle: per batch, per record, a flip (uniform < ½) and,
    /// for flip-crop, the row then the column offset.
    pub augment: Augment,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self { optimizer: Optimizer::Adam, learning_rate: 1e-3, epochs: 100, batch_size: 32, weight_decay: 0.0, augment: Augment::None }
    }
}

impl TrainSettings {
    /// Check the numbers.
    ///
    /// # Errors
    /// A non-positive learning rate, epoch count or batch size, a negative weight decay, an
    /// epoch count or batch size above [`crate::limits::MAX_EPOCHS`] / [`crate::limits::MAX_BATCH`].
    pub fn check(&self) -> Result<()> {
        let bad = |f: &str, m: String| Err(AuditError::option(f, m));
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("training.learningRate", format!("must be a positive number, got {}", self.learning_rate));
        }
        // u64, not usize: a wasm32 usize cannot even hold the values this check refuses.
        if !(1..=crate::limits::MAX_EPOCHS as u64).contains(&self.epochs) {
            return bad("training.epochs", format!("must be from 1 to {}, got {}", crate::limits::MAX_EPOCHS, self.epochs));
        }
        if !(1..=crate::limits::MAX_BATCH as u64).contains(&self.batch_size) {
            return bad("training.batchSize", format!("must be from 1 to {}, got {}", crate::limits::MAX_BATCH, self.batch_size));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return bad("training.weightDecay", format!("must be ≥ 0, got {}", self.weight_decay));
        }
        Ok(())
    }
}

/// A small seeded generator (SplitMix64): reproducible on every platform.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize % n.max(1)
    }

    /// Shuffle in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// One trainable tensor: the graph inputs that read it, and where it sits in the flat vector of
/// all parameters.
struct Param {
    uses: Vec<(usize, usize)>,
    name: String,
    shape: Vec<usize>,
    offset: usize,
    len: usize,
}

impl Param {
    /// This parameter's slice of the flat vector, in its own shape.
    fn view(&self, flat: &Tensor<1>) -> Value {
        Value::F { t: flat.clone().narrow(0, self.offset, self.len).reshape(interp::pad4(&self.shape)), rank: self.shape.len() }
    }
}

/// The shape of a constant input.
fn const_shape(base: &Consts, key: (usize, usize)) -> Option<Vec<usize>> {
    match base.get(&key)? {
        Value::F { t, rank } => Some(t.dims()[4 - rank..].to_vec()),
        Value::I { shape, .. } => Some(shape.clone()),
    }
}

/// The fan-in of node `idx`'s weight (its input 1) when the node is a matrix product.
fn weight_fan_in(graph: &onnx_ir::OnnxGraph, base: &Consts, idx: usize) -> Option<usize> {
    let s = const_shape(base, (idx, 1))?;
    match &graph.nodes[idx] {
        Node::Linear(n) if s.len() == 2 => Some(if n.config.transpose_weight { s[1] } else { s[0] }),
        Node::Gemm(n) if s.len() == 2 => Some(if n.config.trans_b != 0 { s[1] } else { s[0] }),
        Node::MatMul(_) if s.len() >= 2 => Some(s[s.len() - 2]),
        Node::MatMul(_) if s.len() == 1 => Some(s[0]),
        // [O, C/groups, k…]: torch's fan_in for nn.Conv1d/2d.
        Node::Conv1d(_) | Node::Conv2d(_) if s.len() >= 3 => Some(s[1..].iter().product()),
        _ => None,
    }
}

/// How input `k` of node `idx` (a constant of shape `shape`) starts in a reference model, as
/// the interpreter's op table declares it, with the fan-in for [`Init::Uniform`]; `None` when it
/// is not a parameter and stays as the file has it.
fn param_init(graph: &onnx_ir::OnnxGraph, base: &Consts, idx: usize, k: usize, shape: &[usize]) -> Option<(Init, usize)> {
    let node = &graph.nodes[idx];
    let spec = interp::spec(node)?;
    if let Some(&(_, init)) = spec.params.iter().find(|(i, _)| *i == k) {
        return match (init, node) {
            (Init::Ones | Init::Zeros, _) => Some((init, 1)),
            // A constant left operand of MatMul: its rows are the inputs.
            (Init::Uniform, Node::MatMul(_)) if k == 0 => (shape.len() >= 2).then(|| (init, shape[shape.len() - 1])),
            (Init::Uniform, _) => weight_fan_in(graph, base, idx).map(|f| (init, f)),
        };
    }
    if spec.bias_after_product {
        // The bias of the matrix product (with a constant, trainable weight) that computes the
        // other operand; any other constant operand (a normalisation's mean) is kept.
        let other = node.inputs().get(1 - k.min(1))?;
        let producer = graph.nodes.iter().position(|n| n.outputs().iter().any(|o| o.name == other.name))?;
        return weight_fan_in(graph, base, producer).map(|f| (Init::Uniform, f));
    }
    None
}

/// Flip (and crop) the records of a `[n, …]` image batch, drawing from `rng` per record: a flip
/// with probability ½, then for flip-crop the row and column offsets into the image padded by 4.
/// Only operations the interpreter already uses: a reversed `select`, a padded copy, slices.
fn augment(x: Tensor<4>, g: &crate::data::image::Geometry, how: Augment, rng: &mut Rng, device: &Device) -> Tensor<4> {
    let n = x.dims()[0];
    let (h_axis, w_axis) = if g.nchw { (2, 3) } else { (1, 2) };
    let mut flips = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n);
    for _ in 0..n {
        flips.push(rng.uniform() < 0.5);
        if how == Augment::FlipCrop {
            offsets.push((rng.below(9), rng.below(9)));
        }
    }
    let reversed: Vec<i64> = (0..g.width as i64).rev().collect();
    let flipped = x.clone().select(w_axis, Tensor::<1, Int>::from_data(TensorData::new(reversed, [g.width]), device));
    let mask: Vec<f32> = flips.iter().map(|&f| f32::from(u8::from(f))).collect();
    let m = Tensor::<4>::from_data(TensorData::new(mask, [n, 1, 1, 1]), device);
    let x = x.mul(m.clone().neg().add_scalar(1.0)).add(flipped.mul(m));
    if how != Augment::FlipCrop {
        return x;
    }
    let mut pad = [(0usize, 0usize); 4];
    pad[h_axis] = (4, 4);
    pad[w_axis] = (4, 4);
    let padded = x.pad(pad, burn::tensor::ops::PadMode::Constant(0.0));
    let dims = padded.dims();
    let rows: Vec<Tensor<4>> = offsets
        .iter()
        .enumerate()
        .map(|(i, &(dy, dx))| {
            let mut r: [burn::tensor::Slice; 4] = std::array::from_fn(|a| burn::tensor::Slice::new(0, Some(dims[a] as isize), 1));
            r[0] = burn::tensor::Slice::new(i as isize, Some(i as isize + 1), 1);
            r[h_axis] = burn::tensor::Slice::new(dy as isize, Some((dy + g.height) as isize), 1);
            r[w_axis] = burn::tensor::Slice::new(dx as isize, Some((dx + g.width) as isize), 1);
            padded.clone().slice(r)
        })
        .collect();
    Tensor::cat(rows, 0)
}

impl OnnxModel {
    /// Reject a graph that cannot be trained here, before any work.
    ///
    /// # Errors
    /// A graph without a matrix product (nothing to learn).
    pub fn check_trainable(&self) -> Result<()> {
        if !self.graph.nodes.iter().any(|n| matches!(n, Node::Linear(_) | Node::Gemm(_) | Node::MatMul(_) | Node::Conv1d(_) | Node::Conv2d(_))) {
            return Err(AuditError::model(&self.file, "the graph has no Conv, Gemm, MatMul or Linear layer to train as a reference model"));
        }
        Ok(())
    }

    /// Train a freshly initialised copy of this graph on `rows` records of `values` (row-major,
    /// already scaled) with `labels`, and return it ready for inference, with the mean training
    /// loss of every epoch. `on_epoch(epoch, loss)` is called after each epoch.
    ///
    /// # Errors
    /// An untrainable graph, a device failure on read-back, a loss that is not finite.
    #[allow(clippy::too_many_arguments)]
    pub async fn train<T: super::Feature>(
        &self,
        backend: &crate::backend::Backend,
        values: &[T],
        rows: usize,
        labels: &[usize],
        classes: usize,
        settings: &TrainSettings,
        seed: u64,
        on_epoch: &mut dyn FnMut(usize, f64),
    ) -> Result<(PreparedModel<'_>, Vec<f64>)> {
        settings.check()?;
        self.check_trainable()?;
        if rows == 0 {
            return Err(AuditError::option("references", "a reference model got no training records"));
        }
        let device = &backend.device;
        // A batch, like inference's, stays within a quarter of the device's binding limit; a
        // larger one is refused rather than shrunk (the batch size is part of the recipe).
        let fits = self.records_per_batch(backend)?;
        if settings.batch_size as usize > fits && backend.name != "cpu" {
            return Err(AuditError::option(
                "training.batchSize",
                format!(
                    "{} records per batch do not fit this GPU's storage-binding limit of {} MiB ({}) for {}; at most {fits} do",
                    settings.batch_size,
                    backend.max_binding_bytes / (1024 * 1024),
                    backend.name,
                    self.file
                ),
            ));
        }
        let mut rng = Rng::new(seed);
        // Augmentation needs an image input ([C, H, W] or [H, W, C]).
        let image = match settings.augment {
            Augment::None => None,
            _ => Some(crate::data::image::Geometry::of(&self.file, &self.input_shape, crate::data::image::Layout::Auto).map_err(|_| {
                AuditError::option("training.augment", format!("augmentation is for image models; {}'s input is {:?} per record", self.file, self.input_shape))
            })?),
        };
        let mut base = interp::load_constants(&self.file, &self.graph, device)?;
        let (params, initial) = init_params(self, &base, &mut rng);
        // BatchNormalization: running statistics start as torch's (mean 0, variance 1) and
        // follow each batch with the node's momentum (ONNX: running·m + batch·(1 − m)).
        let mut bn_momentum = std::collections::HashMap::new();
        for (n, node) in self.graph.nodes.iter().enumerate() {
            if let Node::BatchNormalization(b) = node {
                let momentum = match &b.config {
                    onnx_ir::batch_norm::BatchNormConfig::Static(c) => c.momentum,
                    onnx_ir::batch_norm::BatchNormConfig::Runtime(c) => c.momentum,
                };
                // onnx-ir reads a missing attribute as 0; ONNX's default is 0.9.
                bn_momentum.insert(n, if momentum == 0.0 { 0.9 } else { momentum });
                for (k, v) in [(3, 0.0f32), (4, 1.0f32)] {
                    if let Some(Value::F { t, rank }) = base.get(&(n, k)) {
                        let (t, rank) = (Tensor::<4>::full(t.dims(), v, device), *rank);
                        base.insert((n, k), Value::F { t, rank });
                    }
                }
            }
        }
        let has_bn = !bn_momentum.is_empty();
        if params.is_empty() {
            return Err(AuditError::model(&self.file, "the graph has no learnable weights (Gemm/MatMul/Linear) to train"));
        }
        // All parameters live in one flat vector: the optimizer then runs a handful of kernels
        // per step instead of a handful per tensor, which is what a step costs on WebGPU.
        let count = initial.len();
        let mut flat = Tensor::<1>::from_data(TensorData::new(initial, [count]), device);
        let mut moments: Option<(Tensor<1>, Tensor<1>)> = None;
        let f = self.features();
        if rows.checked_mul(f) != Some(values.len()) {
            return Err(AuditError::ShapeMismatch {
                file: self.file.clone(),
                what: "training records".into(),
                expected: format!("{rows} records × {f} features"),
                actual: format!("{} values", values.len()),
            });
        }
        // The training records stay on the device when they fit a quarter of its binding
        // limit; otherwise each batch is uploaded from here (the same f32 values either way).
        let resident = (rows as u64).saturating_mul(f.max(classes) as u64) <= backend.max_binding_bytes / 16;
        let x_all = resident.then(|| Tensor::<2>::from_data(TensorData::new(T::narrow(values), [rows, f]), device));
        if rows.checked_mul(classes).is_none_or(|n| n > crate::limits::MAX_VALUES) || labels.len() != rows || labels.iter().any(|&y| y >= classes) {
            return Err(AuditError::option(
                "references",
                format!("{rows} training records × {classes} classes: labels must be classes of the model, and at most {} values", crate::limits::MAX_VALUES),
            ));
        }
        let mut onehot = vec![0f32; rows * classes];
        for (r, &y) in labels.iter().enumerate() {
            onehot[r * classes + y] = 1.0;
        }
        let y_all = resident.then(|| Tensor::<2>::from_data(TensorData::new(onehot.clone(), [rows, classes]), device));
        // Both fit usize: `check` bounded them.
        let (bs, epochs) = ((settings.batch_size as usize).min(rows), settings.epochs as usize);
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        let mut order: Vec<usize> = (0..rows).collect();
        let mut losses = Vec::with_capacity(epochs);
        let mut step = 0i32;
        for epoch in 0..epochs {
            rng.shuffle(&mut order);
            let mut epoch_loss: Option<Tensor<1>> = None;
            let mut seen = 0;
            for chunk in order.chunks(bs) {
                let n = chunk.len();
                if has_bn && n < 2 {
                    // Batch statistics of one record are undefined (torch refuses them too).
                    continue;
                }
                step += 1;
                seen += n;
                let (xb, yb) = match (&x_all, &y_all) {
                    (Some(x_all), Some(y_all)) => {
                        let idx = Tensor::<1, Int>::from_data(TensorData::new(chunk.iter().map(|&i| i as i64).collect::<Vec<i64>>(), [n]), device);
                        (x_all.clone().select(0, idx.clone()), y_all.clone().select(0, idx))
                    }
                    _ => {
                        let xs: Vec<f32> = chunk.iter().flat_map(|&i| values[i * f..(i + 1) * f].iter().map(|&v| v.to_f32())).collect();
                        let ys: Vec<f32> = chunk.iter().flat_map(|&i| onehot[i * classes..(i + 1) * classes].iter().copied()).collect();
                        (Tensor::<2>::from_data(TensorData::new(xs, [n, f]), device), Tensor::<2>::from_data(TensorData::new(ys, [n, classes]), device))
                    }
                };
                let mut shape = vec![n];
                shape.extend_from_slice(&self.input_shape);
                let xb = xb.reshape(interp::pad4(&shape));
                let xb = match &image {
                    Some(g) => augment(xb, g, settings.augment, &mut rng, device),
                    None => xb,
                };
                let x = Value::F { t: xb, rank: shape.len() };
                let mut consts = base.clone();
                let tracked = flat.clone().autodiff().require_grad();
                for p in &params {
                    let v = p.view(&tracked);
                    for key in &p.uses {
                        consts.insert(*key, v.clone());
                    }
                }
                let stats = std::cell::RefCell::new(Vec::new());
                let out =
                    interp::run(&self.file, &self.graph, &self.node_names, &self.conv_chains, &consts, &self.input_name, x, &self.output_name, Some(&stats))?;
                for s in stats.into_inner() {
                    let m = bn_momentum.get(&s.node).copied().unwrap_or(0.9);
                    for (k, batch) in [(3, s.mean), (4, s.var)] {
                        if let Some(Value::F { t, rank }) = base.get(&(s.node, k)) {
                            let (t, rank) = (t.clone().mul_scalar(m).add(batch.without_autodiff().reshape(t.dims()).mul_scalar(1.0 - m)), *rank);
                            base.insert((s.node, k), Value::F { t, rank });
                        }
                    }
                }
                let (logits, dims) = out.into_matrix(&self.file)?;
                // One output unit of a binary model: its logit z as the pair (0, z), so that
                // the softmax cross-entropy below is the logistic loss on z.
                let (logits, dims) =
                    if dims == [n, 1] && classes == 2 { (Tensor::cat(vec![logits.clone().zeros_like(), logits], 1), [n, 2]) } else { (logits, dims) };
                if dims != [n, classes] {
                    return Err(AuditError::model(&self.file, format!("training output has shape {dims:?}; expected [{n}, {classes}]")));
                }
                let loss = activation::log_softmax(logits, 1).mul(yb).sum().neg().div_scalar(n as f64);
                let grads = loss.backward();
                let detached = loss.detach().without_autodiff().mul_scalar(n as f64);
                epoch_loss = Some(match epoch_loss {
                    Some(s) => s.add(detached),
                    None => detached,
                });
                let (lr, wd) = (settings.learning_rate, settings.weight_decay);
                let Some(mut g) = tracked.grad(&grads) else {
                    return Err(AuditError::model(&self.file, "no gradient reached the weights (is the output connected to them?)"));
                };
                if wd != 0.0 {
                    g = g.add(flat.clone().mul_scalar(wd));
                }
                match settings.optimizer {
                    Optimizer::Sgd => flat = flat.sub(g.mul_scalar(lr)),
                    Optimizer::Adam => {
                        // torch.optim.Adam's update, in its order of operations.
                        let (m, v) = match moments.take() {
                            Some((m, v)) => (m.mul_scalar(b1).add(g.clone().mul_scalar(1.0 - b1)), v.mul_scalar(b2).add(g.clone().mul(g).mul_scalar(1.0 - b2))),
                            None => (g.clone().mul_scalar(1.0 - b1), g.clone().mul(g).mul_scalar(1.0 - b2)),
                        };
                        let (c1, c2) = (1.0 - b1.powi(step), 1.0 - b2.powi(step));
                        let denom = v.clone().sqrt().div_scalar(c2.sqrt()).add_scalar(eps);
                        flat = flat.sub(m.clone().mul_scalar(lr / c1).div(denom));
                        moments = Some((m, v));
                    }
                }
            }
            let total = match epoch_loss {
                Some(t) => t.into_data_async().await.map_err(|e| AuditError::Device { backend: format!("{device:?}"), message: format!("{e:?}") })?,
                None => continue,
            };
            let mean = total.iter::<f32>().next().map_or(f64::NAN, f64::from) / seen.max(1) as f64;
            if !mean.is_finite() {
                return Err(AuditError::option(
                    "training.learningRate",
                    format!("the training loss became {mean} at epoch {}; lower the learning rate", epoch + 1),
                ));
            }
            losses.push(mean);
            on_epoch(epoch + 1, mean);
        }
        let mut consts = base;
        for p in &params {
            let v = p.view(&flat);
            for key in &p.uses {
                consts.insert(*key, v.clone());
            }
        }
        Ok((PreparedModel { model: self, consts, device: device.clone(), batch: fits }, losses))
    }
}

/// Fresh, seeded values for every learnable weight (shared initializers stay shared), laid out
/// one after another in a flat vector.
fn init_params(model: &OnnxModel, base: &Consts, rng: &mut Rng) -> (Vec<Param>, Vec<f32>) {
    let mut keys: Vec<&(usize, usize)> = base.keys().collect();
    keys.sort();
    let mut params: Vec<Param> = Vec::new();
    let mut values: Vec<f32> = Vec::new();
    let mut by_name: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for &(n, k) in keys {
        let Some(Value::F { t, rank }) = base.get(&(n, k)) else { continue };
        let shape = t.dims()[4 - rank..].to_vec();
        let Some((init, fan)) = param_init(&model.graph, base, n, k, &shape) else { continue };
        let name = model.graph.nodes[n].inputs().get(k).map(|a| a.name.clone()).unwrap_or_default();
        if let Some(&i) = (!name.is_empty()).then(|| by_name.get(&name)).flatten() {
            params[i].uses.push((n, k));
            continue;
        }
        let len: usize = shape.iter().product();
        let offset = values.len();
        match init {
            Init::Ones => values.extend(std::iter::repeat_n(1.0f32, len)),
            Init::Zeros => values.extend(std::iter::repeat_n(0.0f32, len)),
            Init::Uniform => {
                let bound = 1.0 / (fan.max(1) as f64).sqrt();
                values.extend((0..len).map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32));
            }
        }
        if !name.is_empty() {
            by_name.insert(name.clone(), params.len());
        }
        params.push(Param { uses: vec![(n, k)], shape, offset, len, name });
    }
    (params, values)
}

/// One constant that reference training re-initialises.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceParameter {
    /// The initializer's name in the file.
    pub name: String,
    /// How it starts.
    pub init: Init,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The fan-in of [`Init::Uniform`] (values drawn from U(±1/√fan_in)); 1 otherwise.
    pub fan_in: usize,
    /// The file's (the target's trained) values.
    pub target: Vec<f32>,
    /// A reference's initial values for `seed`.
    pub initial: Vec<f32>,
}

impl OnnxModel {
    /// The constants a reference model trained with `seed` re-initialises, with the file's and
    /// the fresh values: exactly the inputs the op table declares as parameters. Every other
    /// constant keeps the file's value.
    ///
    /// # Errors
    /// Constants of an unsupported type; a device read failure.
    pub async fn reference_parameters(&self, seed: u64) -> Result<Vec<ReferenceParameter>> {
        let device = Device::flex();
        let base = interp::load_constants(&self.file, &self.graph, &device)?;
        let (params, initial) = init_params(self, &base, &mut Rng::new(seed));
        let mut out = Vec::new();
        for p in &params {
            let (n, k) = p.uses[0];
            let (init, fan_in) = param_init(&self.graph, &base, n, k, &p.shape).unwrap_or((Init::Uniform, 1));
            let target = match base.get(&(n, k)) {
                Some(Value::F { t, .. }) => t
                    .clone()
                    .into_data_async()
                    .await
                    .map_err(|e| AuditError::Device { backend: "cpu".into(), message: format!("{e:?}") })?
                    .iter::<f32>()
                    .collect(),
                _ => Vec::new(),
            };
            out.push(ReferenceParameter {
                name: p.name.clone(),
                init,
                shape: p.shape.clone(),
                fan_in,
                target,
                initial: initial[p.offset..p.offset + p.len].to_vec(),
            });
        }
        Ok(out)
    }
}

impl OnnxModel {
    /// What reference models of this graph depend on, as a SHA-256 (hex): every node with its
    /// attributes and wiring, the input shape, the output read, and the value of every constant
    /// reference training keeps — but not the values it re-initialises (the trained weights)
    /// nor BatchNormalization's running statistics (restarted at 0 and 1). Two files of one
    /// architecture with different weights (a plain and a DP-trained model, say) share it, so
    /// their references are trained once.
    ///
    /// # Errors
    /// Constants of an unsupported type.
    pub fn architecture_digest(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let base = interp::load_constants(&self.file, &self.graph, &Device::flex())?;
        let mut reset = std::collections::HashSet::new();
        for (&(n, k), v) in &base {
            let Value::F { t, rank } = v else { continue };
            let shape = t.dims()[4 - rank..].to_vec();
            let bn_statistics = matches!(self.graph.nodes[n], Node::BatchNormalization(_)) && (k == 3 || k == 4);
            if bn_statistics || param_init(&self.graph, &base, n, k, &shape).is_some() {
                reset.insert((n, k));
            }
        }
        let reset_names: std::collections::HashSet<&str> =
            reset.iter().filter_map(|&(n, k)| self.graph.nodes[n].inputs().get(k)).map(|a| a.name.as_str()).filter(|s| !s.is_empty()).collect();
        let mut h = Sha256::new();
        let mut part = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        part(format!("{:?} {} {}", self.input_shape, self.output_name, self.skipped_final_softmax).as_bytes());
        for (n, node) in self.graph.nodes.iter().enumerate() {
            // onnx-ir's Debug of a node shows its config, argument names, types and value ids,
            // never the values themselves.
            part(format!("{node:?}").as_bytes());
            let holds_parameter = matches!(node, Node::Constant(_)) && node.outputs().iter().any(|o| reset_names.contains(o.name.as_str()));
            for (k, arg) in node.inputs().iter().enumerate() {
                if holds_parameter || reset.contains(&(n, k)) {
                    part(b"re-initialised");
                } else if let Some(d) = arg.value() {
                    part(d.as_bytes());
                }
            }
        }
        Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether the graph is QDQ-quantised (QuantizeLinear or DequantizeLinear nodes): its
    /// rounding passes no gradient, so references of it cannot be trained.
    pub fn quantised(&self) -> bool {
        self.graph.nodes.iter().any(|n| matches!(n, Node::QuantizeLinear(_) | Node::DequantizeLinear(_)))
    }
}
