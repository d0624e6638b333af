// The worker owns the wasm engine. Messages in: {type:"audit", id, request}, {type:"compare",
// id, request} (several models on the same records),
// {type:"zipImages", id, request: {name, bytes, ids}} (images of a zipped set, by the audit's
// paths) and {type:"cancel", id} (a queued request is skipped). Messages out: {type:"ready"} once (or
// {type:"fatal", message} if the engine cannot load), then per audit {type:"started", id},
// {type:"progress", id, stage, fraction, message}, and one {type:"result", id, result} or
// {type:"error", id, message, fatal}.
import initWasm, { runAudit, runCompare, referenceCacheKey, zipImages } from "./pkg/privaudit.js";

const ready = initWasm({ module_or_path: new URL("./pkg/privaudit_bg.wasm", import.meta.url) });
ready.then(
  () => postMessage({ type: "ready" }),
  (e) => postMessage({ type: "fatal", message: `cannot load the privaudit engine: ${e?.message ?? e}` }),
);

let queue = Promise.resolve();

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
      if (request.options) delete request.options.cache;
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
