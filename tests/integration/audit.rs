//! Whole audits through the library. Reference: tests/fixtures/demo_expected.json, computed by
//! make_fixtures.py from onnxruntime 1.32.0 logits, numpy 2.4.6 signals and scikit-learn 1.9.1
//! metrics.
//!
//! Outputs-only mode feeds the very logits onnxruntime produced (printed with 17 digits), so the
//! whole pipeline must agree to 1e-9. With the model, our f32 logits differ from onnxruntime's by
//! ~1e-6, which can swap near-tied records: AUC and TPR then agree to 2e-3 (documented).

use crate::common;
use common::*;
use privaudit::data::{DataSource, InputFile};
use privaudit::{AuditInput, AuditOptions, AuditOutput, BackendChoice, report, run_audit};

fn demo_input() -> AuditInput {
    AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        source(root().join("www/demo/digits_members.csv")),
        source(root().join("www/demo/digits_nonmembers.csv")),
    )
}

fn demo_options() -> AuditOptions {
    AuditOptions { scale: 1.0 / 16.0, backend: BackendChoice::Cpu, ..Default::default() }
}

fn run(input: AuditInput, opts: &AuditOptions) -> privaudit::Result<AuditOutput> {
    pollster::block_on(run_audit(input, opts, &mut |_| {}))
}

fn compare(out: &AuditOutput, tol: f64) {
    let want = json("demo_expected.json");
    let r = &out.report;
    assert_eq!(r.data.members, want["members"].as_u64().unwrap() as usize);
    assert_eq!(r.data.nonmembers, want["nonmembers"].as_u64().unwrap() as usize);
    assert!(close(r.model.accuracy_members, want["accuracy_members"].as_f64().unwrap(), 1e-12));
    assert!(close(r.model.accuracy_nonmembers, want["accuracy_nonmembers"].as_f64().unwrap(), 1e-12));
    assert_eq!(r.attacks.len(), 4);
    for a in &r.attacks {
        let w = &want["attacks"][&a.name];
        assert!(close(a.metrics.auc, w["auc"].as_f64().unwrap(), tol), "{}: auc {} vs {}", a.name, a.metrics.auc, w["auc"]);
        assert!(close(a.metrics.advantage, w["advantage"].as_f64().unwrap(), tol), "{}: advantage", a.name);
        for k in ["0.1", "0.01", "0.001", "0"] {
            assert!(
                close(a.metrics.tpr_at_fpr[k], w["tpr_at_fpr"][k].as_f64().unwrap(), tol.max(if tol > 1e-6 { 0.02 } else { 0.0 })),
                "{}: tpr@{k} {} vs {}",
                a.name,
                a.metrics.tpr_at_fpr[k],
                w["tpr_at_fpr"][k]
            );
        }
    }
}

#[test]
fn demo_audit_matches_the_python_reference() {
    let out = run(demo_input(), &demo_options()).unwrap();
    compare(&out, 2e-3);
    assert_eq!(out.report.backend, "cpu");
    assert_eq!(out.report.model.opset, Some(17));
    assert!(out.report.attacks.iter().all(|a| a.metrics.auc > 0.55), "the demo must show a visible leak");
    let csv = report::scores_csv(&out.scores);
    assert_eq!(csv.lines().count(), 601);
    assert!(
        csv.starts_with("set,row,label,member,loss,confidence,entropy,modified_entropy,model_loss,model_predicted,model_correct,rank\nmembers,1,"),
        "{csv:.200}"
    );
}

#[test]
fn outputs_only_mode_matches_the_python_reference_exactly() {
    let input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    let out = run(input, &AuditOptions::default()).unwrap();
    assert_eq!(out.report.model.outputs, "logits");
    assert_eq!(out.report.model.format, "outputs");
    compare(&out, 1e-9);
}

#[test]
fn report_json_follows_the_schema_names() {
    let out = run(demo_input(), &demo_options()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&report::to_json(&out.report)).unwrap();
    for k in ["schema_version", "backend", "model", "data", "attacks"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    for k in ["format", "opset", "parameters", "accuracy_members", "accuracy_nonmembers"] {
        assert!(v["model"].get(k).is_some(), "missing model.{k}");
    }
    for k in ["members", "nonmembers", "features", "classes"] {
        assert!(v["data"].get(k).is_some(), "missing data.{k}");
    }
    let a = &v["attacks"][0];
    for k in ["name", "auc", "tpr_at_fpr", "advantage", "ppv", "roc"] {
        assert!(a.get(k).is_some(), "missing attacks[0].{k}");
    }
    for k in ["0.1", "0.01", "0.001", "0"] {
        assert!(a["tpr_at_fpr"].get(k).is_some());
    }
}

fn csv_input(members: &str) -> AuditInput {
    AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        DataSource { file: InputFile::new("bad.csv", members.as_bytes().to_vec()), labels: None, images: Vec::new() },
        source(root().join("www/demo/digits_nonmembers.csv")),
    )
}

fn header() -> String {
    (0..64).map(|i| format!("p{i}")).chain(["label".to_string()]).collect::<Vec<_>>().join(",")
}

fn row(label: &str) -> String {
    std::iter::repeat_n("1", 64).chain([label]).collect::<Vec<_>>().join(",")
}

fn err(input: AuditInput) -> String {
    run(input, &demo_options()).err().expect("expected an error").to_string()
}

#[test]
fn wrong_column_count_names_file_and_row() {
    let e = err(csv_input(&format!("{}\n{}\n1,2,3\n", header(), row("1"))));
    assert!(e.contains("bad.csv") && e.contains("row 2") && e.contains("expected 65"), "{e}");
}

#[test]
fn non_numeric_and_nan_cells_name_row_and_column() {
    let mut r = row("1");
    r.replace_range(0..1, "abc");
    let e = err(csv_input(&format!("{}\n{}\n{r}\n", header(), row("2"))));
    assert!(e.contains("bad.csv: row 2, column 'p0'") && e.contains("'abc' is not a number"), "{e}");
    let mut r = row("1");
    r.replace_range(0..1, "NaN");
    let e = err(csv_input(&format!("{}\n{r}\n", header())));
    assert!(e.contains("row 1, column 'p0'") && e.contains("not finite"), "{e}");
}

#[test]
fn labels_outside_the_model_classes_are_rejected() {
    let e = err(csv_input(&format!("{}\n{}\n{}\n", header(), row("1"), row("10"))));
    assert!(e.contains("bad.csv: row 2: label 10 is outside the model's classes 0..10"), "{e}");
    let e = err(csv_input(&format!("{}\n{}\n", header(), row("-1"))));
    assert!(e.contains("negative"), "{e}");
    let e = err(csv_input(&format!("{}\n{}\n", header(), row("1.5"))));
    assert!(e.contains("not an integer"), "{e}");
}

#[test]
fn feature_count_mismatch_names_the_model_input() {
    let e = err(csv_input("a,b,label\n1,2,0\n"));
    assert!(e.contains("bad.csv") && e.contains("number of feature columns") && e.contains("expected 64"), "{e}");
}

#[test]
fn empty_files_and_missing_label_columns() {
    assert!(err(csv_input("")).contains("bad.csv: the file is empty"));
    assert!(err(csv_input(&header())).contains("no data rows"));
    let e = err(csv_input("p0,p1\n1,2\n"));
    assert!(e.contains("no label column 'label'"), "{e}");
}

fn with_id(name: &str, path: &str) -> InputFile {
    let src = std::fs::read_to_string(root().join(path)).unwrap();
    let mut lines = src.lines();
    let mut text = format!("id,{}\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        text.push_str(&format!("rec-{i},{l}\n"));
    }
    InputFile::new(name, text.into_bytes())
}

#[test]
fn id_column_is_ignored_when_named() {
    let input = AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        DataSource { file: with_id("m_id.csv", "www/demo/digits_members.csv"), labels: None, images: Vec::new() },
        DataSource { file: with_id("n_id.csv", "www/demo/digits_nonmembers.csv"), labels: None, images: Vec::new() },
    );
    let e = run(input.clone(), &demo_options()).err().unwrap().to_string();
    assert!(e.contains("m_id.csv") && e.contains("'rec-0' is not a number"), "{e}");
    let out = run(input, &AuditOptions { id_column: Some("id".into()), ..demo_options() }).unwrap();
    compare(&out, 2e-3);
    // A file without the named id column is an error, not silently accepted.
    let e = run(demo_input(), &AuditOptions { id_column: Some("id".into()), ..demo_options() }).err().unwrap().to_string();
    assert!(e.contains("no id column 'id'"), "{e}");
}

#[test]
fn unknown_options_are_rejected() {
    let e = serde_json::from_str::<AuditOptions>(r#"{"labelColumn":"y","sclae":2}"#).unwrap_err().to_string();
    assert!(e.contains("unknown field `sclae`"), "{e}");
    let o: AuditOptions = serde_json::from_str(r#"{"labelColumn":"y","attacks":["loss"],"backend":"cpu"}"#).unwrap();
    assert_eq!(o.label_column, "y");
    assert_eq!(o.scale, 1.0);
}

#[test]
fn npz_and_npy_inputs_give_the_csv_result() {
    let csv = run(demo_input(), &demo_options()).unwrap();
    let input = AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        source(fixture("digits_members.npz")),
        DataSource { file: file(fixture("digits_nonmembers_x.npy")), labels: Some(file(fixture("digits_nonmembers_y.npy"))), images: Vec::new() },
    );
    let npy = run(input, &demo_options()).unwrap();
    assert_eq!(csv.report.attacks, npy.report.attacks);
}

#[test]
fn npy_without_labels_is_a_clear_error() {
    let input = AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        source(fixture("digits_nonmembers_x.npy")),
        source(root().join("www/demo/digits_nonmembers.csv")),
    );
    let e = err(input);
    assert!(e.contains("digits_nonmembers_x.npy") && e.contains("label file"), "{e}");
}
