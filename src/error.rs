//! One error type for the whole engine. Every variant names the file (or option), the place in
//! it and what was expected, because the message is what a user sees in the page or the CLI.

use thiserror::Error;

/// Everything that can go wrong in an audit, as a user-facing message. The fields are the
/// parts of that message: the file, the place in it, what was expected and what was found.
/// Serializable so that an error raised in a Web Worker training a reference (`trainReference`)
/// reaches the page as the same error.
#[derive(Debug, Error, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub enum AuditError {
    /// A file could not be read or decoded at all.
    #[error("{file}: {message}")]
    BadFile { file: String, message: String },

    /// A cell or value in a data file is wrong.
    #[error("{file}: row {row}, column '{column}': {message}")]
    BadCell { file: String, row: usize, column: String, message: String },

    /// Shapes that must agree do not.
    #[error("{file}: {what}: expected {expected}, found {actual}")]
    ShapeMismatch { file: String, what: String, expected: String, actual: String },

    /// A label outside the model's classes.
    #[error("{file}: row {row}: label {label} is outside the model's classes 0..{classes}")]
    LabelOutOfRange { file: String, row: usize, label: i64, classes: usize },

    /// The ONNX model uses something the interpreter does not implement.
    #[error("{file}: node '{node}': operator {op} is not supported ({detail})")]
    UnsupportedOp { file: String, node: String, op: String, detail: String },

    /// The ONNX file is malformed or inconsistent.
    #[error("{file}: {message}")]
    BadModel { file: String, message: String },

    /// An option has a value that cannot be used.
    #[error("option '{option}': {message}")]
    BadOption { option: String, message: String },

    /// A metric cannot be computed from these scores.
    #[error("metrics: {0}")]
    Metric(String),

    /// The compute device failed.
    #[error("device ({backend}): {message}")]
    Device { backend: String, message: String },
}

/// Shorthand used across the crate.
pub type Result<T, E = AuditError> = std::result::Result<T, E>;

impl AuditError {
    pub(crate) fn file(file: &str, message: impl Into<String>) -> Self {
        AuditError::BadFile { file: file.to_string(), message: message.into() }
    }
    pub(crate) fn model(file: &str, message: impl Into<String>) -> Self {
        AuditError::BadModel { file: file.to_string(), message: message.into() }
    }
    pub(crate) fn option(option: &str, message: impl Into<String>) -> Self {
        AuditError::BadOption { option: option.to_string(), message: message.into() }
    }
}
