//! All native integration tests, in one binary: each test binary links burn, cubecl and wgpu,
//! so one binary instead of six saves minutes of linking on a cold `npm test`.

mod common;

mod audit;
mod cli;
mod compare;
mod hostile;
mod images;
mod metrics_vs_sklearn;
mod onnx_vs_onnxruntime;
mod pipelines;
mod records;
mod reference_attacks;
mod registry;
mod report_tools;
mod signals_vs_numpy;
mod statistics;
mod training;
