//! NPY arrays (format versions 1–3, little-endian numbers) and NPZ archives of them.

use super::{Table, label_from_f64};
use crate::error::{AuditError, Result};
use crate::limits;
use std::io::Read;

pub(super) const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// A decoded array: shape and values as f64 (C order).
#[derive(Debug)]
pub(crate) struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// A value of the NPY header's Python literal.
#[derive(Debug, PartialEq)]
enum Py {
    Str(String),
    Bool(bool),
    Int(u64),
    Tuple(Vec<Py>),
    List,
}

/// The NPY header is a Python dict literal (`{'descr': '<f4', 'fortran_order': False,
/// 'shape': (3, 4), }`). We parse it with this small recursive-descent reader rather than
/// `npyz` or `ndarray-npy`: both read it with `py_literal`, which brings the `pest` parser
/// generator into the native and the wasm build (minutes of compiling on the 2-core machines,
/// and size in the page) for a dict of three keys. It is covered by the hostile-input corpus
/// and the fuzz harness (`tests/integration/hostile.rs`).
struct Lit<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Lit<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.s.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Py> {
        self.skip_ws();
        self.depth += 1;
        if self.depth > 8 {
            return None;
        }
        let c = *self.s.get(self.pos)?;
        let v = match c {
            b'\'' | b'"' => {
                let start = self.pos + 1;
                let len = self.s[start..].iter().position(|&x| x == c)?;
                self.pos = start + len + 1;
                Py::Str(std::str::from_utf8(&self.s[start..start + len]).ok()?.to_string())
            }
            b'(' | b'[' => {
                self.pos += 1;
                let close = if c == b'(' { b')' } else { b']' };
                let mut items = Vec::new();
                loop {
                    if self.eat(close) {
                        break;
                    }
                    items.push(self.value()?);
                    if !self.eat(b',') {
                        if !self.eat(close) {
                            return None;
                        }
                        break;
                    }
                }
                if c == b'(' { Py::Tuple(items) } else { Py::List }
            }
            b'0'..=b'9' => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let n = std::str::from_utf8(&self.s[start..self.pos]).ok()?.parse().ok()?;
                // Python 2 headers may write longs as `3L`.
                if self.s.get(self.pos) == Some(&b'L') {
                    self.pos += 1;
                }
                Py::Int(n)
            }
            _ if self.s[self.pos..].starts_with(b"True") => {
                self.pos += 4;
                Py::Bool(true)
            }
            _ if self.s[self.pos..].starts_with(b"False") => {
                self.pos += 5;
                Py::Bool(false)
            }
            _ => return None,
        };
        self.depth -= 1;
        Some(v)
    }

    /// The header dict as (key, value) pairs; `None` for anything else, duplicate keys included.
    fn dict(&mut self) -> Option<Vec<(String, Py)>> {
        if !self.eat(b'{') {
            return None;
        }
        let mut out: Vec<(String, Py)> = Vec::new();
        loop {
            if self.eat(b'}') {
                break;
            }
            let Py::Str(k) = self.value()? else { return None };
            if !self.eat(b':') || out.iter().any(|(x, _)| *x == k) {
                return None;
            }
            let v = self.value()?;
            out.push((k, v));
            if !self.eat(b',') {
                if !self.eat(b'}') {
                    return None;
                }
                break;
            }
        }
        self.skip_ws();
        (self.pos == self.s.len()).then_some(out)
    }
}

/// Whether `b` starts like an NPY file whose magic string is damaged.
pub(super) fn looks_like_broken_npy(b: &[u8]) -> bool {
    b.len() >= 6 && !b.starts_with(NPY_MAGIC) && b[..6].iter().zip(NPY_MAGIC).filter(|(x, y)| x == y).count() >= 4
}

pub(crate) fn read_npy(file: &str, b: &[u8]) -> Result<Array> {
    decode(file, parse(file, b)?)
}

/// An NPY file as the f32 values a model reads, `(shape, values)` in C order: an `<f4` array's
/// bytes as they are (no f64 in between: half the memory, one pass), any other dtype read as
/// [`read_npy`] reads it, then rounded to f32.
pub(crate) fn read_npy_f32(file: &str, b: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    let p = parse(file, b)?;
    if (p.kind, p.size) == (b'f', 4) && (!p.fortran || p.shape.len() < 2) {
        return Ok((p.shape, privaudit_kernels::f32_le(p.data)));
    }
    let a = decode(file, p)?;
    Ok((a.shape, privaudit_kernels::to_f32(&a.values)))
}

/// An NPY file's header, checked, and the bytes of its values.
struct Parsed<'a> {
    shape: Vec<usize>,
    descr: String,
    /// The dtype's kind (`f`, `i`, `u`, `b`) and size in bytes, little-endian.
    kind: u8,
    size: usize,
    fortran: bool,
    /// Exactly the values' bytes.
    data: &'a [u8],
}

fn parse<'a>(file: &str, b: &'a [u8]) -> Result<Parsed<'a>> {
    let bad = |m: String| AuditError::file(file, m);
    if !b.starts_with(NPY_MAGIC) || b.len() < 10 {
        return Err(bad("not an NPY file (missing the \\x93NUMPY magic)".into()));
    }
    let (hlen, start): (usize, usize) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => return Err(bad(format!("unsupported NPY format version {v}"))),
    };
    let header = b.get(start..start.saturating_add(hlen)).ok_or_else(|| bad("truncated NPY header".into()))?;
    let dict = Lit { s: header, pos: 0, depth: 0 }
        .dict()
        .ok_or_else(|| bad("the NPY header is not a valid {'descr': …, 'fortran_order': …, 'shape': (…)} dictionary".into()))?;
    let get = |k: &str| dict.iter().find(|(x, _)| x == k).map(|(_, v)| v);
    if let Some((k, _)) = dict.iter().find(|(k, _)| !["descr", "fortran_order", "shape"].contains(&k.as_str())) {
        return Err(bad(format!("the NPY header has an unexpected key '{}'", limits::quote(k))));
    }
    let descr = match get("descr") {
        Some(Py::Str(d)) => d.clone(),
        Some(Py::List) => return Err(bad("structured NPY dtypes (records with named fields) are not supported; save a plain numeric array".into())),
        _ => return Err(bad("NPY header has no 'descr' string".into())),
    };
    let fortran = match get("fortran_order") {
        Some(Py::Bool(f)) => *f,
        _ => return Err(bad("NPY header has no 'fortran_order' True/False".into())),
    };
    let shape: Vec<usize> = match get("shape") {
        Some(Py::Tuple(dims)) => dims
            .iter()
            .map(|d| match d {
                // A dimension beyond usize (wasm32: 4 G) holds more values than any file here.
                Py::Int(n) => usize::try_from(*n)
                    .map_err(|_| bad(format!("NPY shape holds more than {} values, the most privaudit reads from one file", limits::MAX_VALUES))),
                _ => Err(bad("NPY shape must be a tuple of non-negative integers".into())),
            })
            .collect::<Result<_>>()?,
        _ => return Err(bad("NPY header has no 'shape' tuple".into())),
    };
    if shape.len() > limits::MAX_RANK {
        return Err(bad(format!("NPY array of rank {}; at most {} dimensions are supported", shape.len(), limits::MAX_RANK)));
    }
    let count = limits::product(&shape)
        .filter(|&n| n <= limits::MAX_VALUES)
        .ok_or_else(|| bad(format!("NPY shape {shape:?} holds more than {} values, the most privaudit reads from one file", limits::MAX_VALUES)))?;
    let data = &b[start + hlen..];
    let d = descr.as_bytes();
    let size = descr.get(2..).and_then(|t| t.parse::<usize>().ok()).filter(|&n| n > 0 && n <= 16);
    let (Some(&endian), Some(&kind), Some(size)) = (d.first(), d.get(1), size) else {
        return Err(bad(format!("unsupported NPY dtype '{}'; expected float16/32/64 or an integer type", limits::quote(&descr))));
    };
    if endian == b'>' && size > 1 {
        return Err(bad(format!("big-endian NPY dtype '{descr}' is not supported; save with little-endian dtypes")));
    }
    let need = count * size;
    if data.len() < need {
        return Err(bad(format!("NPY data is truncated: expected {need} bytes for shape {shape:?}, found {}", data.len())));
    }
    Ok(Parsed { shape, descr, kind, size, fortran, data: &data[..need] })
}

/// The values of a parsed NPY file as f64.
fn decode(file: &str, p: Parsed<'_>) -> Result<Array> {
    let bad = |m: String| AuditError::file(file, m);
    let Parsed { shape, descr, kind, size, fortran, data } = p;
    let mut values = match (kind, size) {
        // The float dtypes models read, in privaudit-kernels' loops (compiled for speed in the
        // browser build, which this crate is not).
        (b'f', 4) => privaudit_kernels::f32_le_to_f64(data),
        (b'f', 8) => privaudit_kernels::f64_le(data),
        _ => {
            let conv = per_value(kind, size)
                .ok_or_else(|| bad(format!("unsupported NPY dtype '{}'; expected float16/32/64 or an integer type", limits::quote(&descr))))?;
            data.chunks_exact(size).map(conv).collect()
        }
    };
    if fortran && shape.len() == 2 {
        let (r, c) = (shape[0], shape[1]);
        let mut t = vec![0.0; values.len()];
        for i in 0..r {
            for j in 0..c {
                t[i * c + j] = values[j * r + i];
            }
        }
        values = t;
    } else if fortran && shape.len() > 2 {
        return Err(bad("Fortran-ordered arrays of more than 2 dimensions are not supported".into()));
    }
    Ok(Array { shape, values })
}

/// How one value of an NPY dtype other than `<f4`/`<f8` becomes an f64 (`chunks_exact(size)`
/// hands it a slice of exactly the dtype's size); `None` for a dtype privaudit does not read.
fn per_value(kind: u8, size: usize) -> Option<fn(&[u8]) -> f64> {
    Some(match (kind, size) {
        (b'f', 2) => |c| half::f16::from_le_bytes([c[0], c[1]]).to_f64(),
        (b'i', 1) => |c| c[0] as i8 as f64,
        (b'i', 2) => |c| i16::from_le_bytes([c[0], c[1]]) as f64,
        (b'i', 4) => |c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
        (b'i', 8) => |c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64,
        (b'u', 1) | (b'b', 1) => |c| c[0] as f64,
        (b'u', 2) => |c| u16::from_le_bytes([c[0], c[1]]) as f64,
        (b'u', 4) => |c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
        (b'u', 8) => |c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64,
        _ => return None,
    })
}

/// Build a table from a feature array (2-D, or N-D flattened per row) and a 1-D label array.
pub(crate) fn table_from_arrays(xfile: &str, x: Array, yfile: &str, y: Array) -> Result<Table> {
    if x.shape.is_empty() {
        return Err(AuditError::ShapeMismatch {
            file: xfile.into(),
            what: "array rank".into(),
            expected: "a 2-D array [records, features]".into(),
            actual: "a scalar".into(),
        });
    }
    let rows = x.shape[0];
    // The shape's product was bounded when the array was read.
    let cols: usize = x.shape[1..].iter().product();
    let ylen = match y.shape.as_slice() {
        [n] => *n,
        [n, 1] => *n,
        s => {
            return Err(AuditError::ShapeMismatch {
                file: yfile.into(),
                what: "label array shape".into(),
                expected: "a 1-D array [records]".into(),
                actual: format!("{s:?}"),
            });
        }
    };
    if ylen != rows {
        return Err(AuditError::ShapeMismatch {
            file: yfile.into(),
            what: "number of labels".into(),
            expected: format!("{rows} (one per row of {xfile})"),
            actual: ylen.to_string(),
        });
    }
    if let Some(k) = x.values.iter().position(|v| !v.is_finite()) {
        return Err(AuditError::BadCell {
            file: xfile.into(),
            row: k / cols.max(1) + 1,
            column: format!("#{}", k % cols.max(1) + 1),
            message: "NaN or Inf is not allowed".into(),
        });
    }
    let labels = y
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| label_from_f64(v).map_err(|m| AuditError::BadCell { file: yfile.into(), row: i + 1, column: "label".into(), message: m }))
        .collect::<Result<Vec<_>>>()?;
    Ok(Table { file: xfile.into(), values: x.values, rows, cols, labels, ids: Vec::new(), classes: Vec::new(), groups: Vec::new() })
}

/// Read the named arrays of an NPZ archive (stored or deflated entries), and only those: each
/// entry is read with a bound, whatever size its header declares (a zip bomb stops at the
/// bound). Returns them in the order asked.
///
/// # Errors
/// Not a zip, an empty zip, a missing array, an entry over [`limits::MAX_NPZ_ENTRY_BYTES`].
pub(crate) fn read_npz(file: &str, bytes: &[u8], wanted: &[&str], what: &str) -> Result<Vec<Array>> {
    if bytes.starts_with(b"PK\x05\x06") {
        return Err(AuditError::file(file, format!("the NPZ (zip) archive is empty; expected {what}")));
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| AuditError::file(file, format!("not a readable NPZ (zip) archive: {e}")))?;
    let names: Vec<String> = zip.file_names().map(|n| n.trim_end_matches(".npy").to_string()).collect();
    let limit = limits::MAX_NPZ_ENTRY_BYTES;
    let mut out = Vec::with_capacity(wanted.len());
    for &key in wanted {
        let index = zip
            .index_for_name(&format!("{key}.npy"))
            .or_else(|| zip.index_for_name(key))
            .ok_or_else(|| AuditError::file(file, format!("NPZ has no array '{key}' (arrays: {}); expected {what}", limits::list(&names))))?;
        let entry = zip.by_index(index).map_err(|e| AuditError::file(file, format!("NPZ entry '{key}': {e}")))?;
        let declared = entry.size();
        if declared > limit {
            return Err(AuditError::file(file, format!("NPZ entry '{key}' declares {declared} bytes; at most {limit} are read")));
        }
        let mut buf = Vec::with_capacity(declared.min(64 << 20) as usize);
        entry.take(limit + 1).read_to_end(&mut buf).map_err(|e| AuditError::file(file, format!("NPZ entry '{key}': {e}")))?;
        if buf.len() as u64 != declared {
            return Err(AuditError::file(file, format!("NPZ entry '{key}' does not hold the {declared} bytes it declares")));
        }
        out.push(read_npy(&format!("{file}:{key}"), &buf)?);
    }
    Ok(out)
}

/// An NPZ with a feature array `x` and label array `y`.
pub(super) fn read_npz_table(file: &str, bytes: &[u8]) -> Result<Table> {
    let mut arrays = read_npz(file, bytes, &["x", "y"], "'x' (features or outputs) and 'y' (labels)")?.into_iter();
    let (Some(x), Some(y)) = (arrays.next(), arrays.next()) else {
        return Err(AuditError::file(file, "internal: NPZ arrays missing"));
    };
    table_from_arrays(&format!("{file}:x"), x, &format!("{file}:y"), y)
}

#[cfg(test)]
mod tests {
    use super::{read_npy, read_npy_f32};

    fn npy(header: &str, data: &[u8]) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        for h in [
            "{'descr': 'é<f4', 'shape': (1,), }",
            "{'descr': '<fé', 'shape': (1,), }",
            "{'descr': '<f0', 'shape': (1,), }",
            "{'descr': '<f4', 'shape': (1,",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }",
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f8'}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': ((((((((((1,),),),),),),),),),), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': 'no', 'shape': (1,), }",
            "{'descr': '<f4'}",
            "{'shape': (1,)}",
            "\u{ff}",
        ] {
            assert!(read_npy("x.npy", &npy(h, &[0; 8])).is_err(), "{h}");
            assert!(read_npy_f32("x.npy", &npy(h, &[0; 8])).is_err(), "{h}");
        }
        assert!(read_npy("x.npy", b"\x93NUMPY\x01\x00\xff\xff").is_err());
    }

    #[test]
    fn reads_a_little_float_array() {
        let data: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = read_npy("x.npy", &npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", &data)).unwrap();
        assert_eq!((a.shape, a.values), (vec![2], vec![1.5, -2.0]));
    }

    /// The model's f32 values: `<f4` read directly, every other dtype (and a Fortran-ordered
    /// `<f4`) through f64 and rounded (the f64 reader is checked against numpy's files in
    /// tests/integration), the same either way; a truncated `<f4` is an error, not a shorter array.
    #[test]
    fn f32_values_are_the_f64_readers_rounded() {
        let f4: Vec<u8> = [1.5f32, -2.0, 3.25e-39, f32::MAX, -0.0, 7.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let f8: Vec<u8> = [0.1f64, -1e300, 2.5, 1e-50, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let i2: Vec<u8> = [-3i16, 7, 300, -32768, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        for (descr, data) in [("<f4", &f4), ("<f8", &f8), ("<i2", &i2)] {
            for fortran in ["False", "True"] {
                let b = npy(&format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': (2, 3), }}"), data);
                let (shape, values) = read_npy_f32("x.npy", &b).unwrap();
                let wide = read_npy("x.npy", &b).unwrap();
                assert_eq!(shape, wide.shape);
                let rounded: Vec<f32> = wide.values.iter().map(|&v| v as f32).collect();
                assert_eq!(values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), rounded.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{descr} {fortran}");
            }
        }
        let b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", &f4[..20]);
        assert!(read_npy_f32("x.npy", &b).unwrap_err().to_string().contains("truncated"));
    }
}
