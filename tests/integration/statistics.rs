//! The report's statistics against an independent reference. Expected values come from
//! tests/fixtures/make_statistics_fixtures.py (numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1):
//! bootstrap intervals from the very same SplitMix64 resamples through scikit-learn's ROC and
//! np.quantile; Clopper–Pearson bounds by scipy's beta.ppf; GDP by norm.ppf / norm.logcdf and
//! brentq; the one-run bound by scipy's binom and brentq on the paper's p-value.

use crate::common;
use common::*;
use privaudit::metrics::epsilon::{epsilon_from_gdp, one_run_epsilon, one_run_grid, one_run_p_value};
use privaudit::metrics::{AttackMetrics, StatisticsSettings};

fn pair(v: &serde_json::Value) -> [f64; 2] {
    [v[0].as_f64().unwrap(), v[1].as_f64().unwrap()]
}

fn near(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn intervals_and_epsilon_bounds_match_the_numpy_scipy_reference() {
    let all = json("statistics_cases.json");
    let cases = all["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 6);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let scores = f64s(&c["scores"]);
        let member: Vec<bool> = c["member"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
        let randomised = c.get("one_run").is_some();
        let stats = StatisticsSettings {
            bootstrap: c["resamples"].as_u64().unwrap(),
            confidence: c["confidence"].as_f64().unwrap(),
            delta: c["delta"].as_f64().unwrap(),
            randomised_membership: randomised,
        };
        let m = AttackMetrics::compute_all(&[name], std::slice::from_ref(&scores), &member, &stats, c["seed"].as_u64().unwrap()).unwrap().remove(0);
        assert!(near(m.auc, c["auc"].as_f64().unwrap(), 1e-12), "{name}: auc");
        let h = &c["histogram"];
        assert_eq!(m.histogram.edges, f64s(&h["edges"]), "{name}: histogram edges");
        let counts = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect::<Vec<_>>();
        assert_eq!((&m.histogram.members, &m.histogram.nonmembers), (&counts(&h["members"]), &counts(&h["nonmembers"])), "{name}: histogram counts");

        // Bootstrap: the same resamples, so the same quantiles to 1e-9.
        let (ci, band, want) = (m.ci.as_ref().unwrap(), m.roc_band.as_ref().unwrap(), &c["bootstrap"]);
        let same = |got: [f64; 2], want: &serde_json::Value, what: &str| {
            let w = pair(want);
            assert!(near(got[0], w[0], 1e-9) && near(got[1], w[1], 1e-9), "{name}: {what} interval {got:?} vs {w:?}");
        };
        same(ci.auc, &want["auc"], "AUC");
        same(ci.advantage, &want["advantage"], "advantage");
        for (k, v) in ci.tpr_at_fpr.iter() {
            same(*v, &want["tpr_at_fpr"][k], &format!("TPR@{k}"));
        }
        let wb = &want["band"];
        for (i, f) in band.fpr.iter().enumerate() {
            assert!(near(*f, wb["fpr"][i].as_f64().unwrap(), 1e-12), "{name}: band grid {i}");
            same([band.lo[i], band.hi[i]], &serde_json::json!([wb["lo"][i], wb["hi"][i]]), &format!("band at FPR {f}"));
        }

        // ε from the ROC, Clopper–Pearson with Bonferroni, both rules.
        let (roc, w) = (&m.epsilon.roc, &c["roc"]);
        assert_eq!(roc.thresholds as u64, w["thresholds"].as_u64().unwrap(), "{name}: thresholds");
        assert!(near(roc.epsilon, w["epsilon"].as_f64().unwrap(), 1e-9), "{name}: ε {} vs {}", roc.epsilon, w["epsilon"]);
        assert!(near(roc.ceiling, w["ceiling"].as_f64().unwrap(), 1e-9), "{name}: ε ceiling {} vs {}", roc.ceiling, w["ceiling"]);
        assert_eq!(roc.rule.as_deref(), w["rule"].as_str(), "{name}: rule");
        assert_eq!(roc.threshold, w["threshold"].as_f64(), "{name}: threshold");
        assert!(roc.epsilon <= roc.ceiling + 1e-12, "{name}: ε above its ceiling");

        // Gaussian DP.
        let (gdp, w) = (&m.epsilon.gdp, &c["gdp"]);
        assert!(near(gdp.mu, w["mu"].as_f64().unwrap(), 1e-9), "{name}: μ {} vs {}", gdp.mu, w["mu"]);
        assert!(near(gdp.mu_ceiling, w["mu_ceiling"].as_f64().unwrap(), 1e-9), "{name}: μ ceiling");
        for (got, key) in [(gdp.epsilon, "epsilon"), (gdp.epsilon_ceiling, "epsilon_ceiling")] {
            match w[key].as_f64() {
                Some(want) => assert!(near(got.unwrap(), want, 1e-9), "{name}: GDP {key} {got:?} vs {want}"),
                None => assert_eq!(got, None, "{name}: GDP {key} at δ = 0"),
            }
        }

        // One run: only for randomised membership.
        match (&m.epsilon.one_run, c.get("one_run")) {
            (Some(o), Some(w)) => {
                assert!(near(o.epsilon, w["epsilon"].as_f64().unwrap(), 1e-6), "{name}: one-run ε {} vs {}", o.epsilon, w["epsilon"]);
                assert!(near(o.ceiling, w["ceiling"].as_f64().unwrap(), 1e-6), "{name}: one-run ceiling");
                assert_eq!((o.guesses as u64, o.correct as u64), (w["guesses"].as_u64().unwrap(), w["correct"].as_u64().unwrap()), "{name}: guesses");
                let grid: Vec<u64> = w["grid"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
                assert_eq!(o.grid.iter().map(|&k| k as u64).collect::<Vec<_>>(), grid, "{name}: grid");
            }
            (None, None) => {}
            (got, want) => panic!("{name}: one-run bound {got:?} vs {want:?}"),
        }
    }
    // The separated case reaches its ceilings; the small one cannot show anything.
    let by_name = |n: &str| cases.iter().find(|c| c["name"] == n).unwrap();
    let sep = by_name("separated");
    assert!(near(sep["roc"]["epsilon"].as_f64().unwrap(), sep["roc"]["ceiling"].as_f64().unwrap(), 1e-12));
    assert_eq!(by_name("small")["roc"]["epsilon"].as_f64(), Some(0.0));
}

#[test]
fn one_run_and_gdp_conversions_match_the_reference() {
    let all = json("statistics_cases.json");
    for d in all["one_run_direct"].as_array().unwrap() {
        let [m, r, v] = ["m", "r", "v"].map(|k| d[k].as_u64().unwrap() as usize);
        let (level, delta) = (d["level"].as_f64().unwrap(), d["delta"].as_f64().unwrap());
        let e = one_run_epsilon(m, r, v, level, delta);
        assert!(near(e, d["epsilon"].as_f64().unwrap(), 1e-6), "one run m={m} r={r} v={v}: {e} vs {}", d["epsilon"]);
        let p = one_run_p_value(m, r, v, 1.0, delta);
        assert!(near(p, d["p_at_1"].as_f64().unwrap(), 1e-9), "p-value at ε = 1, m={m} r={r} v={v}: {p} vs {}", d["p_at_1"]);
    }
    // The ceilings AUDIT-MATH.md lists (δ = 0, p = 0.05, every guess right): 3.49, 5.11, 5.81, 7.42.
    for (r, want) in [(100, 3.49), (500, 5.11), (1000, 5.81), (5000, 7.42)] {
        assert!((one_run_epsilon(2 * r, r, r, 0.05, 0.0) - want).abs() < 0.005, "one-run ceiling at r = {r}");
    }
    for d in all["gdp_direct"].as_array().unwrap() {
        let (mu, delta) = (d["mu"].as_f64().unwrap(), d["delta"].as_f64().unwrap());
        let e = epsilon_from_gdp(mu, delta).unwrap();
        assert!(near(e, d["epsilon"].as_f64().unwrap(), 1e-9), "GDP μ = {mu}, δ = {delta}: {e} vs {}", d["epsilon"]);
    }
    assert_eq!(epsilon_from_gdp(1.0, 0.0), None);
    assert_eq!(epsilon_from_gdp(0.0, 1e-5), Some(0.0));
    assert_eq!(one_run_grid(7), vec![1, 2]);
    assert_eq!(one_run_grid(2000), vec![1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]);
}

/// The AUC of a unit-variance normal shifted by `d` against an unshifted one.
fn normal_auc(d: f64) -> f64 {
    // AUC of N(d, 1) vs N(0, 1) = Φ(d / √2).
    privaudit::metrics::special::norm_cdf(d / std::f64::consts::SQRT_2)
}

#[test]
fn bootstrap_intervals_cover_a_known_auc() {
    // Members N(0.8, 1), non-members N(0, 1): the true AUC is Φ(0.8/√2) = 0.7142. 200 audits
    // of 100 + 100 records, 200 resamples each: the 95 % percentile interval should hold it in
    // about 95 % of them (the percentile bootstrap of an AUC runs a little under at this size).
    let truth = normal_auc(0.8);
    assert!((truth - 0.714_196).abs() < 1e-5);
    let mut rng = privaudit::model::Rng::new(42);
    let mut gauss = || {
        // Box–Muller from the project's generator.
        let (u, v) = (rng.uniform().max(1e-300), rng.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    };
    let member: Vec<bool> = (0..200).map(|i| i < 100).collect();
    let stats = StatisticsSettings { bootstrap: 200, ..Default::default() };
    let trials = 200;
    let mut covered = 0;
    for t in 0..trials {
        let scores: Vec<f64> = member.iter().map(|&m| gauss() + if m { 0.8 } else { 0.0 }).collect();
        let m = AttackMetrics::compute_all(&["s"], &[scores], &member, &stats, t).unwrap().remove(0);
        let [lo, hi] = m.ci.unwrap().auc;
        assert!(lo <= m.auc && m.auc <= hi, "trial {t}: the AUC {} outside its own interval [{lo}, {hi}]", m.auc);
        covered += usize::from(lo <= truth && truth <= hi);
    }
    let rate = covered as f64 / trials as f64;
    assert!((0.88..=0.99).contains(&rate), "coverage {rate}");
}

#[test]
fn statistics_settings_out_of_range_are_clear_errors() {
    let bad = |s: StatisticsSettings| s.check().unwrap_err().to_string();
    assert!(bad(StatisticsSettings { bootstrap: 1, ..Default::default() }).contains("statistics.bootstrap"));
    assert!(bad(StatisticsSettings { bootstrap: 1_000_000, ..Default::default() }).contains("at most 100000 resamples"));
    assert!(bad(StatisticsSettings { confidence: 1.0, ..Default::default() }).contains("statistics.confidence"));
    assert!(bad(StatisticsSettings { confidence: f64::NAN, ..Default::default() }).contains("statistics.confidence"));
    assert!(bad(StatisticsSettings { delta: -1e-9, ..Default::default() }).contains("statistics.delta"));
    assert!(StatisticsSettings { bootstrap: 0, ..Default::default() }.check().is_ok());
    // No resamples: no intervals, the bounds all the same.
    let m = AttackMetrics::compute_all(
        &["s"],
        &[vec![0.1, 0.9, 0.5, 0.2]],
        &[false, true, true, false],
        &StatisticsSettings { bootstrap: 0, ..Default::default() },
        0,
    )
    .unwrap()
    .remove(0);
    assert!(m.ci.is_none() && m.roc_band.is_none());
    assert!(m.epsilon.one_run.is_none());
}
