//! What makes a report usable in a review and in a release pipeline: provenance (checked
//! against coreutils' `sha256sum` and Python's `datetime`), the verdict's sentences, the
//! `failIf` gate, and `diff` between two reports, in the library and through the CLI's exit
//! codes (0 pass, 2 bad input, 3 a bound crossed).

use crate::common;
use common::*;
use privaudit::data::{DataSource, InputFile};
use privaudit::report::AuditReport;
use privaudit::report::diff::diff;
use privaudit::report::gate::Gate;
use privaudit::{AuditInput, AuditOptions, run_audit};
use std::io::Write;
use std::process::{Command, Stdio};

fn sha256sum(bytes: &[u8]) -> String {
    let mut c = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("coreutils sha256sum");
    c.stdin.take().unwrap().write_all(bytes).unwrap();
    String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap()[..64].to_string()
}

fn outputs_audit(opts: &AuditOptions) -> AuditReport {
    let input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    pollster::block_on(run_audit(input, opts, &mut |_| {})).unwrap().report
}

/// Outputs where members' true-class logit is far above the rest: a leak any attack sees.
fn csv(n: usize, margin: impl Fn(usize) -> f64) -> Vec<u8> {
    let mut s = String::from("c0,c1,label\n");
    for i in 0..n {
        let y = i % 2;
        let (z0, z1) = if y == 0 { (margin(i), 0.0) } else { (0.0, margin(i)) };
        s.push_str(&format!("{z0},{z1},{y}\n"));
    }
    s.into_bytes()
}

#[test]
fn dates_are_iso_8601_utc_as_python_writes_them() {
    // datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), Python 3.11.
    for (ms, want) in [
        (0.0, "1970-01-01T00:00:00Z"),
        (951_782_400_000.0, "2000-02-29T00:00:00Z"),
        (4_102_444_799_000.0, "2099-12-31T23:59:59Z"),
        (-86_400_000.0, "1969-12-31T00:00:00Z"),
        (1_764_860_544_123.0, "2025-12-04T15:02:24Z"),
    ] {
        assert_eq!(privaudit::iso8601_utc(ms), want);
    }
}

#[test]
fn provenance_hashes_every_input_as_sha256sum_does() {
    let r = outputs_audit(&AuditOptions::default());
    let p = &r.provenance;
    assert_eq!(p.inputs.len(), 2);
    for (d, path) in p.inputs.iter().zip(["digits_members_logits.csv", "digits_nonmembers_logits.csv"]) {
        let bytes = std::fs::read(fixture(path)).unwrap();
        assert_eq!((d.sha256.as_str(), d.bytes), (sha256sum(&bytes).as_str(), bytes.len() as u64), "{}", d.role);
    }
    assert_eq!((p.inputs[0].role.as_str(), p.inputs[0].records), ("members", Some(100)));
    assert_eq!((p.inputs[1].role.as_str(), p.inputs[1].records), ("nonmembers", Some(500)));
    assert_eq!(p.options["seed"], 0);
    assert_eq!(p.options["statistics"]["bootstrap"], 1000);
    assert!(p.created.ends_with('Z') && p.created.len() == 20, "{}", p.created);
    assert!(p.engine.starts_with("privaudit ") && p.engine.ends_with("(native)"));

    // An image folder: SHA-256 over its files in path order, each as path, 0, length (u64 LE), bytes.
    let files = vec![InputFile::new("b/2.png", b"second".to_vec()), InputFile::new("a/1.png", b"first!".to_vec())];
    let mut stream = Vec::new();
    for f in [&files[1], &files[0]] {
        stream.extend_from_slice(f.name.as_bytes());
        stream.push(0);
        stream.extend_from_slice(&(f.bytes.len() as u64).to_le_bytes());
        stream.extend_from_slice(&f.bytes);
    }
    let mut input = AuditInput::outputs(DataSource::folder("imgs", files), source(fixture("digits_nonmembers_logits.csv")));
    input.population = Some(source(fixture("digits_population_logits.csv")));
    // (Hashed before any file is parsed: an audit of these fake PNGs would stop at decoding.)
    let digests = privaudit::input_digests(&input);
    assert_eq!((digests[0].sha256.as_str(), digests[0].files, digests[0].bytes), (sha256sum(&stream).as_str(), Some(2), 12));
    assert_eq!(digests[2].role, "population");
}

#[test]
fn the_verdict_says_what_the_numbers_mean() {
    // No leak measurable: the demo's outputs, 500 non-members, so at 1 in 100.
    let r = outputs_audit(&AuditOptions::default());
    let v = &r.verdict;
    assert_eq!((v.fpr_level.as_str(), v.leak_measured), ("0.01", false));
    assert!(
        v.summary[0].starts_with("No leak measurable at 1 in 100 false alarms") && v.summary[0].contains("the interval still allows up to"),
        "{}",
        v.summary[0]
    );
    assert!(v.summary[0].contains("1 in 100 is the lowest false-alarm rate this audit can measure"), "{}", v.summary[0]);
    assert!(v.summary[1].starts_with("Over all thresholds the best AUC is"));
    assert!(v.summary[2].starts_with("Heuristic ε lower bound"));
    // The combined ε is each attack's bound at α/A: never above the largest per-attack bound.
    let e = v.epsilon.as_ref().unwrap();
    assert_eq!(e.attacks, r.attacks.len());
    assert!(e.epsilon <= r.attacks.iter().map(|a| a.metrics.epsilon.roc.epsilon).fold(0.0, f64::max) + 1e-12);

    // A clear leak with 2,000 non-members: at 1 in 1,000, members identified = TPR × members.
    let dir = std::env::temp_dir().join(format!("privaudit-verdict-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let members = DataSource { file: InputFile::new("m.csv", csv(300, |i| 4.0 + (i % 7) as f64)), labels: None, images: Vec::new() };
    let nonmembers = DataSource { file: InputFile::new("n.csv", csv(2000, |i| ((i * 37) % 101) as f64 / 25.0)), labels: None, images: Vec::new() };
    let opts = AuditOptions { statistics: privaudit::metrics::StatisticsSettings { bootstrap: 200, ..Default::default() }, ..Default::default() };
    let r = pollster::block_on(run_audit(AuditInput::outputs(members, nonmembers), &opts, &mut |_| {})).unwrap().report;
    let v = &r.verdict;
    assert_eq!((v.fpr_level.as_str(), v.leak_measured), ("0.001", true), "{:?}", v.summary);
    let best = r.attacks.iter().find(|a| a.name == v.strongest_attack).unwrap();
    assert!(close(v.members_identified, best.metrics.tpr_at_fpr["0.001"] * 300.0, 1e-9));
    assert!(v.summary[0].starts_with("An attacker who accepts 1 in 1,000 false alarms identifies about"), "{}", v.summary[0]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_gate_reads_the_report_and_refuses_what_it_cannot_read() {
    let r = outputs_audit(&AuditOptions::default());
    let check = |g: &str| Gate::parse(g).unwrap().check(g, &r).unwrap();
    let best_auc = r.attacks.iter().map(|a| a.metrics.auc).fold(0.0, f64::max);
    let g = check(&format!("auc > {}", best_auc - 1e-9));
    assert!(!g.passed && g.conditions[0].value == best_auc);
    assert!(check(&format!("auc >= {}", best_auc + 1e-9)).passed);
    // `<` reads the smallest value; .lo/.hi the interval; an attack by name; percentages.
    let worst = r.attacks.iter().map(|a| a.metrics.auc).fold(1.0, f64::min);
    assert_eq!(check("auc < 2").conditions[0].value, worst);
    let loss = &r.attacks.iter().find(|a| a.name == "loss").unwrap().metrics;
    assert_eq!(check("auc.lo[loss] > 0").conditions[0].value, loss.ci.as_ref().unwrap().auc[0]);
    assert_eq!(check("tpr@1%[loss] > 0").conditions[0].value, loss.tpr_at_fpr["0.01"]);
    assert_eq!(check("epsilon > 100").conditions[0].value, r.verdict.epsilon.as_ref().unwrap().epsilon);
    assert_eq!(check("gap > 1").conditions[0].value, r.model.generalization_gap);
    // Two conditions: crossed when either holds.
    let g = check("auc > 0.99, advantage > 0");
    assert_eq!((g.passed, g.conditions[0].crossed, g.conditions[1].crossed), (false, false, true));
    for (bad, says) in [
        ("", "an empty condition"),
        ("auc", "no comparison"),
        ("auc > x", "is not a number"),
        ("auc > inf", "finite"),
        ("recall > 0.5", "unknown metric 'recall'"),
        ("tpr@0.05 > 0.1", "TPR at FPR 0.1, 0.01, 0.001 and 0 only"),
        ("epsilon.lo > 1", "only auc, advantage and tpr@… have intervals"),
        ("gap[loss] > 0.1", "not per attack"),
        ("auc[loss > 0.5", "metric[attack]"),
    ] {
        let e = Gate::parse(bad).unwrap_err().to_string();
        assert!(e.contains("failIf") && e.contains(says), "{bad:?}: {e}");
    }
    let e = Gate::parse("auc[lira_online] > 0.5").unwrap().check("", &r).unwrap_err().to_string();
    assert!(e.contains("no attack 'lira_online'"), "{e}");
    let e = Gate::parse("epsilon_one_run > 1").unwrap().check("", &r).unwrap_err().to_string();
    assert!(e.contains("membership was not randomised"), "{e}");
    // A bad gate fails the audit before any work.
    let input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    let opts = AuditOptions { fail_if: Some("auc >> 1".into()), ..Default::default() };
    assert!(pollster::block_on(run_audit(input, &opts, &mut |_| {})).unwrap_err().to_string().contains("failIf"));
}

#[test]
fn diff_flags_only_changes_beyond_the_intervals_and_refuses_other_data() {
    let old = outputs_audit(&AuditOptions::default());
    let same = diff("a", &old, "b", &old, false).unwrap();
    assert_eq!(same.regressions().count(), 0);
    assert!(same.changes.iter().all(|c| c.change == "within the intervals"));
    // Levels below 1/N are not judged: 500 non-members leave 0.1 and 0.01.
    assert!(same.changes.iter().all(|c| ["auc", "tpr@0.1", "tpr@0.01", "advantage"].contains(&c.metric.as_str())));
    // A new report whose loss AUC interval lies above the old one: worse; below: better.
    let mut new = old.clone();
    let i = new.attacks.iter().position(|a| a.name == "loss").unwrap();
    let hi = old.attacks[i].metrics.ci.as_ref().unwrap().auc[1];
    new.attacks[i].metrics.ci.as_mut().unwrap().auc = [hi + 0.01, hi + 0.05];
    let d = diff("a", &old, "b", &new, false).unwrap();
    assert_eq!(d.regressions().map(|c| (c.attack.as_str(), c.metric.as_str())).collect::<Vec<_>>(), vec![("loss", "auc")]);
    let d = diff("b", &new, "a", &old, false).unwrap();
    assert_eq!(d.regressions().count(), 0);
    assert!(d.changes.iter().any(|c| c.attack == "loss" && c.metric == "auc" && c.change == "better"));
    // Different non-members: refused, or compared with a loud note.
    let mut other = old.clone();
    other.provenance.inputs[1].sha256 = "0".repeat(64);
    let e = diff("a", &old, "b", &other, false).unwrap_err().to_string();
    assert!(e.contains("audited different members or non-members") && e.contains("--allow-different-data"), "{e}");
    assert!(diff("a", &old, "b", &other, true).unwrap().notes[0].starts_with("WARNING"));
    let mut bare = old.clone();
    bare.attacks[0].metrics.ci = None;
    assert!(diff("a", &old, "b", &bare, false).unwrap_err().to_string().contains("no intervals"));
}

#[test]
fn the_cli_exits_3_on_a_crossed_gate_or_regression_and_2_on_bad_input() {
    let dir = std::env::temp_dir().join(format!("privaudit-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str], out: &str| {
        Command::new(env!("CARGO_BIN_EXE_privaudit"))
            .args(["audit", "-q", "--member-outputs"])
            .arg(fixture("digits_members_logits.csv"))
            .arg("--nonmember-outputs")
            .arg(fixture("digits_nonmembers_logits.csv"))
            .arg("--out")
            .arg(dir.join(out))
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&["--fail-if", "auc > 0.6, tpr@0.1 > 0.9"], "a.json");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.starts_with("privaudit: the gate was crossed: auc > 0.6 (0.") && !err.contains("tpr@0.1"), "{err}");
    assert!(dir.join("a.json").exists(), "the report is written before exiting 3");
    let o = run(&["--fail-if", "auc > 0.99"], "b.json");
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("gate \"auc > 0.99\": passed"));
    let o = run(&["--fail-if", "recall > 1"], "c.json");
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("c.json").exists());
    // diff: the same report twice passes; a worse one exits 3 with --fail-on-regression.
    let diff = |a: &str, b: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_privaudit")).arg("diff").arg(dir.join(a)).arg(dir.join(b)).args(extra).output().unwrap()
    };
    let o = diff("a.json", "b.json", &["--fail-on-regression"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no metric got worse by more than its interval"));
    let mut worse: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("b.json")).unwrap()).unwrap();
    let hi = worse["attacks"][0]["ci"]["auc"][1].as_f64().unwrap();
    worse["attacks"][0]["ci"]["auc"] = serde_json::json!([hi + 0.01, hi + 0.02]);
    std::fs::write(dir.join("worse.json"), worse.to_string()).unwrap();
    assert_eq!(diff("a.json", "worse.json", &[]).status.code(), Some(0));
    let o = diff("a.json", "worse.json", &["--fail-on-regression"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("by more than the intervals: loss auc"));
    worse["schema_version"] = 4.into();
    std::fs::write(dir.join("old.json"), worse.to_string()).unwrap();
    let o = diff("old.json", "a.json", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("schema_version 4"));
    std::fs::remove_dir_all(&dir).ok();
}
