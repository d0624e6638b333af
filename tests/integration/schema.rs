//! The report JSON against schema/report.schema.json, checked by a small validator for the
//! keywords the schema uses (type, enum, required, properties, additionalProperties, items,
//! minimum, maximum). Both ways: no required field missing, no undeclared field present.

use crate::common;
use common::*;
use privaudit::{AuditInput, AuditOptions, BackendChoice, report, run_audit};
use serde_json::Value;

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        _ => false,
    }
}

fn validate(s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        if !e.contains(v) {
            errors.push(format!("{path}: {v} not in {e:?}"));
        }
    }
    if let Some(n) = v.as_f64() {
        if s.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m) || s.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m) {
            errors.push(format!("{path}: {n} out of range"));
        }
    }
    if let Value::Object(o) = v {
        for r in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !o.contains_key(r.as_str().unwrap()) {
                errors.push(format!("{path}: missing {r}"));
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, sub) in o {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(ps, sub, &format!("{path}.{k}"), errors),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => errors.push(format!("{path}: undeclared field {k}")),
                None => {}
            }
        }
    }
    if let (Value::Array(a), Some(items)) = (v, s.get("items")) {
        for (i, x) in a.iter().enumerate() {
            validate(items, x, &format!("{path}[{i}]"), errors);
        }
    }
}

pub(crate) fn check(report_json: &str) {
    let schema: Value = serde_json::from_slice(&std::fs::read(root().join("schema/report.schema.json")).unwrap()).unwrap();
    let v: Value = serde_json::from_str(report_json).unwrap();
    let mut errors = Vec::new();
    validate(&schema, &v, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn model_audit_report_follows_the_schema() {
    let input = AuditInput::model(
        file(root().join("www/demo/digits_mlp.onnx")),
        None,
        source(root().join("www/demo/digits_members.csv")),
        source(root().join("www/demo/digits_nonmembers.csv")),
    );
    let opts = AuditOptions { scale: 0.0625, backend: BackendChoice::Cpu, ..Default::default() };
    let out = pollster::block_on(run_audit(input, &opts, &mut |_| {})).unwrap();
    check(&report::to_json(&out.report));
}

#[test]
fn outputs_audit_report_follows_the_schema() {
    let input = AuditInput::outputs(source(fixture("digits_members_logits.csv")), source(fixture("digits_nonmembers_logits.csv")));
    let out = pollster::block_on(run_audit(input, &AuditOptions::default(), &mut |_| {})).unwrap();
    check(&report::to_json(&out.report));
}

#[test]
fn the_validator_catches_violations() {
    let schema: Value = serde_json::from_slice(&std::fs::read(root().join("schema/report.schema.json")).unwrap()).unwrap();
    let mut errors = Vec::new();
    validate(&schema, &serde_json::json!({"schema_version": 99, "extra": 1}), "$", &mut errors);
    assert!(
        errors.iter().any(|e| e.contains("missing"))
            && errors.iter().any(|e| e.contains("undeclared field extra"))
            && errors.iter().any(|e| e.contains("not in"))
    );
}
