// privaudit's JavaScript API. The engine runs in a module Web Worker that this module owns;
// nothing is sent anywhere: files are read in the page and copied to the worker.
//
//   import init, { audit } from "./api.js";
//   const report = await audit({ model, members, nonmembers, scale: 1/16, onProgress });
//
// model, modelData, members, nonmembers, population, membersLabels, nonmembersLabels,
// populationLabels, memberOutputs, nonmemberOutputs, populationOutputs (and their …Labels),
// referenceMembership accept Uint8Array | ArrayBuffer | Blob | File | {name, bytes};
// members, nonmembers and population also take a folder of images: the FileList of a
// directory input (`<input type="file" webkitdirectory>`), an array of Files with their
// webkitRelativePath, or {name, files: [{name: "cat/001.png", bytes} | File, …]} — or a zip;
// referenceModels is an array of those (or of {model, modelData}), referenceOutputs an array of
// those. `signal` (an AbortSignal) cancels that audit alone: its promise rejects with an
// AbortError, and other callers' audits go on (see "Lifecycle" below). Every other key is an option (labelColumn, idColumn, scale, shift, attacks,
// backend, outputs, references, mode, seed, training, rmiaA, rmiaGamma, holdout, image; and cache:
// false to neither reuse nor keep trained references in IndexedDB; workers: at most this many
// Web Workers training references side by side on the CPU, default one per core); an unknown
// option is an error.

// runCompare hands its models to runAudit under this key (not an option a caller can give).
const COMPARE = Symbol("compare");
const FILE_KEYS = ["model", "modelData", "members", "nonmembers", "population", "memberOutputs", "nonmemberOutputs", "populationOutputs", "referenceMembership", "sliceFile"];
const LABEL_KEYS = {
  members: "membersLabels", nonmembers: "nonmembersLabels", population: "populationLabels",
  memberOutputs: "memberOutputsLabels", nonmemberOutputs: "nonmemberOutputsLabels", populationOutputs: "populationOutputsLabels",
};

// Lifecycle. One worker runs the requests in order. Each pending request keeps its (copied)
// bytes until it settles, so that:
// - cancelling a request that has not started only drops it (the worker skips it);
// - cancelling the running one stops the worker (the engine cannot be interrupted mid-way) and
//   sends every other pending request to a fresh worker: no other caller's audit is rejected;
// - a crashed worker (a wasm trap, a failed load) rejects only what it was running, and the
//   next request starts a fresh worker; a failed load rejects init() and a later init() retries.
let worker = null;
let ready = null;
let nextId = 1;
const pending = new Map(); // id -> { resolve, reject, onProgress, message, started }

function start() {
  const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker = w;
  ready = new Promise((resolve, reject) => {
    w.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === "ready") {
        w.loaded = true;
        return resolve();
      }
      if (m.type === "fatal") {
        reject(new Error(m.message));
        return crashed(w, m.message);
      }
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === "started") {
        p.started = true;
      } else if (m.type === "progress") {
        p.onProgress?.({ stage: m.stage, fraction: m.fraction, message: m.message });
      } else if (m.type === "result") {
        pending.delete(m.id);
        p.resolve(m.result);
      } else if (m.type === "error") {
        pending.delete(m.id);
        p.reject(new Error(m.message));
        if (m.fatal) replace(w);
      }
    };
    w.onerror = (e) => {
      e.preventDefault?.();
      const message = `the privaudit engine failed: ${e.message ?? e}`;
      reject(new Error(message));
      crashed(w, message);
    };
  });
  // A failed start must not leave an unhandled rejection behind when nobody awaits init().
  ready.catch(() => {});
  for (const [, p] of [...pending].sort((a, b) => a[0] - b[0])) {
    p.started = false;
    w.postMessage(p.message);
  }
  return ready;
}

/** Stop worker `w` and send what is still pending to a fresh one. */
function replace(w) {
  if (worker !== w) return;
  w.terminate();
  worker = null;
  ready = null;
  if (pending.size) start();
}

/** Worker `w` died: reject what it was running (everything, if it never loaded). */
function crashed(w, message) {
  if (worker !== w) return;
  w.terminate();
  worker = null;
  ready = null;
  for (const [id, p] of pending) {
    if (p.started || !w.loaded) {
      pending.delete(id);
      p.reject(new Error(`${message} (the next request starts a fresh engine)`));
    }
  }
  if (pending.size) start();
}

/** Start the engine once; later calls return the same promise, or retry after a failure. */
export default function init() {
  return ready ?? start();
}

// A file without a name is named by its key in messages (the engine takes a nameless model-data
// file to be the one the model names).
async function toFile(value, key) {
  if (value == null) return undefined;
  if (value instanceof Uint8Array) return { bytes: value };
  if (value instanceof ArrayBuffer) return { bytes: new Uint8Array(value) };
  if (typeof Blob !== "undefined" && value instanceof Blob) {
    return { ...(value.name ? { name: value.name } : {}), bytes: new Uint8Array(await value.arrayBuffer()) };
  }
  if (value.bytes instanceof Uint8Array) return { ...(value.name ? { name: value.name } : {}), bytes: value.bytes };
  throw new TypeError(`${key}: expected a Uint8Array, ArrayBuffer, Blob or File`);
}

const FOLDER_KEYS = ["members", "nonmembers", "population"];

/**
 * An image folder as {name, files: [{name, bytes}]}, file names relative to the folder: from a
 * directory input's FileList or an array of Files (webkitRelativePath "folder/cat/001.png"), or
 * from {name, files}. Anything else: undefined.
 */
export async function toFolder(value, key) {
  const list = typeof FileList !== "undefined" && value instanceof FileList ? [...value] : Array.isArray(value) ? value : Array.isArray(value?.files) ? value.files : null;
  if (!list) return undefined;
  if (list.length === 0) throw new TypeError(`${key}: an empty folder`);
  const files = [];
  let name = value?.name;
  for (const [i, f] of list.entries()) {
    const rel = f.webkitRelativePath || f.name;
    if (!rel) throw new TypeError(`${key}: file ${i} has no name`);
    // A directory input's paths start with the picked folder's own name.
    const parts = rel.split("/");
    if (f.webkitRelativePath && parts.length > 1) {
      name ??= parts[0];
      parts.shift();
    }
    const file = await toFile(f, `${key}[${i}]`);
    files.push({ name: parts.join("/"), bytes: file.bytes });
  }
  return { name: name ?? key, files };
}

/**
 * Run an audit and get everything: {report, reportJson, scoresCsv, rocSvg, histogramSvgs}.
 */
export async function runAudit(args) {
  const { onProgress, signal, referenceModels, referenceOutputs, [COMPARE]: compareModels, ...rest } = args ?? {};
  signal?.throwIfAborted();
  const request = {};
  // Copy, so the caller's buffers stay theirs and a cancelled neighbour can be sent again.
  const own = (f) => {
    f.bytes = f.bytes.slice();
    return f;
  };
  if (referenceModels != null) {
    if (!Array.isArray(referenceModels)) throw new TypeError("referenceModels: expected an array");
    request.referenceModels = [];
    for (const [i, r] of referenceModels.entries()) {
      const pair = r?.model != null ? r : { model: r };
      const model = own(await toFile(pair.model, `reference${i}.onnx`));
      const modelData = pair.modelData != null ? own(await toFile(pair.modelData, `reference${i}.onnx.data`)) : undefined;
      request.referenceModels.push({ model, modelData });
    }
  }
  if (referenceOutputs != null) {
    if (!Array.isArray(referenceOutputs)) throw new TypeError("referenceOutputs: expected an array");
    request.referenceOutputs = [];
    for (const [i, r] of referenceOutputs.entries()) request.referenceOutputs.push(own(await toFile(r, `reference${i}.csv`)));
  }
  for (const key of FOLDER_KEYS) {
    const folder = await toFolder(rest[key], key);
    if (!folder) continue;
    if (rest[LABEL_KEYS[key]] != null) throw new TypeError(`${LABEL_KEYS[key]}: an image folder takes its labels from its class folders`);
    for (const f of folder.files) own(f);
    request[key] = folder;
    delete rest[key];
  }
  for (const key of FILE_KEYS) {
    if (request[key]) continue;
    const f = await toFile(rest[key], key);
    const labelKey = LABEL_KEYS[key];
    const labels = labelKey ? rest[labelKey] : undefined;
    delete rest[key];
    if (labelKey) delete rest[labelKey];
    if (!f) {
      if (labels != null) throw new TypeError(`${labelKey}: a label file was given without ${key}`);
      continue;
    }
    if (labels != null) f.labels = own(await toFile(labels, labelKey));
    request[key] = own(f);
  }
  request.options = rest;
  if (compareModels) {
    request.models = compareModels;
    return send("compare", request, { signal, onProgress });
  }
  return send("audit", request, { signal, onProgress });
}

/**
 * Compare several models on the same records: `models` is an array of `{ name?, model,
 * modelData? }` (or of bare model files); every other key is as `runAudit` takes it. Resolves to
 * `{ comparison, comparisonJson, svg, audits }`, `audits` holding each model's
 * `runAudit` result.
 */
export async function runCompare(args) {
  const { models, ...rest } = args ?? {};
  if (!Array.isArray(models)) throw new TypeError("models: expected an array of { name?, model, modelData? }");
  const list = [];
  for (const [i, m] of models.entries()) {
    const pair = m?.model != null ? m : { model: m };
    const model = await toFile(pair.model, `models[${i}]`);
    if (!model) throw new TypeError(`models[${i}]: expected a model file`);
    model.bytes = model.bytes.slice();
    const modelData = pair.modelData != null ? await toFile(pair.modelData, `models[${i}].modelData`) : undefined;
    if (modelData) modelData.bytes = modelData.bytes.slice();
    list.push({ name: pair.name ?? model.name?.replace(/\.onnx$/i, ""), model, modelData });
  }
  return runAudit({ ...rest, [COMPARE]: list });
}

/** Compare several models; resolves to the comparison (the same fields as the CLI's JSON). */
export async function compare(args) {
  return (await runCompare(args)).comparison;
}

/** Send one request to the worker; its promise settles with the worker's answer. */
async function send(type, request, { signal, onProgress } = {}) {
  await init();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // Aborted while the files were being read: never sent.
    if (signal?.aborted) return reject(signal.reason ?? new DOMException("The audit was cancelled.", "AbortError"));
    const message = { type, id, request };
    const entry = { resolve, reject, onProgress, message, started: false };
    pending.set(id, entry);
    if (signal) {
      signal.addEventListener("abort", () => {
        if (!pending.has(id)) return;
        pending.delete(id);
        reject(signal.reason ?? new DOMException("The audit was cancelled.", "AbortError"));
        // Queued: the worker skips it. Running: only stopping the worker stops it.
        if (entry.started) replace(worker);
        else worker?.postMessage({ type: "cancel", id });
      }, { once: true });
    }
    worker.postMessage(message);
  });
}

const IMAGE_TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg" };

/**
 * The images named `ids` (the `id` column of the scores CSV) in an image zip (a File, Blob,
 * Uint8Array or {name, bytes}), read with the engine's own zip reader so that the paths are the
 * audit's: resolves to one Blob (typed by its extension) or null per id. For thumbnails of a
 * zipped set; the zip is read in the worker, like an audit's files.
 */
export async function zipImages(zip, ids) {
  if (!Array.isArray(ids) || !ids.every((i) => typeof i === "string")) throw new TypeError("ids: expected an array of strings");
  const f = await toFile(zip, "zip");
  const found = await send("zipImages", { name: f.name ?? "zip", bytes: f.bytes.slice(), ids });
  return found.map((b, i) => (b ? new Blob([b], { type: IMAGE_TYPES[ids[i].split(".").pop().toLowerCase()] ?? "application/octet-stream" }) : null));
}

/** Run an audit; resolves to the report (the same fields as the CLI's JSON). */
export async function audit(args) {
  return (await runAudit(args)).report;
}
