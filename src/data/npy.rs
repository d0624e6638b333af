//! NPY arrays (format versions 1–3, little-endian numbers) and NPZ archives of them.

use super::{Table, label_from_f64};
use crate::error::{AuditError, Result};
use std::io::Read;

pub(super) const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// A decoded array: shape and values as f64 (C order).
#[derive(Debug)]
pub(crate) struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

pub(crate) fn read_npy(file: &str, b: &[u8]) -> Result<Array> {
    let bad = |m: String| AuditError::file(file, m);
    if !b.starts_with(NPY_MAGIC) || b.len() < 10 {
        return Err(bad("not an NPY file (missing the \\x93NUMPY magic)".into()));
    }
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        v => return Err(bad(format!("unsupported NPY format version {v}"))),
    };
    let header = b.get(start..start + hlen).ok_or_else(|| bad("truncated NPY header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| bad("NPY header is not text".into()))?;
    let descr = dict_str(header, "descr").ok_or_else(|| bad("NPY header has no 'descr'".into()))?;
    let fortran = dict_raw(header, "fortran_order").map(|s| s.starts_with("True")).unwrap_or(false);
    let shape_s = dict_raw(header, "shape").ok_or_else(|| bad("NPY header has no 'shape'".into()))?;
    let inner = shape_s.trim_start_matches('(');
    let inner = &inner[..inner.find(')').ok_or_else(|| bad("malformed NPY shape".into()))?];
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| bad(format!("malformed NPY shape '{shape_s}'"))))
        .collect::<Result<_>>()?;
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("NPY shape overflows".into()))?;
    let data = &b[start + hlen..];
    let (endian, kind, size) = {
        let d = descr.as_bytes();
        if d.len() < 3 {
            return Err(bad(format!("unsupported NPY dtype '{descr}'")));
        }
        let size = descr.get(2..).and_then(|t| t.parse::<usize>().ok()).filter(|&n| n > 0);
        (d[0], d[1], size.ok_or_else(|| bad(format!("unsupported NPY dtype '{descr}'")))?)
    };
    if endian == b'>' && size > 1 {
        return Err(bad(format!("big-endian NPY dtype '{descr}' is not supported; save with little-endian dtypes")));
    }
    let need = count.checked_mul(size).ok_or_else(|| bad("NPY size overflows".into()))?;
    if data.len() < need {
        return Err(bad(format!("NPY data is truncated: expected {need} bytes for shape {shape:?}, found {}", data.len())));
    }
    let data = &data[..need];
    let conv: fn(&[u8]) -> f64 = match (kind, size) {
        (b'f', 4) => |c| f32::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'f', 8) => |c| f64::from_le_bytes(c.try_into().unwrap()),
        (b'f', 2) => |c| half::f16::from_le_bytes(c.try_into().unwrap()).to_f64(),
        (b'i', 1) => |c| c[0] as i8 as f64,
        (b'i', 2) => |c| i16::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'i', 4) => |c| i32::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'i', 8) => |c| i64::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'u', 1) | (b'b', 1) => |c| c[0] as f64,
        (b'u', 2) => |c| u16::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'u', 4) => |c| u32::from_le_bytes(c.try_into().unwrap()) as f64,
        (b'u', 8) => |c| u64::from_le_bytes(c.try_into().unwrap()) as f64,
        _ => {
            return Err(bad(format!("unsupported NPY dtype '{descr}'; expected float16/32/64 or an integer type")));
        }
    };
    let mut values: Vec<f64> = data.chunks_exact(size).map(conv).collect();
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

fn dict_raw<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}'");
    let i = header.find(&k1)? + k1.len();
    let rest = header[i..].trim_start().strip_prefix(':')?.trim_start();
    Some(rest)
}

fn dict_str(header: &str, key: &str) -> Option<String> {
    let rest = dict_raw(header, key)?;
    let q = rest.chars().next()?;
    let rest = &rest[q.len_utf8()..];
    Some(rest[..rest.find(q)?].to_string())
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
    Ok(Table { file: xfile.into(), values: x.values, rows, cols, labels })
}

/// Read arrays from an NPZ archive (stored or deflated entries).
pub(crate) fn read_npz(file: &str, bytes: &[u8]) -> Result<Vec<(String, Array)>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| AuditError::file(file, format!("not a readable NPZ (zip) archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| AuditError::file(file, format!("NPZ entry {i}: {e}")))?;
        let name = entry.name().trim_end_matches(".npy").to_string();
        let mut buf = Vec::with_capacity(entry.size().min(1 << 30) as usize);
        entry.read_to_end(&mut buf).map_err(|e| AuditError::file(file, format!("NPZ entry '{name}': {e}")))?;
        let arr = read_npy(&format!("{file}:{name}"), &buf)?;
        out.push((name, arr));
    }
    Ok(out)
}

/// An NPZ with a feature array `x` and label array `y`.
pub(super) fn read_npz_table(file: &str, bytes: &[u8]) -> Result<Table> {
    let mut arrays = read_npz(file, bytes)?;
    let names: Vec<String> = arrays.iter().map(|(n, _)| n.clone()).collect();
    let mut take = |key: &str| {
        arrays.iter().position(|(n, _)| n == key).map(|i| arrays.swap_remove(i).1).ok_or_else(|| {
            AuditError::file(file, format!("NPZ has no array '{key}' (arrays: {}); expected 'x' (features or outputs) and 'y' (labels)", names.join(", ")))
        })
    };
    let x = take("x")?;
    let y = take("y")?;
    table_from_arrays(&format!("{file}:x"), x, &format!("{file}:y"), y)
}

#[cfg(test)]
mod tests {
    use super::read_npy;

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
            "{'descr': '<f4', 'shape': (99999999999,), }",
            "{'descr': '<f4'}",
            "{'shape': (1,)}",
            "\u{ff}",
        ] {
            assert!(read_npy("x.npy", &npy(h, &[0; 8])).is_err(), "{h}");
        }
        assert!(read_npy("x.npy", b"\x93NUMPY\x01\x00\xff\xff").is_err());
    }

    #[test]
    fn reads_a_little_float_array() {
        let data: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = read_npy("x.npy", &npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", &data)).unwrap();
        assert_eq!((a.shape, a.values), (vec![2], vec![1.5, -2.0]));
    }
}
