//! Helpers shared by the integration tests.
#![allow(dead_code)]

use privaudit::data::{DataSource, InputFile};
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn file(path: PathBuf) -> InputFile {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    InputFile::new(path.file_name().unwrap().to_string_lossy(), bytes)
}

pub fn source(path: PathBuf) -> DataSource {
    DataSource { file: file(path), labels: None, images: Vec::new() }
}

pub fn json(rel: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture(rel)).unwrap()).unwrap()
}

pub fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// |a − b| ≤ tol · max(1, |b|)
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

/// An image folder as the CLI reads it: every file under `dir`, named by its path inside it.
pub fn folder(dir: PathBuf) -> DataSource {
    let mut files = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
                files.push(InputFile::new(rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    DataSource::folder(dir.file_name().unwrap().to_string_lossy(), files)
}
