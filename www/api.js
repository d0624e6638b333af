// privaudit's JavaScript API. The engine runs in a module Web Worker that this module owns;
// nothing is sent anywhere: files are read in the page and transferred to the worker.
//
//   import init, { audit } from "./api.js";
//   const report = await audit({ model, members, nonmembers, scale: 1/16, onProgress });
//
// model, modelData, members, nonmembers, population, membersLabels, nonmembersLabels,
// populationLabels, memberOutputs, nonmemberOutputs, populationOutputs (and their …Labels),
// referenceMembership accept Uint8Array | ArrayBuffer | Blob | File | {name, bytes};
// referenceModels is an array of those (or of {model, modelData}), referenceOutputs an array of
// those. `signal` (an AbortSignal) cancels: the worker is stopped and the promise rejects with
// an AbortError. Every other key is an option (labelColumn, idColumn, scale, shift, attacks,
// backend, outputs, references, mode, seed, training, rmiaA, rmiaGamma, holdout; and cache:
// false to neither reuse nor keep trained references in IndexedDB); an unknown
// option is an error.

const FILE_KEYS = ["model", "modelData", "members", "nonmembers", "population", "memberOutputs", "nonmemberOutputs", "populationOutputs", "referenceMembership"];
const LABEL_KEYS = {
  members: "membersLabels", nonmembers: "nonmembersLabels", population: "populationLabels",
  memberOutputs: "memberOutputsLabels", nonmemberOutputs: "nonmemberOutputsLabels", populationOutputs: "populationOutputsLabels",
};

let worker = null;
let ready = null;
let nextId = 1;
const pending = new Map();

function start() {
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  ready = new Promise((resolve, reject) => {
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === "ready") return resolve();
      if (m.type === "fatal") return reject(new Error(m.message));
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === "progress") {
        p.onProgress?.({ stage: m.stage, fraction: m.fraction, message: m.message });
      } else if (m.type === "result") {
        pending.delete(m.id);
        p.resolve(m.result);
      } else if (m.type === "error") {
        pending.delete(m.id);
        p.reject(new Error(m.message));
        if (m.fatal) restart();
      }
    };
    worker.onerror = (e) => reject(new Error(`privaudit worker failed: ${e.message ?? e}`));
  });
  return ready;
}

function restart() {
  worker?.terminate();
  worker = null;
  ready = null;
  for (const [, p] of pending) p.reject(new Error("the privaudit engine stopped; retry"));
  pending.clear();
}

/** Start the engine once; later calls return the same promise. */
export default function init() {
  return ready ?? start();
}

async function toFile(value, key) {
  if (value == null) return undefined;
  if (value instanceof Uint8Array) return { name: key, bytes: value };
  if (value instanceof ArrayBuffer) return { name: key, bytes: new Uint8Array(value) };
  if (typeof Blob !== "undefined" && value instanceof Blob) {
    return { name: value.name || key, bytes: new Uint8Array(await value.arrayBuffer()) };
  }
  if (value.bytes instanceof Uint8Array) return { name: value.name ?? key, bytes: value.bytes };
  throw new TypeError(`${key}: expected a Uint8Array, ArrayBuffer, Blob or File`);
}

/**
 * Run an audit and get everything: {report, reportJson, scoresCsv, rocSvg, histogramSvgs}.
 */
export async function runAudit(args) {
  const { onProgress, signal, referenceModels, referenceOutputs, ...rest } = args ?? {};
  signal?.throwIfAborted();
  const request = {};
  const transfer = [];
  const own = (f) => {
    // Copy so the caller's buffers stay usable, then transfer the copy.
    f.bytes = f.bytes.slice();
    transfer.push(f.bytes.buffer);
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
  for (const key of FILE_KEYS) {
    const f = await toFile(rest[key], key);
    delete rest[key];
    if (!f) continue;
    const labelKey = LABEL_KEYS[key];
    if (labelKey && rest[labelKey] != null) f.labels = own(await toFile(rest[labelKey], labelKey));
    if (labelKey) delete rest[labelKey];
    request[key] = own(f);
  }
  request.options = rest;
  await init();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    if (signal) {
      // The engine cannot be interrupted mid-computation: stop its worker (a fresh one starts on
      // the next call).
      signal.addEventListener("abort", () => {
        if (!pending.has(id)) return;
        pending.delete(id);
        reject(signal.reason ?? new DOMException("The audit was cancelled.", "AbortError"));
        restart();
      }, { once: true });
    }
    worker.postMessage({ id, request }, transfer);
  });
}

/** Run an audit; resolves to the report (the same fields as the CLI's JSON). */
export async function audit(args) {
  return (await runAudit(args)).report;
}
