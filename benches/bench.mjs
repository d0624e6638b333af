// `npm run bench`: the full offline audit of the demo with K = 4 trained references (threshold
// attacks, Attack-P, LiRA, RMIA; Adam, lr 1e-3, 100 epochs, batch 32), timed on this machine:
//   - natively with the CLI (target/debug/privaudit: dependencies are built at opt-level 2), on
//     the CPU (burn flex) and on wgpu (Vulkan; Mesa lavapipe where there is no GPU),
//   - in headless Chromium through the JS API, on WebGPU and on the CPU fallback,
//   - next to benches/torch_reference.py (the same training in PyTorch on the CPU), if torch is
//     installed.
// A benchmark, not a test: it prints a table and writes target/bench.json; nothing fails on speed.
//
// Usage: npm run bench [-- --epochs N] (needs `cargo build --bin privaudit` and `npm run build`).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const DEMO = `${ROOT}www/demo/`;
const arg = (k, d) => { const i = process.argv.indexOf(k); return i > 0 ? process.argv[i + 1] : d; };
const EPOCHS = Number(arg("--epochs", "100"));
const K = 4;
const rows = [];

// Without a GPU (/dev/dri), native wgpu runs on Mesa lavapipe, a CPU Vulkan driver.
const LAVAPIPE = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
const env = { ...process.env };
if (!env.VK_DRIVER_FILES && existsSync(LAVAPIPE) && !existsSync("/dev/dri")) {
  env.VK_DRIVER_FILES = LAVAPIPE;
  console.error("note: no /dev/dri, so native wgpu runs on Mesa lavapipe (a CPU Vulkan driver)");
}

function native(backend) {
  const out = `${ROOT}target/bench-${backend}.json`;
  const t0 = performance.now();
  execFileSync(`${ROOT}target/debug/privaudit`, ["audit", "-q", "--backend", backend, "--scale", "0.0625", "--model", `${DEMO}digits_mlp.onnx`,
    "--members", `${DEMO}digits_members.csv`, "--nonmembers", `${DEMO}digits_nonmembers.csv`, "--attacks", "threshold,attack_p,lira,rmia",
    "--refs", String(K), "--mode", "offline", "--epochs", String(EPOCHS), "--no-cache", "--out", out], { env, stdio: ["ignore", "ignore", "inherit"] });
  const total = (performance.now() - t0) / 1000;
  const r = JSON.parse(readFileSync(out, "utf8"));
  const how = backend === "gpu" ? "" : ` (${(r.references.parallelism ?? "").replace(/^\d+ references trained /, "").replace(/ \(.*\)$/, "")})`;
  return { where: `native CLI, ${backend === "gpu" ? "wgpu" : "CPU"}${how}`, epochs: EPOCHS, backend: r.backend, total, training: r.references.training_seconds, rmia: r.attacks.find((a) => a.name === "rmia_offline").auc };
}

// SwiftShader (Chromium's software WebGPU, what a machine without a GPU gets) takes ~5 ms per
// kernel launch, ~3 s per epoch here; on such an adapter the WebGPU row trains fewer epochs
// (--software-epochs, default 5) and says so. Rates are compared per reference-epoch.
const SOFTWARE_EPOCHS = Number(arg("--software-epochs", "5"));

async function browserRuns() {
  const server = await serve(0);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--enable-unsafe-webgpu", "--no-sandbox"] });
  const out = [];
  try {
    const page = await browser.newPage();
    await page.goto(origin + "/");
    await page.waitForSelector('body[data-state="done"]', { timeout: 600_000 });
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      const i = a?.info ?? {};
      return a ? `${i.vendor ?? ""} ${i.architecture ?? ""} ${i.description ?? ""}`.trim() : null;
    });
    const software = /swiftshader|llvmpipe|lavapipe/i.test(adapter ?? "");
    // WebGPU, then the CPU fallback three ways: its first audit in this tab (the engine's wasm is
    // still being optimised by the browser as it runs), the same on one worker (`workers: 1`,
    // today's single thread), and again side by side in every core's worker, warm.
    const runs = [["gpu", undefined, ""], ["cpu", undefined, ", first audit in the tab"], ["cpu", 1, ", warm"], ["cpu", undefined, ", warm"]];
    for (const [backend, workers, when] of runs) {
      const epochs = backend === "gpu" && software ? SOFTWARE_EPOCHS : EPOCHS;
      const bytes = (p) => [...readFileSync(p)];
      const r = await page.evaluate(async ([m, a, b, be, epochs, workers]) => {
        const { audit } = await import("/www/api.js");
        const t0 = performance.now();
        const rep = await audit({ model: new Uint8Array(m), members: new Uint8Array(a), nonmembers: new Uint8Array(b), scale: 1 / 16, backend: be,
          attacks: ["threshold", "attack_p", "lira", "rmia"], references: 4, mode: "offline", training: { epochs }, cache: false, workers });
        return { total: (performance.now() - t0) / 1000, backend: rep.backend, training: rep.references.training_seconds, rmia: rep.attacks.find((x) => x.name === "rmia_offline").auc,
          how: (rep.references.parallelism ?? "").replace(/^\d+ references trained /, "").replace(/ \(.*\)$/, "") };
      }, [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`), backend, epochs, workers]);
      const where = backend === "gpu" ? `Chromium, WebGPU${software ? ` (${adapter}, software)` : ""}` : `Chromium, CPU fallback (${r.how}${when})`;
      out.push({ where, epochs, ...r });
    }
  } finally {
    await browser.close();
    server.close();
  }
  return out;
}

function torch(threads) {
  try {
    const line = execFileSync("python3", [`${ROOT}benches/torch_reference.py`, String(K), String(EPOCHS), ...(threads ? [String(threads)] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const r = JSON.parse(line.trim().split("\n").at(-1));
    return { where: `PyTorch ${r.torch} CPU (${r.threads} threads), training only`, epochs: EPOCHS, backend: "cpu", total: r.seconds, training: r.seconds, rmia: null };
  } catch {
    return null;
  }
}

const host = execFileSync("sh", ["-c", "nproc; grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: "utf8" }).trim().split("\n");
const ONLY = arg("--only", "all"); // mlp | cnn | duplicates | profile | all
const perEpoch = (r) => r.training / (r.references * r.epochs);
const table = (title, rows, peer) => {
  console.log(`\n${title}, on ${host[0]} cores (${host[1]?.trim()})`);
  console.log("where".padEnd(84) + "ran on".padEnd(8) + "epochs".padStart(7) + "total s".padStart(9) + "training s".padStart(12) + "ms/ref-epoch".padStart(14) + "vs PyTorch".padStart(12) + "RMIA AUC".padStart(10));
  for (const r of rows) {
    const ratio = peer && r !== peer ? `${(perEpoch(peer) / perEpoch(r)).toFixed(2)}×` : "";
    console.log(r.where.padEnd(84) + r.backend.padEnd(8) + String(r.epochs).padStart(7) + r.total.toFixed(1).padStart(9) + r.training.toFixed(1).padStart(12) + (1000 * perEpoch(r)).toFixed(1).padStart(14) + ratio.padStart(12) + (r.rmia == null ? "" : r.rmia.toFixed(4)).padStart(10));
  }
  console.log("vs PyTorch: PyTorch's time per reference-epoch / ours (> 1 means privaudit is faster). Training includes running each reference on all records.");
};
const result = { host };

if (ONLY === "all" || ONLY === "mlp") {
  for (const b of ["cpu", "gpu"]) {
    try { rows.push({ references: K, ...native(b) }); } catch (e) { console.error(`native ${b}: ${e.message}`); }
  }
  try { rows.push(...(await browserRuns()).map((r) => ({ references: K, ...r }))); } catch (e) { console.error(`browser: ${e.message}`); }
  const peer = torch();
  if (peer) rows.push({ references: K, ...peer, peer: true });
  // The same thread count as one worker.
  const single = peer && peer.where.includes("(1 threads)") ? null : torch(1);
  if (single) rows.push({ references: K, ...single, where: single.where.replace("(1 threads)", "(1 thread)") });
  table(`offline audit of the demo, K=${K} references × ${EPOCHS} epochs`, rows, rows.find((r) => r.peer));
  Object.assign(result, { epochs: EPOCHS, references: K, rows });
}
if (ONLY === "all" || ONLY === "cnn") {
  const { cnn } = await import("./cnn.mjs");
  const out = await cnn({ arg, env, SOFTWARE_EPOCHS });
  table(`offline audit of the image demo (digits CNN on PNG zips), K=${out.references} references × ${out.epochs} epochs`, out.training, out.training.find((r) => r.peer));
  console.log(`\nCNN inference (${out.inference.model}, ${out.inference.records} records of ${out.inference.shape}), after a warm-up: the median of ${out.inference.rows[0]?.runs ?? 1} runs (1 on a software GPU)`);
  console.log("where".padEnd(84) + "threads".padStart(8) + "seconds".padStart(9) + "records/s".padStart(11) + "vs ORT-web wasm".padStart(17) + "max |Δlogit|".padStart(14));
  const base = out.inference.rows.find((r) => r.peer === "wasm");
  for (const r of out.inference.rows) {
    const ratio = base && r !== base && r.seconds ? `${(base.seconds / r.seconds).toFixed(2)}×` : "";
    console.log(r.where.padEnd(84) + String(r.threads).padStart(8) + r.seconds.toFixed(2).padStart(9) + (out.inference.records / r.seconds).toFixed(0).padStart(11) + ratio.padStart(17) + (r.maxDiff == null ? "" : r.maxDiff.toExponential(1)).padStart(14));
  }
  console.log("vs ORT-web wasm: onnxruntime-web's wasm EP time / ours (> 1 means privaudit is faster); Δlogit against onnxruntime-web's wasm EP.");
  result.cnn = out;
}
if (ONLY === "all" || ONLY === "duplicates") {
  const { duplicates } = await import("./duplicates.mjs");
  const d = duplicates({ env });
  console.log(`\nduplicate search over ${d.records.toLocaleString("en")} tabular records (64 features, 1 % planted copies), the search alone`);
  console.log("where".padEnd(40) + "seconds".padStart(9) + "copies in members".padStart(19) + "non-members copying".padStart(21) + "vs numpy".padStart(10));
  const base = d.rows.find((r) => r.peer);
  for (const r of d.rows) {
    const ratio = base && r !== base ? `${(base.seconds / r.seconds).toFixed(2)}×` : "";
    console.log(r.where.padEnd(40) + r.seconds.toFixed(3).padStart(9) + String(r.within).padStart(19) + String(r.across).padStart(21) + ratio.padStart(10));
  }
  console.log(`vs numpy: numpy's time / ours (> 1 means privaudit is faster); the whole CLI audit of the 100,000 records took ${d.total.toFixed(1)} s.`);
  result.duplicates = d;
}
if (ONLY === "all" || ONLY === "profile") {
  const { profile, print } = await import("./profile.mjs");
  const p = await profile();
  print(p);
  result.profile = p;
}
writeFileSync(`${ROOT}target/bench.json`, JSON.stringify(result, null, 1));
