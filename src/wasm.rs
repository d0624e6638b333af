//! The browser API: the only file that speaks JavaScript. Everything here converts JS values to
//! the library's plain types and back; the work is done by [`crate::run_audit`].

use crate::data::{DataSource, InputFile};
use crate::{AuditError, AuditInput, AuditOptions, report};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

// The constructors wasm-ld collects (the `inventory` registrations of cubecl's IR dialects).
unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Run the module's constructors, once, and route Rust panics to the console instead of an
/// opaque trap message.
///
/// Calling `__wasm_call_ctors` here is what tells wasm-ld that the module runs them itself:
/// without such a call it treats the module as a "command" and runs every constructor again at
/// the start of every exported function — each call from JS, down to wasm-bindgen's own
/// allocations, about 4 % of a CNN inference's time in Chromium (V8's profiler, 2026-12-06).
/// wasm-bindgen calls this start function once, right after instantiation (inventory's
/// documentation, "WebAssembly and constructors").
#[wasm_bindgen(start)]
pub fn start() {
    // SAFETY: wasm-ld's synthesized function with no arguments, called once per instance
    // before any other export runs (wasm-bindgen's start function).
    unsafe { __wasm_call_ctors() };
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
/// Resolves to `{ report, reportJson, reportHtml, scoresCsv, rocSvg, histogramSvgs,
/// statisticsNote, epsilonNote, slicesSvg, duplicatesNote, glossary, referenceCache? }` (the
/// notes: the sentences the CLI and the HTML report print under the tables; `reportHtml`: the
/// CLI's self-contained HTML report; `glossary`: `[term, explanation]` pairs); rejects with an
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

/// The report's glossary as `[[term, explanation], …]`.
fn glossary() -> JsValue {
    let out = js_sys::Array::new();
    for (t, d) in report::GLOSSARY {
        out.push(&js_sys::Array::of2(&JsValue::from_str(t), &JsValue::from_str(d)));
    }
    out.into()
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
        .and_then(|_| set("reportHtml", JsValue::from_str(&report::html(&out.report))))
        .and_then(|_| set("glossary", glossary()))
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
/// Resolves to `{ comparison, comparisonJson, comparisonHtml, svg, audits: [runAudit's result
/// per model] }` (`comparisonHtml`: the CLI's self-contained page); each audit's
/// `referenceCache` holds references it trained.
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
        .and_then(|_| set("comparisonHtml", JsValue::from_str(&report::comparison_html(&out.comparison))))
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
    let (shape, x) = crate::data::read_npy_f32(&InputFile::new("x.npy", x_npy.to_vec())).map_err(err)?;
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

// ---------------------------------------------------------------------------------------------
// The CPU fallback's references, side by side in Web Workers (see src/audit/parallel.rs).

use crate::audit::parallel::{JobContext, TrainJob, TrainResult};
use js_sys::{Float32Array, Float64Array, Uint32Array};
use std::cell::RefCell;

thread_local! {
    /// The pool registered by `setReferenceTrainer`, if any.
    static TRAINER: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Register (or, with `undefined`, remove) the pool the CPU fallback trains references on.
///
/// `trainer(context, jobs)` returns an async iterator of events: first
/// `{ type: "pool", how }` (how the references will run, for the report) or
/// `{ type: "unavailable", why }` (then the engine trains them here, one after another), then
/// `{ type: "epoch", index, epoch, loss }`, `{ type: "done", result }` per reference and
/// `{ type: "error", message, error? }` if one fails. Each worker runs [`train_reference`] on
/// its own instance of this module; `context` and `jobs` are what it takes.
#[wasm_bindgen(js_name = setReferenceTrainer)]
pub fn set_reference_trainer(trainer: Option<Function>) {
    TRAINER.with(|t| *t.borrow_mut() = trainer);
}

pub(crate) fn reference_trainer() -> Option<Function> {
    TRAINER.with(|t| t.borrow().clone())
}

fn set(obj: &js_sys::Object, key: &str, v: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), v);
}

fn file_js(f: &InputFile) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "name", &JsValue::from_str(&f.name));
    set(&o, "bytes", &Uint8Array::from(f.bytes.as_slice()).into());
    o.into()
}

fn context_js(cx: &JobContext) -> Result<JsValue, AuditError> {
    let o = js_sys::Object::new();
    set(&o, "model", &file_js(&cx.model));
    if let Some(d) = &cx.model_data {
        set(&o, "modelData", &file_js(d));
    }
    if let Some(out) = &cx.output {
        set(&o, "output", &JsValue::from_str(out));
    }
    set(&o, "classes", &JsValue::from(cx.classes as u32));
    let settings = serde_json::to_string(&cx.settings).map_err(|e| AuditError::option("training", format!("internal: {e}")))?;
    set(&o, "settings", &JsValue::from_str(&settings));
    set(&o, "eval", &Float32Array::from(cx.eval.as_slice()).into());
    set(&o, "evalRows", &JsValue::from(cx.eval_rows as u32));
    Ok(o.into())
}

fn job_js(job: &TrainJob) -> JsValue {
    let o = js_sys::Object::new();
    let u32s = |v: &[usize]| Uint32Array::from(v.iter().map(|&i| i as u32).collect::<Vec<u32>>().as_slice());
    set(&o, "index", &JsValue::from(job.index as u32));
    set(&o, "rows", &u32s(&job.rows).into());
    set(&o, "y", &u32s(&job.y).into());
    // A decimal string: a JS number cannot hold every u64.
    set(&o, "seed", &JsValue::from_str(&job.seed.to_string()));
    o.into()
}

/// The number at `key` of a message between the workers, as a `usize`.
fn count(obj: &JsValue, key: &str, what: &str) -> Result<usize, AuditError> {
    get(obj, key)
        .and_then(|v| v.as_f64())
        .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v <= f64::from(u32::MAX))
        .map(|v| v as usize)
        .ok_or_else(|| AuditError::option(what, format!("internal: '{key}' is not a count")))
}

fn context_of(v: &JsValue) -> Result<JobContext, AuditError> {
    const WHAT: &str = "reference training context";
    let model = get(v, "model").ok_or_else(|| AuditError::option(WHAT, "internal: no model"))?;
    let model = file_of(&model, "model")?;
    let model_data = file(v, "modelData")?;
    let settings = get(v, "settings").and_then(|s| s.as_string()).ok_or_else(|| AuditError::option(WHAT, "internal: no settings"))?;
    let settings = serde_json::from_str(&settings).map_err(|e| AuditError::option("training", e.to_string()))?;
    let eval = get(v, "eval").filter(|e| e.is_instance_of::<Float32Array>()).ok_or_else(|| AuditError::option(WHAT, "internal: eval is not a Float32Array"))?;
    Ok(JobContext {
        model,
        model_data,
        output: get(v, "output").and_then(|o| o.as_string()),
        classes: count(v, "classes", WHAT)?,
        settings,
        eval: Float32Array::from(eval).to_vec(),
        eval_rows: count(v, "evalRows", WHAT)?,
    })
}

fn job_of(v: &JsValue) -> Result<TrainJob, AuditError> {
    const WHAT: &str = "reference training job";
    let u32s = |k: &str| {
        get(v, k)
            .filter(|a| a.is_instance_of::<Uint32Array>())
            .map(|a| Uint32Array::from(a).to_vec().into_iter().map(|i| i as usize).collect::<Vec<usize>>())
            .ok_or_else(|| AuditError::option(WHAT, format!("internal: '{k}' is not a Uint32Array")))
    };
    let seed = get(v, "seed").and_then(|s| s.as_string()).and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| AuditError::option(WHAT, "internal: no seed"))?;
    Ok(TrainJob { index: count(v, "index", WHAT)?, rows: u32s("rows")?, y: u32s("y")?, seed })
}

fn result_js(r: &TrainResult) -> JsValue {
    let o = js_sys::Object::new();
    set(&o, "index", &JsValue::from(r.index as u32));
    set(&o, "logits", &Float64Array::from(r.logits.as_slice()).into());
    set(&o, "classes", &JsValue::from(r.classes as u32));
    set(&o, "losses", &Float64Array::from(r.losses.as_slice()).into());
    o.into()
}

fn result_of(v: &JsValue) -> Result<TrainResult, AuditError> {
    const WHAT: &str = "reference training result";
    let f64s = |k: &str| {
        get(v, k)
            .filter(|a| a.is_instance_of::<Float64Array>())
            .map(|a| Float64Array::from(a).to_vec())
            .ok_or_else(|| AuditError::option(WHAT, format!("internal: '{k}' is not a Float64Array")))
    };
    Ok(TrainResult { index: count(v, "index", WHAT)?, logits: f64s("logits")?, classes: count(v, "classes", WHAT)?, losses: f64s("losses")? })
}

/// An error as a JS `Error` whose `privaudit` property carries it whole (JSON), so that the
/// engine that asked for the work raises the same error.
fn error_js(e: &AuditError) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    if let Ok(json) = serde_json::to_string(e) {
        set(&err, "privaudit", &JsValue::from_str(&json));
    }
    err.into()
}

/// Train one reference on this instance's CPU and run it on every record: what a worker of the
/// pool registered with `setReferenceTrainer` does with each job. `onEpoch(epoch, loss)` is
/// called after each epoch. Resolves to `{ index, logits: Float64Array, classes, losses:
/// Float64Array }`; rejects with an `Error` whose `privaudit` property holds the engine's error.
#[wasm_bindgen(js_name = trainReference)]
pub async fn train_reference(context: JsValue, job: JsValue, on_epoch: Option<Function>) -> Result<JsValue, JsValue> {
    let cx = context_of(&context).map_err(|e| error_js(&e))?;
    let job = job_of(&job).map_err(|e| error_js(&e))?;
    let mut progress = |e: usize, loss: f64| {
        if let Some(f) = &on_epoch {
            let _ = f.call2(&JsValue::NULL, &JsValue::from(e as u32), &JsValue::from(loss));
        }
    };
    let r = crate::audit::parallel::run_job(&cx, &job, &mut progress).await.map_err(|e| error_js(&e))?;
    Ok(result_js(&r))
}

/// Train `jobs` in the registered pool. Returns the results in job order and how they ran, or
/// why the pool cannot run them (then the caller trains them itself).
pub(crate) async fn train_in_workers(
    trainer: &Function,
    cx: &JobContext,
    jobs: &[TrainJob],
    on_epoch: &mut dyn FnMut(usize, usize, f64),
) -> Result<Result<(Vec<TrainResult>, String), String>, AuditError> {
    let pool_error = |what: &str, v: &JsValue| {
        let message = get(v, "message").and_then(|m| m.as_string()).or_else(|| v.as_string()).unwrap_or_else(|| "no message".into());
        AuditError::Device { backend: "cpu (Web Workers)".into(), message: format!("{what}: {message}") }
    };
    let list = js_sys::Array::new();
    for j in jobs {
        list.push(&job_js(j));
    }
    let iter = trainer.call2(&JsValue::NULL, &context_js(cx)?, &list).map_err(|e| pool_error("the reference pool did not start", &e))?;
    let next =
        get(&iter, "next").and_then(|f| f.dyn_into::<Function>().ok()).ok_or_else(|| pool_error("the reference pool", &"is not an async iterator".into()))?;
    let mut results: Vec<Option<TrainResult>> = vec![None; jobs.len()];
    let mut how = None;
    loop {
        let step = next.call0(&iter).map_err(|e| pool_error("the reference pool failed", &e))?;
        let step = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&step)).await.map_err(|e| pool_error("the reference pool failed", &e))?;
        if get(&step, "done").and_then(|d| d.as_bool()) == Some(true) {
            break;
        }
        let ev = get(&step, "value").unwrap_or(JsValue::UNDEFINED);
        match get(&ev, "type").and_then(|t| t.as_string()).as_deref() {
            Some("unavailable") => {
                return Ok(Err(get(&ev, "why").and_then(|w| w.as_string()).unwrap_or_else(|| "the pool of Web Workers cannot run them".into())));
            }
            Some("pool") => how = get(&ev, "how").and_then(|h| h.as_string()),
            Some("epoch") => {
                let loss = get(&ev, "loss").and_then(|l| l.as_f64()).unwrap_or(f64::NAN);
                on_epoch(count(&ev, "index", "reference pool")?, count(&ev, "epoch", "reference pool")?, loss);
            }
            Some("done") => {
                let r = result_of(&get(&ev, "result").unwrap_or(JsValue::UNDEFINED))?;
                let i = r.index;
                match results.get_mut(i) {
                    Some(slot) => *slot = Some(r),
                    None => return Err(pool_error("the reference pool", &format!("returned reference {i}, which was not asked for").into())),
                }
            }
            Some("error") => {
                // The engine's own error when a worker's engine raised it, else what the worker said.
                return Err(get(&ev, "error")
                    .and_then(|j| j.as_string())
                    .and_then(|j| serde_json::from_str::<AuditError>(&j).ok())
                    .unwrap_or_else(|| pool_error("a Web Worker training references failed", &ev)));
            }
            _ => return Err(pool_error("the reference pool", &"sent an event of no known type".into())),
        }
    }
    let done: Option<Vec<TrainResult>> = results.into_iter().collect();
    match done {
        Some(r) => Ok(Ok((r, how.unwrap_or_else(|| format!("{} references trained in Web Workers", jobs.len()))))),
        None => Err(pool_error("the reference pool", &"ended before every reference was trained".into())),
    }
}
