// privaudit's JavaScript API. The engine runs in a module Web Worker that this module owns;
// nothing is sent anywhere: files are read in the page and transferred to the worker.
//
//   import init, { audit } from "./api.js";
//   const report = await audit({ model, members, nonmembers, scale: 1/16, onProgress });
//
// model, modelData, members, nonmembers, membersLabels, nonmembersLabels, memberOutputs,
// nonmemberOutputs, memberOutputsLabels, nonmemberOutputsLabels accept Uint8Array | ArrayBuffer |
// Blob | File | {name, bytes}. Every other key is an option (labelColumn, idColumn, scale, shift,
// attacks, backend, outputs); an unknown option is an error.

const FILE_KEYS = ["model", "modelData", "members", "nonmembers", "memberOutputs", "nonmemberOutputs"];
const LABEL_KEYS = { members: "membersLabels", nonmembers: "nonmembersLabels", memberOutputs: "memberOutputsLabels", nonmemberOutputs: "nonmemberOutputsLabels" };

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
  const { onProgress, ...rest } = args ?? {};
  const request = {};
  const transfer = [];
  for (const key of FILE_KEYS) {
    const f = await toFile(rest[key], key);
    delete rest[key];
    if (!f) continue;
    const labelKey = LABEL_KEYS[key];
    if (labelKey && rest[labelKey] != null) {
      f.labels = await toFile(rest[labelKey], labelKey);
    }
    if (labelKey) delete rest[labelKey];
    // Copy so the caller's buffers stay usable, then transfer the copy.
    f.bytes = f.bytes.slice();
    transfer.push(f.bytes.buffer);
    if (f.labels) {
      f.labels.bytes = f.labels.bytes.slice();
      transfer.push(f.labels.bytes.buffer);
    }
    request[key] = f;
  }
  request.options = rest;
  await init();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, request }, transfer);
  });
}

/** Run an audit; resolves to the report (the same fields as the CLI's JSON). */
export async function audit(args) {
  return (await runAudit(args)).report;
}
