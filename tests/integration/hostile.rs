//! The hostile-input corpus (tests/fixtures/hostile/cases.json, made by make_hostile.py) through
//! the CLI: every case ends in one line on stderr that names the file or option and what was
//! expected, exit code 2, no panic or abort, within a time bound and a memory cap (`ulimit -v`).
//! Then a bounded fuzz run of every reader, seeded from the corpus: mutated bytes must give an
//! error or a result, never a panic. `PRIVAUDIT_FUZZ_CASES` sets the number of mutants
//! (default 20000, a few seconds; `npm run fuzz` runs 1000000).

use crate::common::*;
use privaudit::data::{DataSource, InputFile, TableOptions, read_membership, read_npy, read_table};
use privaudit::model::{OnnxModel, Rng};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wall-clock bound of one case (a cold process, the CPU backend, no training).
const CASE_SECONDS: u64 = 60;
/// Address-space cap of the CLI, in KiB: an allocation sized by a header or an option aborts.
const MEMORY_KIB: u64 = 8 << 20;

fn cases() -> Vec<Value> {
    json("hostile/cases.json")["cases"].as_array().unwrap().clone()
}

/// Big inputs the corpus does not store.
fn generated(name: &str, dir: &Path) -> PathBuf {
    let p = dir.join(format!("{name}.csv"));
    let body = match name {
        "csv_10mb_cell" => format!("a,b,c,d,label\n1,2,3,{},0\n", "x".repeat(10 << 20)),
        "csv_1300000_headers" => {
            let mut s: String = (0..1_300_000).map(|i| format!("c{i},")).collect();
            s.push_str("y\n");
            s
        }
        other => panic!("unknown generated input {other}"),
    };
    std::fs::write(&p, body).unwrap();
    p
}

fn path(v: &Value, dir: &Path) -> PathBuf {
    let s = v.as_str().unwrap();
    match s.strip_prefix("generate:") {
        Some(name) => generated(name, dir),
        None => root().join(s),
    }
}

/// The CLI flags of a case's options (the same keys as the JS API's).
fn option_flags(opts: &Value) -> Vec<String> {
    let mut a = Vec::new();
    let Some(o) = opts.as_object() else { return a };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string)).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    };
    for (k, v) in o {
        if k == "image" {
            for (ik, iv) in v.as_object().unwrap() {
                let flag = match ik.as_str() {
                    "centerCrop" => "--center-crop".to_string(),
                    "range" => "--pixel-range".to_string(),
                    "resize" | "normalize" | "mean" | "std" | "layout" | "classes" => format!("--{ik}"),
                    other => panic!("image.{other}"),
                };
                a.push(format!("{flag}={}", text(iv)));
            }
            continue;
        }
        if k == "training" {
            for (tk, tv) in v.as_object().unwrap() {
                let flag = match tk.as_str() {
                    "epochs" => "--epochs",
                    "batchSize" => "--batch",
                    "learningRate" => "--lr",
                    "weightDecay" => "--weight-decay",
                    "optimizer" => "--optimizer",
                    "augment" => "--augment",
                    other => panic!("training.{other}"),
                };
                a.push(format!("{flag}={}", text(tv)));
            }
            continue;
        }
        let flag = match k.as_str() {
            "labelColumn" => "--label-column".to_string(),
            "idColumn" => "--id-column".to_string(),
            "references" => "--refs".to_string(),
            "rmiaA" => "--rmia-a".to_string(),
            "rmiaGamma" => "--rmia-gamma".to_string(),
            "failIf" => "--fail-if".to_string(),
            other => format!("--{other}"),
        };
        a.push(format!("{flag}={}", text(v)));
    }
    a
}

/// Run the CLI under the memory cap and time bound: (exit code, stderr).
fn run_cli(args: &[String]) -> (Option<i32>, String) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_privaudit"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code(), err);
        }
        if t0.elapsed() > Duration::from_secs(CASE_SECONDS) {
            child.kill().ok();
            panic!("{args:?}: still running after {CASE_SECONDS} s (a hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_hostile_input_is_a_clear_one_line_error_from_the_cli() {
    let dir = std::env::temp_dir().join(format!("privaudit-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let all = cases();
    assert!(all.len() >= 60, "the corpus has {} cases", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let name = c["name"].as_str().unwrap();
        let out = dir.join(format!("{name}.json"));
        let mut args: Vec<String> = ["audit", "-q", "--backend", "cpu", "--no-cache"].map(String::from).to_vec();
        args.extend(["--out".to_string(), out.display().to_string()]);
        let mut files = Vec::new();
        for (key, flag) in [
            ("model", "--model"),
            ("modelData", "--model-data"),
            ("members", "--members"),
            ("membersLabels", "--members-labels"),
            ("nonmembers", "--nonmembers"),
            ("memberOutputs", "--member-outputs"),
            ("nonmemberOutputs", "--nonmember-outputs"),
            ("referenceMembership", "--reference-membership"),
        ] {
            if let Some(v) = c.get(key).filter(|v| !v.is_null()) {
                let p = path(v, &dir);
                files.push(p.file_name().unwrap().to_string_lossy().into_owned());
                args.extend([flag.to_string(), p.display().to_string()]);
            }
        }
        for (key, flag) in [("referenceModels", "--reference-models"), ("referenceOutputs", "--reference-outputs")] {
            if let Some(list) = c.get(key).and_then(Value::as_array) {
                let ps: Vec<PathBuf> = list.iter().map(|v| path(v, &dir)).collect();
                files.extend(ps.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()));
                let ps: Vec<String> = ps.iter().map(|p| p.display().to_string()).collect();
                args.extend([flag.to_string(), ps.join(",")]);
            }
        }
        if let Some(o) = c.get("options") {
            args.extend(option_flags(o));
        }
        if let Some(extra) = c.get("cli").and_then(Value::as_array) {
            args.extend(extra.iter().map(|v| v.as_str().unwrap().to_string()));
        }
        let (code, err) = run_cli(&args);
        if c["succeeds"] == true {
            if code != Some(0) {
                failures.push(format!("{name}: expected success, got {code:?}: {err}"));
            } else {
                // (tests/e2e/schema.test.mjs validates this report with ajv.)
                let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
                assert!(r["attacks"].as_array().unwrap().iter().all(|a| a["best_threshold"].is_null()), "{name}");
            }
            continue;
        }
        let expect = c.get("cliExpect").or(c.get("expect")).and_then(Value::as_str).unwrap();
        let max = c.get("maxMessage").and_then(Value::as_u64).unwrap_or(2000) as usize;
        let line = err.trim_end();
        let problems: Vec<&str> = [
            (code != Some(2), "exit code is not 2"),
            (line.lines().count() != 1, "not exactly one line"),
            (!line.starts_with("privaudit: error: "), "not a privaudit error"),
            (!line.contains(expect), "does not say what was expected"),
            (line.len() > max, "too long"),
            (line.contains("panicked"), "a panic"),
            (
                !(files.iter().any(|f| line.contains(f.as_str())) || line.contains("option '") || line.contains("--") || line.contains("attack")),
                "names no file or option",
            ),
        ]
        .into_iter()
        .filter_map(|(bad, what)| bad.then_some(what))
        .collect();
        if !problems.is_empty() {
            let shown: String = line.chars().take(400).collect();
            failures.push(format!("{name}: {} — exit {code:?}: {shown}\n    expected to contain: {expect}", problems.join(", ")));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(failures.is_empty(), "{} of {} hostile cases failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

/// Every file the corpus and the fixtures hold: the fuzzer's seeds.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let image_dirs = ["cat", "dog", "emu"].map(|c| fixture(&format!("images/set/{c}")));
    for dir in [fixture("hostile"), fixture("models"), fixture("refs"), root().join("www/demo"), fixture("images")].into_iter().chain(image_dirs) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let meta = std::fs::metadata(&p).unwrap();
            if meta.is_file() && meta.len() < (4 << 20) && !p.extension().is_some_and(|e| e == "py" || e == "json") {
                out.push((p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// A mutant of `seed`: bit flips, byte runs set to edge values, cut or duplicated chunks.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let n = b.len().max(1);
        match rng.below(6) {
            0 => {
                if !b.is_empty() {
                    let i = rng.below(n);
                    b[i] ^= 1 << rng.below(8);
                }
            }
            1 => {
                let i = rng.below(n);
                let v = [0u8, 0xff, 0x7f, 0x80, b'0', b',', b'\n'][rng.below(7)];
                for x in b.iter_mut().skip(i).take(1 + rng.below(8)) {
                    *x = v;
                }
            }
            2 => b.truncate(rng.below(n)),
            3 => {
                let (i, len) = (rng.below(n), 1 + rng.below(64));
                let chunk: Vec<u8> = b.iter().skip(i).take(len).copied().collect();
                let at = rng.below(n);
                b.splice(at.min(b.len())..at.min(b.len()), chunk);
            }
            4 => {
                let i = rng.below(n);
                b.insert(i.min(b.len()), rng.below(256) as u8);
            }
            _ => {
                // A varint set to its maximum: the protobuf and zip lengths' worst case.
                let i = rng.below(n);
                for (k, x) in b.iter_mut().skip(i).take(10).enumerate() {
                    *x = if k < 9 { 0xff } else { 0x01 };
                }
            }
        }
    }
    b
}

#[test]
fn fuzzed_readers_never_panic() {
    use privaudit::data::image::ImageOptions;
    use privaudit::data::read_images;
    let n: usize = std::env::var("PRIVAUDIT_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let seeds = seeds();
    assert!(seeds.len() > 60, "{} seeds", seeds.len());
    let mut rng = Rng::new(0xF022);
    let opts = TableOptions::default();
    let labels = std::fs::read(fixture("hostile/labels_12.npy")).unwrap();
    let ext = std::fs::read(fixture("models/external.onnx.data")).unwrap();
    let t0 = Instant::now();
    for i in 0..n {
        let (name, seed) = &seeds[rng.below(seeds.len())];
        let bytes = mutate(seed, &mut rng);
        let file = InputFile::new(name.clone(), bytes.clone());
        let outcome = std::panic::catch_unwind(|| {
            let src = DataSource { file: file.clone(), labels: Some(InputFile::new("labels.npy", labels.clone())), images: Vec::new() };
            let _ = read_table(&DataSource { file: file.clone(), labels: None, images: Vec::new() }, &opts);
            let _ = read_table(&src, &opts);
            let _ = read_npy(&file);
            let _ = read_membership(&file, 24, 2);
            let ids: Vec<String> = (0..12).map(|i| format!("{}/{i:04}.png", i % 3)).collect();
            let _ = privaudit::data::read_slice_file(name, &bytes, [("members", 12, &ids), ("nonmembers", 12, &[])]);
            if let Ok(m) = OnnxModel::parse(&file, Some(&InputFile::new("external.onnx.data", ext.clone()))) {
                let _ = pollster::block_on(m.reference_parameters(1));
            }
            let _ = OnnxModel::parse(&file, None);
            // Images: the decoders, and a zip of class folders (the mutant as its one image,
            // or as the zip itself).
            let _ = privaudit::data::image::decode(name, &bytes);
            let g = privaudit::data::image::Geometry { channels: 3, height: 8, width: 8, nchw: true };
            let img = ImageOptions::default();
            let _ = read_images(&DataSource::folder("set", vec![InputFile::new("a/x.png", bytes.clone())]), &img, &g);
            let _ = read_images(&DataSource { file: file.clone(), labels: None, images: Vec::new() }, &img, &g);
        });
        if outcome.is_err() {
            let keep = root().join(format!("target/fuzz-crash-{i}-{name}"));
            std::fs::write(&keep, &bytes).unwrap();
            panic!("mutant {i} of {name} made a reader panic; kept as {}", keep.display());
        }
    }
    eprintln!("fuzz: {n} mutants of {} seeds in {:.1} s, no panic", seeds.len(), t0.elapsed().as_secs_f64());
}
