//! Images: PNG and JPEG decoding, and the preprocessing of a torchvision training pipeline
//! (`Resize` → `CenterCrop` → `ToTensor` → `Normalize`), computed so that the pixels equal
//! PIL's and torchvision's.
//!
//! Every image is decoded to 8-bit RGB as torchvision's `ImageFolder` loader does
//! (`Image.convert("RGB")`: grayscale replicated, alpha dropped, palettes expanded, 16-bit
//! samples reduced to their high byte) and, for a one-channel model, converted to luminance
//! with PIL's `convert("L")` weights (ITU-R 601-2, in PIL's fixed point).
//!
//! Resizing is PIL's `Image.resize(…, BILINEAR)` (what torchvision's `Resize` calls on a PIL
//! image): a separable triangle filter whose support widens with the downscaling factor
//! (antialiasing), coefficients in PIL's 22-bit fixed point, the horizontal pass first and its
//! result rounded to 8 bits before the vertical pass. It is written here, not taken from the
//! `image` crate, because that crate's filter keeps f32 between passes and rounds differently,
//! and the point is the same pixels the user's model was trained on.

use crate::error::{AuditError, Result};
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_IMAGE_PIXELS as MAX_PIXELS, MAX_IMAGE_SIDE as MAX_SIDE};

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct Rgb {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `height × width × 3` bytes.
    pub pixels: Vec<u8>,
}

fn bad(file: &str, m: impl Into<String>) -> AuditError {
    AuditError::file(file, m)
}

fn check_dims(file: &str, width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS {
        return Err(bad(
            file,
            format!("the image is {width}×{height}; privaudit reads images of 1 to {MAX_SIDE} pixels a side and at most {MAX_PIXELS} pixels"),
        ));
    }
    Ok(())
}

/// Whether a file name is an image this module decodes (by extension, as torchvision's
/// `IMG_EXTENSIONS` does).
pub fn is_image_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}

/// Decode a PNG or JPEG (recognised by its signature) to 8-bit RGB.
///
/// # Errors
/// Another format, a truncated or corrupt file, an image beyond [`MAX_SIDE`] / [`MAX_PIXELS`],
/// a CMYK JPEG.
pub fn decode(file: &str, bytes: &[u8]) -> Result<Rgb> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(file, bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(file, bytes)
    } else if bytes.is_empty() {
        Err(bad(file, "the file is empty"))
    } else {
        Err(bad(file, "not a PNG or JPEG image (other formats are not read; convert them to PNG)"))
    }
}

fn decode_png(file: &str, bytes: &[u8]) -> Result<Rgb> {
    let corrupt = |e: png::DecodingError| bad(file, format!("cannot decode the PNG: {e}"));
    // The header's size first, the same on every platform (the decoder's own limit check
    // depends on the width of usize).
    if let (Some(b"IHDR"), Some(w), Some(h)) = (bytes.get(12..16), bytes.get(16..20), bytes.get(20..24)) {
        let dim = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
        check_dims(file, dim(w), dim(h))?;
    }
    let mut d = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), png::Limits { bytes: MAX_PIXELS * 8 });
    d.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = d.read_info().map_err(corrupt)?;
    let (w, h) = (reader.info().width as usize, reader.info().height as usize);
    check_dims(file, w, h)?;
    let size = reader.output_buffer_size().ok_or_else(|| bad(file, "the PNG's size overflows"))?;
    let mut buf = vec![0u8; size];
    let out = reader.next_frame(&mut buf).map_err(corrupt)?;
    let channels = match out.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(bad(file, "the PNG's palette could not be expanded")),
    };
    if out.bit_depth != png::BitDepth::Eight || out.line_size < w * channels {
        return Err(bad(file, format!("unexpected PNG sample layout ({:?}, {} bytes a row)", out.bit_depth, out.line_size)));
    }
    let mut pixels = Vec::with_capacity(w * h * 3);
    for row in buf.chunks(out.line_size).take(h) {
        for px in row[..w * channels].chunks_exact(channels) {
            match channels {
                1 | 2 => pixels.extend_from_slice(&[px[0]; 3]),
                _ => pixels.extend_from_slice(&px[..3]),
            }
        }
    }
    if pixels.len() != w * h * 3 {
        return Err(bad(file, "the PNG holds fewer rows than its header declares"));
    }
    Ok(Rgb { width: w, height: h, pixels })
}

fn decode_jpeg(file: &str, bytes: &[u8]) -> Result<Rgb> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let corrupt = |e: zune_jpeg::errors::DecodeErrors| bad(file, format!("cannot decode the JPEG: {e}"));
    let opts = DecoderOptions::default().set_max_width(MAX_SIDE).set_max_height(MAX_SIDE).jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), opts);
    d.decode_headers().map_err(corrupt)?;
    let info = d.info().ok_or_else(|| bad(file, "cannot read the JPEG's header"))?;
    check_dims(file, usize::from(info.width), usize::from(info.height))?;
    if let Some(ColorSpace::CMYK | ColorSpace::YCCK) = d.input_colorspace() {
        return Err(bad(file, "a CMYK JPEG; privaudit reads RGB and grayscale JPEGs (convert it to RGB first)"));
    }
    let pixels = d.decode().map_err(corrupt)?;
    let (w, h) = (usize::from(info.width), usize::from(info.height));
    if pixels.len() != w * h * 3 {
        return Err(bad(file, "the JPEG decoded to an unexpected size"));
    }
    Ok(Rgb { width: w, height: h, pixels })
}

/// PIL's resampling coefficients for one axis: for each output index, the first input index
/// and the fixed-point weights (22 fractional bits).
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<i32>)> {
    const PRECISION_BITS: u32 = 32 - 8 - 2;
    let scale = input as f64 / output as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // the triangle filter's support is 1
    let triangle = |x: f64| {
        let x = x.abs();
        if x < 1.0 { 1.0 - x } else { 0.0 }
    };
    (0..output)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5).floor().max(0.0)) as usize;
            let xmax = ((center + support + 0.5).floor() as usize).min(input);
            let ws: Vec<f64> = (xmin..xmax).map(|x| triangle((x as f64 - center + 0.5) / filterscale)).collect();
            let total: f64 = ws.iter().sum();
            let k = ws
                .iter()
                .map(|w| {
                    let v = if total != 0.0 { w / total } else { 0.0 } * f64::from(1u32 << PRECISION_BITS);
                    (if v < 0.0 { (v - 0.5).trunc() } else { (v + 0.5).trunc() }) as i32
                })
                .collect();
            (xmin, k)
        })
        .collect()
}

fn clip8(v: i64) -> u8 {
    const PRECISION_BITS: u32 = 32 - 8 - 2;
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// PIL's `resize((width, height), Image.BILINEAR)` of an RGB image.
pub fn resize(img: &Rgb, width: usize, height: usize) -> Rgb {
    const HALF: i64 = 1 << (32 - 8 - 2 - 1);
    let mut cur = img.clone();
    if width != cur.width {
        let k = coefficients(cur.width, width);
        let mut out = vec![0u8; width * cur.height * 3];
        for y in 0..cur.height {
            let row = &cur.pixels[y * cur.width * 3..(y + 1) * cur.width * 3];
            for (xx, (xmin, ws)) in k.iter().enumerate() {
                for c in 0..3 {
                    let s: i64 = ws.iter().enumerate().map(|(i, &w)| i64::from(row[(xmin + i) * 3 + c]) * i64::from(w)).sum();
                    out[(y * width + xx) * 3 + c] = clip8(s + HALF);
                }
            }
        }
        cur = Rgb { width, height: cur.height, pixels: out };
    }
    if height != cur.height {
        let k = coefficients(cur.height, height);
        let w = cur.width;
        let mut out = vec![0u8; w * height * 3];
        for (yy, (ymin, ws)) in k.iter().enumerate() {
            for x in 0..w * 3 {
                let s: i64 = ws.iter().enumerate().map(|(i, &wt)| i64::from(cur.pixels[(ymin + i) * w * 3 + x]) * i64::from(wt)).sum();
                out[yy * w * 3 + x] = clip8(s + HALF);
            }
        }
        cur = Rgb { width: w, height, pixels: out };
    }
    cur
}

/// torchvision's `CenterCrop((height, width))` of an image at least that large: the offsets
/// are `round((size − crop) / 2)` with Python's round-half-to-even.
pub fn center_crop(img: &Rgb, width: usize, height: usize) -> Rgb {
    let offset = |size: usize, crop: usize| {
        let d = size - crop;
        // round(d / 2), half to even: for an odd d, whichever of d / 2 ± ½ is even.
        let half = d / 2;
        if d.is_multiple_of(2) || half.is_multiple_of(2) { half } else { half + 1 }
    };
    let (top, left) = (offset(img.height, height), offset(img.width, width));
    let mut pixels = Vec::with_capacity(width * height * 3);
    for y in top..top + height {
        pixels.extend_from_slice(&img.pixels[(y * img.width + left) * 3..(y * img.width + left + width) * 3]);
    }
    Rgb { width, height, pixels }
}

/// The value range after decoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelRange {
    /// [0, 1]: `ToTensor()` (value / 255).
    #[default]
    Unit,
    /// 0..255 as floats.
    Byte,
}

/// A per-channel normalisation preset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Normalize {
    /// No normalisation (unless `mean`/`std` are given).
    #[default]
    None,
    /// torchvision's ImageNet statistics: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225).
    Imagenet,
}

/// The tensor layout of the model's image input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// From the model's input shape: `[C, H, W]` when the first axis is 1 or 3, else `[H, W, C]`
    /// when the last is.
    #[default]
    Auto,
    /// `[N, C, H, W]` (torch).
    Nchw,
    /// `[N, H, W, C]` (Keras / TensorFlow).
    Nhwc,
}

/// How images become the model's input (torchvision's order: resize, centre crop, to tensor,
/// normalise). Defaults are `ToTensor()`'s: values in [0, 1], no normalisation, no resize
/// when the size already matches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ImageOptions {
    /// `[height, width]` to resize every image to (PIL bilinear) before the crop. Default: none,
    /// and an image whose size differs from the model's (with no crop given) is resized to it.
    pub resize: Option<[u64; 2]>,
    /// `[height, width]` of a centre crop after the resize. Default: none.
    pub center_crop: Option<[u64; 2]>,
    /// Value range. Default: unit ([0, 1]).
    pub range: PixelRange,
    /// Normalisation preset. Default: none.
    pub normalize: Normalize,
    /// Per-channel mean subtracted (after the range), instead of a preset.
    pub mean: Option<Vec<f64>>,
    /// Per-channel standard deviation divided by, instead of a preset.
    pub std: Option<Vec<f64>>,
    /// Input layout. Default: auto.
    pub layout: Layout,
    /// Class names in label order; default: the sorted folder names (torchvision's
    /// `ImageFolder`, Keras' `image_dataset_from_directory`).
    pub classes: Option<Vec<String>>,
}

/// The model's image input: channels, size and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels first.
    pub nchw: bool,
}

impl Geometry {
    /// The image geometry of a model input shape (without the batch axis).
    ///
    /// # Errors
    /// A shape that is not an image of 1 or 3 channels in the requested layout.
    pub fn of(model: &str, shape: &[usize], layout: Layout) -> Result<Self> {
        let expected =
            || AuditError::option("image.layout", format!("{model}'s input is {shape:?} per record; images need [C, H, W] or [H, W, C] with C = 1 or 3"));
        let &[a, b, c] = shape else { return Err(expected()) };
        let nchw = match layout {
            Layout::Nchw => true,
            Layout::Nhwc => false,
            Layout::Auto => matches!(a, 1 | 3) || !matches!(c, 1 | 3),
        };
        let g = if nchw { Geometry { channels: a, height: b, width: c, nchw } } else { Geometry { channels: c, height: a, width: b, nchw } };
        if !matches!(g.channels, 1 | 3) {
            return Err(expected());
        }
        Ok(g)
    }
}

impl ImageOptions {
    /// Check the options against the model's geometry.
    ///
    /// # Errors
    /// A zero or oversized resize or crop, a mean/std of the wrong length, a std ≤ 0, a mean
    /// without a std (or the reverse), a preset and explicit statistics together.
    pub fn check(&self, g: &Geometry) -> Result<()> {
        for (name, v) in [("image.resize", self.resize), ("image.centerCrop", self.center_crop)] {
            if let Some([h, w]) = v
                && (!(1..=MAX_SIDE as u64).contains(&h) || !(1..=MAX_SIDE as u64).contains(&w))
            {
                return Err(AuditError::option(name, format!("[{h}, {w}]: each side must be from 1 to {MAX_SIDE}")));
            }
            if let Some([h, w]) = v
                && h * w > MAX_PIXELS as u64
            {
                return Err(AuditError::option(name, format!("[{h}, {w}]: at most {MAX_PIXELS} pixels")));
            }
        }
        match (&self.mean, &self.std) {
            (None, None) => {}
            (Some(m), Some(s)) => {
                if self.normalize != Normalize::None {
                    return Err(AuditError::option("image.normalize", "give a preset or mean and std, not both"));
                }
                if m.len() != g.channels || s.len() != g.channels {
                    return Err(AuditError::option(
                        "image.mean",
                        format!("mean and std need {} values (the model's channels), got {} and {}", g.channels, m.len(), s.len()),
                    ));
                }
                if m.iter().any(|v| !v.is_finite()) || s.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
                    return Err(AuditError::option("image.std", "mean must be finite and std positive"));
                }
            }
            _ => return Err(AuditError::option("image.mean", "mean and std go together")),
        }
        if self.normalize == Normalize::Imagenet && g.channels != 3 {
            return Err(AuditError::option("image.normalize", "the ImageNet statistics are for 3-channel models"));
        }
        if let Some(c) = &self.classes
            && (c.is_empty() || c.len() > crate::limits::MAX_CLASSES)
        {
            return Err(AuditError::option("image.classes", format!("must name 1 to {} classes", crate::limits::MAX_CLASSES)));
        }
        // A class named twice would give one folder two labels (the second silently winning).
        if let Some(c) = &self.classes {
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = c.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(AuditError::option("image.classes", format!("names the class '{}' twice; each class folder is one label", crate::limits::quote(twice))));
            }
        }
        Ok(())
    }

    fn statistics(&self, channels: usize) -> (Vec<f64>, Vec<f64>) {
        match (&self.mean, &self.std, self.normalize) {
            (Some(m), Some(s), _) => (m.clone(), s.clone()),
            (_, _, Normalize::Imagenet) => (vec![0.485, 0.456, 0.406], vec![0.229, 0.224, 0.225]),
            _ => (vec![0.0; channels], vec![1.0; channels]),
        }
    }

    /// The preprocessing, step by step, for the report.
    pub fn steps(&self, g: &Geometry) -> Vec<String> {
        let mut out = vec!["decode to 8-bit RGB (alpha dropped, grayscale replicated)".to_string()];
        match (self.resize, self.center_crop) {
            (Some([h, w]), _) => out.push(format!("resize to {h}×{w} (PIL bilinear)")),
            (None, None) => out.push(format!("resize to {}×{} (PIL bilinear) where the size differs", g.height, g.width)),
            _ => {}
        }
        if let Some([h, w]) = self.center_crop {
            out.push(format!("centre crop {h}×{w}"));
        }
        if g.channels == 1 {
            out.push("grayscale (PIL convert(\"L\"))".into());
        }
        out.push(if self.range == PixelRange::Unit { "ToTensor: values ÷ 255, in [0, 1]".into() } else { "values 0..255".into() });
        let (m, s) = self.statistics(g.channels);
        if m.iter().any(|&v| v != 0.0) || s.iter().any(|&v| v != 1.0) {
            out.push(format!("normalise: (x − {m:?}) / {s:?}"));
        }
        out.push(format!("layout {}", if g.nchw { "[N, C, H, W]" } else { "[N, H, W, C]" }));
        out
    }

    /// One decoded image as the model's input values, in its layout.
    ///
    /// # Errors
    /// A crop larger than the (resized) image; a final size that is not the model's.
    pub fn tensor(&self, file: &str, img: &Rgb, g: &Geometry) -> Result<Vec<f64>> {
        let mut img = std::borrow::Cow::Borrowed(img);
        let size = |v: [u64; 2]| (v[0] as usize, v[1] as usize);
        match (self.resize, self.center_crop) {
            (Some(r), _) => {
                let (h, w) = size(r);
                if (h, w) != (img.height, img.width) {
                    img = std::borrow::Cow::Owned(resize(&img, w, h));
                }
            }
            (None, None) if (img.height, img.width) != (g.height, g.width) => img = std::borrow::Cow::Owned(resize(&img, g.width, g.height)),
            _ => {}
        }
        if let Some(c) = self.center_crop {
            let (h, w) = size(c);
            if h > img.height || w > img.width {
                return Err(bad(file, format!("the centre crop {h}×{w} is larger than the image ({}×{} after resizing)", img.height, img.width)));
            }
            img = std::borrow::Cow::Owned(center_crop(&img, w, h));
        }
        if (img.height, img.width) != (g.height, g.width) {
            return Err(bad(
                file,
                format!(
                    "the image is {}×{} after preprocessing but the model takes {}×{}; set image.resize or image.centerCrop",
                    img.height, img.width, g.height, g.width
                ),
            ));
        }
        let (mean, std) = self.statistics(g.channels);
        let div = if self.range == PixelRange::Unit { 255.0 } else { 1.0 };
        let px = img.height * img.width;
        let mut out = vec![0.0f64; px * g.channels];
        for p in 0..px {
            let rgb = &img.pixels[p * 3..p * 3 + 3];
            for c in 0..g.channels {
                let v = if g.channels == 1 {
                    // PIL's convert("L"): (R·19595 + G·38470 + B·7471 + 2^15) >> 16.
                    ((u32::from(rgb[0]) * 19595 + u32::from(rgb[1]) * 38470 + u32::from(rgb[2]) * 7471 + 0x8000) >> 16) as f64
                } else {
                    f64::from(rgb[c])
                };
                let v = (v / div - mean[c]) / std[c];
                let at = if g.nchw { c * px + p } else { p * g.channels + c };
                out[at] = v;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_to_the_same_size_is_the_identity_and_coefficients_sum_to_one() {
        for (i, o) in [(32, 32), (100, 7), (7, 100), (33, 16)] {
            for (_, k) in coefficients(i, o) {
                let s: i64 = k.iter().map(|&w| i64::from(w)).sum();
                assert!((s - (1 << 22)).abs() <= k.len() as i64, "{i}→{o}: {s}");
            }
        }
        let img = Rgb { width: 3, height: 2, pixels: (0..18).map(|v| v as u8 * 10).collect() };
        assert_eq!(resize(&img, 3, 2), img);
    }

    #[test]
    fn center_crop_rounds_half_to_even() {
        // round(1/2) = 0, round(3/2) = 2 in Python.
        let img = Rgb { width: 5, height: 4, pixels: (0..60).map(|v| v as u8).collect() };
        let c = center_crop(&img, 2, 3);
        assert_eq!((c.width, c.height), (2, 3));
        // width 5 → 2: offset round(1.5) = 2; height 4 → 3: offset round(0.5) = 0.
        assert_eq!(&c.pixels[..3], &img.pixels[2 * 3..2 * 3 + 3]);
    }

    #[test]
    fn geometry_from_shapes() {
        assert_eq!(Geometry::of("m", &[3, 32, 32], Layout::Auto).unwrap(), Geometry { channels: 3, height: 32, width: 32, nchw: true });
        assert_eq!(Geometry::of("m", &[28, 28, 1], Layout::Auto).unwrap(), Geometry { channels: 1, height: 28, width: 28, nchw: false });
        assert!(Geometry::of("m", &[64], Layout::Auto).is_err());
        assert!(Geometry::of("m", &[5, 8, 8], Layout::Auto).is_err());
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(decode("x.png", b"\x89PNG\r\n\x1a\nnonsense").is_err());
        assert!(decode("x.jpg", &[0xFF, 0xD8, 0xFF, 0, 1, 2]).is_err());
        assert!(decode("x.gif", b"GIF89a").unwrap_err().to_string().contains("not a PNG or JPEG"));
    }
}
