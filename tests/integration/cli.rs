//! The native CLI: a demo audit end to end, and bad input giving one line on stderr and a
//! non-zero exit. Reference numbers as in tests/audit.rs (demo_expected.json).

use crate::common;
use common::*;
use std::process::Command;

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_privaudit"))
}

/// `audit <args> --model … --members … --nonmembers …` on the demo files.
fn demo_audit(args: &[&str]) -> Command {
    let demo = root().join("www/demo");
    let mut c = cli();
    c.arg("audit").args(args);
    c.arg("--model").arg(demo.join("digits_mlp.onnx"));
    c.arg("--members").arg(demo.join("digits_members.csv"));
    c.arg("--nonmembers").arg(demo.join("digits_nonmembers.csv"));
    c
}

/// `audit` of `model` on the demo's members and non-members, on the CPU, writing nothing.
fn model_audit(model: std::path::PathBuf) -> Command {
    let demo = root().join("www/demo");
    let mut c = cli();
    c.args(["audit", "--backend", "cpu", "-q", "--model"]).arg(model);
    c.arg("--members").arg(demo.join("digits_members.csv")).arg("--nonmembers").arg(demo.join("digits_nonmembers.csv"));
    c.args(["--out", "/dev/null"]);
    c
}

#[test]
fn audits_the_demo_and_writes_report_scores_and_html() {
    let dir = std::env::temp_dir().join(format!("privaudit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (out, scores, html) = (dir.join("report.json"), dir.join("scores.csv"), dir.join("report.html"));
    let o = demo_audit(&["--backend", "cpu", "--scale", "0.0625", "-q"])
        .arg("--out")
        .arg(&out)
        .arg("--scores")
        .arg(&scores)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("modified_entropy") && stdout.contains("AUC"), "{stdout}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let want = json("demo_expected.json");
    for a in r["attacks"].as_array().unwrap() {
        let name = a["name"].as_str().unwrap();
        assert!(close(a["auc"].as_f64().unwrap(), want["attacks"][name]["auc"].as_f64().unwrap(), 2e-3), "{name}");
    }
    assert_eq!(std::fs::read_to_string(&scores).unwrap().lines().count(), 601);
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("<svg") && h.contains("<table"));
    // The per-record sections: the most exposed members (the JSON's 20), slices with their
    // chart, duplicates.
    for part in ["<h2>The most exposed records</h2>", "<h2>Slices</h2>", "class=\"privaudit-slices\"", "<h2>Duplicates</h2>"] {
        assert!(h.contains(part), "the HTML report has {part}");
    }
    let first = &r["exposure"]["members"][0];
    assert!(
        h.contains(&format!("<tr><td>{}</td><th scope=\"row\">member row {}<br><small>", first["rank"], first["row"])),
        "the first exposed member, with its features"
    );
    assert!(stdout.contains("most exposed members") && stdout.contains("slices (") && stdout.contains("duplicates: "), "{stdout}");
    // The only URL is the SVG namespace (an identifier, never fetched).
    let urls: Vec<&str> = h.match_indices("://").map(|(i, _)| &h[i.saturating_sub(4)..(i + 25).min(h.len())]).collect();
    assert!(urls.iter().all(|u| u.starts_with("http://www.w3.org/2000/svg")), "the HTML report must not load anything: {urls:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn statistics_flags_reach_the_report() {
    // --randomised-membership: the bounds become a DP audit with the one-run bound; the
    // bootstrap, confidence and δ are the flags'; out-of-range values are one-line errors.
    let dir = std::env::temp_dir().join(format!("privaudit-cli-stats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.json");
    let o = demo_audit(&[
        "--backend",
        "cpu",
        "--scale",
        "0.0625",
        "-q",
        "--attacks",
        "loss",
        "--bootstrap",
        "50",
        "--confidence",
        "0.9",
        "--delta",
        "1e-6",
        "--randomised-membership",
    ])
    .arg("--out")
    .arg(&out)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("ε lower bounds (dp audit)") && stdout.contains("90 % from 50 bootstrap resamples"), "{stdout}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let s = &r["statistics"];
    assert_eq!((s["membership"].as_str(), s["epsilon_basis"].as_str(), s["bootstrap_resamples"].as_u64()), (Some("randomised"), Some("dp_audit"), Some(50)));
    assert_eq!((s["confidence"].as_f64(), s["delta"].as_f64()), (Some(0.9), Some(1e-6)));
    let one = &r["attacks"][0]["epsilon"]["one_run"];
    assert!(one["epsilon"].as_f64().unwrap() >= 0.0 && one["grid"].as_array().unwrap().len() == 8, "{one}");
    // 100 members of 600 records is not what fair coins give (300 ± 12): the report says so.
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("100 of the 600 audited records are members"), "{warnings}");
    for (flag, value, want) in
        [("--bootstrap", "1", "statistics.bootstrap"), ("--confidence", "1.5", "statistics.confidence"), ("--delta", "-1", "statistics.delta")]
    {
        let o = demo_audit(&["--backend", "cpu", "-q", flag, value]).arg("--out").arg(&out).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}");
        assert!(err.contains(want) && err.lines().count() == 1, "{flag} {value}: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_is_one_line_and_a_nonzero_exit() {
    let o = model_audit(fixture("models/malformed.onnx")).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("privaudit: error: ") && err.contains("malformed.onnx"), "{err}");
}

/// The engine names an option by its key ("the option ‘output’"); the CLI says its flag, in
/// errors and in the summary alike (the page says its control: tests/e2e/page.test.mjs).
#[test]
fn messages_name_the_cli_flags() {
    let o = model_audit(fixture("hostile/onnx_two_outputs.onnx")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("name the one holding the class scores with --output") && !err.contains("the option"), "{err}");
    let out = cli()
        .args(["audit", "-q", "--out", "/dev/null", "--member-outputs"])
        .arg(fixture("digits_members_logits.csv"))
        .arg("--nonmember-outputs")
        .arg(fixture("digits_nonmembers_logits.csv"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Say that membership was randomised (--randomised-membership) only if") && !text.contains("the option ‘"), "{text}");
    // An option's bad value: the engine's message, then the flag that sets it.
    let o = demo_audit(&["--backend", "cpu", "-q", "--out", "/dev/null", "--attacks", "lira", "--refs", "3"]).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("option 'references': train an even number") && err.trim_end().ends_with("(--refs)"), "{err}");
}

#[test]
fn unknown_attack_is_rejected() {
    let o = cli().args(["audit", "--member-outputs", "a", "--nonmember-outputs", "b", "--attacks", "loss,lira2", "--out", "/dev/null"]).output().unwrap();
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--attacks: unknown attack 'lira2'") && e.contains("rmia_offline"), "{e}");
}

#[test]
fn outputs_only_mode_from_the_cli() {
    let out = std::env::temp_dir().join(format!("privaudit-cli-out-{}.json", std::process::id()));
    let o = cli()
        .args(["audit", "-q", "--member-outputs"])
        .arg(fixture("digits_members_logits.csv"))
        .arg("--nonmember-outputs")
        .arg(fixture("digits_nonmembers_logits.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let want = json("demo_expected.json");
    assert!(close(r["attacks"][0]["auc"].as_f64().unwrap(), want["attacks"]["loss"]["auc"].as_f64().unwrap(), 1e-9));
    std::fs::remove_file(out).ok();
}

/// The CLI trains references with the given settings, keeps them in the cache folder, and the
/// same command reuses them (the report says so and the numbers are identical).
#[test]
fn trains_references_and_reuses_them_from_the_cache() {
    let dir = std::env::temp_dir().join(format!("privaudit-cli-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |out: &str| {
        let o = demo_audit(&[
            "-q",
            "--backend",
            "cpu",
            "--scale",
            "0.0625",
            "--attacks",
            "loss,lira,rmia,attack_p",
            "--refs",
            "2",
            "--epochs",
            "10",
            "--seed",
            "4",
            "--optimizer",
            "sgd",
            "--lr",
            "0.1",
        ])
        .arg("--population")
        .arg(fixture("digits_population.csv"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--out")
        .arg(dir.join(out))
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("references: 2 (trained, offline, seed 4"), "{}", String::from_utf8_lossy(&o.stdout));
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(dir.join(out)).unwrap()).unwrap()
    };
    let first = run("a.json");
    let refs = &first["references"];
    assert_eq!(refs["cached"], false);
    assert_eq!(refs["training"]["optimizer"], "sgd");
    assert_eq!(refs["training"]["epochs"], 10);
    assert_eq!(first["data"]["population"], 1197);
    assert_eq!(std::fs::read_dir(dir.join("cache")).unwrap().count(), 1, "one cache entry");
    let second = run("b.json");
    assert_eq!(second["references"]["cached"], true);
    assert_eq!(first["attacks"], second["attacks"]);

    // A corrupt cache is never trusted: unreadable, or holding more (or fewer) models than K,
    // it is ignored with a warning and the references are trained again, to the same numbers.
    let entry = std::fs::read_dir(dir.join("cache")).unwrap().next().unwrap().unwrap().path();
    let good = std::fs::read(&entry).unwrap();
    let mut kept: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let extra = kept["models"][0].clone();
    kept["models"].as_array_mut().unwrap().push(extra);
    let mut fewer: serde_json::Value = serde_json::from_slice(&good).unwrap();
    fewer["logits"].as_array_mut().unwrap().pop();
    // Altered values, still finite and of the right shape: caught by the kept digest.
    let mut altered: serde_json::Value = serde_json::from_slice(&good).unwrap();
    altered["logits"][0][0] = (altered["logits"][0][0].as_f64().unwrap() + 5.0).into();
    for (bytes, says) in [
        (good[..good.len() / 2].to_vec(), "were unreadable and trained again"),
        (serde_json::to_vec(&kept).unwrap(), "ignored and trained again: they hold 2 references (3 model entries)"),
        (serde_json::to_vec(&fewer).unwrap(), "ignored and trained again: they hold 1 references"),
        (serde_json::to_vec(&altered).unwrap(), "ignored and trained again: their contents do not match the digest they were kept with"),
    ] {
        std::fs::write(&entry, bytes).unwrap();
        let again = run("c.json");
        assert_eq!(again["references"]["cached"], false);
        let warnings = again["warnings"].as_array().unwrap();
        assert!(warnings.iter().any(|w| w.as_str().unwrap().contains(says)), "{warnings:?}");
        assert_eq!(again["attacks"], first["attacks"]);
    }
}

#[test]
fn bad_reference_options_are_one_line_errors() {
    let o = demo_audit(&["-q", "--attacks", "lira", "--rmia-a", "often"]).args(["--out", "/dev/null"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--rmia-a") && e.lines().count() == 1, "{e}");
}

/// Run an audit command with `PRIVAUDIT_THREADS=threads`, writing `<stem>.json` and `<stem>.csv`:
/// its report, scores and standard output.
fn run_with_threads(mut c: Command, threads: &str, stem: &std::path::Path) -> (serde_json::Value, String, String) {
    let (out, scores) = (stem.with_extension("json"), stem.with_extension("csv"));
    let o = c.env("PRIVAUDIT_THREADS", threads).arg("--out").arg(&out).arg("--scores").arg(&scores).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    (r, std::fs::read_to_string(&scores).unwrap(), String::from_utf8_lossy(&o.stdout).to_string())
}

/// On the CPU the references are trained side by side on threads (src/audit/parallel.rs):
/// each is its own seeded, single-threaded job, so one thread and several give the same report
/// and scores to the last bit, and the report says how they ran.
#[test]
fn references_trained_on_one_thread_or_several_are_identical() {
    let dir = std::env::temp_dir().join(format!("privaudit-cli-threads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let run = |threads: &str| {
        let c = demo_audit(&[
            "-q",
            "--backend",
            "cpu",
            "--scale",
            "0.0625",
            "--attacks",
            "loss,lira,rmia",
            "--refs",
            "4",
            "--epochs",
            "6",
            "--seed",
            "9",
            "--no-cache",
        ]);
        run_with_threads(c, threads, &dir.join(threads))
    };
    let (one, one_scores, _) = run("1");
    let (three, three_scores, stdout) = run("3");
    assert_eq!(one["references"]["parallelism"], "4 references trained one after another on 1 CPU thread (PRIVAUDIT_THREADS=1)");
    assert_eq!(three["references"]["parallelism"], "4 references trained side by side on 3 CPU threads (PRIVAUDIT_THREADS=3)");
    assert!(stdout.contains("side by side on 3 CPU threads"), "the text report says how they ran: {stdout}");
    assert_eq!(one["references"]["models"], three["references"]["models"], "losses and accuracies per reference");
    assert_eq!(one["attacks"], three["attacks"]);
    assert_eq!(one_scores, three_scores, "every record's score");
    // More threads than references: one per reference.
    let (many, _, _) = run("16");
    assert_eq!(many["references"]["parallelism"], "4 references trained side by side on 4 CPU threads (one per reference; PRIVAUDIT_THREADS=16)");
    assert_eq!(many["attacks"], one["attacks"]);

    // A CNN too (Conv, MaxPool, Linear; make_cnn_fixtures.py), its references trained on the population.
    let cnn = |threads: &str| {
        let m = |n: &str| fixture(&format!("models/digits_cnn_{n}.npz"));
        let mut c = cli();
        c.args(["audit", "-q", "--backend", "cpu", "--attacks", "loss,lira,rmia", "--refs", "2", "--epochs", "3", "--batch", "25", "--no-cache"]);
        c.arg("--model").arg(fixture("models/digits_cnn.onnx"));
        c.arg("--members").arg(m("members")).arg("--nonmembers").arg(m("nonmembers")).arg("--population").arg(m("population"));
        run_with_threads(c, threads, &dir.join(format!("cnn{threads}")))
    };
    let ((one, one_scores, _), (two, two_scores, _)) = (cnn("1"), cnn("2"));
    assert_eq!(two["references"]["parallelism"], "2 references trained side by side on 2 CPU threads (PRIVAUDIT_THREADS=2)");
    assert_eq!(one["references"]["models"], two["references"]["models"]);
    assert_eq!(one["attacks"], two["attacks"]);
    assert_eq!(one_scores, two_scores);
}
