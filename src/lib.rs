#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod audit;
mod backend;
mod error;

pub mod attacks;
pub mod data;
pub mod metrics;
pub mod model;
pub mod report;
pub mod signals;

#[cfg(target_family = "wasm")]
mod wasm;

pub use audit::{run as run_audit, AuditInput, AuditOptions, AuditOutput, Progress};
pub use backend::{select as select_backend, Backend, BackendChoice};
pub use error::{AuditError, Result};
