//! Signals against a numpy reference (numpy 2.4.6, scipy 1.17.1 `logsumexp`; the formulas are in
//! tests/fixtures/make_fixtures.py, `signals_reference`), from the same logits, to 1e-9.

use crate::common;
use common::*;
use privaudit::signals::{Logits, OutputKind, compute};

fn check(s: &privaudit::signals::Signals, r: &serde_json::Value, what: &str) {
    for (name, got) in [("loss", &s.loss), ("confidence", &s.confidence), ("entropy", &s.entropy), ("modified_entropy", &s.modified_entropy), ("phi", &s.phi)] {
        let want = f64s(&r[name]);
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(close(*g, *w, 1e-9), "{what}: {name}[{i}] = {g} vs numpy {w}");
        }
    }
    let correct: Vec<bool> = r["correct"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
    assert_eq!(s.correct, correct, "{what}: correct");
}

#[test]
fn logits_match_numpy() {
    let c = json("signals_cases.json");
    let rows: Vec<Vec<f64>> = c["logits"].as_array().unwrap().iter().map(f64s).collect();
    let labels: Vec<usize> = c["labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let classes = rows[0].len();
    let (l, kind) = Logits::from_outputs("t", rows.concat(), rows.len(), classes, OutputKind::Auto).unwrap();
    assert_eq!(kind, OutputKind::Logits);
    check(&compute(&l, &labels), &c, "logits");
}

#[test]
fn probabilities_are_detected_and_match_numpy() {
    let c = json("signals_cases.json");
    let rows: Vec<Vec<f64>> = c["prob_outputs"].as_array().unwrap().iter().map(f64s).collect();
    let labels: Vec<usize> = c["prob_labels"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let (l, kind) = Logits::from_outputs("t", rows.concat(), rows.len(), rows[0].len(), OutputKind::Auto).unwrap();
    assert_eq!(kind, OutputKind::Probabilities);
    check(&compute(&l, &labels), &c["prob_reference"], "probabilities");
}

#[test]
fn forced_probabilities_reject_logit_rows() {
    let e = Logits::from_outputs("out.csv", vec![0.2, 0.9, 0.5, 0.5], 2, 2, OutputKind::Probabilities).unwrap_err();
    assert!(e.to_string().contains("out.csv: row 1"), "{e}");
}

#[test]
fn extreme_confidence_keeps_its_tail() {
    // p_y = 1 − 4e-22: the loss must be ≈ 4e-22, not 0 (which probabilities-then-log, or
    // max + log-sum-exp in f64, would give). The numpy reference keeps it too (row 0).
    let (l, _) = Logits::from_outputs("t", vec![50.0, 0.0, 0.0, 0.0, 0.0], 1, 5, OutputKind::Logits).unwrap();
    let s = compute(&l, &[0]);
    let want = 4.0 * (-50f64).exp();
    assert!((s.loss[0] - want).abs() < 1e-30, "{}", s.loss[0]);
}

#[test]
fn the_reference_keeps_the_tail_too() {
    let c = json("signals_cases.json");
    let (l, _) = Logits::from_outputs("t", f64s(&c["logits"][0]), 1, 5, OutputKind::Logits).unwrap();
    let want = c["loss"][0].as_f64().unwrap();
    assert!(want > 0.0);
    let got = compute(&l, &[0]).loss[0];
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs numpy {want}");
}
