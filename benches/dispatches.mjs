// Kernel launches and time per reference-epoch of the browser engine on WebGPU: what decides
// whether burn's `fusion` feature pays (issue 10), and what any later change to the WebGPU path
// is measured by. Not a test; prints a table and writes target/dispatches.json.
//
// The engine runs in the page itself (not in api.js's worker: a page's init script does not reach
// a worker), with GPUComputePassEncoder.dispatchWorkgroups(Indirect) and GPUQueue.submit wrapped
// to count. Each case trains K = 2 offline references twice, for E1 and E2 epochs; the difference
// divided by 2·(E2 − E1) is per reference-epoch, free of set-up and inference; a first run at E1
// compiles the shaders and is not counted.
//
// Usage: node benches/dispatches.mjs [--label NAME] [--e1 2 --e2 4]   (needs `npm run build`)
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const LABEL = arg("--label", "current build");
const [E1, E2] = [Number(arg("--e1", "2")), Number(arg("--e2", "4"))];
const K = 2;
const CASES = [
  { name: "demo MLP (digits, 125 records/ref, batch 32)", model: "digits_mlp.onnx", members: "digits_members.csv", nonmembers: "digits_nonmembers.csv", options: { scale: 1 / 16 } },
  { name: "digits CNN (PNG zips, 125 records/ref, batch 25)", model: "digits_cnn.onnx", members: "digits_images/members.zip", nonmembers: "digits_images/nonmembers.zip", population: "digits_images/population.zip", options: { training: { learningRate: 0.003, batchSize: 25 } } },
];

const COUNT = () => {
  globalThis.__gpuCount = { dispatch: 0, submit: 0 };
  const wrap = (proto, name, key) => {
    const f = proto?.[name];
    if (!f) return;
    proto[name] = function (...a) { globalThis.__gpuCount[key]++; return f.apply(this, a); };
  };
  wrap(globalThis.GPUComputePassEncoder?.prototype, "dispatchWorkgroups", "dispatch");
  wrap(globalThis.GPUComputePassEncoder?.prototype, "dispatchWorkgroupsIndirect", "dispatch");
  wrap(globalThis.GPUQueue?.prototype, "submit", "submit");
};

const server = await serve(0);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--enable-unsafe-webgpu", "--no-sandbox"] });
const rows = [];
try {
  const page = await browser.newPage();
  await page.addInitScript(COUNT);
  await page.goto(`${origin}/www/styles.css`);
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    return a ? `${a.info?.vendor ?? ""} ${a.info?.description ?? ""}`.trim() : null;
  });
  if (!adapter) throw new Error("no WebGPU adapter");
  await page.evaluate(async () => {
    const m = await import("/www/pkg/privaudit.js");
    await m.default({ module_or_path: "/www/pkg/privaudit_bg.wasm" });
    globalThis.__engine = m;
  });
  for (const c of CASES) {
    const runs = [];
    // The first run compiles the shaders: a warm-up, not counted.
    for (const epochs of [E1, E1, E2]) {
      runs.push(await page.evaluate(async ([c, epochs, K]) => {
        const get = async (p) => p && ({ name: p.split("/").pop(), bytes: new Uint8Array(await (await fetch(`/www/demo/${p}`)).arrayBuffer()) });
        const request = { model: await get(c.model), members: await get(c.members), nonmembers: await get(c.nonmembers) };
        if (c.population) request.population = await get(c.population);
        const training = { ...(c.options.training ?? {}), epochs };
        request.options = { ...c.options, training, backend: "gpu", attacks: ["loss", "lira"], references: K, mode: "offline" };
        const before = { ...globalThis.__gpuCount };
        const t0 = performance.now();
        const r = await globalThis.__engine.runAudit(request, () => {});
        return {
          seconds: (performance.now() - t0) / 1000,
          training: r.report.references.training_seconds,
          backend: r.report.backend,
          dispatch: globalThis.__gpuCount.dispatch - before.dispatch,
          submit: globalThis.__gpuCount.submit - before.submit,
        };
      }, [c, epochs, K]));
    }
    const [, a, b] = runs;
    if (b.backend !== "webgpu") throw new Error(`${c.name} ran on ${b.backend}`);
    const per = K * (E2 - E1);
    rows.push({ case: c.name, dispatches: (b.dispatch - a.dispatch) / per, submits: (b.submit - a.submit) / per, ms: (1000 * (b.training - a.training)) / per, adapter });
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`\nWebGPU per reference-epoch (${LABEL}; K=${K}, epochs ${E1} vs ${E2})`);
console.log("case".padEnd(52) + "dispatches".padStart(12) + "submits".padStart(10) + "ms".padStart(10) + "  adapter");
for (const r of rows) console.log(r.case.padEnd(52) + r.dispatches.toFixed(0).padStart(12) + r.submits.toFixed(0).padStart(10) + r.ms.toFixed(0).padStart(10) + `  ${r.adapter}`);
const out = `${ROOT}target/dispatches.json`;
const all = existsSync(out) ? JSON.parse(readFileSync(out, "utf8")) : {};
all[LABEL] = rows;
writeFileSync(out, JSON.stringify(all, null, 1));
