// The CNN half of `npm run bench` (benches/bench.mjs calls it; not a test, nothing fails on speed):
//
// 1. Reference training: the offline audit of the image demo (www/demo/digits_cnn.onnx, the
//    digits PNG zips; K = 2 references, Adam lr 3e-3, batch 25), natively with the CLI (CPU and
//    wgpu) and in headless Chromium through the JS API (CPU fallback and WebGPU; a software
//    adapter trains SOFTWARE_EPOCHS epochs and says so), next to benches/torch_cnn_reference.py
//    (the same training in PyTorch on the CPU), compared per reference-epoch.
// 2. Inference: the CNN fixture tests/fixtures/models/cnn_classic_bn.onnx (Conv, BN, MaxPool,
//    GlobalAveragePool, Gemm) on 2,000 records of 3×32×32 in Chromium: privaudit's engine
//    (modelLogits, CPU fallback and WebGPU) next to onnxruntime-web's wasm EP (1 thread: the
//    page is not cross-origin isolated, so privaudit's engine has 1 thread too; the two engines'
//    runs alternate in one page) and its WebGPU EP, from the same bytes; the logits are compared
//    with the wasm EP's.
//
// onnxruntime-web is a benchmark-only package: installed here with `npm install --no-save` if
// node_modules lacks it (the registry is reached by npm, never by the page), its files handed to
// the page from its own folder by the test browser's request routing.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const DEMO = `${ROOT}www/demo/`;
const IMAGES = `${DEMO}digits_images/`;
const ORT_VERSION = "1.31.1";
const RECORDS = 2000;
// Timed inference runs per row after the warm-up (the median is reported): the first runs of a
// page vary by up to 2× while the browser optimises the code, and this machine kind's speed
// drifts; one run on a software GPU.
const INFERENCE_RUNS = 11;

function nativeTraining({ backend, K, epochs, env }) {
  const out = `${ROOT}target/bench-cnn-${backend}.json`;
  const t0 = performance.now();
  execFileSync(`${ROOT}target/debug/privaudit`, ["audit", "-q", "--backend", backend, "--model", `${DEMO}digits_cnn.onnx`,
    "--members", `${IMAGES}members.zip`, "--nonmembers", `${IMAGES}nonmembers.zip`, "--population", `${IMAGES}population.zip`,
    "--attacks", "loss,lira,rmia", "--refs", String(K), "--mode", "offline", "--epochs", String(epochs), "--lr", "0.003", "--batch", "25",
    "--no-cache", "--out", out], { env, stdio: ["ignore", "ignore", "inherit"] });
  const r = JSON.parse(readFileSync(out, "utf8"));
  return { where: `native CLI, ${backend === "gpu" ? "wgpu" : "CPU"}`, references: K, epochs, backend: r.backend, total: (performance.now() - t0) / 1000,
    training: r.references.training_seconds, rmia: r.attacks.find((a) => a.name === "rmia_offline").auc, trainRecords: r.references.models[0].train_records };
}

function torchTraining({ K, epochs, n }) {
  try {
    const line = execFileSync("python3", [`${ROOT}benches/torch_cnn_reference.py`, String(K), String(epochs), String(n), "0.003", "25"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    const r = JSON.parse(line.trim().split("\n").at(-1));
    return { where: `PyTorch ${r.torch} CPU (${r.threads} threads), training only`, references: K, epochs, backend: "cpu", total: r.seconds, training: r.seconds, rmia: null, peer: true };
  } catch {
    return null;
  }
}

/** NPY bytes of float32 `x` shaped `shape`. */
function npy(x, shape) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")},), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const h = Buffer.alloc(10);
  h.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  h.writeUInt16LE(header.length, 8);
  return Buffer.concat([h, Buffer.from(header, "latin1"), Buffer.from(x.buffer, x.byteOffset, x.byteLength)]);
}

/** onnxruntime-web's dist folder, installed for the benchmark only if node_modules lacks it. */
function ortFolder() {
  const dist = `${ROOT}node_modules/onnxruntime-web/dist/`;
  if (!existsSync(dist)) {
    console.error(`note: installing onnxruntime-web@${ORT_VERSION} for the benchmark only (npm install --no-save)`);
    execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", `onnxruntime-web@${ORT_VERSION}`], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  }
  return dist;
}

export async function cnn({ arg, env, SOFTWARE_EPOCHS }) {
  const K = Number(arg("--cnn-refs", "2"));
  const EPOCHS = Number(arg("--cnn-epochs", "30"));
  const training = [];
  for (const backend of ["cpu", "gpu"]) {
    try { training.push(nativeTraining({ backend, K, epochs: EPOCHS, env })); } catch (e) { console.error(`native CNN ${backend}: ${e.message}`); }
  }
  // Seeded 3×32×32 records for inference.
  const x = new Float32Array(RECORDS * 3 * 32 * 32);
  let s = 7;
  for (let i = 0; i < x.length; i++) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 2 ** 32) * 2 - 1; }
  const files = { "cnn.onnx": readFileSync(`${ROOT}tests/fixtures/models/cnn_classic_bn.onnx`), "x.npy": npy(x, [RECORDS, 3, 32, 32]), "w.npy": npy(x.subarray(0, 64 * 3 * 32 * 32), [64, 3, 32, 32]), "x.f32": Buffer.from(x.buffer) };
  const server = await serve(0);
  const ortDir = ortFolder();
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--enable-unsafe-webgpu", "--no-sandbox"] });
  const inference = { model: "cnn_classic_bn.onnx", records: RECORDS, shape: "3×32×32", rows: [] };
  try {
    const page = await browser.newPage();
    await page.context().route(`${origin}/bench/*`, (r) => r.fulfill({ body: files[new URL(r.request().url()).pathname.split("/").pop()], contentType: "application/octet-stream" }));
    // onnxruntime-web's files, from its own folder (never part of the page's own assets).
    await page.context().route(`${origin}/ort/*`, (r) => {
      const name = new URL(r.request().url()).pathname.split("/").pop();
      r.fulfill({ body: readFileSync(join(ortDir, name)), contentType: name.endsWith(".wasm") ? "application/wasm" : "text/javascript" });
    });
    await page.goto(`${origin}/www/styles.css`);
    const adapter = await page.evaluate(async () => {
      const a = await navigator.gpu?.requestAdapter();
      const i = a?.info ?? {};
      return a ? `${i.vendor ?? ""} ${i.architecture ?? ""} ${i.description ?? ""}`.trim() : null;
    });
    const software = /swiftshader|llvmpipe|lavapipe/i.test(adapter ?? "");
    // Training in the browser, through the JS API.
    for (const backend of ["cpu", "gpu"]) {
      const epochs = backend === "gpu" && software ? SOFTWARE_EPOCHS : EPOCHS;
      try {
        const r = await page.evaluate(async ([be, epochs, K]) => {
          const { audit } = await import("/www/api.js");
          const get = async (p) => ({ name: p.split("/").pop(), bytes: new Uint8Array(await (await fetch(`/www/demo/${p}`)).arrayBuffer()) });
          const t0 = performance.now();
          const rep = await audit({ model: await get("digits_cnn.onnx"), members: await get("digits_images/members.zip"), nonmembers: await get("digits_images/nonmembers.zip"),
            population: await get("digits_images/population.zip"), backend: be, attacks: ["loss", "lira", "rmia"], references: K, mode: "offline",
            training: { epochs, learningRate: 0.003, batchSize: 25 }, cache: false });
          return { total: (performance.now() - t0) / 1000, backend: rep.backend, training: rep.references.training_seconds, rmia: rep.attacks.find((a) => a.name === "rmia_offline").auc };
        }, [backend, epochs, K]);
        training.push({ where: backend === "gpu" ? `Chromium, WebGPU${software ? ` (${adapter}, software)` : ""}` : "Chromium, CPU fallback", references: K, epochs, ...r });
      } catch (e) { console.error(`browser CNN ${backend}: ${e.message}`); }
    }
    // Inference on one thread: privaudit's engine (its module in the page, outside the worker,
    // to time the model alone) and onnxruntime-web's wasm EP in the same page, their runs
    // alternating, so that a machine whose speed drifts (these VMs' does, by up to 2× within a
    // minute) slows both alike.
    try {
      const r = await page.evaluate(async ([n, runs]) => {
        const { default: init, modelLogits } = await import("/www/pkg/privaudit.js");
        await init({ module_or_path: "/www/pkg/privaudit_bg.wasm" });
        const ort = await import("/ort/ort.wasm.min.mjs");
        ort.env.wasm.numThreads = 1;
        ort.env.wasm.wasmPaths = "/ort/";
        const get = async (f) => new Uint8Array(await (await fetch(`/bench/${f}`)).arrayBuffer());
        const [m, xnpy] = [await get("cnn.onnx"), await get("x.npy")];
        const session = await ort.InferenceSession.create(m, { executionProviders: ["wasm"] });
        const x = new Float32Array((await get("x.f32")).buffer);
        const per = 3 * 32 * 32;
        const feed = (a, b) => ({ [session.inputNames[0]]: new ort.Tensor("float32", x.subarray(a * per, b * per), [b - a, 3, 32, 32]) });
        // Warm-up: 64 records, then one full run each (onnxruntime-web's first large run is
        // 2–3× slower than its steady state).
        await modelLogits(m, undefined, await get("w.npy"), "cpu");
        await session.run(feed(0, 64));
        await modelLogits(m, undefined, xnpy, "cpu");
        await session.run(feed(0, n));
        const mine = [], theirs = [];
        let ours, logits;
        for (let i = 0; i < runs; i++) {
          let t0 = performance.now();
          ours = await modelLogits(m, undefined, xnpy, "cpu");
          mine.push((performance.now() - t0) / 1000);
          t0 = performance.now();
          const out = await session.run(feed(0, n));
          logits = [...(await out[session.outputNames[0]].getData())];
          theirs.push((performance.now() - t0) / 1000);
        }
        const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
        return { mine: { seconds: median(mine), runs, backend: ours.backend, logits: [...ours.logits] }, ort: { seconds: median(theirs), runs, logits } };
      }, [RECORDS, INFERENCE_RUNS]);
      inference.rows.push({ where: `privaudit, Chromium, ${r.mine.backend === "cpu" ? "CPU fallback" : r.mine.backend}`, threads: 1, ...r.mine });
      inference.rows.push({ where: `onnxruntime-web ${ORT_VERSION}, Chromium, wasm EP`, threads: 1, peer: "wasm", ...r.ort });
    } catch (e) { console.error(`CPU inference: ${e.message}`); }
    // On the GPU: one row each, one run on a software adapter.
    try {
      const r = await page.evaluate(async (runs) => {
        const { default: init, modelLogits } = await import("/www/pkg/privaudit.js");
        await init({ module_or_path: "/www/pkg/privaudit_bg.wasm" });
        const get = async (n) => new Uint8Array(await (await fetch(`/bench/${n}`)).arrayBuffer());
        const [m, x] = [await get("cnn.onnx"), await get("x.npy")];
        await modelLogits(m, undefined, await get("w.npy"), "gpu"); // warm-up: 64 records
        const times = [];
        let out;
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          out = await modelLogits(m, undefined, x, "gpu");
          times.push((performance.now() - t0) / 1000);
        }
        return { seconds: times.sort((a, b) => a - b)[runs >> 1], runs, backend: out.backend, logits: [...out.logits] };
      }, software ? 1 : INFERENCE_RUNS);
      inference.rows.push({ where: `privaudit, Chromium, WebGPU${software ? " (software)" : ""}`, threads: 1, ...r });
    } catch (e) { console.error(`privaudit inference gpu: ${e.message}`); }
    try {
      const r = await page.evaluate(async ([n, runs]) => {
        const ort = await import("/ort/ort.webgpu.min.mjs");
        ort.env.wasm.numThreads = 1;
        ort.env.wasm.wasmPaths = "/ort/";
        const get = async (f) => new Uint8Array(await (await fetch(`/bench/${f}`)).arrayBuffer());
        const session = await ort.InferenceSession.create(await get("cnn.onnx"), { executionProviders: ["webgpu"] });
        const x = new Float32Array((await get("x.f32")).buffer);
        const per = 3 * 32 * 32;
        const feed = (a, b) => ({ [session.inputNames[0]]: new ort.Tensor("float32", x.subarray(a * per, b * per), [b - a, 3, 32, 32]) });
        await session.run(feed(0, 64));
        const times = [];
        let logits;
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          const out = await session.run(feed(0, n));
          logits = [...(await out[session.outputNames[0]].getData())];
          times.push((performance.now() - t0) / 1000);
        }
        return { seconds: times.sort((a, b) => a - b)[runs >> 1], runs, logits };
      }, [RECORDS, software ? 1 : INFERENCE_RUNS]);
      inference.rows.push({ where: `onnxruntime-web ${ORT_VERSION}, Chromium, webgpu EP${software ? " (software)" : ""}`, threads: 1, peer: "webgpu", ...r });
    } catch (e) { console.error(`onnxruntime-web webgpu: ${e.message}`); }
  } finally {
    await browser.close();
    server.close();
  }
  const base = inference.rows.find((r) => r.peer === "wasm");
  for (const r of inference.rows) r.maxDiff = base && r !== base ? r.logits.reduce((m, v, i) => Math.max(m, Math.abs(v - base.logits[i])), 0) : null;
  for (const r of inference.rows) delete r.logits;
  const n = training.find((r) => r.trainRecords)?.trainRecords;
  const peer = n ? torchTraining({ K, epochs: EPOCHS, n }) : null;
  if (peer) training.push(peer);
  return { references: K, epochs: EPOCHS, training, inference };
}
