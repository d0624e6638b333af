//! A minimal reader/writer of the protobuf wire format, for what onnx-ir does not do from bytes
//! or does only after it could panic: reading the opset, parameter count and node names,
//! validating every declared dimension and the graph's size before onnx-ir sees it (onnx-ir
//! multiplies dims unchecked, and a panic in wasm is an opaque trap), and inlining weights kept
//! in an external `.onnx.data` file (the browser has no file system for onnx-ir to resolve them
//! from).
//!
//! Why not the `protobuf` crate onnx-ir already uses: onnx-ir keeps its generated ONNX message
//! types private, and generating our own needs `protoc` or `protobuf-codegen` in the build,
//! minutes on the 2-core machines, for the handful of fields read here. This reader never
//! indexes past its input (every length is checked) and is fuzzed with the hostile corpus.

use crate::error::{AuditError, Result};

#[derive(Clone, Copy)]
pub(crate) enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

pub(crate) struct Field<'a> {
    pub num: u64,
    pub value: Wire<'a>,
    pub raw: &'a [u8], // the whole field, tag included
}

pub(crate) fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
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

pub(crate) fn fields(b: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let start = pos;
        let tag = varint(b, &mut pos)?;
        let value = match tag & 7 {
            0 => Wire::Varint(varint(b, &mut pos)?),
            1 => {
                let end = pos.checked_add(8).filter(|&p| p <= b.len())?;
                let v = u64::from_le_bytes(b[pos..end].try_into().ok()?);
                pos = end;
                Wire::Fixed64(v)
            }
            2 => {
                let len = usize::try_from(varint(b, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= b.len())?;
                let s = &b[pos..end];
                pos = end;
                Wire::Bytes(s)
            }
            5 => {
                let end = pos.checked_add(4).filter(|&p| p <= b.len())?;
                let v = u32::from_le_bytes(b[pos..end].try_into().ok()?);
                pos = end;
                Wire::Fixed32(v)
            }
            _ => return None,
        };
        out.push(Field { num: tag >> 3, value, raw: &b[start..pos] });
    }
    Some(out)
}

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, num: u64, bytes: &[u8]) {
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
    /// The graph outputs' names as the file writes them, in file order (onnx-ir renames
    /// values; reports and the output option use these).
    pub outputs: Vec<String>,
}

/// The largest number of elements a declared tensor shape may have: 2^31, so that no product
/// of dimensions can overflow a 32-bit `usize` (wasm32) anywhere downstream.
const MAX_DECLARED_ELEMENTS: u64 = 1 << 31;

const MODEL_GRAPH: u64 = 7;
const MODEL_OPSET: u64 = 8;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_NODE: u64 = 1;
const TENSOR_DIMS: u64 = 1;
const TENSOR_RAW: u64 = 9;
const TENSOR_EXTERNAL: u64 = 13;
const TENSOR_LOCATION: u64 = 14;
const GRAPH_INPUT: u64 = 11;
const GRAPH_OUTPUT: u64 = 12;
const GRAPH_VALUE_INFO: u64 = 13;
const NODE_INPUT: u64 = 1;
const NODE_OUTPUT: u64 = 2;

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
                let gfields = fields(g).ok_or_else(|| malformed(file))?;
                let mut produced: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
                // Values known before the first node: graph inputs and initializers. ONNX
                // requires nodes in topological order, so a node may read only these and what
                // earlier nodes computed (onnx-ir assumes it; a cycle must not reach it).
                let mut known: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
                for gf in &gfields {
                    if let (GRAPH_INPUT | GRAPH_INITIALIZER, Wire::Bytes(b)) = (gf.num, gf.value) {
                        let name_field = if gf.num == GRAPH_INPUT { 1 } else { 8 };
                        for x in fields(b).ok_or_else(|| malformed(file))? {
                            if let (n, Wire::Bytes(name)) = (x.num, x.value) {
                                if n == name_field {
                                    known.insert(name);
                                }
                            }
                        }
                    }
                }
                for gf in gfields {
                    if let (GRAPH_INPUT | GRAPH_OUTPUT | GRAPH_VALUE_INFO, Wire::Bytes(vi)) = (gf.num, gf.value) {
                        check_value_info(file, vi)?;
                    }
                    if let (GRAPH_OUTPUT, Wire::Bytes(vi)) = (gf.num, gf.value) {
                        let name = fields(vi).ok_or_else(|| malformed(file))?.iter().find_map(|x| match (x.num, x.value) {
                            (1, Wire::Bytes(v)) => Some(String::from_utf8_lossy(v).into_owned()),
                            _ => None,
                        });
                        facts.outputs.push(name.unwrap_or_default());
                    }
                    if let (GRAPH_NODE, Wire::Bytes(nb)) = (gf.num, gf.value) {
                        if facts.nodes.len() >= crate::limits::MAX_NODES {
                            return Err(AuditError::model(
                                file,
                                format!("the graph has more than {} nodes, the most privaudit reads", crate::limits::MAX_NODES),
                            ));
                        }
                        let nf = fields(nb).ok_or_else(|| malformed(file))?;
                        let node_name = nf.iter().find_map(|x| match (x.num, x.value) {
                            (3, Wire::Bytes(v)) => Some(String::from_utf8_lossy(v).into_owned()),
                            _ => None,
                        });
                        for i in nf.iter().filter(|x| x.num == NODE_INPUT) {
                            if let Wire::Bytes(name) = i.value {
                                if !name.is_empty() && !known.contains(name) {
                                    return Err(AuditError::model(
                                        file,
                                        format!(
                                            "node '{}' reads '{}' before any node computes it (a cycle, or nodes out of the topological order ONNX requires)",
                                            crate::limits::quote(node_name.as_deref().unwrap_or("")),
                                            crate::limits::quote(&String::from_utf8_lossy(name))
                                        ),
                                    ));
                                }
                            }
                        }
                        for o in nf.iter().filter(|x| x.num == NODE_OUTPUT) {
                            if let Wire::Bytes(name) = o.value {
                                known.insert(name);
                                if !name.is_empty() && !produced.insert(name) {
                                    return Err(AuditError::model(
                                        file,
                                        format!(
                                            "two nodes produce the value '{}'; a valid graph computes each value once",
                                            crate::limits::quote(&String::from_utf8_lossy(name))
                                        ),
                                    ));
                                }
                            }
                        }
                        let text = |num: u64| {
                            nf.iter().find_map(|x| match (x.num, x.value) {
                                (n2, Wire::Bytes(v)) if n2 == num => Some(String::from_utf8_lossy(v).into_owned()),
                                _ => None,
                            })
                        };
                        let op_type = text(4).unwrap_or_default();
                        check_window_attributes(file, &op_type, node_name.as_deref().unwrap_or(""), &nf)?;
                        facts.nodes.push((op_type, text(3).unwrap_or_default()));
                    }
                    if let (GRAPH_INITIALIZER, Wire::Bytes(t)) = (gf.num, gf.value) {
                        let tf = fields(t).ok_or_else(|| malformed(file))?;
                        let n = tensor_elements(&tf).ok_or_else(|| {
                            AuditError::model(file, format!("an initializer declares a negative dimension or more than {MAX_DECLARED_ELEMENTS} elements"))
                        })?;
                        facts.parameters = facts.parameters.saturating_add(n);
                        let raw = tf.iter().find_map(|x| match (x.num, x.value) {
                            (TENSOR_RAW, Wire::Bytes(r)) => Some(r.len() as u64),
                            _ => None,
                        });
                        if let (Some(len), Some(size)) = (raw, element_size(&tf)) {
                            if len != n * size {
                                return Err(AuditError::model(
                                    file,
                                    format!("initializer '{}' holds {len} bytes but its shape needs {}", crate::limits::quote(&tensor_name(&tf)), n * size),
                                ));
                            }
                        }
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

const NODE_ATTRIBUTE: u64 = 5;

/// Convolution and pooling attributes, checked before onnx-ir reads them: it converts them with
/// `as usize` (a negative stride wraps to a huge one) and divides by the strides. Kernel sizes,
/// strides, dilations and `group` must be from 1 to [`WINDOW_MAX`], pads from 0 to it.
fn check_window_attributes(file: &str, op_type: &str, node: &str, nf: &[Field<'_>]) -> Result<()> {
    if !["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool"].contains(&op_type) {
        return Ok(());
    }
    for a in nf.iter().filter(|x| x.num == NODE_ATTRIBUTE) {
        let Wire::Bytes(ab) = a.value else { continue };
        let af = fields(ab).ok_or_else(|| malformed(file))?;
        let name = af.iter().find_map(|x| match (x.num, x.value) {
            (1, Wire::Bytes(n)) => Some(n),
            _ => None,
        });
        let min = match name {
            Some(b"kernel_shape" | b"strides" | b"dilations" | b"group") => 1,
            Some(b"pads") => 0,
            _ => continue,
        };
        // `i` (3) and `ints` (8, plain or packed).
        let mut values = Vec::new();
        for x in &af {
            match (x.num, x.value) {
                (3 | 8, Wire::Varint(v)) => values.push(v as i64),
                (8, Wire::Bytes(packed)) => {
                    let mut pos = 0;
                    while pos < packed.len() {
                        values.push(varint(packed, &mut pos).ok_or_else(|| malformed(file))? as i64);
                    }
                }
                _ => {}
            }
        }
        if let Some(bad) = values.iter().find(|&&v| v < min || v > WINDOW_MAX) {
            return Err(AuditError::model(
                file,
                format!(
                    "node '{}' ({op_type}): attribute '{}' is {bad}; it must be from {min} to {WINDOW_MAX}",
                    crate::limits::quote(node),
                    String::from_utf8_lossy(name.unwrap_or_default())
                ),
            ));
        }
    }
    Ok(())
}

/// The largest kernel size, stride, dilation, group or pad read.
const WINDOW_MAX: i64 = crate::limits::MAX_WINDOW as i64;

/// The number of elements of a TensorProto's `dims`; `None` for a negative dimension or more
/// than [`MAX_DECLARED_ELEMENTS`].
fn tensor_elements(tf: &[Field]) -> Option<u64> {
    let mut n = 1u64;
    for f in tf.iter().filter(|f| f.num == TENSOR_DIMS) {
        let mut dims = Vec::new();
        match f.value {
            Wire::Varint(d) => dims.push(d),
            Wire::Bytes(packed) => {
                let mut p = 0;
                while p < packed.len() {
                    dims.push(varint(packed, &mut p)?);
                }
            }
            _ => {}
        }
        for d in dims {
            // int64 on the wire: a negative dimension reads as a huge u64.
            n = n.checked_mul(d).filter(|&n| n <= MAX_DECLARED_ELEMENTS)?;
        }
    }
    Some(n)
}

/// Bytes per element of a TensorProto's `data_type`, for the types with a fixed size.
fn element_size(tf: &[Field]) -> Option<u64> {
    let dt = tf.iter().find_map(|f| match (f.num, f.value) {
        (2, Wire::Varint(v)) => Some(v),
        _ => None,
    })?;
    match dt {
        2 | 3 | 9 => Some(1),
        4 | 5 | 10 | 16 => Some(2),
        1 | 6 | 12 => Some(4),
        7 | 11 | 13 => Some(8),
        _ => None,
    }
}

fn tensor_name(tf: &[Field]) -> String {
    tf.iter()
        .find_map(|f| match (f.num, f.value) {
            (8, Wire::Bytes(n)) => Some(String::from_utf8_lossy(n).into_owned()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Reject a ValueInfoProto whose declared tensor shape is absurd: more than
/// [`crate::limits::MAX_RANK`] dimensions, a negative dimension, or more than
/// [`MAX_DECLARED_ELEMENTS`] elements in all (symbolic dimensions count as 1).
fn check_value_info(file: &str, vi: &[u8]) -> Result<()> {
    fn sub<'b>(file: &str, b: &'b [u8], num: u64) -> Result<Vec<&'b [u8]>> {
        Ok(fields(b)
            .ok_or_else(|| malformed(file))?
            .into_iter()
            .filter_map(|f| match (f.num == num, f.value) {
                (true, Wire::Bytes(x)) => Some(x),
                _ => None,
            })
            .collect())
    }
    let vf = fields(vi).ok_or_else(|| malformed(file))?;
    let name = vf.iter().find_map(|f| match (f.num, f.value) {
        (1, Wire::Bytes(n)) => Some(String::from_utf8_lossy(n).into_owned()),
        _ => None,
    });
    let bad = |m: String| AuditError::model(file, format!("value '{}': {m}", crate::limits::quote(name.as_deref().unwrap_or(""))));
    for ty in sub(file, vi, 2)? {
        for tensor in sub(file, ty, 1)? {
            for shape in sub(file, tensor, 2)? {
                let dims = sub(file, shape, 1)?;
                if dims.len() > crate::limits::MAX_RANK {
                    return Err(bad(format!("declared rank {}; at most {} is supported", dims.len(), crate::limits::MAX_RANK)));
                }
                let mut n = 1u64;
                for d in dims {
                    let value = fields(d).ok_or_else(|| malformed(file))?.into_iter().find_map(|f| match (f.num, f.value) {
                        (1, Wire::Varint(v)) => Some(v),
                        _ => None,
                    });
                    let v = value.unwrap_or(1);
                    if v > i64::MAX as u64 {
                        return Err(bad("declares a negative dimension".into()));
                    }
                    n = n
                        .checked_mul(v.max(1))
                        .filter(|&n| n <= MAX_DECLARED_ELEMENTS)
                        .ok_or_else(|| bad(format!("its declared dimensions multiply to more than {MAX_DECLARED_ELEMENTS} elements")))?;
                }
            }
        }
    }
    Ok(())
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
    // Every range is inside the data file; together they may not exceed it either (ranges that
    // overlap or repeat would multiply the copy: 1000 initializers of one 1 GiB range).
    let mut copied = 0usize;
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
                                    if let (Some(n), Some(size)) = (tensor_elements(&tf), element_size(&tf)) {
                                        if chunk.len() as u64 != n * size {
                                            return Err(AuditError::ShapeMismatch {
                                                file: data_file.into(),
                                                what: format!("external data of initializer '{}'", crate::limits::quote(&tensor_name(&tf))),
                                                expected: format!("{} bytes (its shape)", n * size),
                                                actual: format!("a range of {} bytes", chunk.len()),
                                            });
                                        }
                                    }
                                    copied = copied.saturating_add(chunk.len());
                                    if copied > data.len() {
                                        return Err(AuditError::ShapeMismatch {
                                            file: data_file.into(),
                                            what: "external data ranges".into(),
                                            expected: format!("ranges that together fit the data file's {} bytes", data.len()),
                                            actual: "ranges that overlap or repeat".into(),
                                        });
                                    }
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
