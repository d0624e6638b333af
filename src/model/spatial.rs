//! Convolution and pooling over 1 or 2 spatial axes, as ONNX defines them.
//!
//! Every window operation is written with operations the interpreter already uses — a padded
//! copy, one strided slice per kernel offset, a matrix product or an elementwise sum — rather
//! than burn's `conv2d`/`max_pool2d`/`avg_pool2d`. The reason is the shipped wasm: burn's
//! window kernels (several convolution algorithms for WebGPU, the CPU's, and their backward
//! passes) added ~250 KB gzipped to a module whose budget is 3.3 MB, while strided slices and
//! matrix products are already in it. It is also how CPU runtimes compute a convolution
//! (im2col + GEMM), every step has a gradient through autodiff, and no new shader can fail
//! validation on a browser (cubecl#1641).
//!
//! Inference on the CPU is the exception: a tensor on burn-flex outside autodiff (the target's
//! and the references' logits) goes to privaudit-kernels' own loops over its values (`kernels/`:
//! a register-blocked direct convolution summing in the same order as the im2col, a depthwise
//! loop, a separable max pool), compiled at opt-level 3 in the otherwise size-optimised
//! browser build. There a Conv also applies the Relus, inference BatchNormalizations and
//! MaxPool that the interpreter fuses into it ([`After`]) a record at a time, while its outputs
//! are in cache, instead of one pass over the whole batch for each. burn-flex's own window
//! kernels were tried first: faster than the general path, but slower than these and 49 KB
//! gzipped heavier (README, Benchmark). AveragePool keeps the general path. Training
//! (autodiff) and the GPU keep the general path; tests compare both on the same inputs.
//!
//! Tensors are `[N, C, H, W]`; a 1-D operation runs as 2-D with `H = 1`.

use burn::tensor::ops::PadMode;
use burn::tensor::{Slice, Tensor};
use onnx_ir::padding::AutoPad;

/// The geometry of one window operation on a `[H, W]` input: kernel, stride, dilation, the
/// declared padding (begin, end) per axis, the extra end padding `ceil_mode` needs, and the
/// output size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub input: [usize; 2],
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub dilation: [usize; 2],
    pub pads: [(usize, usize); 2],
    pub extra: [usize; 2],
    pub out: [usize; 2],
}

/// The largest kernel, stride, dilation or pad accepted (also checked on the file's attributes
/// before onnx-ir reads them).
pub(crate) use crate::limits::MAX_WINDOW;

impl Window {
    /// The geometry of a window operation, or a message saying what is wrong with it.
    ///
    /// `pads` are ONNX's explicit pads (used when `auto_pad` is NOTSET); `pool` adds the
    /// pooling rules (each window must overlap the input); `ceil` is `ceil_mode`: the output
    /// size rounds up, and a window that would start in the end padding is dropped, as torch
    /// and onnxruntime do.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        pads: [(usize, usize); 2],
        auto_pad: &AutoPad,
        ceil: bool,
        pool: bool,
    ) -> Result<Self, String> {
        if kernel[0].saturating_mul(kernel[1]) > crate::limits::MAX_KERNEL_PLACES {
            return Err(format!("a kernel of {}×{} places; at most {} are supported", kernel[0], kernel[1], crate::limits::MAX_KERNEL_PLACES));
        }
        let mut w = Window { input, kernel, stride, dilation, pads, extra: [0; 2], out: [0; 2] };
        for a in 0..2 {
            let (k, s, d) = (kernel[a], stride[a], dilation[a]);
            if !(1..=MAX_WINDOW).contains(&k) || !(1..=MAX_WINDOW).contains(&s) || !(1..=MAX_WINDOW).contains(&d) {
                return Err(format!("kernel {kernel:?}, strides {stride:?} and dilations {dilation:?} must be from 1 to {MAX_WINDOW}"));
            }
            // ≤ 2^32: computed in u64, so a wasm32 usize cannot overflow.
            let eff = usize::try_from(d as u64 * (k as u64 - 1) + 1).map_err(|_| format!("dilation {d} × kernel {k} is too large"))?;
            let n = input[a];
            w.pads[a] = match auto_pad {
                AutoPad::NotSet => pads[a],
                AutoPad::Valid => (0, 0),
                AutoPad::SameUpper | AutoPad::SameLower => {
                    let out = n.div_ceil(s);
                    let total = ((out.max(1) - 1) * s + eff).saturating_sub(n);
                    let small = total / 2;
                    if *auto_pad == AutoPad::SameUpper { (small, total - small) } else { (total - small, small) }
                }
            };
            let (b, e) = w.pads[a];
            if b > MAX_WINDOW || e > MAX_WINDOW {
                return Err(format!("pads {:?} must be at most {MAX_WINDOW}", w.pads));
            }
            if pool && (b >= eff || e >= eff) {
                return Err(format!("pads {:?} must be smaller than the kernel's extent {eff} (a window would hold only padding)", w.pads));
            }
            let span = n.checked_add(b + e).ok_or_else(|| "the padded input is too large".to_string())?;
            if span < eff {
                return Err(format!("the kernel (extent {eff}) is larger than the padded input ({span}) on spatial axis {a}"));
            }
            let mut out = (span - eff) / s + 1;
            if ceil {
                out = (span - eff).div_ceil(s) + 1;
                if (out - 1) * s >= n + b {
                    out -= 1;
                }
                w.extra[a] = ((out - 1) * s + eff).saturating_sub(span);
            }
            w.out[a] = out;
        }
        Ok(w)
    }

    /// One `[N, C, OH, OW]` view of the padded input per kernel offset (row-major over the
    /// kernel), padding filled with `fill`.
    fn taps(&self, x: Tensor<4>, fill: f32) -> Vec<Tensor<4>> {
        let [n, c, _, _] = x.dims();
        let pad = [(self.pads[0].0, self.pads[0].1 + self.extra[0]), (self.pads[1].0, self.pads[1].1 + self.extra[1])];
        let x = if pad.iter().any(|&(b, e)| b + e > 0) { x.pad(pad, PadMode::Constant(fill)) } else { x };
        let mut taps = Vec::with_capacity(self.kernel[0] * self.kernel[1]);
        for i in 0..self.kernel[0] {
            for j in 0..self.kernel[1] {
                let axis = |a: usize, k: usize| {
                    let start = k * self.dilation[a];
                    let end = start + (self.out[a] - 1) * self.stride[a] + 1;
                    Slice::new(start as isize, Some(end as isize), self.stride[a] as isize)
                };
                let t = x.clone().slice([Slice::new(0, Some(n as isize), 1), Slice::new(0, Some(c as isize), 1), axis(0, i), axis(1, j)]);
                taps.push(t);
            }
        }
        taps
    }
}

/// What a Conv applies to its result before anything else reads it: the nodes the interpreter
/// fuses into it (see `interp::conv_chains`), in order, then optionally a max pooling.
pub(crate) enum After {
    /// A Relu.
    Relu,
    /// An inference BatchNormalization: `y · scale + shift` per channel, both `[1, C, 1, 1]`.
    Affine { scale: Tensor<4>, shift: Tensor<4> },
}

/// ONNX Conv: `x` `[N, C, H, W]`, `weight` `[O, C/groups, kH, kW]`, `bias` `[O]`; shapes
/// already checked by the caller ([`check_conv`]). Then the steps of `after` and, with `pool`
/// (whose input is the convolution's `[OH, OW]`), a MaxPool: on the CPU a record at a time while
/// its outputs are in cache, elsewhere as the separate operations, with the same values.
pub(crate) fn conv(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<4>>, w: &Window, groups: usize, after: &[After], pool: Option<&Window>) -> Tensor<4> {
    if let Some(y) = flex::conv(&x, &weight, bias.as_ref(), w, groups, after, pool) {
        return y;
    }
    let mut y = conv_unfolded(x, weight, bias, w, groups);
    for step in after {
        y = match step {
            After::Relu => burn::tensor::activation::relu(y),
            After::Affine { scale, shift } => y.mul(scale.clone()).add(shift.clone()),
        };
    }
    match pool {
        Some(p) => max_pool_unfolded(y, p),
        None => y,
    }
}

/// [`conv`] as padded strided slices and a matrix product (every backend, with gradients).
fn conv_unfolded(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<4>>, w: &Window, groups: usize) -> Tensor<4> {
    let [n, c, _, _] = x.dims();
    let device = x.device();
    let [o, cg, kh, kw] = weight.dims();
    let (oh, ow) = (w.out[0], w.out[1]);
    let l = oh * ow;
    let k2 = kh * kw;
    let y = if cg == 1 && groups == c && o == c {
        // Depthwise: each channel with its own kernel, a sum over the kernel's offsets.
        let wk = weight.reshape([1, c, 1, k2]);
        let terms = w.taps(x, 0.0).into_iter().enumerate().map(|(k, tap)| tap.mul(wk.clone().narrow(3, k, 1)));
        terms.reduce(|a, t| a.add(t)).unwrap_or_else(|| Tensor::zeros([n, c, oh, ow], &device))
    } else {
        // im2col: [N, C, kH·kW, OH·OW], channel-major as the weight is laid out.
        let taps: Vec<Tensor<4>> = w.taps(x, 0.0).into_iter().map(|t| t.reshape([n, c, 1, l])).collect();
        let cols = Tensor::cat(taps, 2);
        let cols = cols.reshape([n, groups, cg * k2, l]);
        let og = o / groups;
        // [1, G, O/G, ·] × [N, G, ·, L]: matmul broadcasts the batch axis.
        weight.reshape([1, groups, og, cg * k2]).matmul(cols).reshape([n, o, oh, ow])
    };
    match bias {
        Some(b) => y.add(b.reshape([1, o, 1, 1])),
        None => y,
    }
}

/// ONNX MaxPool over `[N, C, H, W]`.
pub(crate) fn max_pool(x: Tensor<4>, w: &Window) -> Tensor<4> {
    if let Some(y) = flex::max_pool(&x, w) {
        return y;
    }
    max_pool_unfolded(x, w)
}

fn max_pool_unfolded(x: Tensor<4>, w: &Window) -> Tensor<4> {
    let device = x.device();
    // kH·kW ≥ 1 taps, so the fold always has a first value.
    w.taps(x, f32::NEG_INFINITY).into_iter().reduce(|a, t| a.max_pair(t)).unwrap_or_else(|| Tensor::zeros([1, 1, 1, 1], &device))
}

/// ONNX AveragePool over `[N, C, H, W]`: the window's sum divided by how many of its places
/// count — inside the input, or (`count_include_pad`) inside the declared padding too; the
/// extra end padding of `ceil_mode` never counts.
pub(crate) fn avg_pool(x: Tensor<4>, w: &Window, count_include_pad: bool) -> Tensor<4> {
    let device = x.device();
    let sum = w.taps(x, 0.0).into_iter().reduce(|a, t| a.add(t)).unwrap_or_else(|| Tensor::zeros([1, 1, 1, 1], &device));
    let counts = |a: usize| -> Vec<f32> {
        let (b, e) = w.pads[a];
        let (lo, hi) = if count_include_pad { (0, w.input[a] + b + e) } else { (b, b + w.input[a]) };
        (0..w.out[a]).map(|o| (0..w.kernel[a]).map(|k| o * w.stride[a] + k * w.dilation[a]).filter(|&p| p >= lo && p < hi).count() as f32).collect()
    };
    let (ch, cw) = (counts(0), counts(1));
    let div: Vec<f32> = ch.iter().flat_map(|h| cw.iter().map(move |v| 1.0 / (h * v).max(1.0))).collect();
    let div = Tensor::<4>::from_data(burn::tensor::TensorData::new(div, [1, 1, w.out[0], w.out[1]]), &device);
    sum.mul(div)
}

/// privaudit-kernels' loops, for f32 tensors that live on burn-flex outside autodiff; `None`
/// (take the general path) for anything else: the GPU, a tensor that records gradients, or a
/// dtype other than f32.
mod flex {
    use super::{After, Window};
    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::tensor::{DType, Tensor, TensorData};
    use privaudit_kernels::Then;

    /// The f32 burn-flex tensor behind `t`, if that is what it is (a clone shares the buffer),
    /// with its values contiguous.
    fn on_flex<const D: usize>(t: &Tensor<D>) -> Option<FlexTensor> {
        let p = t.clone().try_into_primitive::<Flex>().ok()?;
        (p.dtype() == DType::F32).then(|| p.to_contiguous())
    }

    fn kernel_window(w: &Window) -> privaudit_kernels::Window2d {
        privaudit_kernels::Window2d {
            input: w.input,
            kernel: w.kernel,
            stride: w.stride,
            dilation: w.dilation,
            pad_begin: [w.pads[0].0, w.pads[1].0],
            out: w.out,
        }
    }

    fn back(values: Vec<f32>, shape: [usize; 4]) -> Tensor<4> {
        Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(values, shape)))
    }

    /// Conv with privaudit-kernels' register-blocked loop, `after` and `pool` applied a record
    /// at a time. Not burn-flex's `conv2d`: its small-channel kernel (a first layer's 3
    /// channels) updates a whole output plane in memory per product and was a third of CNN
    /// inference's time in the browser, and its several algorithms took the shipped wasm over
    /// its size goal (+49 KB gzipped with its pools).
    pub(super) fn conv(x: &Tensor<4>, weight: &Tensor<4>, bias: Option<&Tensor<4>>, w: &Window, groups: usize, after: &[After], pool: Option<&Window>) -> Option<Tensor<4>> {
        let [o, ..] = weight.dims();
        let wp = on_flex(weight)?;
        let bp = match bias {
            Some(b) => Some(on_flex(&b.clone().reshape([o]))?),
            None => None,
        };
        // The per-channel parameters of the Affine steps, as burn-flex buffers.
        let mut affine = Vec::new();
        for step in after {
            if let After::Affine { scale, shift } = step {
                affine.push((on_flex(scale)?, on_flex(shift)?));
            }
        }
        if affine.iter().any(|(a, b)| a.storage::<f32>().len() != o || b.storage::<f32>().len() != o) {
            return None;
        }
        let mut params = affine.iter();
        let then: Vec<Then<'_>> = after
            .iter()
            .filter_map(|step| match step {
                After::Relu => Some(Then::Relu),
                After::Affine { .. } => params.next().map(|(a, b)| Then::Affine { scale: a.storage(), shift: b.storage() }),
            })
            .collect();
        let xp = on_flex(x)?;
        let [n, c, _, _] = x.dims();
        let pooled = pool.map(kernel_window);
        let y = privaudit_kernels::conv_2d(xp.storage(), n, c, wp.storage(), o, groups, bp.as_ref().map(|b| b.storage()), &then, pooled.as_ref(), &kernel_window(w));
        let out = pool.map_or(w.out, |p| p.out);
        Some(back(y, [n, o, out[0], out[1]]))
    }

    /// MaxPool with privaudit-kernels' loop (padding never read, as if −∞). Not burn-flex's
    /// `max_pool2d`, which also computes every maximum's index (for its backward pass) in a
    /// per-output loop with bounds checks: it was a third of CNN inference's time in the
    /// browser (V8's sampling profiler, 2026-12-05).
    pub(super) fn max_pool(x: &Tensor<4>, w: &Window) -> Option<Tensor<4>> {
        let xp = on_flex(x)?;
        let [n, c, _, _] = x.dims();
        Some(back(privaudit_kernels::max_pool_2d(xp.storage(), n * c, &kernel_window(w)), [n, c, w.out[0], w.out[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::Window;
    use onnx_ir::padding::AutoPad;

    #[allow(clippy::too_many_arguments)]
    fn win(n: usize, k: usize, s: usize, d: usize, p: (usize, usize), ap: AutoPad, ceil: bool, pool: bool) -> Result<Window, String> {
        Window::new([1, n], [1, k], [1, s], [1, d], [(0, 0), p], &ap, ceil, pool)
    }

    #[test]
    fn output_sizes_follow_onnx() {
        // floor((n + pads − d(k−1) − 1)/s) + 1
        assert_eq!(win(32, 3, 1, 1, (1, 1), AutoPad::NotSet, false, false).unwrap().out[1], 32);
        assert_eq!(win(32, 3, 2, 1, (1, 1), AutoPad::NotSet, false, false).unwrap().out[1], 16);
        assert_eq!(win(7, 3, 1, 2, (0, 0), AutoPad::NotSet, false, false).unwrap().out[1], 3);
        // SAME_UPPER/LOWER: ceil(n/s), the odd pad at the end / the start.
        let w = win(7, 4, 2, 1, (0, 0), AutoPad::SameUpper, false, false).unwrap();
        assert_eq!((w.out[1], w.pads[1]), (4, (1, 2)));
        let w = win(7, 4, 2, 1, (0, 0), AutoPad::SameLower, false, false).unwrap();
        assert_eq!((w.out[1], w.pads[1]), (4, (2, 1)));
        // ceil_mode: 6 → ceil((6 − 3)/2) + 1 = 3, one extra pad; a window starting in the end
        // padding is dropped: n = 5, k = 2, s = 2, pad (0, 1): ceil(4/2) + 1 = 3, but the third
        // window starts at 4 + … ≥ n + b = 5? (3 − 1)·2 = 4 < 5, kept.
        let w = win(6, 3, 2, 1, (0, 0), AutoPad::NotSet, true, true).unwrap();
        assert_eq!((w.out[1], w.extra[1]), (3, 1));
        let w = win(4, 2, 2, 1, (0, 1), AutoPad::NotSet, true, true).unwrap();
        assert_eq!(w.out[1], 2, "the window starting at 4 lies wholly in the end padding");
    }

    /// privaudit-kernels' loops against the general path (itself checked against onnxruntime
    /// on the CNN fixtures, tests/integration/onnx_vs_onnxruntime.rs) on the same inputs: the
    /// blocked loop with full and partial blocks of columns and output channels, depthwise,
    /// grouped, 1×1, uneven and `SAME_*` pads, strides, dilations and the pools' ceil mode.
    #[test]
    fn cpu_kernels_match_the_general_path() {
        use super::{After, conv_unfolded, flex, max_pool_unfolded};
        use crate::model::train::Rng;
        use burn::tensor::activation::relu;
        use burn::tensor::{Device, Tensor, TensorData};
        let dev = Device::flex();
        let mut rng = Rng::new(13);
        let mut random = |shape: [usize; 4]| {
            let v: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| rng.uniform() as f32 * 2.0 - 1.0).collect();
            Tensor::<4>::from_data(TensorData::new(v, shape), &dev)
        };
        let close = |a: Tensor<4>, b: Tensor<4>, what: &str| {
            assert_eq!(a.dims(), b.dims(), "{what}");
            let (a, b): (Vec<f32>, Vec<f32>) = (a.into_data().iter().collect(), b.into_data().iter().collect());
            let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0f32, f32::max);
            assert!(worst < 1e-5, "{what}: worst relative difference {worst}");
        };
        // (N, C, H, W), O, groups, kernel, stride, dilation, pads, auto_pad
        type Case = ([usize; 4], usize, usize, [usize; 2], [usize; 2], [usize; 2], [(usize, usize); 2], AutoPad);
        let convs: [Case; 10] = [
            ([3, 4, 9, 8], 6, 1, [3, 3], [1, 1], [1, 1], [(1, 1), (1, 1)], AutoPad::NotSet),
            // 32 input channels (288 products per output), 9 output channels (a partial block).
            ([2, 32, 6, 7], 9, 1, [3, 3], [1, 2], [1, 1], [(1, 1), (1, 0)], AutoPad::NotSet),
            ([2, 3, 12, 12], 8, 1, [5, 5], [2, 2], [1, 1], [(2, 1), (0, 2)], AutoPad::NotSet),
            ([2, 16, 7, 7], 32, 1, [3, 3], [1, 1], [1, 1], [(0, 0), (0, 0)], AutoPad::SameUpper),
            ([2, 8, 10, 9], 8, 1, [4, 2], [2, 1], [1, 1], [(0, 0), (0, 0)], AutoPad::SameLower),
            ([2, 8, 9, 9], 8, 8, [3, 3], [1, 1], [2, 2], [(2, 2), (2, 2)], AutoPad::NotSet),
            ([2, 8, 9, 9], 12, 4, [3, 3], [2, 1], [1, 1], [(1, 0), (1, 1)], AutoPad::NotSet),
            ([2, 5, 6, 6], 7, 1, [1, 1], [1, 1], [1, 1], [(0, 0), (0, 0)], AutoPad::NotSet),
            ([1, 2, 1, 30], 4, 1, [1, 5], [1, 3], [1, 2], [(0, 0), (4, 1)], AutoPad::NotSet),
            ([2, 1, 28, 28], 32, 1, [3, 3], [1, 1], [1, 1], [(0, 0), (0, 0)], AutoPad::Valid),
        ];
        for (i, (xs, o, groups, kernel, stride, dilation, pads, auto_pad)) in convs.into_iter().enumerate() {
            let win = Window::new([xs[2], xs[3]], kernel, stride, dilation, pads, &auto_pad, false, false).unwrap();
            let (x, w, b) = (random(xs), random([o, xs[1] / groups, kernel[0], kernel[1]]), random([1, 1, 1, o]));
            let general = |bias: Option<Tensor<4>>| conv_unfolded(x.clone(), w.clone(), bias, &win, groups);
            let fast = flex::conv(&x, &w, Some(&b), &win, groups, &[], None).expect("a CPU tensor outside autodiff takes privaudit-kernels' loop");
            close(fast, general(Some(b.clone())), &format!("conv case {i} with bias"));
            let fast = flex::conv(&x, &w, Some(&b), &win, groups, &[After::Relu], None).unwrap();
            close(fast, relu(general(Some(b.clone()))), &format!("conv case {i} with bias and Relu"));
            let fast = flex::conv(&x, &w, None, &win, groups, &[], None).unwrap();
            close(fast, general(None), &format!("conv case {i}"));
            // The steps a Conv takes in (a Relu, an inference BatchNormalization's scale and
            // shift in either order) and a max pool after them, against the separate operations.
            let (scale, shift) = (random([1, o, 1, 1]), random([1, o, 1, 1]));
            let affine = || After::Affine { scale: scale.clone(), shift: shift.clone() };
            let separate = |y: Tensor<4>| y.mul(scale.clone()).add(shift.clone());
            let k = [win.out[0].min(2), 2];
            let pool = Window::new(win.out, k, k, [1, 1], [(0, 0), (0, 0)], &AutoPad::NotSet, true, true).unwrap();
            let fast = flex::conv(&x, &w, Some(&b), &win, groups, &[After::Relu, affine()], Some(&pool)).unwrap();
            close(fast, max_pool_unfolded(separate(relu(general(Some(b.clone())))), &pool), &format!("conv case {i}, Relu, affine, pool"));
            let fast = flex::conv(&x, &w, None, &win, groups, &[affine(), After::Relu], None).unwrap();
            close(fast, relu(separate(general(None))), &format!("conv case {i}, affine, Relu"));
            let pool = Window::new(win.out, [3, 3], [1, 2], [1, 1], [(1, 1), (1, 0)], &AutoPad::NotSet, false, true).unwrap();
            let fast = flex::conv(&x, &w, Some(&b), &win, groups, &[], Some(&pool)).unwrap();
            close(fast, max_pool_unfolded(general(Some(b.clone())), &pool), &format!("conv case {i}, padded pool"));
            // Off burn-flex's fast path (here: tensors that go through autodiff, as on the GPU),
            // the same steps as separate operations give the same values.
            let ad = |t: &Tensor<4>| t.clone().autodiff();
            let steps = [After::Relu, After::Affine { scale: ad(&scale), shift: ad(&shift) }];
            let general = super::conv(ad(&x), ad(&w), Some(ad(&b)), &win, groups, &steps, Some(&pool));
            let fast = flex::conv(&x, &w, Some(&b), &win, groups, &[After::Relu, affine()], Some(&pool)).unwrap();
            close(general, fast, &format!("conv case {i}: the general path's steps"));
        }
        // (N, C, H, W), kernel, stride, dilation, pads, ceil
        let pools: [([usize; 4], [usize; 2], [usize; 2], [usize; 2], [(usize, usize); 2], bool); 9] = [
            ([2, 3, 8, 8], [2, 2], [2, 2], [1, 1], [(0, 0), (0, 0)], false),
            // Windows side by side (kernel = stride), with padding, ceil mode and odd sizes.
            ([2, 3, 9, 10], [3, 3], [3, 3], [1, 1], [(0, 0), (1, 1)], true),
            ([1, 2, 7, 9], [2, 2], [2, 2], [1, 1], [(1, 0), (1, 0)], false),
            ([1, 2, 5, 11], [2, 3], [2, 3], [1, 2], [(0, 0), (0, 0)], true),
            ([2, 3, 9, 7], [3, 3], [2, 2], [1, 1], [(1, 1), (1, 1)], true),
            ([2, 3, 9, 7], [3, 2], [2, 3], [1, 1], [(1, 0), (0, 1)], false),
            ([1, 4, 11, 10], [3, 3], [2, 2], [2, 1], [(2, 2), (0, 0)], true),
            ([2, 2, 6, 5], [2, 2], [2, 2], [1, 1], [(0, 1), (1, 0)], true),
            ([1, 2, 1, 13], [1, 4], [1, 3], [1, 1], [(0, 0), (1, 1)], false),
        ];
        for (i, (xs, kernel, stride, dilation, pads, ceil)) in pools.into_iter().enumerate() {
            let win = Window::new([xs[2], xs[3]], kernel, stride, dilation, pads, &AutoPad::NotSet, ceil, true).unwrap();
            let x = random(xs);
            close(flex::max_pool(&x, &win).unwrap(), max_pool_unfolded(x, &win), &format!("max pool case {i}"));
        }
        // Training (gradients recorded) keeps the general path.
        let win = Window::new([6, 6], [3, 3], [1, 1], [1, 1], [(1, 1), (1, 1)], &AutoPad::NotSet, false, false).unwrap();
        let (x, w) = (random([1, 2, 6, 6]), random([3, 2, 3, 3]));
        assert!(flex::conv(&x, &w.clone().autodiff().require_grad(), None, &win, 1, &[], None).is_none());
        assert!(flex::max_pool(&x.autodiff().require_grad(), &win).is_none());
    }

    #[test]
    fn bad_geometry_is_an_error() {
        assert!(win(2, 5, 1, 1, (0, 0), AutoPad::NotSet, false, false).is_err());
        assert!(win(8, 3, 0, 1, (0, 0), AutoPad::NotSet, false, false).is_err());
        assert!(win(8, 3, 1, 1, (3, 0), AutoPad::NotSet, false, true).is_err());
        assert!(win(8, 3, 1, 1, (70_000, 0), AutoPad::NotSet, false, false).is_err());
    }
}
