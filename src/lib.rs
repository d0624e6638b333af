#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod audit;
mod backend;
mod error;

pub mod attacks;
pub mod data;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod report;
pub mod signals;

#[cfg(target_family = "wasm")]
mod wasm;

pub use audit::{
    AuditInput, AuditOptions, AuditOutput, COMPARISON_SCHEMA_VERSION, CompareInput, CompareModel, CompareOutput, CompareRow, Comparison, Progress,
    ReferenceInput, ReferenceMode, RmiaA, SharedReferences, Target, Tune, compare as run_compare, input_digests, iso8601_utc, reference_cache_key,
    run as run_audit,
};
pub use backend::{Backend, BackendChoice, CPU_BINDING_BYTES, select as select_backend};
pub use error::{AuditError, Result};
