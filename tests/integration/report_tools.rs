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

/// A no-leak control: the demo model's outputs on the first 250 of its non-members as
/// "members" and the other 250 as non-members.
fn halves() -> AuditInput {
    let text = std::fs::read_to_string(fixture("digits_nonmembers_logits.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = |rows: &[&str]| DataSource {
        file: InputFile::new("half.csv", format!("{}\n{}\n", lines[0], rows.join("\n")).into_bytes()),
        labels: None,
        images: Vec::new(),
    };
    AuditInput::outputs(half(&lines[1..251]), half(&lines[251..]))
}

/// The verdict against tests/fixtures/make_verdict_fixtures.py (numpy 2.4.6, scipy 1.17.1,
/// scikit-learn 1.9.1): the threshold attacks' scores from the same outputs, their intervals at
/// 1 − α/A from the same resamples, the grade by the rule, and the ε bound over the attacks at
/// α/A. The overfit demo leaks on average (AUC 0.735, its corrected interval above 0.5) though
/// no attack's TPR at 1 % FPR is measurably above 1 %; the same model on two halves of its
/// non-members leaks nothing; synthetic outputs leak identifiable records.
#[test]
fn the_verdict_follows_every_attack_corrected_for_choosing_among_them() {
    let all = json("verdict_cases.json");
    let cases = all["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let mut opts = AuditOptions::default();
        let input = match name {
            "demo" => AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv"))),
            "halves" => halves(),
            _ => {
                opts.statistics.bootstrap = 200;
                let src = |n, m: fn(usize) -> f64| DataSource { file: InputFile::new("s.csv", csv(n, m)), labels: None, images: Vec::new() };
                AuditInput::outputs(src(300, |i| 4.0 + (i % 7) as f64), src(2000, |i| ((i * 37) % 101) as f64 / 25.0))
            }
        };
        let out = pollster::block_on(run_audit(input, &opts, &mut |_| {})).unwrap();
        // The same scores as numpy's, so the same ROC and the same resampled metrics.
        for (k, attack) in out.scores.attacks.iter().enumerate() {
            let want = f64s(&c["scores"][attack]);
            assert_eq!(want.len(), out.scores.rows.len(), "{name}: {attack}");
            for (i, (row, w)) in out.scores.rows.iter().zip(&want).enumerate() {
                assert!(close(row.scores[k], *w, 1e-12), "{name}: {attack} record {i}: {} vs numpy {w}", row.scores[k]);
            }
        }
        let r = &out.report;
        let v = &r.verdict;
        assert_eq!(v.grade, c["grade"].as_str().unwrap(), "{name}: {:?}", v.summary);
        assert_eq!(v.leak_measured, v.grade != "none", "{name}");
        assert_eq!(v.strongest_attack, c["strongest_attack"].as_str().unwrap(), "{name}");
        assert_eq!(v.fpr_level, c["fpr_level"].as_str().unwrap(), "{name}");
        assert!(close(v.members_identified, c["members_identified"].as_f64().unwrap(), 1e-9), "{name}: members identified");
        assert!(close(v.confidence.unwrap(), c["confidence"].as_f64().unwrap(), 1e-15), "{name}: 1 − α/A");
        assert_eq!(v.attacks_considered, ["loss", "confidence", "entropy", "modified_entropy"], "{name}");
        assert!(v.excluded.is_empty());
        assert_eq!(v.evidence.len(), 4, "{name}");
        for (e, w) in v.evidence.iter().zip(c["attacks"].as_array().unwrap()) {
            assert_eq!(e.attack, w["attack"].as_str().unwrap());
            let near =
                |got: [f64; 2], want: &serde_json::Value| close(got[0], want[0].as_f64().unwrap(), 1e-9) && close(got[1], want[1].as_f64().unwrap(), 1e-9);
            assert!(near(e.auc, &w["auc_ci"]), "{name}: {} AUC interval {:?} vs {}", e.attack, e.auc, w["auc_ci"]);
            assert!(near(e.tpr, &w["tpr_ci"]), "{name}: {} TPR interval {:?} vs {}", e.attack, e.tpr, w["tpr_ci"]);
        }
        // The corrected intervals are wider than the tables' 95 % ones.
        let loss = r.attacks[0].metrics.ci.as_ref().unwrap();
        assert!(v.evidence[0].auc[0] <= loss.auc[0] && v.evidence[0].auc[1] >= loss.auc[1], "{name}");
        let e = v.epsilon.as_ref().unwrap();
        assert!(close(e.epsilon, c["epsilon"]["epsilon"].as_f64().unwrap(), 1e-9), "{name}: ε {} vs {}", e.epsilon, c["epsilon"]["epsilon"]);
        assert_eq!((e.attack.as_str(), e.attacks), (c["epsilon"]["attack"].as_str().unwrap(), 4), "{name}");

        // The sentences say the same.
        let first = &v.summary[0];
        match name {
            "demo" => {
                assert!(first.starts_with("Leak on average: over all thresholds modified_entropy tells members from non-members better than guessing (AUC 0.735, interval 0.681–0.780"), "{first}");
                assert!(
                    first.contains("At 1 in 100 false alarms, though, no attack identifies measurably more training records than chance would (1 %)"),
                    "{first}"
                );
                assert!(first.contains("1 in 100 is the lowest false-alarm rate this audit can measure"), "{first}");
            }
            "halves" => {
                assert!(first.starts_with("No leak measurable with these records"), "{first}");
                assert!(first.contains("The intervals still allow an AUC up to 0.544"), "{first}");
            }
            _ => assert!(first.starts_with("Leak of identifiable records: an attacker who accepts 1 in 1,000 false alarms identifies about"), "{first}"),
        }
        assert!(
            v.summary
                .iter()
                .any(|s| s.starts_with("Choosing the strongest of 4 attacks is accounted for: the intervals in this verdict are 98.75 % intervals")),
            "{name}: {:?}",
            v.summary
        );
        let table = r.attacks.iter().find(|a| a.name == e.attack).unwrap().metrics.epsilon.roc.epsilon;
        let eps = v.summary.last().unwrap();
        assert!(
            eps.starts_with("Heuristic ε lower bound")
                && eps.contains(&format!("corrected for taking the largest of 4 attacks' bounds; the ε table's {table:.2} is that attack's bound on its own")),
            "{eps}"
        );
        // An AUC interval wholly below 0.5 is explained, never silently clipped.
        let below = v.evidence.iter().any(|e| e.auc[1] < 0.5);
        assert_eq!(below, v.summary.iter().any(|s| s.contains("members lower than non-members")), "{name}: {:?}", v.summary);
    }

    // Without resamples there are no intervals: no grade, the point values said as such.
    let opts = AuditOptions { statistics: privaudit::metrics::StatisticsSettings { bootstrap: 0, ..Default::default() }, ..Default::default() };
    let v = outputs_audit(&opts).verdict;
    assert_eq!((v.grade.as_str(), v.leak_measured, v.confidence), ("untested", false, None));
    assert!(v.summary[0].starts_with("Not tested: with no bootstrap resamples there are no intervals"), "{}", v.summary[0]);
}

/// The numbers in an attribute of an SVG element: every `name="…"` after `marker` up to the
/// element's end.
fn attr(svg: &str, marker: &str, name: &str) -> Vec<f64> {
    svg.split(marker)
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let v = tag.split(&format!("{name}=\"")).nth(1)?;
            v[..v.find('"')?].parse().ok()
        })
        .collect()
}

/// The slices chart draws an AUC below 0.5 where it is, left of the marked chance line, and
/// the whole audit's line there too (the same model on two halves of its non-members: AUC 0.462).
#[test]
fn the_slices_chart_draws_auc_below_chance_where_it_is() {
    let r = pollster::block_on(run_audit(halves(), &AuditOptions::default(), &mut |_| {})).unwrap().report;
    let svg = privaudit::report::slices_svg(&r);
    let chance = attr(&svg, "<line class=\"chance\"", "x1")[0];
    let whole = attr(&svg, "<line class=\"whole\"", "x1")[0];
    let auc = r.attacks.iter().find(|a| a.name == r.exposure.attack).unwrap().metrics.auc;
    assert!(auc < 0.5 && whole < chance, "whole audit AUC {auc} drawn at {whole}, chance at {chance}");
    let (cx, aucs) = (attr(&svg, "<circle", "cx"), attr(&svg, "<circle", "data-auc"));
    assert_eq!(cx.len(), aucs.len());
    assert!(aucs.iter().any(|&a| a < 0.45), "{aucs:?}");
    for (x, a) in cx.iter().zip(&aucs) {
        assert_eq!(*x < chance, *a < 0.5, "AUC {a} at {x}, chance at {chance}");
    }
    // Below 0.5 is explained in the verdict and in the HTML report's glossary.
    assert!(r.verdict.summary.iter().all(|s| !s.contains("members lower than non-members")) || r.verdict.evidence.iter().any(|e| e.auc[1] < 0.5));
    assert!(privaudit::report::html(&r).contains("Below 0.5 the attack scores members lower than non-members"));
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
    // A report's digest is any text in its JSON: multi-byte characters are cut at a character
    // (this sliced bytes and panicked), a long role name is quoted short.
    let mut odd = old.clone();
    odd.provenance.inputs[1].sha256 = "é".repeat(40);
    odd.provenance.inputs[0].role = "r".repeat(100_000);
    let e = diff("a", &old, "b", &odd, false).unwrap_err().to_string();
    assert!(e.contains("éééééééééééé") && !e.contains("ééééééééééééé") && e.len() < 2000, "{:.300}", e);
    assert!(privaudit::report::summary_text(&odd).contains("sha256 éééééééééééé…"));
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
    // The version as text or a float that says it is read as that version; a comparison is named.
    for (version, ok) in [(serde_json::json!("7"), true), (serde_json::json!(7.0), true), (serde_json::json!("6"), false)] {
        worse["schema_version"] = version.clone();
        std::fs::write(dir.join("text.json"), worse.to_string()).unwrap();
        let o = diff("text.json", "a.json", &[]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code() == Some(0), ok, "{version}: {err}");
        assert!(ok || err.contains("a report of schema_version 6; diff reads version 7"), "{err}");
    }
    std::fs::write(dir.join("comparison.json"), r#"{"schema_version": 1, "rows": [], "reports": []}"#).unwrap();
    let err = String::from_utf8_lossy(&diff("comparison.json", "a.json", &[]).stderr).to_string();
    assert!(err.contains("a comparison of several models, not one report"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
