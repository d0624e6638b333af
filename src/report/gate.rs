//! A release gate: `--fail-if "tpr@0.001 > 0.02, auc > 0.6, epsilon > 4"` (the option
//! `failIf`), checked against a finished report.
//!
//! A condition is `METRIC OP NUMBER`, conditions are separated by commas, and the gate is
//! crossed when any condition holds. METRIC is one of
//! - `auc`, `advantage`, `ppv`, `tpr@L` (L one of the report's levels 0.1, 0.01, 0.001, 0, or as
//!   a percentage: `tpr@0.1%`): the largest value over the attacks for `>`/`>=`, the smallest
//!   for `<`/`<=` (any attack crossing the bound crosses the gate); with `.lo` or `.hi` the end
//!   of its bootstrap interval instead (`auc.lo > 0.55`: leakage above 0.55 with confidence);
//! - `epsilon`: the report's ε lower bound over all attacks (`verdict.epsilon`, corrected for
//!   their number); `epsilon_roc` (each attack's own ROC bound), `epsilon_gdp`, `mu`,
//!   `epsilon_one_run`: the largest over the attacks;
//! - `gap`: the model's generalisation gap;
//!
//! and any per-attack metric takes an attack, `auc[rmia_offline] > 0.6`. OP is `>`, `>=`, `<`
//! or `<=`. A metric the report does not have (an interval with 0 resamples, the one-run bound
//! without randomised membership, an attack that did not run) is an error, never a pass.

use super::AuditReport;
use crate::error::{AuditError, Result};
use serde::{Deserialize, Serialize};

/// A parsed gate.
#[derive(Clone, Debug, PartialEq)]
pub struct Gate {
    conditions: Vec<Condition>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Point,
    Lo,
    Hi,
}

#[derive(Clone, Debug, PartialEq)]
enum Metric {
    Auc,
    Advantage,
    Ppv,
    Tpr(String),
    Epsilon,
    EpsilonRoc,
    EpsilonGdp,
    Mu,
    EpsilonOneRun,
    Gap,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    text: String,
    metric: Metric,
    end: End,
    attack: Option<String>,
    op: Op,
    bound: f64,
}

/// One condition checked.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ConditionResult {
    /// The condition as written.
    pub condition: String,
    /// The value it was checked on.
    pub value: f64,
    /// The attack that value is of (null for model-level and combined values).
    pub attack: Option<String>,
    /// Whether the condition holds (the gate is crossed).
    pub crossed: bool,
}

/// A gate checked against a report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GateResult {
    /// The gate as given.
    pub expression: String,
    /// Whether no condition holds.
    pub passed: bool,
    /// Every condition, in order.
    pub conditions: Vec<ConditionResult>,
}

fn bad(text: &str, why: impl std::fmt::Display) -> AuditError {
    AuditError::option("failIf", format!("'{}': {why}", crate::limits::quote(text)))
}

const LEVELS: [&str; 4] = ["0.1", "0.01", "0.001", "0"];

impl Gate {
    /// Parse `expression`.
    ///
    /// # Errors
    /// An empty gate, an unknown metric, level or operator, a number that is not finite, an
    /// interval end on a metric that has none: each naming the condition.
    pub fn parse(expression: &str) -> Result<Gate> {
        let mut conditions = Vec::new();
        for text in expression.split(',').map(str::trim) {
            if text.is_empty() {
                return Err(bad(expression, "an empty condition (conditions are METRIC OP NUMBER, separated by commas)"));
            }
            let at = text.find(['<', '>']).ok_or_else(|| bad(text, "no comparison: expected METRIC > NUMBER (or >=, <, <=)"))?;
            let (lhs, rest) = text.split_at(at);
            let (op, num) = match rest.as_bytes() {
                [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
                [b'<', b'=', ..] => (Op::Le, &rest[2..]),
                [b'>', ..] => (Op::Gt, &rest[1..]),
                _ => (Op::Lt, &rest[1..]),
            };
            let bound: f64 = num.trim().parse().map_err(|_| bad(text, format!("'{}' is not a number", crate::limits::quote(num.trim()))))?;
            if !bound.is_finite() {
                return Err(bad(text, "the bound must be a finite number"));
            }
            let lhs = lhs.trim().to_ascii_lowercase();
            let (lhs, attack) = match lhs.split_once('[') {
                Some((m, a)) => {
                    let a = a.strip_suffix(']').ok_or_else(|| bad(text, "an attack is written metric[attack]"))?;
                    (m.trim().to_string(), Some(a.trim().to_string()))
                }
                None => (lhs, None),
            };
            let (name, end) = match lhs.rsplit_once('.') {
                Some((m, "lo")) => (m.to_string(), End::Lo),
                Some((m, "hi")) => (m.to_string(), End::Hi),
                _ => (lhs.clone(), End::Point),
            };
            let metric = match name.as_str() {
                "auc" => Metric::Auc,
                "advantage" => Metric::Advantage,
                "ppv" => Metric::Ppv,
                "epsilon" => Metric::Epsilon,
                "epsilon_roc" => Metric::EpsilonRoc,
                "epsilon_gdp" => Metric::EpsilonGdp,
                "mu" => Metric::Mu,
                "epsilon_one_run" => Metric::EpsilonOneRun,
                "gap" => Metric::Gap,
                t if t.starts_with("tpr@") => {
                    let l = &t[4..];
                    let v = match l.strip_suffix('%') {
                        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
                        None => l.parse::<f64>(),
                    }
                    .map_err(|_| bad(text, format!("'{l}' is not an FPR level")))?;
                    let key = LEVELS
                        .iter()
                        .find(|k| k.parse::<f64>().is_ok_and(|x| (x - v).abs() < 1e-12))
                        .ok_or_else(|| bad(text, "the report has TPR at FPR 0.1, 0.01, 0.001 and 0 only"))?;
                    Metric::Tpr(key.to_string())
                }
                other => {
                    return Err(bad(
                        text,
                        format!(
                            "unknown metric '{other}'; use auc, advantage, ppv, tpr@0.1 (0.01, 0.001, 0), epsilon, epsilon_roc, epsilon_gdp, mu, epsilon_one_run or gap"
                        ),
                    ));
                }
            };
            if end != End::Point && !matches!(metric, Metric::Auc | Metric::Advantage | Metric::Tpr(_)) {
                return Err(bad(text, "only auc, advantage and tpr@… have intervals (.lo, .hi)"));
            }
            if attack.is_some() && matches!(metric, Metric::Epsilon | Metric::Gap) {
                return Err(bad(
                    text,
                    "not per attack: epsilon is the bound over all attacks and gap is the model's; for one attack's ROC bound write epsilon_roc[attack]",
                ));
            }
            conditions.push(Condition { text: text.to_string(), metric, end, attack, op, bound });
        }
        Ok(Gate { conditions })
    }

    /// Refuse, before any work, a gate that this audit could not check: a condition on an
    /// attack that is not among `attacks` (the plan's, in report order), on an interval when
    /// there will be no resamples (`bootstrap` 0), or on the one-run bound when membership is not
    /// said to be randomised.
    ///
    /// # Errors
    /// The first such condition, said as [`Gate::check`] would have said it after the audit.
    pub fn check_plan(&self, attacks: &[&str], bootstrap: u64, randomised: bool) -> Result<()> {
        for c in &self.conditions {
            if let Some(a) = c.attack.as_deref().filter(|a| !attacks.contains(a)) {
                return Err(bad(&c.text, format!("the attack '{}' will not run (the chosen attacks are {})", crate::limits::quote(a), attacks.join(", "))));
            }
            if c.end != End::Point && bootstrap == 0 {
                return Err(bad(&c.text, "an interval's end needs bootstrap resamples, and the statistics settings ask for none"));
            }
            if c.metric == Metric::EpsilonOneRun && !randomised {
                return Err(bad(&c.text, "the one-run bound needs randomised membership (the option ‘statistics.randomisedMembership’)"));
            }
        }
        Ok(())
    }

    /// Check the gate against `report`.
    ///
    /// # Errors
    /// A condition on something the report does not have (an attack that did not run, an
    /// interval with no resamples, a one-run bound without randomised membership).
    pub fn check(&self, expression: &str, report: &AuditReport) -> Result<GateResult> {
        let mut out = Vec::new();
        for c in &self.conditions {
            let (value, attack) = self.value(c, report)?;
            let crossed = match c.op {
                Op::Gt => value > c.bound,
                Op::Ge => value >= c.bound,
                Op::Lt => value < c.bound,
                Op::Le => value <= c.bound,
            };
            out.push(ConditionResult { condition: c.text.clone(), value, attack, crossed });
        }
        Ok(GateResult { expression: expression.to_string(), passed: out.iter().all(|c| !c.crossed), conditions: out })
    }

    fn value(&self, c: &Condition, r: &AuditReport) -> Result<(f64, Option<String>)> {
        let missing = |what: &str| bad(&c.text, format!("this report has no {what}"));
        match c.metric {
            Metric::Gap => return Ok((r.model.generalization_gap, None)),
            Metric::Epsilon => return r.verdict.epsilon.as_ref().map(|e| (e.epsilon, None)).ok_or_else(|| missing("ε bound")),
            _ => {}
        }
        let attacks: Vec<_> = match &c.attack {
            Some(a) => vec![
                r.attacks
                    .iter()
                    .find(|x| &x.name == a)
                    .ok_or_else(|| missing(&format!("attack '{a}' (it ran {})", r.attacks.iter().map(|x| x.name.as_str()).collect::<Vec<_>>().join(", "))))?,
            ],
            None => r.attacks.iter().collect(),
        };
        let mut values = Vec::new();
        for a in attacks {
            let m = &a.metrics;
            let ci = || m.ci.as_ref().ok_or_else(|| missing("intervals (it was made with 0 bootstrap resamples)"));
            let pick = |point: f64, iv: Option<[f64; 2]>| -> Result<f64> {
                match c.end {
                    End::Point => Ok(point),
                    End::Lo => iv.map(|i| i[0]).ok_or_else(|| missing("intervals")),
                    End::Hi => iv.map(|i| i[1]).ok_or_else(|| missing("intervals")),
                }
            };
            let v = match &c.metric {
                Metric::Auc => pick(m.auc, if c.end == End::Point { None } else { Some(ci()?.auc) })?,
                Metric::Advantage => pick(m.advantage, if c.end == End::Point { None } else { Some(ci()?.advantage) })?,
                Metric::Tpr(k) => pick(m.tpr_at_fpr.get(k).copied().unwrap_or(0.0), if c.end == End::Point { None } else { ci()?.tpr_at_fpr.get(k).copied() })?,
                Metric::Ppv => match m.ppv {
                    Some(p) => p,
                    None => continue, // flags nobody: no precision to compare
                },
                Metric::EpsilonRoc => m.epsilon.roc.epsilon,
                Metric::EpsilonGdp => m.epsilon.gdp.epsilon.ok_or_else(|| missing("finite GDP ε (δ = 0)"))?,
                Metric::Mu => m.epsilon.gdp.mu,
                Metric::EpsilonOneRun => {
                    m.epsilon.one_run.as_ref().map(|o| o.epsilon).ok_or_else(|| missing("one-run bound (membership was not randomised)"))?
                }
                Metric::Epsilon | Metric::Gap => unreachable!("handled above"),
            };
            values.push((v, a.name.clone()));
        }
        let pick_max = matches!(c.op, Op::Gt | Op::Ge);
        values
            .into_iter()
            .reduce(|a, b| if (pick_max && b.0 > a.0) || (!pick_max && b.0 < a.0) { b } else { a })
            .map(|(v, a)| (v, Some(a)))
            .ok_or_else(|| missing("attack with this metric"))
    }
}
