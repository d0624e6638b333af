//! What exactly was audited: a SHA-256 of every input (and of an image folder's files), sizes,
//! every option with its seed, the engine and the date. So a report can be tied to one model
//! version, re-run, and diffed only against a report of the same data.

use super::{AuditInput, AuditOptions, Target};
use crate::data::{DataSource, InputFile};
use crate::report::{InputDigest, Provenance};
use sha2::{Digest, Sha256};

fn hex(d: impl AsRef<[u8]>) -> String {
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's digest: its SHA-256, the same as `sha256sum FILE`.
fn file(role: &str, f: &InputFile) -> InputDigest {
    InputDigest { role: role.into(), name: f.name.clone(), bytes: f.bytes.len() as u64, sha256: hex(Sha256::digest(&f.bytes)), files: None, records: None }
}

/// An image folder's digest: SHA-256 over its files in path order, each as its path (UTF-8),
/// a zero byte, its length as 8 little-endian bytes and its bytes. The README gives a few lines
/// of Python that compute the same.
fn folder(role: &str, name: &str, files: &[InputFile]) -> InputDigest {
    let mut sorted: Vec<&InputFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = Sha256::new();
    let mut bytes = 0u64;
    for f in sorted {
        h.update(f.name.as_bytes());
        h.update([0u8]);
        h.update((f.bytes.len() as u64).to_le_bytes());
        h.update(&f.bytes);
        bytes += f.bytes.len() as u64;
    }
    InputDigest { role: role.into(), name: name.into(), bytes, sha256: hex(h.finalize()), files: Some(files.len()), records: None }
}

fn source(role: &str, s: &DataSource, out: &mut Vec<InputDigest>) {
    out.push(if s.images.is_empty() { file(role, &s.file) } else { folder(role, &s.file.name, &s.images) });
    if let Some(l) = &s.labels {
        out.push(file(&format!("{role}_labels"), l));
    }
}

/// Every input of `input`, in a fixed order of roles: model, model_data, members (and
/// members_labels), nonmembers, population, reference_model_i, reference_outputs_i,
/// reference_membership.
pub fn digests(input: &AuditInput) -> Vec<InputDigest> {
    let mut out = Vec::new();
    if let Target::Model { model, model_data } = &input.target {
        out.push(file("model", model));
        if let Some(d) = model_data {
            out.push(file("model_data", d));
        }
    }
    source("members", &input.members, &mut out);
    source("nonmembers", &input.nonmembers, &mut out);
    if let Some(p) = &input.population {
        source("population", p, &mut out);
    }
    for (i, (m, d)) in input.references.models.iter().enumerate() {
        out.push(file(&format!("reference_model_{i}"), m));
        if let Some(d) = d {
            out.push(file(&format!("reference_model_{i}_data"), d));
        }
    }
    for (i, s) in input.references.outputs.iter().enumerate() {
        source(&format!("reference_outputs_{i}"), s, &mut out);
    }
    if let Some(m) = &input.references.membership {
        out.push(file("reference_membership", m));
    }
    if let Some(s) = &input.slice_file {
        out.push(file("slices", s));
    }
    out
}

/// The report's provenance: `inputs` (from [`digests`]), the options, the engine and now.
pub(crate) fn provenance(inputs: Vec<InputDigest>, opts: &AuditOptions) -> Provenance {
    Provenance {
        created: iso8601_utc(super::now_ms()),
        engine: format!("privaudit {} ({})", env!("CARGO_PKG_VERSION"), if cfg!(target_family = "wasm") { "wasm32, in the browser" } else { "native" }),
        inputs,
        options: serde_json::to_value(opts).unwrap_or(serde_json::Value::Null),
    }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC). Hand-written (days to a
/// civil date, Hinnant's algorithm) rather than a date crate: this is the only date the engine
/// formats, and chrono or time would cost build minutes and wasm bytes for it.
pub fn iso8601_utc(ms: f64) -> String {
    let secs = (ms / 1000.0).floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
