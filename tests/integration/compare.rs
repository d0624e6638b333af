//! `compare`: several models on the same records. Each model's report equals its single audit;
//! references are trained once per architecture (the cache key hashes the architecture, not
//! the weights) and a QDQ-quantised model shares the float model's; the CLI writes the table,
//! the JSON and a self-contained HTML page.

use crate::common;
use common::*;
use privaudit::model::OnnxModel;
use privaudit::{AuditInput, AuditOptions, CompareInput, CompareModel, run_audit, run_compare};

fn demo(name: &str) -> privaudit::data::DataSource {
    source(root().join(format!("www/demo/{name}")))
}

fn models() -> Vec<CompareModel> {
    [("plain", root().join("www/demo/digits_mlp.onnx")), ("int8", fixture("models/digits_mlp_qdq.onnx")), ("other", fixture("refs/ref0.onnx"))]
        .into_iter()
        .map(|(n, p)| CompareModel { name: n.into(), model: file(p), model_data: None })
        .collect()
}

fn input(models: Vec<CompareModel>) -> CompareInput {
    CompareInput {
        models,
        members: demo("digits_members.csv"),
        nonmembers: demo("digits_nonmembers.csv"),
        population: None,
        references: Default::default(),
        cached_references: Vec::new(),
        slice_file: None,
    }
}

fn opts() -> AuditOptions {
    let training = privaudit::model::TrainSettings { epochs: 15, ..Default::default() };
    let statistics = privaudit::metrics::StatisticsSettings { bootstrap: 200, ..Default::default() };
    AuditOptions {
        scale: 1.0 / 16.0,
        attacks: vec!["loss".into(), "lira_offline".into(), "rmia".into()],
        references: 2,
        training,
        statistics,
        backend: privaudit::BackendChoice::Cpu,
        ..Default::default()
    }
}

#[test]
fn the_architecture_digest_ignores_the_weights_references_reinitialise() {
    let d = |p: std::path::PathBuf| OnnxModel::parse(&file(p), None).unwrap().architecture_digest().unwrap();
    let plain = d(root().join("www/demo/digits_mlp.onnx"));
    assert_eq!(plain, d(fixture("refs/ref0.onnx")), "the same MLP with other weights");
    assert_ne!(plain, d(fixture("models/digits_mlp_qdq.onnx")), "QDQ nodes are another graph");
    assert_ne!(plain, d(root().join("www/demo/digits_cnn.onnx")));
    // A BN-kept CNN: its running statistics restart in a reference, so they are not hashed; a
    // kept constant (an in-graph normalisation) is.
    let bn = OnnxModel::parse(&file(fixture("models/cnn_classic_bn.onnx")), None).unwrap();
    assert_eq!(bn.architecture_digest().unwrap(), bn.architecture_digest().unwrap(), "deterministic");
    assert!(!bn.quantised() && OnnxModel::parse(&file(fixture("models/digits_cnn_qdq.onnx")), None).unwrap().quantised());
}

#[test]
fn each_row_is_its_single_audit_and_references_are_trained_once_per_architecture() {
    let out = pollster::block_on(run_compare(input(models()), &opts(), &mut |_| {})).unwrap();
    let c = &out.comparison;
    assert_eq!(c.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["plain", "int8", "other"]);
    assert_eq!(c.fpr_level, "0.01", "500 non-members: 1 % is the smallest measurable level up to 0.1 %");
    // The plain model's report is its single audit's.
    let single = |m: &CompareModel, shared: Option<privaudit::SharedReferences>| {
        let mut i = AuditInput::model(m.model.clone(), None, demo("digits_members.csv"), demo("digits_nonmembers.csv"));
        i.shared_references = shared;
        pollster::block_on(run_audit(i, &opts(), &mut |_| {})).unwrap()
    };
    let ms = models();
    let plain = single(&ms[0], None);
    let same = |a: &privaudit::report::AuditReport, b: &privaudit::report::AuditReport, what: &str| {
        assert_eq!(a.attacks, b.attacks, "{what}: attacks");
        assert_eq!((&a.model, &a.data, &a.slices, &a.exposure), (&b.model, &b.data, &b.slices, &b.exposure), "{what}");
        assert_eq!(a.verdict.summary, b.verdict.summary, "{what}: verdict");
    };
    same(&c.reports[0], &plain.report, "plain");
    assert_eq!(c.rows[0].references, "trained");
    // The third model has the plain one's architecture: its references were reused, not trained.
    let other = &c.reports[2];
    assert_eq!(c.rows[2].references, "reused (trained for plain, the same architecture)");
    assert!(other.references.as_ref().unwrap().cached);
    assert_eq!(other.references.as_ref().unwrap().models, c.reports[0].references.as_ref().unwrap().models, "the same references");
    same(other, &single(&ms[2], None).report, "other (trained anew alone)");
    // The QDQ model shares the plain model's references, and equals its audit given them.
    let int8 = &c.reports[1];
    assert_eq!(int8.references.as_ref().unwrap().source, "shared");
    assert!(c.rows[1].quantised && c.rows[1].references.starts_with("shared (trained for plain"), "{}", c.rows[1].references);
    let bytes = plain.reference_cache.clone().unwrap().1;
    same(int8, &single(&ms[1], Some(privaudit::SharedReferences { from: "plain".into(), bytes })).report, "int8");
    // Each row reads its report: the best AUC and TPR over the attacks, the ε over all.
    for (row, r) in c.rows.iter().zip(&c.reports) {
        let best = r.attacks.iter().map(|a| a.metrics.auc).fold(0.0, f64::max);
        assert_eq!(row.auc, best);
        let tpr = r.attacks.iter().map(|a| a.metrics.tpr_at_fpr["0.01"]).fold(0.0, f64::max);
        assert_eq!(row.tpr, tpr);
        assert_eq!(row.epsilon, r.verdict.epsilon.as_ref().map(|e| e.epsilon));
        assert_eq!(row.accuracy_nonmembers, r.model.accuracy_nonmembers);
    }
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn compare_refuses_what_it_cannot_do() {
    let run = |i: CompareInput, o: &AuditOptions| pollster::block_on(run_compare(i, o, &mut |_| {})).unwrap_err().to_string();
    let e = run(input(models()[..1].to_vec()), &opts());
    assert!(e.contains("2 to 16 models, got 1"), "{e}");
    let mut twice = models();
    twice[1].name = "plain".into();
    assert!(run(input(twice), &opts()).contains("two models are named 'plain'"));
    // A QDQ model alone cannot have references trained.
    let e = run(input(vec![models()[1].clone(), CompareModel { name: "cnn".into(), ..models()[1].clone() }]), &opts());
    assert!(e.contains("digits_mlp_qdq.onnx") && e.contains("QDQ-quantised"), "{e}");
    let e = pollster::block_on(run_audit(
        AuditInput::model(models()[1].model.clone(), None, demo("digits_members.csv"), demo("digits_nonmembers.csv")),
        &opts(),
        &mut |_| {},
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("compare it with the float model"), "{e}");
    // Threshold attacks need no references: a QDQ model alone audits.
    let t = AuditOptions { attacks: vec!["loss".into()], ..opts() };
    assert!(
        pollster::block_on(run_audit(
            AuditInput::model(models()[1].model.clone(), None, demo("digits_members.csv"), demo("digits_nonmembers.csv")),
            &t,
            &mut |_| {}
        ))
        .is_ok()
    );
}

#[test]
fn the_cli_writes_the_table_the_json_and_a_self_contained_page() {
    let dir = std::env::temp_dir().join(format!("privaudit-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, html) = (dir.join("c.json"), dir.join("c.html"));
    let models = format!("{},{}", root().join("www/demo/digits_mlp.onnx").display(), fixture("models/digits_mlp_qdq.onnx").display());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_privaudit"))
        .args([
            "compare",
            "-q",
            "--backend",
            "cpu",
            "--scale",
            "0.0625",
            "--attacks",
            "loss,confidence",
            "--bootstrap",
            "100",
            "--models",
            &models,
            "--names",
            "plain,int8",
        ])
        .arg("--members")
        .arg(root().join("www/demo/digits_members.csv"))
        .arg("--nonmembers")
        .arg(root().join("www/demo/digits_nonmembers.csv"))
        .arg("--out")
        .arg(&out)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.starts_with("model ") && stdout.contains("\nplain ") && stdout.contains("\nint8 "), "{stdout}");
    let c: privaudit::Comparison = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(c.rows.len(), 2);
    assert_eq!(c.schema_version, privaudit::COMPARISON_SCHEMA_VERSION);
    let h = std::fs::read_to_string(&html).unwrap();
    for part in ["<table class=\"comparison\">", "class=\"privaudit-compare\"", "<h2>plain</h2>", "<h2>int8</h2>"] {
        assert!(h.contains(part), "{part}");
    }
    let urls: Vec<&str> = h.match_indices("://").map(|(i, _)| &h[i.saturating_sub(4)..(i + 25).min(h.len())]).collect();
    assert!(urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg")), "the page must not load anything: {urls:?}");
    // One line and exit 2 for what compare does not take.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_privaudit"))
        .args(["compare", "-q", "--models", &models, "--model", "x.onnx", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--models a.onnx,b.onnx"));
    std::fs::remove_dir_all(&dir).ok();
}
