//! privaudit's own CPU loops over plain `f32` slices.
//!
//! They live in a crate of their own for one reason: the browser build compiles privaudit at
//! `opt-level = "z"` (size) and this crate at 3, where LLVM unrolls and vectorises the loops
//! below into wasm SIMD (see the `wasm-release` profile in the root `Cargo.toml`). No
//! dependencies, no `unsafe`; every function is checked against a general implementation in
//! privaudit's tests (`src/model/spatial.rs`).

#![forbid(unsafe_code)]

/// The geometry of a 2-D convolution or pooling window over `[H, W]` planes; the caller has
/// checked it (kernel, stride and dilation ≥ 1, `out` consistent with the padded input, the
/// padded input of a size it accepts; for pooling, each window overlapping the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window2d {
    /// Input height and width.
    pub input: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride per axis.
    pub stride: [usize; 2],
    /// Dilation per axis.
    pub dilation: [usize; 2],
    /// The padding before the input on each axis (the padding after it, and ceil mode's
    /// extra, only decide `out`: windows are clipped to the input).
    pub pad_begin: [usize; 2],
    /// Output height and width.
    pub out: [usize; 2],
}

impl Window2d {
    /// For kernel place `k` on axis `a`: the outputs `o` whose input index
    /// `o·stride + k·dilation − pad_begin` lies inside the input, as `lo..hi`.
    fn valid(&self, a: usize, k: usize) -> (usize, usize) {
        let (off, pad, s, n) = (k * self.dilation[a], self.pad_begin[a], self.stride[a], self.input[a]);
        let lo = if off >= pad { 0 } else { (pad - off).div_ceil(s) };
        let hi = if n + pad > off { ((n + pad - off - 1) / s + 1).min(self.out[a]) } else { 0 };
        (lo.min(self.out[a]), hi.max(lo.min(self.out[a])))
    }
}

/// Keeps the larger value; NaN wins (as in torch and numpy). Branch-free, so loops of it
/// vectorise.
#[inline(always)]
fn take_max(m: &mut f32, v: f32) {
    *m = if v > *m || v.is_nan() { v } else { *m };
}

/// Max pooling of `planes` contiguous `[H, W]` planes (`N·C` of them), returned as
/// `planes` contiguous `[OH, OW]` planes. Padding is never read (as if −∞).
///
/// # Panics
/// If `src` is shorter than `planes · H · W` (a caller's bug, not an input's).
pub fn max_pool_2d(src: &[f32], planes: usize, g: &Window2d) -> Vec<f32> {
    let ([h, w], [oh, ow]) = (g.input, g.out);
    let mut out = vec![f32::NEG_INFINITY; planes * oh * ow];
    if h * w == 0 || oh * ow == 0 {
        return out;
    }
    let mut pool = MaxPool::new(g);
    for (plane, dst) in src.chunks_exact(h * w).take(planes).zip(out.chunks_exact_mut(oh * ow)) {
        pool.plane(plane, dst);
    }
    out
}

/// One max pooling's geometry worked out once, and its scratch rows, for pooling plane after
/// plane ([`max_pool_2d`], and [`conv_2d`]'s pooled records).
///
/// Separable: per output row, the maximum over the kernel's rows for every input column, then
/// over the kernel's columns of that row; both as contiguous loops that vectorise.
struct MaxPool {
    g: Window2d,
    /// Per kernel column: the output columns it falls inside the input for, `lo..hi`.
    cols: Vec<(usize, usize)>,
    /// The output columns whose whole window lies inside the input (no bounds to check).
    inner: (usize, usize),
    /// Per kernel column: its offset from the window's first column.
    taps: Vec<usize>,
    rows: Vec<f32>,
    wide: Vec<f32>,
}

impl MaxPool {
    fn new(g: &Window2d) -> Self {
        let cols: Vec<(usize, usize)> = (0..g.kernel[1]).map(|k| g.valid(1, k)).collect();
        let ow = g.out[1];
        let inner = match cols.iter().fold((0, ow), |(lo, hi), &(l, h)| (lo.max(l), hi.min(h))) {
            (lo, hi) if lo < hi => (lo, hi),
            _ => (ow, ow),
        };
        let taps = (0..g.kernel[1]).map(|k| k * g.dilation[1]).collect();
        let w = g.input[1];
        MaxPool { g: g.clone(), cols, inner, taps, rows: vec![f32::NEG_INFINITY; w], wide: vec![f32::NEG_INFINITY; w] }
    }

    /// Pool one `[H, W]` plane into one `[OH, OW]` plane.
    fn plane(&mut self, plane: &[f32], dst: &mut [f32]) {
        let MaxPool { g, cols, inner, taps, rows, wide } = self;
        let ([h, w], ow) = (g.input, g.out[1]);
        dst.fill(f32::NEG_INFINITY);
        for (r, orow) in dst.chunks_exact_mut(ow).enumerate() {
            // The kernel's rows inside the input, folded into `rows`: the first two in one pass
            // (no copy of the first: a small copy is a runtime call in V8, `memory.copy`).
            let mut inside = (0..g.kernel[0]).filter_map(|kh| (r * g.stride[0] + kh * g.dilation[0]).checked_sub(g.pad_begin[0]).filter(|&i| i < h));
            let line = |ih: usize| &plane[ih * w..(ih + 1) * w];
            match (inside.next(), inside.next()) {
                (Some(a), Some(b)) => {
                    for ((m, &x), &y) in rows.iter_mut().zip(line(a)).zip(line(b)) {
                        let mut v = x;
                        take_max(&mut v, y);
                        *m = v;
                    }
                }
                (Some(a), None) => rows.copy_from_slice(line(a)),
                // Every window overlaps the input (the caller's check); kept total anyway.
                _ => rows.fill(f32::NEG_INFINITY),
            }
            for ih in inside {
                for (m, &v) in rows.iter_mut().zip(line(ih)) {
                    take_max(m, v);
                }
            }
            let (s, pad) = (g.stride[1], g.pad_begin[1]);
            let (k, d) = (g.kernel[1], g.dilation[1]);
            if inner.0 < inner.1 {
                let from = &rows[inner.0 * s - pad..];
                let orow = &mut orow[inner.0..inner.1];
                match (k, d == 1 && s == k) {
                    // Windows side by side (kernel = stride, the usual 2×2 and 3×3 pools): each
                    // output the maximum of its own run of columns, in a loop of known length.
                    (2, true) => tiles::<2>(orow, from),
                    (3, true) => tiles::<3>(orow, from),
                    _ => {
                        // The maximum over the kernel's columns starting at every input column
                        // (contiguous, vectorised), then every stride-th of them.
                        wide.copy_from_slice(rows);
                        for &t in &taps[1..] {
                            for (m, &v) in wide.iter_mut().zip(&rows[t..]) {
                                take_max(m, v);
                            }
                        }
                        for (m, &v) in orow.iter_mut().zip(wide[inner.0 * s - pad..].iter().step_by(s)) {
                            *m = v;
                        }
                    }
                }
            }
            // The columns near the edges, where some kernel places fall in the padding.
            for (&(lo, hi), &t) in cols.iter().zip(taps.iter()) {
                for c in (lo..hi.min(inner.0)).chain(lo.max(inner.1)..hi) {
                    take_max(&mut orow[c], rows[c * s + t - pad]);
                }
            }
        }
    }
}

/// Per output, the maximum of its `K` input columns, the windows side by side.
#[inline(always)]
fn tiles<const K: usize>(out: &mut [f32], from: &[f32]) {
    for (m, win) in out.iter_mut().zip(from.chunks_exact(K)) {
        let mut v = win[0];
        for &x in &win[1..] {
            take_max(&mut v, x);
        }
        *m = v;
    }
}

/// ONNX Relu as torch and burn compute it: negative values and −0 become 0, NaN stays NaN.
#[inline(always)]
pub fn relu(v: f32) -> f32 {
    if v.is_nan() || v > 0.0 { v } else { 0.0 }
}

/// Output channels computed together by [`conv_2d`]: their running sums stay in registers
/// while each input value is loaded once.
const BLOCK_OUT: usize = 8;
/// Output columns computed together by [`conv_2d`]: with [`BLOCK_OUT`], 32 running sums (eight
/// 128-bit vectors) per block.
const BLOCK_COLS: usize = 4;

/// What [`conv_2d`] does to a record's outputs after the convolution (and its bias), in the
/// given order, a channel at a time while they are in cache: the nodes an interpreter reads
/// right after a Conv, without a pass of their own over the whole batch.
#[derive(Clone, Copy, Debug)]
pub enum Then<'a> {
    /// [`relu`] of every value.
    Relu,
    /// `v · scale[ch] + shift[ch]` per output channel `ch`, as a multiply and then an add (two
    /// roundings, as a separate Mul and Add would: an inference BatchNormalization).
    Affine {
        /// One per output channel.
        scale: &'a [f32],
        /// One per output channel.
        shift: &'a [f32],
    },
}

/// Direct 2-D convolution of `n` records of `c` contiguous `[H, W]` planes with `weight`
/// `[O, C/groups, kH, kW]` and an optional `bias` `[O]`, returned as `[N, O, OH, OW]`. Padding
/// reads zeros. Each output is one running sum over (channel, kernel row, kernel column) in
/// that order, then the bias: the order of an im2col and matrix product. Then, per record while
/// its outputs are in cache, the steps of `then` in order and, with `pool` (whose input is
/// `[OH, OW]`), a max pooling of every output plane: the result is then `[N, O, PH, PW]`, `PH`
/// and `PW` the pool's output size.
///
/// Register-blocked: per output row, [`BLOCK_COLS`] columns × [`BLOCK_OUT`] output channels of
/// a group at a time, the running sums held across the kernel's places in vectors along the
/// output channels, so every input value loaded serves eight of them. A depthwise convolution
/// (one input and one output channel per group) runs as one contiguous loop per kernel place
/// over each output row instead.
///
/// # Panics
/// If a slice is shorter than its shape, `groups` does not divide `c` and `o`, or `pool`'s
/// input is not this convolution's output (a caller's bug, not an input's).
#[allow(clippy::too_many_arguments)]
pub fn conv_2d(
    x: &[f32],
    n: usize,
    c: usize,
    weight: &[f32],
    o: usize,
    groups: usize,
    bias: Option<&[f32]>,
    then: &[Then<'_>],
    pool: Option<&Window2d>,
    g: &Window2d,
) -> Vec<f32> {
    let ([h, w], [kh, kw], [oh, ow]) = (g.input, g.kernel, g.out);
    let ([sh, _], [dh, dw], [ph, pw]) = (g.stride, g.dilation, g.pad_begin);
    assert!(pool.is_none_or(|p| p.input == g.out), "the pool's input must be the convolution's output");
    let cg = c / groups;
    // The input with its padding made explicit, wide enough for every window.
    let (hh, ww) = ((h + ph).max((oh.max(1) - 1) * sh + (kh - 1) * dh + 1), (w + pw).max((ow.max(1) - 1) * g.stride[1] + (kw - 1) * dw + 1));
    // Offsets of the kernel's places from a group's first padded plane, in (channel, row,
    // column) order.
    let offsets: Vec<usize> = (0..cg).flat_map(|ci| (0..kh).flat_map(move |i| (0..kw).map(move |j| ci * hh * ww + i * dh * ww + j * dw))).collect();
    let plan = Plan { c, o, groups, hh, ww, offsets, weight, bias, g };
    let per_plane = pool.map_or(oh * ow, |p| p.out[0] * p.out[1]);
    let mut out = vec![0.0f32; n * o * per_plane];
    let mut padded = vec![0.0f32; c * hh * ww];
    // A pooled record's convolution outputs, before pooling.
    let mut full = vec![0.0f32; if pool.is_some() { o * oh * ow } else { 0 }];
    let mut pooling = pool.filter(|_| oh * ow > 0).map(MaxPool::new);
    let blocked = plan.blocked_weights();
    for (record, dst) in x.chunks_exact(c * h * w).take(n).zip(out.chunks_exact_mut(o * per_plane)) {
        for (plane, src) in padded.chunks_exact_mut(hh * ww).zip(record.chunks_exact(h * w)) {
            for (row, line) in plane[ph * ww..].chunks_exact_mut(ww).zip(src.chunks_exact(w)) {
                row[pw..pw + w].copy_from_slice(line);
            }
        }
        let y: &mut [f32] = if pool.is_some() { &mut full } else { &mut *dst };
        match (&blocked, g.stride[1]) {
            (None, _) => plan.depthwise(&padded, y),
            (Some(wt), 1) => plan.blocked::<1>(&padded, wt, y),
            (Some(wt), 2) => plan.blocked::<2>(&padded, wt, y),
            (Some(wt), _) => plan.blocked::<0>(&padded, wt, y),
        }
        // Not in the loops above: a branch in their stores made the whole convolution 1.6×
        // slower in the browser.
        for (ch, plane) in y.chunks_exact_mut((oh * ow).max(1)).enumerate() {
            for step in then {
                match *step {
                    Then::Relu => plane.iter_mut().for_each(|v| *v = relu(*v)),
                    Then::Affine { scale, shift } => {
                        let (a, b) = (scale[ch], shift[ch]);
                        plane.iter_mut().for_each(|v| *v = *v * a + b);
                    }
                }
            }
        }
        if let Some(p) = &mut pooling {
            for (plane, pooled) in full.chunks_exact(oh * ow).zip(dst.chunks_exact_mut(per_plane)) {
                p.plane(plane, pooled);
            }
        }
    }
    out
}

/// A convolution's geometry for [`conv_2d`]'s per-record loops.
struct Plan<'a> {
    c: usize,
    o: usize,
    groups: usize,
    /// The padded input's height and width.
    hh: usize,
    ww: usize,
    /// The kernel's places from a group's first padded plane, in (channel, row, column) order.
    offsets: Vec<usize>,
    weight: &'a [f32],
    bias: Option<&'a [f32]>,
    g: &'a Window2d,
}

impl Plan<'_> {
    /// The weights per group and block of its output channels, tap-major,
    /// `[group][block][tap][BLOCK_OUT]`, zero past the group's last channel; `None` for a
    /// depthwise convolution.
    fn blocked_weights(&self) -> Option<Vec<f32>> {
        let (cg, og, taps) = (self.c / self.groups, self.o / self.groups, self.offsets.len());
        if cg == 1 && og == 1 {
            return None;
        }
        let blocks = og.div_ceil(BLOCK_OUT);
        let mut wt = vec![0.0f32; self.groups * blocks * taps * BLOCK_OUT];
        for co in 0..self.o {
            let (grp, k) = (co / og, co % og);
            for t in 0..taps {
                wt[((grp * blocks + k / BLOCK_OUT) * taps + t) * BLOCK_OUT + k % BLOCK_OUT] = self.weight[co * taps + t];
            }
        }
        Some(wt)
    }

    /// One record of a depthwise convolution: per channel and kernel place, one contiguous
    /// loop over each output row.
    fn depthwise(&self, padded: &[f32], y: &mut [f32]) {
        let ([oh, ow], [sh, sw], (hh, ww)) = (self.g.out, self.g.stride, (self.hh, self.ww));
        let taps = self.offsets.len();
        y.fill(0.0);
        for (ch, (plane, oplane)) in padded.chunks_exact(hh * ww).zip(y.chunks_exact_mut((oh * ow).max(1))).enumerate() {
            let wk = &self.weight[ch * taps..(ch + 1) * taps];
            for (r, orow) in oplane.chunks_exact_mut(ow.max(1)).enumerate().take(oh) {
                for (&off, &wv) in self.offsets.iter().zip(wk) {
                    let at = &plane[r * sh * ww + off..];
                    if sw == 1 {
                        for (m, &v) in orow.iter_mut().zip(at) {
                            *m += wv * v;
                        }
                    } else {
                        for (m, &v) in orow.iter_mut().zip(at.iter().step_by(sw)) {
                            *m += wv * v;
                        }
                    }
                }
                if let Some(b) = self.bias {
                    orow.iter_mut().for_each(|m| *m += b[ch]);
                }
            }
        }
    }

    /// One record of a blocked convolution ([`conv_2d`]) with the weights of
    /// [`Plan::blocked_weights`]; `SW` is the column stride when it is known at compile time
    /// (1 or 2: the loads of a block's columns then need one bounds check per kernel place
    /// rather than one each), 0 for any other.
    fn blocked<const SW: usize>(&self, padded: &[f32], wt: &[f32], dst: &mut [f32]) {
        let [oh, ow] = self.g.out;
        let (sh, sw) = (self.g.stride[0], if SW == 0 { self.g.stride[1] } else { SW });
        // The padded input a block of columns reads at one kernel place.
        let span = (BLOCK_COLS - 1) * sw + 1;
        let (cg, og, taps) = (self.c / self.groups, self.o / self.groups, self.offsets.len());
        let blocks = og.div_ceil(BLOCK_OUT);
        let (hh, ww, offsets, bias) = (self.hh, self.ww, &self.offsets, self.bias);
        let full = ow / BLOCK_COLS * BLOCK_COLS;
        for (gb, wb) in wt.chunks_exact(taps * BLOCK_OUT).enumerate() {
            let (grp, b) = (gb / blocks, gb % blocks);
            let first = grp * og + b * BLOCK_OUT;
            let width = BLOCK_OUT.min(og - b * BLOCK_OUT);
            let plane0 = grp * cg * hh * ww;
            for r in 0..oh {
                let base = plane0 + r * sh * ww;
                let mut store = |col: usize, acc: &[[f32; BLOCK_OUT]; BLOCK_COLS], cols: usize| {
                    for k in 0..width {
                        let co = first + k;
                        let at = (co * oh + r) * ow + col;
                        let bias = bias.map_or(0.0, |v| v[co]);
                        for (d, a) in dst[at..at + cols].iter_mut().zip(acc) {
                            *d = a[k] + bias;
                        }
                    }
                };
                for col in (0..full).step_by(BLOCK_COLS) {
                    let start = base + col * sw;
                    // Per output column, the running sums of the block's output channels.
                    let mut acc = [[0.0f32; BLOCK_OUT]; BLOCK_COLS];
                    for (&off, wv) in offsets.iter().zip(wb.chunks_exact(BLOCK_OUT)) {
                        let at = &padded[start + off..start + off + span];
                        let Ok(wv) = <&[f32; BLOCK_OUT]>::try_from(wv) else { continue };
                        for (l, a) in acc.iter_mut().enumerate() {
                            let xl = at[l * sw];
                            for (s, &wk) in a.iter_mut().zip(wv) {
                                *s += wk * xl;
                            }
                        }
                    }
                    store(col, &acc, BLOCK_COLS);
                }
                if full < ow {
                    // The last, narrower block of columns: a loop of its own, because one loop
                    // for both, with a bound on the columns, made the convolution about 5×
                    // slower in Chromium (39 → 190 ms on the bench's 2,000 records).
                    let start = base + full * sw;
                    let mut acc = [[0.0f32; BLOCK_OUT]; BLOCK_COLS];
                    for (&off, wv) in offsets.iter().zip(wb.chunks_exact(BLOCK_OUT)) {
                        let at = &padded[start + off..];
                        for (l, a) in acc.iter_mut().enumerate().take(ow - full) {
                            let xl = at[l * sw];
                            for (s, &wk) in a.iter_mut().zip(wv) {
                                *s += wk * xl;
                            }
                        }
                    }
                    store(full, &acc, ow - full);
                }
            }
        }
    }
}

/// Little-endian `f32` values (NPY's `<f4`) widened to `f64`, exactly.
///
/// # Panics
/// Never; a trailing partial value is ignored (the caller sized `bytes`).
pub fn f32_le_to_f64(bytes: &[u8]) -> Vec<f64> {
    bytes.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
}

/// Little-endian `f32` values (NPY's `<f4`).
pub fn f32_le(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Little-endian `f64` values (NPY's `<f8`).
pub fn f64_le(bytes: &[u8]) -> Vec<f64> {
    bytes.chunks_exact(8).map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

/// `values` rounded to the nearest `f32` (Rust's `as`: ties to even, beyond the range ±∞).
pub fn to_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}
