//! Host tensors of a pipeline: float (f32, as onnxruntime computes these graphs), double,
//! integer or string values with a shape.

/// The values of a tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Str(Vec<String>),
}

impl Data {
    pub(crate) fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    /// The element type's name, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Data::F32(_) => "float",
            Data::F64(_) => "double",
            Data::I64(_) => "int64",
            Data::Str(_) => "string",
        }
    }

    /// Numbers as f32 (double rounded, integers converted); `None` for strings.
    pub(crate) fn as_f32(&self) -> Option<Vec<f32>> {
        match self {
            Data::F32(v) => Some(v.clone()),
            Data::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            Data::I64(v) => Some(v.iter().map(|&x| x as f32).collect()),
            Data::Str(_) => None,
        }
    }

    /// Element `i` of a subset taken by index.
    pub(crate) fn take(&self, idx: &[usize]) -> Data {
        match self {
            Data::F32(v) => Data::F32(idx.iter().map(|&i| v[i]).collect()),
            Data::F64(v) => Data::F64(idx.iter().map(|&i| v[i]).collect()),
            Data::I64(v) => Data::I64(idx.iter().map(|&i| v[i]).collect()),
            Data::Str(v) => Data::Str(idx.iter().map(|&i| v[i].clone()).collect()),
        }
    }
}

/// A tensor: values and shape (`data.len()` is the product of `shape`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Tensor {
    pub data: Data,
    pub shape: Vec<usize>,
}

impl Tensor {
    pub(crate) fn f32(v: Vec<f32>, shape: Vec<usize>) -> Self {
        Tensor { data: Data::F32(v), shape }
    }

    /// (rows, last-axis width) of a tensor seen as a matrix over its last axis.
    pub(crate) fn matrix_dims(&self) -> (usize, usize) {
        let w = self.shape.last().copied().unwrap_or(1);
        let rows = self.data.len().checked_div(w).unwrap_or(0);
        (rows, w)
    }
}
