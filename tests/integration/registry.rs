//! The lists that must agree with the engine's registries and defaults, checked so they cannot
//! drift: the report schema's attack names, `www/index.d.ts`'s attack names, groups and
//! documented defaults, the page's and the widget's checkboxes and form values, and the CLI's
//! `--help` defaults all follow `attacks::REGISTRY` and `AuditOptions::default()`.
//! Plus the op table: reference training re-initialises exactly the declared parameters.

use crate::common::*;
use privaudit::AuditOptions;
use privaudit::attacks::{GROUPS, REGISTRY};
use privaudit::model::{Init, OnnxModel};
use serde_json::Value;
use std::collections::BTreeSet;

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap()
}

fn names() -> Vec<String> {
    REGISTRY.iter().map(|a| a.name.to_string()).collect()
}

/// The quoted strings of a TypeScript union `export type NAME = … ;`.
fn ts_union(ts: &str, name: &str) -> Vec<String> {
    let start = ts.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name}"));
    let body = &ts[start..start + ts[start..].find(';').unwrap()];
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

/// The `value` of every `<input … name="attack" value="…">`.
fn checkboxes(html: &str) -> Vec<String> {
    html.split("name=\"attack\" value=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

#[test]
fn attack_names_everywhere_follow_the_registry() {
    let schema: Value = serde_json::from_str(&read("schema/report.schema.json")).unwrap();
    let enum_ = &schema["properties"]["attacks"]["items"]["properties"]["name"]["enum"];
    let schema_names: Vec<String> = enum_.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(schema_names, names(), "schema/report.schema.json attack names");

    let ts = read("www/index.d.ts");
    assert_eq!(ts_union(&ts, "AttackName"), names(), "index.d.ts AttackName");
    assert_eq!(ts_union(&ts, "AttackGroup"), GROUPS.to_vec(), "index.d.ts AttackGroup");

    let selectable: BTreeSet<String> = names().into_iter().chain(GROUPS.iter().map(|g| g.to_string())).collect();
    // The page is <privacy-audit> (www/widget.js) and its demo bar: the form is the element's.
    for (file, boxes) in [("www/widget.js", checkboxes(&read("www/widget.js")))] {
        assert!(!boxes.is_empty(), "{file}: no attack checkboxes found");
        for b in &boxes {
            assert!(selectable.contains(b), "{file}: checkbox '{b}' is neither an attack nor a group");
        }
        // Every attack can be chosen: by its own checkbox or its group's.
        for a in &REGISTRY {
            assert!(boxes.iter().any(|b| b == a.name || Some(b.as_str()) == a.group), "{file}: no checkbox selects {}", a.name);
        }
    }
}

/// `id="ID" … value="V"` of an input in a page.
fn input_value(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}"));
    let tag_end = at + html[at..].find('>').unwrap();
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..tag_end];
    if tag.starts_with("<select") {
        // The selected option, or the first.
        let body = &html[tag_end..tag_end + html[tag_end..].find("</select>").unwrap()];
        let opt = body.split("<option").skip(1).find(|o| o.contains(" selected")).or_else(|| body.split("<option").nth(1)).unwrap();
        return opt.split("value=\"").nth(1).map(|s| s[..s.find('"').unwrap()].to_string()).unwrap();
    }
    tag.split(" value=\"").nth(1).map(|s| s[..s.find('"').unwrap()].to_string()).unwrap_or_default()
}

fn same_number(text: &str, v: &Value) -> bool {
    match (text.parse::<f64>(), v.as_f64()) {
        (Ok(a), Some(b)) => (a - b).abs() <= 1e-12 * b.abs().max(1.0),
        _ => text == v.as_str().unwrap_or("\u{0}"),
    }
}

#[test]
fn defaults_in_the_page_widget_types_and_cli_are_the_engines() {
    let d = serde_json::to_value(AuditOptions::default()).unwrap();
    let t = &d["training"];
    // The form is the element's (the page embeds it).
    let page = read("www/widget.js");
    assert!(!read("index.html").contains("name=\"attack\""), "index.html holds no form of its own");
    for (id, want) in [
        ("labelColumn", &d["labelColumn"]),
        ("scale", &d["scale"]),
        ("shift", &d["shift"]),
        ("backend", &d["backend"]),
        ("outputs", &d["outputs"]),
        ("refs", &d["references"]),
        ("refMode", &d["mode"]),
        ("seed", &d["seed"]),
        ("optimizer", &t["optimizer"]),
        ("lr", &t["learningRate"]),
        ("epochs", &t["epochs"]),
        ("batch", &t["batchSize"]),
        ("weightDecay", &t["weightDecay"]),
        ("rmiaA", &d["rmiaA"]),
        ("rmiaGamma", &d["rmiaGamma"]),
        ("bootstrap", &d["statistics"]["bootstrap"]),
        ("confidence", &d["statistics"]["confidence"]),
        ("delta", &d["statistics"]["delta"]),
        ("exposedCount", &d["exposed"]),
    ] {
        let got = input_value(&page, id);
        assert!(same_number(&got, want), "widget.js #{id} is '{got}', the engine's default is {want}");
    }
    assert!(
        page.contains(r#"<input type="checkbox" id="randomised">"#) && d["statistics"]["randomisedMembership"] == false,
        "the randomised-membership box starts unchecked, as the engine's default"
    );
    assert!(page.contains(r#"<input type="checkbox" id="slicesOn" checked>"#) && d["slices"] == true, "slices start on, as the engine's default");
    assert!(page.contains(r#"<input type="checkbox" id="dropDuplicates">"#) && d["dropDuplicates"] == false, "duplicates are kept by default");
    // Checked boxes = the default attacks.
    for (file, html) in [("www/widget.js", &page)] {
        let checked: Vec<String> = html
            .split("name=\"attack\" value=\"")
            .skip(1)
            .filter(|s| s[..s.find('>').unwrap()].contains("checked"))
            .map(|s| s[..s.find('"').unwrap()].to_string())
            .collect();
        let kinds = |names: &[String]| privaudit::attacks::AttackKind::parse_list(names, false).unwrap().into_iter().map(|c| c.kind).collect::<Vec<_>>();
        let (chosen, want) = (kinds(&checked), kinds(&AuditOptions::default().attacks));
        assert_eq!(chosen, want, "{file}: the checked attacks are not the default ones");
    }

    // index.d.ts: every "Default X." comment before a field.
    let ts = read("www/index.d.ts");
    let mut seen = 0;
    for (field, want) in [
        ("labelColumn", &d["labelColumn"]),
        ("scale", &d["scale"]),
        ("shift", &d["shift"]),
        ("references", &d["references"]),
        ("seed", &d["seed"]),
        ("rmiaGamma", &d["rmiaGamma"]),
        ("holdout", &d["holdout"]),
        ("optimizer", &t["optimizer"]),
        ("learningRate", &t["learningRate"]),
        ("epochs", &t["epochs"]),
        ("batchSize", &t["batchSize"]),
        ("weightDecay", &t["weightDecay"]),
        ("backend", &d["backend"]),
        ("outputs", &d["outputs"]),
        ("mode", &d["mode"]),
    ] {
        let at = ts.find(&format!("  {field}?:")).unwrap_or_else(|| panic!("index.d.ts has no {field}"));
        let doc = &ts[ts[..at].rfind("/**").unwrap()..at];
        let value = doc.split("Default ").nth(1).unwrap_or_else(|| panic!("index.d.ts {field}: no 'Default'")).split_whitespace().next().unwrap();
        let value = value.trim_end_matches(['.', ':', ';', ',']).trim_matches('"');
        assert!(same_number(value, want), "index.d.ts {field}: documented default {value}, the engine's is {want}");
        seen += 1;
    }
    assert_eq!(seen, 15);

    // The CLI's --help.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_privaudit")).args(["audit", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    for (flag, want) in [
        ("--label-column", d["labelColumn"].clone()),
        ("--scale", d["scale"].clone()),
        ("--shift", d["shift"].clone()),
        ("--holdout", d["holdout"].clone()),
        ("--refs", d["references"].clone()),
        ("--mode", d["mode"].clone()),
        ("--seed", d["seed"].clone()),
        ("--optimizer", t["optimizer"].clone()),
        ("--lr", t["learningRate"].clone()),
        ("--epochs", t["epochs"].clone()),
        ("--batch", t["batchSize"].clone()),
        ("--weight-decay", t["weightDecay"].clone()),
        ("--rmia-a", d["rmiaA"].clone()),
        ("--rmia-gamma", d["rmiaGamma"].clone()),
        ("--backend", d["backend"].clone()),
        ("--outputs", d["outputs"].clone()),
        ("--bootstrap", d["statistics"]["bootstrap"].clone()),
        ("--confidence", d["statistics"]["confidence"].clone()),
        ("--delta", d["statistics"]["delta"].clone()),
        ("--attacks", Value::String(AuditOptions::default().attacks.join(" "))),
    ] {
        let at = help.find(&format!("      {flag} ")).unwrap_or_else(|| panic!("--help has no {flag}"));
        let rest = &help[at..];
        let next = rest[2..].find("\n  -").map_or(rest.len(), |i| i + 2);
        let block = &rest[..next];
        let value = block.split("[default: ").nth(1).unwrap_or_else(|| panic!("{flag}: no default shown")).split(']').next().unwrap();
        assert!(same_number(value, &want), "CLI {flag}: default {value}, the engine's is {want}");
    }
}

/// The field names of `export interface NAME { … }`.
fn ts_fields(ts: &str, name: &str) -> BTreeSet<String> {
    let start = ts.find(&format!("export interface {name} ")).unwrap_or_else(|| panic!("no interface {name}"));
    let body = &ts[start..start + ts[start..].find("\n}").unwrap()];
    body.lines().filter_map(|l| l.trim().split_once("?:").map(|(k, _)| k.to_string())).filter(|k| !k.contains(' ')).collect()
}

#[test]
fn the_typescript_options_are_the_engines() {
    let ts = read("www/index.d.ts");
    let d = serde_json::to_value(AuditOptions::default()).unwrap();
    let mut rust: BTreeSet<String> = d.as_object().unwrap().keys().cloned().collect();
    rust.insert("cache".into()); // the worker's own option (IndexedDB), not the engine's
    rust.insert("workers".into()); // the worker's own too: the size of its pool of reference trainers
    assert_eq!(ts_fields(&ts, "AuditOptions"), rust, "index.d.ts AuditOptions vs AuditOptions (serde names)");
    let training: BTreeSet<String> = d["training"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(ts_fields(&ts, "TrainingOptions"), training, "index.d.ts TrainingOptions vs TrainSettings");
    let statistics: BTreeSet<String> = d["statistics"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(ts_fields(&ts, "StatisticsOptions"), statistics, "index.d.ts StatisticsOptions vs StatisticsSettings");
}

#[test]
fn cnn_references_start_as_torch_initialises_them() {
    // torch: nn.Conv2d weight and bias U(±1/√fan_in), fan_in = C_in/groups · kH · kW;
    // nn.Linear likewise with in_features; BatchNorm scale 1, bias 0.
    // (model, fan-ins that must occur, BatchNormalization running statistics: not parameters,
    // they restart at 0 and 1 and follow the batches; the other two nets have BN folded).
    for (name, fans, bn_stats) in
        [("mobilenet_ish", &[27usize, 9, 8, 4, 24, 6, 36, 32][..], 0), ("cnn_classic_bn", &[27, 72, 16][..], 2 * 8), ("resnet_ish", &[27, 72, 8, 144][..], 0)]
    {
        let m = OnnxModel::parse(&file(fixture(&format!("models/{name}.onnx"))), None).unwrap();
        let p = pollster::block_on(m.reference_parameters(3)).unwrap();
        let total: usize = p.iter().map(|x| x.target.len()).sum();
        assert_eq!(total as u64, m.parameters - bn_stats, "{name}: every weight but BN's running statistics is re-initialised");
        for fan in fans {
            assert!(p.iter().any(|x| x.fan_in == *fan), "{name}: a layer with fan_in {fan}");
        }
        for x in &p {
            let same = x.target.iter().zip(&x.initial).filter(|(a, b)| a == b).count();
            match x.init {
                Init::Uniform => {
                    assert_eq!(same, 0, "{name}/{}: {same} values of the target survive", x.name);
                    if x.shape.len() == 4 {
                        assert_eq!(x.fan_in, x.shape[1..].iter().product::<usize>(), "{name}/{}: Conv fan_in from [O, C/groups, kH, kW]", x.name);
                    }
                    let bound = 1.0 / (x.fan_in as f64).sqrt();
                    let v: Vec<f64> = x.initial.iter().map(|&v| f64::from(v)).collect();
                    assert!(v.iter().all(|v| v.abs() <= bound), "{name}/{}: within ±{bound}", x.name);
                    if v.len() >= 200 {
                        // U(−b, b): mean 0, sd b/√3; 5-sigma bounds on the sample's.
                        let n = v.len() as f64;
                        let mean = v.iter().sum::<f64>() / n;
                        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
                        assert!(mean.abs() <= 5.0 * bound / 3f64.sqrt() / n.sqrt(), "{name}/{}: mean {mean}", x.name);
                        assert!((sd / (bound / 3f64.sqrt()) - 1.0).abs() <= 5.0 * (0.8 / n).sqrt(), "{name}/{}: sd {sd} for bound {bound}", x.name);
                    }
                }
                Init::Ones => assert!(x.initial.iter().all(|&v| v == 1.0), "{name}/{}", x.name),
                Init::Zeros => assert!(x.initial.iter().all(|&v| v == 0.0), "{name}/{}", x.name),
            }
        }
    }
}

#[test]
fn references_reinitialise_exactly_the_declared_parameters() {
    // An in-graph (x − mean) / std before a Gemm: mean and std are constants, not parameters.
    let m = OnnxModel::parse(&file(fixture("models/normalised_gemm.onnx")), None).unwrap();
    let p = pollster::block_on(m.reference_parameters(7)).unwrap();
    // They are the Gemm's W and B (make_hostile.py's values), recognised by value: onnx-ir
    // renames initializers.
    let w: Vec<f32> = (0..12).map(|i| (0.1 * (i % 7) as f64 - 0.3) as f32).collect();
    let targets: Vec<&[f32]> = p.iter().map(|x| x.target.as_slice()).collect();
    assert_eq!(targets, [&w[..], &[0.1f32, -0.2, 0.05][..]], "only the Gemm's weight and bias are trained, not the mean and std");
    assert!(p.iter().all(|x| x.init == Init::Uniform));
    // torch's nn.Linear bound 1/√fan_in, fan_in = 4.
    assert!(p.iter().all(|x| x.initial.iter().all(|v| v.abs() <= 0.5)));

    // The demo MLP (torch's classic exporter): every initializer is a parameter, and no value
    // of the target survives into a fresh reference.
    let demo = OnnxModel::parse(&file(root().join("www/demo/digits_mlp.onnx")), None).unwrap();
    let p = pollster::block_on(demo.reference_parameters(7)).unwrap();
    let total: usize = p.iter().map(|x| x.target.len()).sum();
    assert_eq!(total as u64, demo.parameters, "every weight of the demo is re-initialised");
    for x in &p {
        assert_eq!(x.target.len(), x.initial.len(), "{}", x.name);
        let same = x.target.iter().zip(&x.initial).filter(|(a, b)| a == b).count();
        assert_eq!(same, 0, "{}: {same} values of the target survive into the reference", x.name);
    }
}

/// Every Rust source file under `dir`, recursively.
fn rust_sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let p = e.path();
        if p.is_dir() {
            rust_sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The keys the engine's messages name: `the option ‘KEY’` in sentences and `option 'KEY': …`
/// errors (`AuditError::option("KEY", …)`, the training settings' `bad("KEY", …)`), in every
/// source but the shells' own (the CLI, the JS bridge) and `diff` (a CLI command).
fn keys_in_messages() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut files = Vec::new();
    rust_sources(&root().join("src"), &mut files);
    let (mut sentences, mut errors) = (BTreeSet::new(), BTreeSet::new());
    for f in files.iter().filter(|f| !f.ends_with("bin/privaudit.rs") && !f.ends_with("wasm.rs") && !f.ends_with("report/diff.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for part in text.split("the option ‘").skip(1) {
            sentences.insert(part[..part.find('’').unwrap()].to_string());
        }
        for marker in ["AuditError::option(\"", "bad(\"training."] {
            for part in text.split(marker).skip(1) {
                let key = &part[..part.find('"').unwrap()];
                errors.insert(if marker.starts_with("bad") { format!("training.{key}") } else { key.to_string() });
            }
        }
    }
    (sentences, errors)
}

/// The engine names options by their JSON key; the shells spell them: the CLI as its flag
/// (`FLAGS` in src/bin/privaudit.rs, every flag one of its own), the page and the widget as their
/// control (`FIELD_OF` in www/widget.js, for the keys its sentences name). Every key is an option.
#[test]
fn every_option_an_engine_message_names_is_spelled_by_both_shells() {
    let (sentences, errors) = keys_in_messages();
    assert!(sentences.len() >= 6 && errors.len() >= 20, "{sentences:?} {errors:?}");
    let cli = read("src/bin/privaudit.rs");
    let widget = read("www/widget.js");
    let help =
        |cmd: &str| String::from_utf8(std::process::Command::new(env!("CARGO_BIN_EXE_privaudit")).args([cmd, "--help"]).output().unwrap().stdout).unwrap();
    let helps = format!("{}{}", help("audit"), help("compare"));
    let defaults = serde_json::to_value(AuditOptions::default()).unwrap();
    for k in sentences.iter().chain(&errors) {
        let at = cli.find(&format!("(\"{k}\", \"--")).unwrap_or_else(|| panic!("the CLI's FLAGS has no flag for the option '{k}'"));
        let flags = &cli[at + k.len() + 6..];
        for f in flags[..flags.find('"').unwrap()].split('/') {
            assert!(
                helps.contains(&format!("{f} ")) || helps.contains(&format!("{f}\n")) || helps.contains(&format!("{f},")),
                "{f} (for '{k}') is no flag of the CLI"
            );
        }
        let top = k.split(['.', '/']).next().unwrap();
        let known = defaults.get(top).is_some()
            || ["referenceOutputs", "referenceModels", "referenceMembership", "members", "population", "models", "model"].contains(&top);
        assert!(known, "'{k}' is not an option of AuditOptions or an input");
    }
    for k in &sentences {
        assert!(widget.contains(&format!("{k}: \"")) || widget.contains(&format!("\"{k}\": \"")), "the element's FIELD_OF does not name the option '{k}'");
    }
}
