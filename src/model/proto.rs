//! A minimal reader/writer of the protobuf wire format, for the two things onnx-ir does not do
//! from bytes: reading the opset and parameter count, and inlining weights kept in an external
//! `.onnx.data` file (the browser has no file system for onnx-ir to resolve them from).

use crate::error::{AuditError, Result};

#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

struct Field<'a> {
    num: u64,
    value: Wire<'a>,
    raw: &'a [u8], // the whole field, tag included
}

fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

fn fields(b: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let start = pos;
        let tag = varint(b, &mut pos)?;
        let value = match tag & 7 {
            0 => Wire::Varint(varint(b, &mut pos)?),
            1 => {
                pos = pos.checked_add(8).filter(|&p| p <= b.len())?;
                Wire::Fixed64
            }
            2 => {
                let len = usize::try_from(varint(b, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= b.len())?;
                let s = &b[pos..end];
                pos = end;
                Wire::Bytes(s)
            }
            5 => {
                pos = pos.checked_add(4).filter(|&p| p <= b.len())?;
                Wire::Fixed32
            }
            _ => return None,
        };
        out.push(Field { num: tag >> 3, value, raw: &b[start..pos] });
    }
    Some(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, num: u64, bytes: &[u8]) {
    put_varint(out, (num << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// What we read from an ONNX file's protobuf directly.
#[derive(Debug, Default)]
pub(crate) struct ModelFacts {
    /// The default-domain opset version.
    pub opset: Option<i64>,
    /// Total number of elements in all initializers.
    pub parameters: u64,
    /// `location` of externally stored initializers, if any.
    pub external_locations: Vec<String>,
    /// (op_type, name) of every top-level node, in file order.
    pub nodes: Vec<(String, String)>,
}

const MODEL_GRAPH: u64 = 7;
const MODEL_OPSET: u64 = 8;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_NODE: u64 = 1;
const TENSOR_DIMS: u64 = 1;
const TENSOR_RAW: u64 = 9;
const TENSOR_EXTERNAL: u64 = 13;
const TENSOR_LOCATION: u64 = 14;

fn malformed(file: &str) -> AuditError {
    AuditError::model(file, "not a valid ONNX model (the protobuf is malformed or truncated)")
}

/// Read the opset, parameter count and external-data locations.
pub(crate) fn facts(file: &str, bytes: &[u8]) -> Result<ModelFacts> {
    let top = fields(bytes).ok_or_else(|| malformed(file))?;
    let mut facts = ModelFacts::default();
    let mut saw_graph = false;
    for f in &top {
        match (f.num, f.value) {
            (MODEL_OPSET, Wire::Bytes(b)) => {
                let sub = fields(b).ok_or_else(|| malformed(file))?;
                let domain = sub.iter().find_map(|s| match (s.num, s.value) {
                    (1, Wire::Bytes(d)) => Some(String::from_utf8_lossy(d).into_owned()),
                    _ => None,
                });
                let version = sub.iter().find_map(|s| match (s.num, s.value) {
                    (2, Wire::Varint(v)) => Some(v as i64),
                    _ => None,
                });
                if matches!(domain.as_deref(), None | Some("") | Some("ai.onnx")) {
                    facts.opset = version;
                }
            }
            (MODEL_GRAPH, Wire::Bytes(g)) => {
                saw_graph = true;
                for gf in fields(g).ok_or_else(|| malformed(file))? {
                    if let (GRAPH_NODE, Wire::Bytes(nb)) = (gf.num, gf.value) {
                        let nf = fields(nb).ok_or_else(|| malformed(file))?;
                        let text = |num: u64| {
                            nf.iter().find_map(|x| match (x.num, x.value) {
                                (n2, Wire::Bytes(v)) if n2 == num => Some(String::from_utf8_lossy(v).into_owned()),
                                _ => None,
                            })
                        };
                        facts.nodes.push((text(4).unwrap_or_default(), text(3).unwrap_or_default()));
                    }
                    if let (GRAPH_INITIALIZER, Wire::Bytes(t)) = (gf.num, gf.value) {
                        let tf = fields(t).ok_or_else(|| malformed(file))?;
                        facts.parameters += tensor_elements(&tf);
                        if let Some(info) = external_info(&tf) {
                            if !facts.external_locations.contains(&info.0) {
                                facts.external_locations.push(info.0);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !saw_graph {
        return Err(AuditError::model(file, "not an ONNX model: no graph found"));
    }
    Ok(facts)
}

fn tensor_elements(tf: &[Field]) -> u64 {
    let mut n = 1u64;
    for f in tf.iter().filter(|f| f.num == TENSOR_DIMS) {
        match f.value {
            Wire::Varint(d) => n = n.saturating_mul(d),
            Wire::Bytes(packed) => {
                let mut p = 0;
                while p < packed.len() {
                    match varint(packed, &mut p) {
                        Some(d) => n = n.saturating_mul(d),
                        None => break,
                    }
                }
            }
            _ => {}
        }
    }
    n
}

/// (location, offset, length) of an externally stored tensor.
fn external_info(tf: &[Field]) -> Option<(String, u64, Option<u64>)> {
    let external = tf.iter().any(|f| matches!((f.num, f.value), (TENSOR_LOCATION, Wire::Varint(1))));
    if !external {
        return None;
    }
    let (mut loc, mut off, mut len) = (String::new(), 0u64, None);
    for f in tf.iter().filter(|f| f.num == TENSOR_EXTERNAL) {
        let Wire::Bytes(e) = f.value else { continue };
        let kv = fields(e)?;
        let get = |n: u64| {
            kv.iter().find_map(|k| match (k.num, k.value) {
                (n2, Wire::Bytes(s)) if n2 == n => Some(String::from_utf8_lossy(s).into_owned()),
                _ => None,
            })
        };
        match (get(1).as_deref(), get(2)) {
            (Some("location"), Some(v)) => loc = v,
            (Some("offset"), Some(v)) => off = v.parse().ok()?,
            (Some("length"), Some(v)) => len = Some(v.parse().ok()?),
            _ => {}
        }
    }
    Some((loc, off, len))
}

/// Rewrite a model so that every externally stored initializer carries its bytes inline.
///
/// # Errors
/// Malformed protobuf, or an offset/length outside the data file.
pub(crate) fn inline_external_data(file: &str, bytes: &[u8], data_file: &str, data: &[u8]) -> Result<Vec<u8>> {
    let top = fields(bytes).ok_or_else(|| malformed(file))?;
    let mut out = Vec::with_capacity(bytes.len() + data.len());
    for f in &top {
        match (f.num, f.value) {
            (MODEL_GRAPH, Wire::Bytes(g)) => {
                let mut graph = Vec::with_capacity(g.len() + data.len());
                for gf in fields(g).ok_or_else(|| malformed(file))? {
                    match (gf.num, gf.value) {
                        (GRAPH_INITIALIZER, Wire::Bytes(t)) => {
                            let tf = fields(t).ok_or_else(|| malformed(file))?;
                            match external_info(&tf) {
                                Some((loc, off, len)) => {
                                    let start = usize::try_from(off).map_err(|_| malformed(file))?;
                                    let end = match len {
                                        Some(l) => start.checked_add(usize::try_from(l).map_err(|_| malformed(file))?),
                                        None => Some(data.len()),
                                    };
                                    let chunk = end.and_then(|e| data.get(start..e)).ok_or_else(|| AuditError::ShapeMismatch {
                                        file: data_file.into(),
                                        what: format!("external data for '{loc}' (offset {off}, length {len:?})"),
                                        expected: "a range inside the data file".into(),
                                        actual: format!("a file of {} bytes", data.len()),
                                    })?;
                                    let mut tensor = Vec::with_capacity(t.len() + chunk.len());
                                    for x in tf.iter().filter(|x| x.num != TENSOR_EXTERNAL && x.num != TENSOR_LOCATION) {
                                        tensor.extend_from_slice(x.raw);
                                    }
                                    put_bytes(&mut tensor, TENSOR_RAW, chunk);
                                    put_bytes(&mut graph, GRAPH_INITIALIZER, &tensor);
                                }
                                None => graph.extend_from_slice(gf.raw),
                            }
                        }
                        _ => graph.extend_from_slice(gf.raw),
                    }
                }
                put_bytes(&mut out, MODEL_GRAPH, &graph);
            }
            _ => out.extend_from_slice(f.raw),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(facts("m.onnx", b"\xff\xff\xff").is_err());
        assert!(facts("m.onnx", b"hello world, not a model").is_err());
        assert!(facts("m.onnx", &[]).is_err());
    }

    #[test]
    fn varint_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut p = 0;
            assert_eq!(varint(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
        }
    }
}
