//! The browser API: the only file that speaks JavaScript. Everything here converts JS values to
//! the library's plain types and back; the work is done by [`crate::run_audit`].

use crate::data::{DataSource, InputFile};
use crate::{AuditError, AuditInput, AuditOptions, report};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

/// Route Rust panics and burn/cubecl logs to the console instead of an opaque trap message.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&JsValue::from_str(&format!("privaudit panic: {info}")));
    }));
}

/// The engine's version.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn file(obj: &JsValue, key: &str) -> Result<Option<InputFile>, AuditError> {
    get(obj, key).map(|v| file_of(&v, key)).transpose()
}

/// A `{ name, bytes }` value as a file; `what` names it in errors (and when it has no name).
fn file_of(v: &JsValue, what: &str) -> Result<InputFile, AuditError> {
    let name = get(v, "name").and_then(|n| n.as_string()).unwrap_or_else(|| what.to_string());
    let bytes = get(v, "bytes").filter(|b| b.is_instance_of::<Uint8Array>()).ok_or_else(|| AuditError::option(what, "expected { name, bytes: Uint8Array }"))?;
    Ok(InputFile::new(name, Uint8Array::from(bytes).to_vec()))
}

fn source(obj: &JsValue, key: &str) -> Result<Option<DataSource>, AuditError> {
    match get(obj, key) {
        Some(v) => source_of(&v, key).map(Some),
        None => Ok(None),
    }
}

/// A `{ name, bytes, labels? }` value as a data source, or an image folder
/// `{ name, files: [{ name: "cat/001.png", bytes }, …] }`; `what` names it in errors.
fn source_of(v: &JsValue, what: &str) -> Result<DataSource, AuditError> {
    if let Some(list) = get(v, "files") {
        if !js_sys::Array::is_array(&list) {
            return Err(AuditError::option(what, "files: expected an array of { name, bytes }"));
        }
        let arr = js_sys::Array::from(&list);
        if arr.length() as usize > crate::data::MAX_IMAGES {
            return Err(AuditError::option(what, format!("{} files; at most {} are read", arr.length(), crate::data::MAX_IMAGES)));
        }
        let name = get(v, "name").and_then(|n| n.as_string()).unwrap_or_else(|| what.to_string());
        let files = arr.iter().map(|f| file_of(&f, what)).collect::<Result<Vec<_>, _>>()?;
        if files.is_empty() {
            return Err(AuditError::option(what, "an image folder with no files"));
        }
        return Ok(DataSource::folder(name, files));
    }
    Ok(DataSource { file: file_of(v, what)?, labels: file(v, "labels")?, images: Vec::new() })
}

fn files(req: &JsValue, key: &str) -> Result<Vec<JsValue>, AuditError> {
    match get(req, key) {
        None => Ok(Vec::new()),
        Some(v) if js_sys::Array::is_array(&v) => Ok(js_sys::Array::from(&v).iter().collect()),
        Some(_) => Err(AuditError::option(key, "expected an array of files")),
    }
}

/// A model's external-data file; one given without a name is taken to be the file the model
/// names (its `location`), which the engine otherwise requires the name to match.
fn model_data(obj: &JsValue, key: &str, model: &InputFile) -> Result<Option<InputFile>, AuditError> {
    let Some(v) = get(obj, key) else { return Ok(None) };
    let mut f = file_of(&v, key)?;
    if get(&v, "name").and_then(|n| n.as_string()).is_none_or(|n| n.is_empty()) {
        if let Some(loc) = crate::model::external_data_location(model) {
            f.name = loc;
        }
    }
    Ok(Some(f))
}

fn input(req: &JsValue) -> Result<AuditInput, AuditError> {
    let need = |k: &str, v: Option<DataSource>| v.ok_or_else(|| AuditError::option(k, "missing"));
    let mut input = if let Some(model) = file(req, "model")? {
        let data = model_data(req, "modelData", &model)?;
        AuditInput::model(model, data, need("members", source(req, "members")?)?, need("nonmembers", source(req, "nonmembers")?)?)
    } else if get(req, "memberOutputs").is_some() {
        AuditInput::outputs(need("memberOutputs", source(req, "memberOutputs")?)?, need("nonmemberOutputs", source(req, "nonmemberOutputs")?)?)
    } else {
        return Err(AuditError::option("model", "give a model (with members and non-members) or memberOutputs and nonmemberOutputs"));
    };
    input.population = source(req, if get(req, "populationOutputs").is_some() { "populationOutputs" } else { "population" })?;
    // Each element is { model: {name, bytes}, modelData? } for models, { name, bytes, labels? } for outputs.
    for (i, r) in files(req, "referenceModels")?.iter().enumerate() {
        let key = format!("referenceModels[{i}]");
        let m = file(r, "model")?.ok_or_else(|| AuditError::option(&key, "expected { model: {name, bytes}, modelData? }"))?;
        let d = model_data(r, "modelData", &m)?;
        input.references.models.push((m, d));
    }
    for (i, r) in files(req, "referenceOutputs")?.iter().enumerate() {
        input.references.outputs.push(source_of(r, &format!("referenceOutputs[{i}]"))?);
    }
    input.references.membership = file(req, "referenceMembership")?;
    input.slice_file = file(req, "sliceFile")?;
    input.cached_references = get(req, "cachedReferences").filter(|b| b.is_instance_of::<Uint8Array>()).map(|b| Uint8Array::from(b).to_vec());
    Ok(input)
}

fn options(request: &JsValue) -> Result<AuditOptions, JsError> {
    match get(request, "options") {
        // Through JSON, not serde-wasm-bindgen: it reads only the known fields of a struct, so an
        // unknown (misspelt) option would pass silently instead of being an error.
        Some(o) => {
            let text: String = js_sys::JSON::stringify(&o).map(String::from).map_err(|_| JsError::new("options: not a plain object"))?;
            serde_json::from_str(&text).map_err(|e| JsError::new(&format!("options: {e}")))
        }
        None => Ok(AuditOptions::default()),
    }
}

/// The default options, as the engine defines them (the page and the widget fill their forms
/// from these).
#[wasm_bindgen]
pub fn defaults() -> Result<JsValue, JsError> {
    let json = serde_json::to_string(&AuditOptions::default()).map_err(|e| JsError::new(&e.to_string()))?;
    js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal: defaults did not parse"))
}

/// The attacks this engine runs, from its registry: `[{ name, group, needs, parameters, doc }]`.
#[wasm_bindgen]
pub fn attacks() -> Result<JsValue, JsError> {
    let list: Vec<serde_json::Value> = crate::attacks::REGISTRY
        .iter()
        .map(|a| serde_json::json!({ "name": a.name, "group": a.group, "needs": a.needs, "parameters": a.parameters, "doc": a.doc }))
        .collect();
    js_sys::JSON::parse(&serde_json::Value::Array(list).to_string()).map_err(|_| JsError::new("internal: attacks did not parse"))
}

/// The key under which this request's trained references are kept (IndexedDB in the worker),
/// or `undefined` when it trains none.
#[wasm_bindgen(js_name = referenceCacheKey)]
pub fn reference_cache_key(request: JsValue) -> Result<Option<String>, JsError> {
    let opts = options(&request)?;
    let input = input(&request).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(crate::reference_cache_key(&input, &opts))
}

/// Run an audit.
///
/// `request`: `{ model?: {name, bytes}, modelData?: {name, bytes}, members?: {name, bytes, labels?},
/// nonmembers?: …, population?: …, memberOutputs?: …, nonmemberOutputs?: …, populationOutputs?: …,
/// referenceModels?: [{model, modelData?}], referenceOutputs?: [{name, bytes, labels?}],
/// referenceMembership?: {name, bytes}, options?: AuditOptions }`.
/// `onProgress` is called with `{ stage, fraction, message }`.
///
/// `cachedReferences` (a Uint8Array kept from an earlier result's `referenceCache.bytes`) skips
/// training when its key matches.
///
/// Resolves to `{ report, reportJson, scoresCsv, rocSvg, histogramSvgs, statisticsNote,
/// epsilonNote, slicesSvg, duplicatesNote, referenceCache? }` (the notes: the sentences the CLI and the HTML report print
/// under the tables); rejects with an
/// `Error` whose message names the file, the place and what was expected.
#[wasm_bindgen(js_name = runAudit)]
pub async fn run_audit(request: JsValue, on_progress: Option<Function>) -> Result<JsValue, JsError> {
    let opts = options(&request)?;
    let input = input(&request).map_err(|e| JsError::new(&e.to_string()))?;
    let mut progress = |p: crate::Progress| {
        if let Some(f) = &on_progress {
            if let Ok(v) = serde_wasm_bindgen::to_value(&p) {
                let _ = f.call1(&JsValue::NULL, &v);
            }
        }
    };
    let out = crate::run_audit(input, &opts, &mut progress).await.map_err(|e| JsError::new(&e.to_string()))?;
    result_object(&out)
}

/// An audit's result as `runAudit` resolves to it.
fn result_object(out: &crate::AuditOutput) -> Result<JsValue, JsError> {
    let json = report::to_json(&out.report);
    let result = js_sys::Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&result, &JsValue::from_str(k), &v).map(|_| ());
    let parsed = js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal: report JSON did not parse"))?;
    let hists = js_sys::Array::new();
    for a in &out.report.attacks {
        hists.push(&JsValue::from_str(&report::histogram_svg(a)));
    }
    set("report", parsed)
        .and_then(|_| set("reportJson", JsValue::from_str(&json)))
        .and_then(|_| set("scoresCsv", JsValue::from_str(&report::scores_csv(&out.scores))))
        .and_then(|_| set("rocSvg", JsValue::from_str(&report::roc_svg(&out.report))))
        .and_then(|_| set("histogramSvgs", hists.into()))
        .and_then(|_| set("statisticsNote", JsValue::from_str(&report::statistics_line(&out.report))))
        .and_then(|_| set("epsilonNote", JsValue::from_str(&report::epsilon_line(&out.report))))
        .and_then(|_| set("slicesSvg", JsValue::from_str(&report::slices_svg(&out.report))))
        .and_then(|_| set("duplicatesNote", JsValue::from_str(&out.report.duplicates.as_ref().map(report::records::duplicates_line).unwrap_or_default())))
        .and_then(|_| match &out.reference_cache {
            Some((key, bytes)) => {
                let kept = js_sys::Object::new();
                let _ = Reflect::set(&kept, &"key".into(), &JsValue::from_str(key));
                let _ = Reflect::set(&kept, &"bytes".into(), &Uint8Array::from(bytes.as_slice()).into());
                set("referenceCache", kept.into())
            }
            None => Ok(()),
        })
        .map_err(|_| JsError::new("internal: cannot build the result object"))?;
    Ok(result.into())
}

/// Compare several models on the same records.
///
/// `request`: as `runAudit`'s, with `models: [{ name, model: {name, bytes}, modelData? }]`
/// instead of `model`, and `cachedReferences: [Uint8Array]` (kept references of any key).
/// Resolves to `{ comparison, comparisonJson, svg, audits: [runAudit's result per model] }`;
/// each audit's `referenceCache` holds references it trained. (The self-contained HTML page is
/// the CLI's: it would add the HTML renderer to the shipped module for a download the JSON
/// already gives.)
#[wasm_bindgen(js_name = runCompare)]
pub async fn run_compare(request: JsValue, on_progress: Option<Function>) -> Result<JsValue, JsError> {
    let err = |e: AuditError| JsError::new(&e.to_string());
    let opts = options(&request)?;
    let need = |k: &str, v: Option<DataSource>| v.ok_or_else(|| AuditError::option(k, "missing"));
    let mut models = Vec::new();
    for (i, m) in files(&request, "models").map_err(err)?.iter().enumerate() {
        let key = format!("models[{i}]");
        let model = file(m, "model").map_err(err)?.ok_or_else(|| err(AuditError::option(&key, "expected { name, model: {name, bytes}, modelData? }")))?;
        let model_data = model_data(m, "modelData", &model).map_err(err)?;
        let name = get(m, "name").and_then(|n| n.as_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| model.name.trim_end_matches(".onnx").to_string());
        models.push(crate::CompareModel { name, model, model_data });
    }
    let mut input = crate::CompareInput {
        models,
        members: need("members", source(&request, "members").map_err(err)?).map_err(err)?,
        nonmembers: need("nonmembers", source(&request, "nonmembers").map_err(err)?).map_err(err)?,
        population: source(&request, "population").map_err(err)?,
        references: crate::ReferenceInput::default(),
        cached_references: Vec::new(),
        slice_file: file(&request, "sliceFile").map_err(err)?,
    };
    for (i, r) in files(&request, "referenceModels").map_err(err)?.iter().enumerate() {
        let key = format!("referenceModels[{i}]");
        let m = file(r, "model").map_err(err)?.ok_or_else(|| err(AuditError::option(&key, "expected { model: {name, bytes}, modelData? }")))?;
        let d = model_data(r, "modelData", &m).map_err(err)?;
        input.references.models.push((m, d));
    }
    for (i, r) in files(&request, "referenceOutputs").map_err(err)?.iter().enumerate() {
        input.references.outputs.push(source_of(r, &format!("referenceOutputs[{i}]")).map_err(err)?);
    }
    input.references.membership = file(&request, "referenceMembership").map_err(err)?;
    for b in files(&request, "cachedReferences").map_err(err)? {
        if b.is_instance_of::<Uint8Array>() {
            input.cached_references.push(Uint8Array::from(b).to_vec());
        }
    }
    let mut progress = |p: crate::Progress| {
        if let Some(f) = &on_progress {
            if let Ok(v) = serde_wasm_bindgen::to_value(&p) {
                let _ = f.call1(&JsValue::NULL, &v);
            }
        }
    };
    let out = crate::run_compare(input, &opts, &mut progress).await.map_err(err)?;
    let json = serde_json::to_string_pretty(&out.comparison).map_err(|e| JsError::new(&e.to_string()))?;
    let result = js_sys::Object::new();
    let set = |k: &str, v: JsValue| Reflect::set(&result, &JsValue::from_str(k), &v).map(|_| ());
    let audits = js_sys::Array::new();
    for a in &out.audits {
        audits.push(&result_object(a)?);
    }
    let parsed = js_sys::JSON::parse(&json).map_err(|_| JsError::new("internal: comparison JSON did not parse"))?;
    set("comparison", parsed)
        .and_then(|_| set("comparisonJson", JsValue::from_str(&json)))
        .and_then(|_| set("svg", JsValue::from_str(&report::comparison_svg(&out.comparison))))
        .and_then(|_| set("audits", audits.into()))
        .map_err(|_| JsError::new("internal: cannot build the result object"))?;
    Ok(result.into())
}

/// The images named `ids` (the `id` column of the scores CSV) in the image zip `zip`, read with
/// the audit's own zip reader so the paths match: `[Uint8Array | null]`, one per id. The page
/// shows them as thumbnails of a zipped set.
#[wasm_bindgen(js_name = zipImages)]
pub fn zip_images(name: String, zip: Uint8Array, ids: Vec<String>) -> Result<js_sys::Array, JsError> {
    let found = crate::data::zip_images(&InputFile::new(name, zip.to_vec()), &ids).map_err(|e| JsError::new(&e.to_string()))?;
    let out = js_sys::Array::new();
    for f in found {
        out.push(&f.map_or(JsValue::NULL, |b| Uint8Array::from(b.as_slice()).into()));
    }
    Ok(out)
}

/// Run only the model: logits of the records in an NPY array (`[records, …features]`), for
/// checking a backend against a reference. Resolves to `{ logits: Float64Array, classes,
/// backend, skippedFinalSoftmax }`.
#[wasm_bindgen(js_name = modelLogits)]
pub async fn model_logits(model: Uint8Array, model_data: Option<Uint8Array>, x_npy: Uint8Array, backend: String) -> Result<JsValue, JsError> {
    let err = |e: AuditError| JsError::new(&e.to_string());
    let choice: crate::BackendChoice = serde_wasm_bindgen::from_value(JsValue::from_str(&backend)).map_err(|e| JsError::new(&format!("backend: {e}")))?;
    let model = InputFile::new("model.onnx", model.to_vec());
    let data_name = crate::model::external_data_location(&model).unwrap_or_else(|| "model.onnx.data".into());
    let m = crate::model::OnnxModel::parse(&model, model_data.map(|d| InputFile::new(data_name, d.to_vec())).as_ref()).map_err(err)?;
    let (shape, x) = crate::data::read_npy(&InputFile::new("x.npy", x_npy.to_vec())).map_err(err)?;
    let be = crate::select_backend(choice).await.map_err(err)?;
    let p = m.prepare(&be).map_err(err)?;
    let rows = shape.first().copied().unwrap_or(0);
    let (z, classes) = p.logits(&x, rows, |_, _| {}).await.map_err(err)?;
    let out = js_sys::Object::new();
    let _ = Reflect::set(&out, &"logits".into(), &js_sys::Float64Array::from(z.as_slice()).into());
    let _ = Reflect::set(&out, &"classes".into(), &JsValue::from(classes as u32));
    let _ = Reflect::set(&out, &"backend".into(), &JsValue::from_str(be.name));
    let _ = Reflect::set(&out, &"skippedFinalSoftmax".into(), &JsValue::from_bool(m.skipped_final_softmax));
    Ok(out.into())
}
