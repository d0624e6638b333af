// One worker of the pool the CPU fallback trains reference models on (started by worker.js;
// see src/audit/parallel.rs). It has its own single-threaded instance of the engine and trains
// the references it is given, one at a time, with the same code the engine would run itself:
// the result is the same whichever worker trains which reference.
//
// Messages in: {type: "init", module?, context} once (module: the engine's compiled
// WebAssembly.Module, shared so it is not fetched and compiled again; context: what every
// reference shares), then {type: "job", job} per reference. Messages out: {type: "ready"} or
// {type: "failed", message} once the engine is loaded or not, then per job:
// {type: "epoch", index, epoch, loss}, then {type: "done", result} or {type: "error", index,
// message, error?} (error: the engine's error as JSON).
import initWasm, { trainReference } from "./pkg/privaudit.js";

let ready = null;
let context = null;

self.onmessage = async (ev) => {
  const m = ev.data;
  if (m.type === "init") {
    context = m.context;
    ready = initWasm({ module_or_path: m.module ?? new URL("./pkg/privaudit_bg.wasm", import.meta.url) });
    ready.then(() => postMessage({ type: "ready" }), (e) => postMessage({ type: "failed", message: e?.message ?? String(e) }));
    return;
  }
  if (m.type !== "job") return;
  const index = m.job.index;
  try {
    await ready;
    // Progress at most every 100 ms (and the last epoch): a message per epoch from a nested
    // worker costs Chromium ~10 ms to deliver, which held back the whole pool (measured
    // 2026-12-05: 8.1 s instead of 2.6 s for the demo's 4 references).
    let last = 0, held = null;
    const result = await trainReference(context, m.job, (epoch, loss) => {
      held = { type: "epoch", index, epoch, loss };
      const now = performance.now();
      if (now - last < 100) return;
      last = now;
      postMessage(held);
      held = null;
    });
    if (held) postMessage(held);
    postMessage({ type: "done", result }, [result.logits.buffer, result.losses.buffer]);
  } catch (e) {
    postMessage({ type: "error", index, message: e?.message ?? String(e), error: e?.privaudit });
  }
};
