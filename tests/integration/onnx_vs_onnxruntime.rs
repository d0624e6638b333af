//! The ONNX interpreter against onnxruntime 1.32.0 (CPUExecutionProvider): logits of every
//! fixture model in tests/fixtures/models agree to 1e-4, on burn's CPU backend and on wgpu
//! (Mesa lavapipe in CI). The MLPs come from tests/fixtures/make_fixtures.py
//! (models_cases.json), the CNNs — torch 2.15 classic and dynamo exports, MobileNet- and
//! ResNet-style nets, a tf2onnx-pattern NHWC net, a Pad/pooling/ceil_mode net — from
//! tests/fixtures/make_cnn_fixtures.py (cnn_cases.json), and QDQ-quantised models from
//! onnxruntime's quantize_static (make_qdq_fixtures.py, qdq_cases.json).
//!
//! The GPU half needs a Vulkan adapter; with `PRIVAUDIT_REQUIRE_GPU=1` (set by .ci/run) a
//! missing adapter fails the test instead of skipping it.

use crate::common;
use common::*;
use privaudit::data::read_npy;
use privaudit::model::OnnxModel;
use privaudit::{Backend, BackendChoice, select_backend};

fn softmax_rows(z: &[f64], c: usize) -> Vec<f64> {
    z.chunks(c)
        .flat_map(|r| {
            let m = r.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = r.iter().map(|v| (v - m).exp()).sum();
            r.iter().map(move |v| (v - m).exp() / s).collect::<Vec<_>>()
        })
        .collect()
}

fn check_all(backend: &Backend) {
    let (mlps, cnns, qdq) = (json("models_cases.json"), json("cnn_cases.json"), json("qdq_cases.json"));
    assert!(cnns["cases"].as_array().unwrap().len() >= 7, "the CNN fixtures");
    assert_eq!(qdq["cases"].as_array().unwrap().len(), 2, "the QDQ fixtures");
    for c in mlps["cases"].as_array().unwrap().iter().chain(cnns["cases"].as_array().unwrap()).chain(qdq["cases"].as_array().unwrap()) {
        let name = c["name"].as_str().unwrap();
        let model = file(fixture(&format!("models/{}", c["model"].as_str().unwrap())));
        let data = c["data"].as_str().map(|d| file(fixture(&format!("models/{d}"))));
        let m = OnnxModel::parse(&model, data.as_ref()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (shape, x) = read_npy(&file(fixture(&format!("models/{}", c["input"].as_str().unwrap())))).unwrap();
        let (_, want) = read_npy(&file(fixture(&format!("models/{name}.expected.npy")))).unwrap();
        let p = m.prepare(&backend).unwrap();
        let (z, classes) = pollster::block_on(p.logits(&x, shape[0], |_, _| {})).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(z.len(), want.len(), "{name}: output size");
        // A final Softmax is skipped (we read the logits before it); compare probabilities then.
        let got = if m.skipped_final_softmax { softmax_rows(&z, classes) } else { z };
        let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
        assert!(worst <= 1e-4, "{name} on {}: max |diff| {worst} vs onnxruntime", backend.name);
    }
}

#[test]
fn cpu_matches_onnxruntime() {
    check_all(&Backend::cpu());
}

#[test]
fn gpu_matches_onnxruntime() {
    match pollster::block_on(select_backend(BackendChoice::Gpu)) {
        Ok(b) => check_all(&b),
        Err(e) if std::env::var("PRIVAUDIT_REQUIRE_GPU").as_deref() != Ok("1") => {
            eprintln!("skipped: {e}")
        }
        Err(e) => panic!("PRIVAUDIT_REQUIRE_GPU=1 but {e}"),
    }
}

#[test]
fn malformed_model_is_a_clear_error() {
    let e = OnnxModel::parse(&file(fixture("models/malformed.onnx")), None).err().unwrap().to_string();
    assert!(e.starts_with("malformed.onnx:"), "{e}");
}

#[test]
fn unsupported_op_names_the_node_and_op() {
    let e = OnnxModel::parse(&file(fixture("models/unsupported_op.onnx")), None).err().unwrap().to_string();
    assert!(e.contains("the_erf_node") && e.contains("Erf") && e.contains("not supported"), "{e}");
}

#[test]
fn missing_external_data_is_a_clear_error() {
    let e = OnnxModel::parse(&file(fixture("models/external.onnx")), None).err().unwrap().to_string();
    assert!(e.contains("external.onnx.data"), "{e}");
}

#[test]
fn truncated_external_data_is_a_clear_error() {
    let mut data = file(fixture("models/external.onnx.data"));
    data.bytes.truncate(100);
    let e = OnnxModel::parse(&file(fixture("models/external.onnx")), Some(&data)).err().unwrap().to_string();
    assert!(e.contains("external.onnx.data") && e.contains("100 bytes"), "{e}");
}

#[test]
fn model_facts_are_read() {
    let m = OnnxModel::parse(&file(root().join("www/demo/digits_mlp.onnx")), None).unwrap();
    assert_eq!(m.opset, Some(17));
    assert_eq!(m.features(), 64);
    assert_eq!(m.classes, Some(10));
    // 64·128 + 128 + 128·128 + 128 + 128·10 + 10
    assert_eq!(m.parameters, 26122);
}
