//! The whole ONNX graph of a tabular pipeline, decoded from the protobuf by our own reader
//! (`super::super::proto`): nodes of any domain with their attributes, initializers of every
//! type a scikit-learn export holds (float, double, int64, string), and the declared inputs and
//! outputs with their element types. onnx-ir does not read `ai.onnx.ml` operators, string
//! tensors or the sequence-of-maps outputs of `ZipMap`, so these graphs never reach it whole;
//! only their network part does, re-encoded as a standard graph (see `super::network_bytes`).
//!
//! Every count comes from the file's own bytes (an element takes at least one byte), so nothing
//! here allocates more than a small multiple of the model file; declared shapes are checked
//! against the values they describe.

use super::value::{Data, Tensor};
use crate::error::{AuditError, Result};
use crate::model::proto::{Field, Wire, fields, varint};
use std::collections::HashMap;

/// ONNX element types (TensorProto.DataType) that privaudit computes with.
pub(crate) const FLOAT: u64 = 1;
pub(crate) const INT32: u64 = 6;
pub(crate) const INT64: u64 = 7;
pub(crate) const STRING: u64 = 8;
pub(crate) const BOOL: u64 = 9;
pub(crate) const DOUBLE: u64 = 11;

/// An attribute value.
#[derive(Clone, Debug)]
pub(crate) enum Attr {
    F(f32),
    I(i64),
    S(String),
    T(Tensor),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<String>),
    /// A subgraph, or a type privaudit does not read.
    Other,
}

/// One node, as the file has it.
#[derive(Clone, Debug)]
pub(crate) struct HostNode {
    pub op: String,
    /// "" for the default domain, "ai.onnx.ml", …
    pub domain: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Attributes by name (a few per node: a list, not a map).
    pub attrs: Vec<(String, Attr)>,
    /// The NodeProto's bytes (without the field tag), to re-encode the network part.
    pub raw: Vec<u8>,
}

/// A graph input or output: its name, element type (when a tensor) and declared shape
/// (`None` for a symbolic dimension).
#[derive(Clone, Debug)]
pub(crate) struct Decl {
    pub name: String,
    /// TensorProto data type of a tensor; `None` for a sequence, a map or an undeclared type.
    pub elem: Option<u64>,
    pub dims: Option<Vec<Option<usize>>>,
    /// Whether the type is a sequence or a map (ZipMap's output).
    pub non_tensor: bool,
}

/// A decoded graph.
pub(crate) struct HostGraph {
    pub file: String,
    pub nodes: Vec<HostNode>,
    /// Data inputs (graph inputs that are not initializers), in file order.
    pub inputs: Vec<Decl>,
    pub outputs: Vec<Decl>,
    /// Initializers by name, with their TensorProto bytes (to re-encode).
    pub inits: HashMap<String, (Tensor, Vec<u8>)>,
    /// Default-domain opset.
    pub opset: Option<i64>,
    /// Number of values in all initializers and tensor attributes (the model's size).
    pub parameters: u64,
}

fn malformed(file: &str) -> AuditError {
    AuditError::model(file, "not a valid ONNX model (the protobuf is malformed or truncated)")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Packed or repeated varints of field `num`.
fn ints_of(fs: &[Field<'_>], num: u64) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    for f in fs.iter().filter(|f| f.num == num) {
        match f.value {
            Wire::Varint(v) => out.push(v as i64),
            Wire::Bytes(p) => {
                let mut pos = 0;
                while pos < p.len() {
                    out.push(varint(p, &mut pos)? as i64);
                }
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Packed or repeated 32-bit floats of field `num`.
fn floats_of(fs: &[Field<'_>], num: u64) -> Option<Vec<f32>> {
    let mut out = Vec::new();
    for f in fs.iter().filter(|f| f.num == num) {
        match f.value {
            Wire::Fixed32(v) => out.push(f32::from_bits(v)),
            Wire::Bytes(p) if p.len() % 4 == 0 => out.extend(p.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            _ => return None,
        }
    }
    Some(out)
}

/// Packed or repeated 64-bit floats of field `num`.
fn doubles_of(fs: &[Field<'_>], num: u64) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    for f in fs.iter().filter(|f| f.num == num) {
        match f.value {
            Wire::Fixed64(v) => out.push(f64::from_bits(v)),
            Wire::Bytes(p) if p.len() % 8 == 0 => out.extend(p.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))),
            _ => return None,
        }
    }
    Some(out)
}

fn bytes_of<'a>(fs: &[Field<'a>], num: u64) -> Vec<&'a [u8]> {
    fs.iter()
        .filter_map(|f| match (f.num == num, f.value) {
            (true, Wire::Bytes(b)) => Some(b),
            _ => None,
        })
        .collect()
}

fn first_bytes<'a>(fs: &[Field<'a>], num: u64) -> Option<&'a [u8]> {
    bytes_of(fs, num).into_iter().next()
}

fn first_varint(fs: &[Field<'_>], num: u64) -> Option<u64> {
    fs.iter().find_map(|f| match (f.num == num, f.value) {
        (true, Wire::Varint(v)) => Some(v),
        _ => None,
    })
}

/// Decode a TensorProto (name, shape, values).
pub(crate) fn tensor(file: &str, b: &[u8]) -> Result<(String, Tensor)> {
    let fs = fields(b).ok_or_else(|| malformed(file))?;
    let name = first_bytes(&fs, 8).map(text).unwrap_or_default();
    let bad = |m: String| AuditError::model(file, format!("tensor '{}': {m}", crate::limits::quote(&name)));
    let dims = ints_of(&fs, 1).ok_or_else(|| malformed(file))?;
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d).ok().filter(|&d| d <= crate::limits::MAX_VALUES))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad(format!("dimensions {dims:?} are negative or too large")))?;
    let count = crate::limits::product(&shape).filter(|&n| n <= crate::limits::MAX_VALUES).ok_or_else(|| bad(format!("dimensions {dims:?} are too large")))?;
    if fs.iter().any(|f| matches!((f.num, f.value), (14, Wire::Varint(1)))) {
        return Err(bad("its values are stored in an external file; save a pipeline with its values inside the model".into()));
    }
    let dt = first_varint(&fs, 2).unwrap_or(0);
    let raw = first_bytes(&fs, 9);
    let data = match dt {
        FLOAT => Data::F32(match raw {
            Some(r) if r.len() % 4 == 0 => r.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            Some(_) => return Err(bad("raw data is not a whole number of floats".into())),
            None => floats_of(&fs, 4).ok_or_else(|| malformed(file))?,
        }),
        DOUBLE => Data::F64(match raw {
            Some(r) if r.len() % 8 == 0 => r.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
            Some(_) => return Err(bad("raw data is not a whole number of doubles".into())),
            None => doubles_of(&fs, 10).ok_or_else(|| malformed(file))?,
        }),
        INT64 => Data::I64(match raw {
            Some(r) if r.len() % 8 == 0 => r.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
            Some(_) => return Err(bad("raw data is not a whole number of int64s".into())),
            None => ints_of(&fs, 7).ok_or_else(|| malformed(file))?,
        }),
        INT32 | BOOL | 2 | 3 | 4 | 5 => Data::I64(match raw {
            Some(r) => match dt {
                INT32 if r.len() % 4 == 0 => r.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
                2 | BOOL => r.iter().map(|&v| i64::from(v)).collect(),
                3 => r.iter().map(|&v| i64::from(v as i8)).collect(),
                4 if r.len() % 2 == 0 => r.chunks_exact(2).map(|c| i64::from(u16::from_le_bytes([c[0], c[1]]))).collect(),
                5 if r.len() % 2 == 0 => r.chunks_exact(2).map(|c| i64::from(i16::from_le_bytes([c[0], c[1]]))).collect(),
                _ => return Err(bad("raw data does not fit its element type".into())),
            },
            None => ints_of(&fs, 5).ok_or_else(|| malformed(file))?.into_iter().map(|v| i64::from(v as i32)).collect(),
        }),
        STRING => Data::Str(bytes_of(&fs, 6).into_iter().map(text).collect()),
        other => return Err(bad(format!("element type {other} is not read in pipelines (float, double, integers, bool and strings are)"))),
    };
    if data.len() != count {
        return Err(bad(format!("holds {} values but its shape {shape:?} needs {count}", data.len())));
    }
    Ok((name, Tensor { data, shape }))
}

fn attribute(file: &str, b: &[u8]) -> Result<(String, Attr)> {
    let fs = fields(b).ok_or_else(|| malformed(file))?;
    let name = first_bytes(&fs, 1).map(text).unwrap_or_default();
    // AttributeProto.type: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS, 8 STRINGS.
    let ty = first_varint(&fs, 20);
    let has = |n: u64| fs.iter().any(|f| f.num == n);
    let value = match ty {
        Some(1) => Attr::F(floats_of(&fs, 2).and_then(|v| v.first().copied()).ok_or_else(|| malformed(file))?),
        Some(2) => Attr::I(first_varint(&fs, 3).map_or(0, |v| v as i64)),
        Some(3) => Attr::S(first_bytes(&fs, 4).map(text).unwrap_or_default()),
        Some(4) => Attr::T(tensor(file, first_bytes(&fs, 5).ok_or_else(|| malformed(file))?)?.1),
        Some(6) => Attr::Floats(floats_of(&fs, 7).ok_or_else(|| malformed(file))?),
        Some(7) => Attr::Ints(ints_of(&fs, 8).ok_or_else(|| malformed(file))?),
        Some(8) => Attr::Strings(bytes_of(&fs, 9).into_iter().map(text).collect()),
        Some(_) => Attr::Other,
        // Files from old writers omit the type: infer it from the field present.
        None if has(7) => Attr::Floats(floats_of(&fs, 7).ok_or_else(|| malformed(file))?),
        None if has(8) => Attr::Ints(ints_of(&fs, 8).ok_or_else(|| malformed(file))?),
        None if has(9) => Attr::Strings(bytes_of(&fs, 9).into_iter().map(text).collect()),
        None if has(2) => Attr::F(floats_of(&fs, 2).and_then(|v| v.first().copied()).ok_or_else(|| malformed(file))?),
        None if has(3) => Attr::I(first_varint(&fs, 3).map_or(0, |v| v as i64)),
        None if has(4) => Attr::S(first_bytes(&fs, 4).map(text).unwrap_or_default()),
        None => Attr::Other,
    };
    Ok((name, value))
}

fn decl(file: &str, b: &[u8]) -> Result<Decl> {
    let fs = fields(b).ok_or_else(|| malformed(file))?;
    let name = first_bytes(&fs, 1).map(text).unwrap_or_default();
    let mut d = Decl { name, elem: None, dims: None, non_tensor: false };
    if let Some(ty) = first_bytes(&fs, 2) {
        let tf = fields(ty).ok_or_else(|| malformed(file))?;
        d.non_tensor = tf.iter().any(|f| f.num == 4 || f.num == 5);
        if let Some(tt) = first_bytes(&tf, 1) {
            let ttf = fields(tt).ok_or_else(|| malformed(file))?;
            d.elem = first_varint(&ttf, 1);
            if let Some(shape) = first_bytes(&ttf, 2) {
                let mut dims = Vec::new();
                for dim in bytes_of(&fields(shape).ok_or_else(|| malformed(file))?, 1) {
                    let df = fields(dim).ok_or_else(|| malformed(file))?;
                    dims.push(first_varint(&df, 1).and_then(|v| usize::try_from(v).ok()).filter(|&v| v > 0 && v <= crate::limits::MAX_VALUES));
                }
                d.dims = Some(dims);
            }
        }
    }
    Ok(d)
}

/// Decode `bytes` (a model whose external data, if any, is already inlined).
///
/// # Errors
/// Malformed protobuf; tensors whose values do not fit their shape or type.
pub(crate) fn decode(file: &str, bytes: &[u8]) -> Result<HostGraph> {
    let top = fields(bytes).ok_or_else(|| malformed(file))?;
    let mut opset = None;
    let mut graph = None;
    for f in &top {
        match (f.num, f.value) {
            (8, Wire::Bytes(b)) => {
                let sub = fields(b).ok_or_else(|| malformed(file))?;
                let domain = first_bytes(&sub, 1).map(text).unwrap_or_default();
                if domain.is_empty() || domain == "ai.onnx" {
                    opset = first_varint(&sub, 2).map(|v| v as i64);
                }
            }
            (7, Wire::Bytes(g)) => graph = Some(g),
            _ => {}
        }
    }
    let g = graph.ok_or_else(|| AuditError::model(file, "not an ONNX model: no graph found"))?;
    let gf = fields(g).ok_or_else(|| malformed(file))?;
    let mut inits = HashMap::new();
    let mut parameters = 0u64;
    for b in bytes_of(&gf, 5) {
        let (name, t) = tensor(file, b)?;
        parameters += t.data.len() as u64;
        inits.insert(name, (t, b.to_vec()));
    }
    let mut nodes = Vec::new();
    for b in bytes_of(&gf, 1) {
        let nf = fields(b).ok_or_else(|| malformed(file))?;
        let mut attrs = Vec::new();
        for a in bytes_of(&nf, 5) {
            let (k, v) = attribute(file, a)?;
            if let Attr::T(t) = &v {
                parameters += t.data.len() as u64;
            }
            if let Attr::Floats(v) = &v {
                parameters += v.len() as u64;
            }
            attrs.push((k, v));
        }
        nodes.push(HostNode {
            op: first_bytes(&nf, 4).map(text).unwrap_or_default(),
            domain: first_bytes(&nf, 7).map(text).unwrap_or_default(),
            name: first_bytes(&nf, 3).map(text).unwrap_or_default(),
            inputs: bytes_of(&nf, 1).into_iter().map(text).collect(),
            outputs: bytes_of(&nf, 2).into_iter().map(text).collect(),
            attrs,
            raw: b.to_vec(),
        });
    }
    let inputs =
        bytes_of(&gf, 11).into_iter().map(|b| decl(file, b)).collect::<Result<Vec<_>>>()?.into_iter().filter(|d| !inits.contains_key(&d.name)).collect();
    let outputs = bytes_of(&gf, 12).into_iter().map(|b| decl(file, b)).collect::<Result<Vec<_>>>()?;
    Ok(HostGraph { file: file.into(), nodes, inputs, outputs, inits, opset, parameters })
}

impl HostNode {
    fn get(&self, k: &str) -> Option<&Attr> {
        self.attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }

    pub(crate) fn int(&self, k: &str, default: i64) -> i64 {
        match self.get(k) {
            Some(Attr::I(v)) => *v,
            _ => default,
        }
    }

    pub(crate) fn float(&self, k: &str, default: f32) -> f32 {
        match self.get(k) {
            Some(Attr::F(v)) => *v,
            _ => default,
        }
    }

    pub(crate) fn string(&self, k: &str) -> Option<&str> {
        match self.get(k) {
            Some(Attr::S(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn floats(&self, k: &str) -> Option<Vec<f32>> {
        match self.get(k) {
            Some(Attr::Floats(v)) => Some(v.clone()),
            Some(Attr::F(v)) => Some(vec![*v]),
            Some(Attr::T(t)) => t.data.as_f32(),
            _ => None,
        }
    }

    /// Floats that may be given as doubles in a tensor attribute (`*_as_tensor`, ai.onnx.ml 3).
    pub(crate) fn floats_or_tensor(&self, k: &str) -> Option<Vec<f32>> {
        self.floats(k).or_else(|| self.floats(&format!("{k}_as_tensor")))
    }

    pub(crate) fn ints(&self, k: &str) -> Option<&[i64]> {
        match self.get(k) {
            Some(Attr::Ints(v)) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn strings(&self, k: &str) -> Option<&[String]> {
        match self.get(k) {
            Some(Attr::Strings(v)) => Some(v),
            _ => None,
        }
    }

    /// The operator as messages name it: `ai.onnx.ml.Scaler`, `MatMul`.
    pub(crate) fn op_name(&self) -> String {
        if self.domain.is_empty() || self.domain == "ai.onnx" { self.op.clone() } else { format!("{}.{}", self.domain, self.op) }
    }
}
