// The worker owns the wasm engine. Messages in: {type:"audit", id, request}, {type:"compare",
// id, request} (several models on the same records),
// {type:"zipImages", id, request: {name, bytes, ids}} (images of a zipped set, by the audit's
// paths) and {type:"cancel", id} (a queued request is skipped). Messages out: {type:"ready"} once (or
// {type:"fatal", message} if the engine cannot load), then per audit {type:"started", id},
// {type:"progress", id, stage, fraction, message}, and one {type:"result", id, result} or
// {type:"error", id, message, fatal}.
import initWasm, { runAudit, runCompare, referenceCacheKey, zipImages, setReferenceTrainer } from "./pkg/privaudit.js";

// The engine is built with WebAssembly SIMD (.cargo/config.toml): say so plainly where a browser
// lacks it, rather than fail to compile it. The probe is a function using i8x16.splat/popcnt.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
const WASM_URL = new URL("./pkg/privaudit_bg.wasm", import.meta.url);

// Compiled once here and handed to the reference trainers (trainer.js), which would otherwise
// each fetch and compile the same 11 MB module.
let engineModule = null;
async function compileEngine() {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    throw new Error("this browser does not run WebAssembly SIMD, which the privaudit engine needs (Chrome and Edge 91+, Firefox 89+, Safari 16.4+ do)");
  }
  const res = await fetch(WASM_URL);
  if (!res.ok) throw new Error(`${WASM_URL.pathname}: HTTP ${res.status}`);
  try {
    return await WebAssembly.compileStreaming(res.clone());
  } catch {
    // A server that does not send application/wasm: compile from the bytes.
    return WebAssembly.compile(await res.arrayBuffer());
  }
}
const ready = compileEngine().then(async (module) => {
  engineModule = module;
  await initWasm({ module_or_path: module });
  setReferenceTrainer(typeof Worker === "function" ? trainReferences : undefined);
});
ready.then(
  () => postMessage({ type: "ready" }),
  (e) => postMessage({ type: "fatal", message: `cannot load the privaudit engine: ${e?.message ?? e}` }),
);

let queue = Promise.resolve();

// The CPU fallback's reference models, side by side: a pool of workers (trainer.js), one per
// core up to the number of references (and 8), each training whole references with its own
// instance of the engine, so an audit without WebGPU uses every core without shared memory or
// cross-origin isolation. The engine drives it (setReferenceTrainer above) through this async
// iterator of events; see src/wasm.rs. Each trainer holds a copy of the records, so the pool is
// smaller where they are large (at most POOL_BYTES of copies).
const MAX_TRAINERS = 8, POOL_BYTES = 1 << 30;
let maxTrainers = MAX_TRAINERS; // this request's `workers` option
async function* trainReferences(context, jobs) {
  const cores = Math.max(1, navigator.hardwareConcurrency || 1);
  const copy = context.eval.byteLength + context.model.bytes.byteLength + (context.modelData?.bytes.byteLength ?? 0);
  // The pool's size is the tightest of these limits, and the report says which one it was.
  const [n, limit] = [
    [jobs.length, jobs.length === 1 ? "one reference" : "one per reference"],
    [cores, cores === 1 ? "the browser reports 1 core" : `navigator.hardwareConcurrency ${cores}`],
    [maxTrainers, maxTrainers === MAX_TRAINERS ? `at most ${MAX_TRAINERS}` : `workers: ${maxTrainers}`],
    [Math.max(1, Math.floor(POOL_BYTES / Math.max(1, copy))), `each holds a ${(copy / 2 ** 20).toFixed(0)} MB copy of the records, at most ${POOL_BYTES / 2 ** 30} GB in all`],
  ].reduce((a, b) => (b[0] < a[0] ? b : a));
  if (n < 2) {
    yield { type: "unavailable", why: limit };
    return;
  }
  const events = [];
  let wake = null;
  const push = (e) => {
    events.push(e);
    wake?.();
    wake = null;
  };
  const nextEvent = async () => {
    while (!events.length) await new Promise((r) => (wake = r));
    return events.shift();
  };
  const workers = [];
  let next = 0;
  const give = (w) => {
    if (next < jobs.length) w.postMessage({ type: "job", job: jobs[next++] });
  };
  try {
    for (let i = 0; i < n; i++) {
      const w = new Worker(new URL("./trainer.js", import.meta.url), { type: "module", name: `privaudit-trainer-${i}` });
      workers.push(w);
      w.onmessage = (ev) => {
        push(ev.data);
        if (ev.data.type === "done") give(w);
      };
      w.onerror = (e) => {
        e.preventDefault?.();
        push({ type: "error", message: `a reference-training worker failed: ${e.message || "it could not load trainer.js"}` });
      };
      try {
        w.postMessage({ type: "init", module: engineModule, context });
      } catch {
        // A browser that cannot hand a compiled module to a worker: it loads the file itself.
        w.postMessage({ type: "init", context });
      }
    }
  } catch (e) {
    for (const w of workers) w.terminate();
    yield { type: "unavailable", why: `Web Workers cannot be started here (${e?.message ?? e})` };
    return;
  }
  // Every trainer must load its engine (a page that went offline after loading cannot fetch
  // trainer.js): else the references are trained in this worker instead, one after another.
  let loaded = 0, failure = null;
  while (loaded < n && !failure) {
    const e = await nextEvent();
    if (e.type === "ready") loaded++;
    else if (e.type === "failed" || e.type === "error") failure = e.message;
  }
  if (failure) {
    for (const w of workers) w.terminate();
    yield { type: "unavailable", why: `the Web Workers to train them on did not start: ${failure}` };
    return;
  }
  for (const w of workers) give(w);
  try {
    yield { type: "pool", how: `${jobs.length} references trained side by side in ${n} Web Workers on the CPU (${limit})` };
    for (let done = 0; done < jobs.length; ) {
      const e = await nextEvent();
      if (e.type === "done") done++;
      if (e.type === "error") {
        for (const w of workers) w.terminate();
      }
      yield e;
      if (e.type === "error") return;
    }
  } finally {
    for (const w of workers) w.terminate();
  }
}

// Trained reference models are kept in this origin's IndexedDB (on this machine only), keyed by
// a hash of the inputs and settings, so the same audit does not train them again.
const DB = "privaudit", STORE = "references", KEEP = 8;
function db() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
async function cacheGet(key) {
  try {
    const d = await db();
    return await new Promise((resolve) => {
      const r = d.transaction(STORE).objectStore(STORE).get(key);
      r.onsuccess = () => resolve(r.result?.bytes);
      r.onerror = () => resolve(undefined);
    });
  } catch { return undefined; }
}
async function cachePut(key, bytes) {
  try {
    const d = await db();
    const store = d.transaction(STORE, "readwrite").objectStore(STORE);
    store.put({ bytes, time: Date.now() }, key);
    // Keep the newest few: each entry holds every reference's outputs on every record.
    const all = store.getAll(), keys = store.getAllKeys();
    keys.onsuccess = () => {
      const entries = keys.result.map((k, i) => [k, all.result?.[i]?.time ?? 0]).sort((a, b) => b[1] - a[1]);
      for (const [k] of entries.slice(KEEP)) store.delete(k);
    };
  } catch { /* no IndexedDB (private mode): references are trained each time */ }
}

const cancelled = new Set();

self.onmessage = (ev) => {
  const { type, id, request } = ev.data;
  if (type === "cancel") {
    cancelled.add(id);
    return;
  }
  queue = queue.then(async () => {
    if (cancelled.delete(id)) return;
    try {
      await ready;
      postMessage({ type: "started", id });
      if (type === "zipImages") {
        postMessage({ type: "result", id, result: zipImages(request.name, request.bytes, request.ids) });
        return;
      }
      const useCache = request.options?.cache !== false;
      const workers = request.options?.workers;
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) throw new Error(`option 'workers': expected a whole number ≥ 1, got ${JSON.stringify(workers)}`);
      maxTrainers = workers ?? MAX_TRAINERS;
      if (request.options) {
        delete request.options.cache;
        delete request.options.workers;
      }
      if (type === "compare") {
        // Kept references of each model's architecture (several models may share one).
        const { models, ...rest } = request;
        const keys = useCache ? models.map((m) => referenceCacheKey({ ...rest, model: m.model, modelData: m.modelData })).filter(Boolean) : [];
        request.cachedReferences = (await Promise.all([...new Set(keys)].map(cacheGet))).filter(Boolean);
        const result = await runCompare(request, (p) => postMessage({ type: "progress", id, ...p }));
        for (const a of result.audits) {
          if (a.referenceCache && useCache) await cachePut(a.referenceCache.key, a.referenceCache.bytes);
          delete a.referenceCache;
        }
        postMessage({ type: "result", id, result });
        return;
      }
      const key = useCache ? referenceCacheKey(request) : undefined;
      if (key) request.cachedReferences = await cacheGet(key);
      const result = await runAudit(request, (p) => postMessage({ type: "progress", id, ...p }));
      if (result.referenceCache) {
        await cachePut(result.referenceCache.key, result.referenceCache.bytes);
        delete result.referenceCache;
      }
      postMessage({ type: "result", id, result });
    } catch (e) {
      // A wasm trap (RuntimeError) leaves the instance unusable: say so, so the owner restarts us.
      const fatal = e instanceof WebAssembly.RuntimeError;
      postMessage({ type: "error", id, message: e?.message ?? String(e), fatal });
    }
  });
};
