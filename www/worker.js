// The worker owns the wasm engine. Messages in: {id, request}. Messages out:
// {type:"ready"} once, then per audit {type:"progress", id, stage, fraction, message},
// and one {type:"result", id, result} or {type:"error", id, message}.
import initWasm, { runAudit } from "./pkg/privaudit.js";

const ready = initWasm({ module_or_path: new URL("./pkg/privaudit_bg.wasm", import.meta.url) });
ready.then(
  () => postMessage({ type: "ready" }),
  (e) => postMessage({ type: "fatal", message: `cannot load the privaudit engine: ${e?.message ?? e}` }),
);

let queue = Promise.resolve();

self.onmessage = (ev) => {
  const { id, request } = ev.data;
  queue = queue.then(async () => {
    try {
      await ready;
      const result = await runAudit(request, (p) => postMessage({ type: "progress", id, ...p }));
      postMessage({ type: "result", id, result });
    } catch (e) {
      // A wasm trap (RuntimeError) leaves the instance unusable: say so, so the owner restarts us.
      const fatal = e instanceof WebAssembly.RuntimeError;
      postMessage({ type: "error", id, message: e?.message ?? String(e), fatal });
    }
  });
};
