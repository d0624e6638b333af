//! Tabular pipelines (tests/fixtures/make_pipeline_fixtures.py, pipeline_cases.json): every
//! fixture's class probabilities — 11 scikit-learn/LightGBM exports and 3 hand-built graphs of
//! the remaining operators (Normalizer MAX/L1/L2, Binarizer, ArrayFeatureExtractor, LabelEncoder,
//! FeatureVectorizer, Imputer, Mul, Div, Squeeze, Unsqueeze, Flatten, a one-vs-rest
//! LinearClassifier on the CPU) — against onnxruntime 1.32.0's (its `ai.onnx.ml` kernels) to
//! 1e-4 and scikit-learn 1.9.1's `predict_proba` (LightGBM 4.7.0's for the LightGBM model) to
//! 1e-4 beyond the converter's own gap (onnxruntime vs scikit-learn, recorded by the script),
//! on burn's CPU backend and on wgpu; a one-output-unit binary model's signals against a
//! float64 numpy reference from the same logit to 1e-9; column and output matching errors; and
//! reference training of a pipeline's network keeping its preprocessing.

use crate::common;
use common::*;
use privaudit::data::TableOptions;
use privaudit::model::parse_audited;
use privaudit::model::pipeline::Estimator;
use privaudit::signals::{Logits, OutputKind, compute};
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

fn tab(name: &str) -> std::path::PathBuf {
    fixture(&format!("tabular/{name}"))
}

/// Probabilities of a case's members then non-members, as privaudit computes them.
fn probabilities(c: &serde_json::Value, backend: &Backend) -> (Vec<f64>, usize, privaudit::model::Audited) {
    let name = c["name"].as_str().unwrap();
    let a = parse_audited(&file(tab(c["model"].as_str().unwrap())), None, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    let p = a.pipeline.as_ref().unwrap_or_else(|| panic!("{name} is read as a pipeline"));
    let opts = TableOptions::default();
    let mut values = Vec::new();
    let mut rows = 0;
    for set in ["members", "nonmembers"] {
        let t = p.features(&source(tab(c[set].as_str().unwrap())), &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        values.extend(t.values);
        rows += t.rows;
    }
    let (z, k, kind) = match &a.onnx {
        Some(onnx) => {
            let prepared = onnx.prepare(backend).unwrap();
            let (z, k) = pollster::block_on(prepared.logits(&values, rows, |_, _| {})).unwrap_or_else(|e| panic!("{name}: {e}"));
            (z, k, OutputKind::Logits)
        }
        None => {
            let (z, k) = p.host_outputs(&values, rows).unwrap_or_else(|e| panic!("{name}: {e}"));
            let kind = if p.kind == privaudit::model::pipeline::ReadKind::Probabilities { OutputKind::Probabilities } else { OutputKind::Logits };
            (z, k, kind)
        }
    };
    let l = Logits::from_outputs(name, z, rows, k, kind).unwrap_or_else(|e| panic!("{name}: {e}"));
    (softmax_rows(&l.0.values, l.0.classes), l.0.classes, a)
}

fn check_all(backend: &Backend) {
    let cases = json("tabular/pipeline_cases.json");
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 14, "the pipeline fixtures");
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (got, classes, a) = probabilities(c, backend);
        assert_eq!(classes as u64, c["classes"].as_u64().unwrap(), "{name}: classes");
        let p = a.pipeline.as_ref().unwrap();
        let est = match p.estimator {
            Estimator::Network => "Network",
            Estimator::Trees => "Trees",
            Estimator::Host(_) => "Host",
        };
        assert_eq!(est, c["estimator"].as_str().unwrap(), "{name}: estimator");
        assert_eq!(a.onnx.is_some(), est == "Network", "{name}: a network runs on burn");
        for (oracle, tol) in [("onnxruntime", 1e-4), ("sklearn", 1e-4 + c["sklearn_max_diff"].as_f64().unwrap())] {
            if c[oracle].is_null() {
                continue; // the hand-built operator graphs have onnxruntime only
            }
            let want: Vec<f64> = c[oracle].as_array().unwrap().iter().flat_map(f64s).collect();
            assert_eq!(got.len(), want.len(), "{name}: size");
            let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
            assert!(worst <= tol, "{name} on {}: max |p − {oracle}| = {worst} > {tol}", backend.name);
        }
    }
}

#[test]
fn pipelines_match_onnxruntime_and_sklearn_on_the_cpu() {
    check_all(&Backend::cpu());
}

#[test]
fn pipelines_match_onnxruntime_and_sklearn_on_the_gpu() {
    match pollster::block_on(select_backend(BackendChoice::Gpu)) {
        Ok(b) => check_all(&b),
        Err(e) if std::env::var("PRIVAUDIT_REQUIRE_GPU").as_deref() != Ok("1") => eprintln!("skipped: {e}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_one_unit_binary_model_reads_its_logit() {
    let c = json("tabular/pipeline_cases.json");
    let b = &c["binary"];
    let a = parse_audited(&file(tab("binary_sigmoid.onnx")), None, None).unwrap();
    assert!(a.pipeline.is_none(), "a plain graph");
    let m = a.onnx.unwrap();
    assert!(m.skipped_final_sigmoid && m.single_unit && m.classes == Some(2));
    let t = privaudit::data::read_table(&source(tab("binary_members.csv")), &TableOptions::default()).unwrap();
    let t2 = privaudit::data::read_table(&source(tab("binary_nonmembers.csv")), &TableOptions::default()).unwrap();
    let values: Vec<f64> = t.values.iter().chain(&t2.values).copied().collect();
    let p = m.prepare(&Backend::cpu()).unwrap();
    let (z, k) = pollster::block_on(p.logits(&values, 60, |_, _| {})).unwrap();
    assert_eq!(k, 2);
    let logit = f64s(&b["logit"]);
    let sig = f64s(&b["onnxruntime_sigmoid"]);
    for i in 0..60 {
        assert_eq!(z[2 * i], 0.0);
        assert!((z[2 * i + 1] - logit[i]).abs() <= 1e-5 * logit[i].abs().max(1.0), "row {i}: z {} vs onnxruntime {}", z[2 * i + 1], logit[i]);
        let p1 = 1.0 / (1.0 + (-z[2 * i + 1]).exp());
        assert!((p1 - sig[i]).abs() <= 1e-6, "row {i}: σ(z)");
    }
}

#[test]
fn one_logit_signals_match_numpy_from_the_same_logit() {
    let c = json("tabular/pipeline_cases.json");
    let b = &c["binary"];
    let z = f64s(&b["logit"]);
    let y: Vec<usize> = b["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let (l, kind) = Logits::from_outputs("z.csv", z.clone(), z.len(), 1, OutputKind::Logits).unwrap();
    assert_eq!((kind, l.classes), (OutputKind::Logits, 2));
    let s = compute(&l, &y);
    let r = &b["reference"];
    for (name, got) in [("loss", &s.loss), ("confidence", &s.confidence), ("entropy", &s.entropy), ("modified_entropy", &s.modified_entropy), ("phi", &s.phi)] {
        for (i, (g, w)) in got.iter().zip(f64s(&r[name])).enumerate() {
            assert!(close(*g, w, 1e-9), "{name}[{i}] = {g} vs numpy {w}");
        }
    }
    // A probability column: p = σ(z) read back to the same logit, without log(1 − p) of a rounded p.
    let p: Vec<f64> = z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    let (lp, kind) = Logits::from_outputs("p.csv", p, z.len(), 1, OutputKind::Auto).unwrap();
    assert_eq!(kind, OutputKind::Probabilities);
    for i in 0..z.len() {
        assert!((lp.values[2 * i + 1] - z[i]).abs() <= 1e-9 * z[i].abs().max(1.0), "row {i}");
    }
}

#[test]
fn columns_are_matched_to_inputs_by_name() {
    let a = parse_audited(&file(tab("census_lr.onnx")), None, None).unwrap();
    let p = a.pipeline.unwrap();
    let names: Vec<String> = p.inputs().into_iter().map(|i| i.0).collect();
    assert_eq!(names, ["age", "hours", "workclass", "sex"]);
    let opts = TableOptions::default();
    let with = |csv: &str| {
        p.features(&privaudit::data::DataSource { file: privaudit::data::InputFile::new("d.csv", csv.as_bytes().to_vec()), ..Default::default() }, &opts)
    };
    // Reordered columns, a missing (empty) hours value: fine.
    let t = with("sex,workclass,hours,age,label\nF,private,,40,high\nM,self-employed,41.5,33,low\n").unwrap();
    assert_eq!((t.rows, t.labels.clone()), (2, vec![0, 1]));
    // Slicing by one of the inputs: the column is both a slice and the input.
    let by_sex = TableOptions { slice_column: Some("sex".into()), ..TableOptions::default() };
    let t2 = p
        .features(
            &privaudit::data::DataSource {
                file: privaudit::data::InputFile::new("d.csv", b"sex,workclass,hours,age,label\nF,private,,40,high\nM,self-employed,41.5,33,low\n".to_vec()),
                ..Default::default()
            },
            &by_sex,
        )
        .unwrap();
    assert_eq!((t2.values.clone(), t2.groups.clone()), (t.values.clone(), vec!["F".to_string(), "M".to_string()]));
    let e = with("age,hours,workclass,label\n40,38,private,high\n").unwrap_err().to_string();
    assert!(e.contains("d.csv") && e.contains("no column 'sex'"), "{e}");
    let e = with("age,hours,workclass,sex,zip,label\n40,38,private,F,12345,high\n").unwrap_err().to_string();
    assert!(e.contains("column 'zip' is not an input") && e.contains("id or slice column"), "{e}");
    let e = with("age,hours,workclass,sex,label\nforty,38,private,F,high\n").unwrap_err().to_string();
    assert!(e.contains("d.csv: row 1") && e.contains("'age'") && e.contains("not a number"), "{e}");
    let e = with("age,hours,workclass,sex,label\n40,38,private,F,medium\n").unwrap_err().to_string();
    assert!(e.contains("label 'medium' is not one of the model's classes") && e.contains("high"), "{e}");
}

#[test]
fn outputs_are_chosen_or_named() {
    let m = file(tab("cancer_mlp.onnx"));
    let p = parse_audited(&m, None, None).unwrap().pipeline.unwrap();
    assert_eq!(p.output, "output_probability");
    assert!(p.reading.contains("(1 − σ(z), σ(z))"), "{}", p.reading);
    let p = parse_audited(&m, None, Some("output_probability")).unwrap().pipeline.unwrap();
    assert_eq!(p.output, "output_probability");
    let e = parse_audited(&m, None, Some("output_label")).err().unwrap().to_string();
    assert!(e.contains("cancer_mlp.onnx") && e.contains("holds labels"), "{e}");
    let e = parse_audited(&m, None, Some("scores")).err().unwrap().to_string();
    assert!(e.contains("no output 'scores'") && e.contains("output_label") && e.contains("output_probability"), "{e}");
    let p = parse_audited(&file(tab("cancer_lr.onnx")), None, None).unwrap().pipeline.unwrap();
    assert!(p.reading.contains("LinearClassifier's positive-class score before its LOGISTIC"), "{}", p.reading);
    let p = parse_audited(&file(tab("iris_gb.onnx")), None, None).unwrap().pipeline.unwrap();
    assert!(p.reading.contains("before their SOFTMAX (logits)"), "{}", p.reading);
    let p = parse_audited(&file(tab("cancer_rf.onnx")), None, None).unwrap().pipeline.unwrap();
    assert!(p.reading.contains("probabilities"), "{}", p.reading);
}

#[test]
fn reference_training_keeps_the_scaler_and_reinitialises_the_network() {
    let a = parse_audited(&file(tab("cancer_mlp.onnx")), None, None).unwrap();
    let (onnx, p) = (a.onnx.as_ref().unwrap(), a.pipeline.as_ref().unwrap());
    assert_eq!(p.preprocessing, ["ai.onnx.ml.Scaler", "Cast"]);
    // The trainer sees only the network: every constant it re-initialises is a layer's.
    let params = pollster::block_on(onnx.reference_parameters(7)).unwrap();
    let shapes: Vec<Vec<usize>> = params.iter().map(|r| r.shape.clone()).collect();
    assert_eq!(shapes, [vec![30, 16], vec![1, 16], vec![16, 1], vec![1, 1]], "the two layers' weights and biases, nothing else");
    for r in &params {
        assert_ne!(r.initial, r.target, "{} is re-initialised", r.name);
    }
    // The Scaler stays: the records the references train on are the file's (x − offset)·scale.
    let t = p.features(&source(tab("cancer_members.csv")), &TableOptions::default()).unwrap();
    let raw = privaudit::data::read_table(&source(tab("cancer_members.csv")), &TableOptions::default()).unwrap();
    let c = json("tabular/pipeline_cases.json");
    let (offset, scale) = (f64s(&c["cancer_mlp_scaler"]["offset"]), f64s(&c["cancer_mlp_scaler"]["scale"]));
    let (offset, scale): (Vec<f32>, Vec<f32>) = (offset.iter().map(|&v| v as f32).collect(), scale.iter().map(|&v| v as f32).collect());
    for (k, (&x, &f)) in raw.values.iter().zip(&t.values).enumerate() {
        let want = ((x as f32 - offset[k % 30]) * scale[k % 30]) as f64;
        assert_eq!(f, want, "value {k}");
    }
    // A short training run of the network works on the preprocessed records.
    let be = Backend::cpu();
    let settings = privaudit::model::TrainSettings { epochs: 3, ..Default::default() };
    let (prepared, losses) = pollster::block_on(onnx.train(&be, &t.values, t.rows, &t.labels, 2, &settings, 1, &mut |_, _| {})).unwrap();
    assert_eq!(losses.len(), 3);
    assert!(losses[2] < losses[0], "{losses:?}");
    let (z, k) = pollster::block_on(prepared.logits(&t.values, t.rows, |_, _| {})).unwrap();
    assert_eq!((k, z.len()), (2, 2 * t.rows));
}

#[test]
fn trees_are_not_trained_and_say_why() {
    let a = parse_audited(&file(tab("cancer_gb.onnx")), None, None).unwrap();
    assert!(a.onnx.is_none());
    let p = a.pipeline.unwrap();
    assert_eq!(p.estimator, Estimator::Trees);
    assert_eq!(p.estimator_op, "ai.onnx.ml.TreeEnsembleClassifier");
}

fn cli(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_privaudit")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_cli_audits_pipelines_with_trained_and_given_references() {
    let dir = std::env::temp_dir().join(format!("privaudit-pipelines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| tab(n).to_string_lossy().into_owned();
    let out = dir.join("census.json").to_string_lossy().into_owned();
    // LiRA on a ColumnTransformer + LogisticRegression: references of its network trained here.
    let (ok, err) = cli(&[
        "audit",
        "-q",
        "--backend",
        "cpu",
        "--model",
        &p("census_lr.onnx"),
        "--members",
        &p("census_members.csv"),
        "--nonmembers",
        &p("census_nonmembers.csv"),
        "--attacks",
        "loss,lira",
        "--refs",
        "2",
        "--epochs",
        "20",
        "--lr",
        "0.01",
        "--no-cache",
        "--out",
        &out,
    ]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["references"]["source"], "trained");
    assert!(r["model"]["reading"].as_str().unwrap().contains("LinearClassifier's positive-class score"), "{}", r["model"]);
    assert!(r["model"]["preprocessing"].as_array().unwrap().iter().any(|o| o == "ai.onnx.ml.OneHotEncoder"));
    // A tree ensemble: LiRA needs references, so it is refused unless they are given …
    let gb = [
        "audit",
        "-q",
        "--model",
        &p("cancer_gb.onnx"),
        "--members",
        &p("cancer_members.csv"),
        "--nonmembers",
        &p("cancer_nonmembers.csv"),
        "--attacks",
        "lira",
        "--out",
        &out,
    ];
    let (ok, err) = cli(&gb);
    assert!(!ok && err.contains("a tree ensemble cannot be trained by gradient") && err.contains("reference-outputs"), "{err}");
    // … as ONNX pipelines with the same preprocessing (none here), run on the CPU …
    let mut given = gb.to_vec();
    let refs = format!("{},{}", p("cancer_rf.onnx"), p("cancer_lgbm.onnx"));
    given.extend(["--reference-models", &refs]);
    let (ok, err) = cli(&given);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(r["references"]["source"], "models");
    assert!(r["model"]["estimator"].as_str().unwrap().starts_with("tree ensemble"), "{}", r["model"]);
    // … and a reference that preprocesses otherwise is refused.
    let mut other = gb.to_vec();
    let refs = format!("{},{}", p("census_rf.onnx"), p("cancer_lgbm.onnx"));
    other.extend(["--reference-models", &refs]);
    let (ok, err) = cli(&other);
    assert!(!ok && err.contains("census_rf.onnx: its preprocessing differs"), "{err}");
    // scale/shift would act on a pipeline's preprocessed features, which its graph never does:
    // refused, for a network and for trees alike, naming the option and the preprocessing.
    for (model, members, nonmembers) in
        [("census_lr.onnx", "census_members.csv", "census_nonmembers.csv"), ("cancer_gb.onnx", "cancer_members.csv", "cancer_nonmembers.csv")]
    {
        for flag in [["--scale", "0.0625"], ["--shift", "1"]] {
            let (ok, err) =
                cli(&["audit", "-q", "--model", &p(model), "--members", &p(members), "--nonmembers", &p(nonmembers), flag[0], flag[1], "--out", &out]);
            let name = &flag[0][2..];
            assert!(
                !ok && err.contains(&format!("option '{name}': "))
                    && err.contains(&format!("{model} is a pipeline"))
                    && err.contains(&format!("so {name} must be")),
                "{model} {flag:?}: {err}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
