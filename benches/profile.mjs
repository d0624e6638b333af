// `node benches/profile.mjs` (also `npm run bench -- --only profile`): where the CPU fallback's
// time goes, per reference-epoch, on the demo's offline audit (K = 4 references × 100 epochs).
//   - in Chromium: the engine on one page thread, sampled by V8's profiler through the Chrome
//     DevTools Protocol (100 µs) after a warm-up audit; the wasm functions carry their Rust names
//     (the module's name section);
//   - natively: the CLI on one thread (PRIVAUDIT_THREADS=1) under `perf record` (if perf is
//     installed; the dev build `npm test` makes, dependencies at opt-level 1).
// Only samples taken inside a reference's job count (parallel::run_job: training it, then running
// it on every record: in Chromium, the samples under that function; natively, the thread the
// jobs run on); each one's own function is put in one category by its name. A
// benchmark, not a test.
import { execFileSync } from "node:child_process";
import { readFileSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../scripts/serve.mjs";

const ROOT = new URL("../", import.meta.url).pathname;
const DEMO = `${ROOT}www/demo/`;
const K = 4, EPOCHS = 100;

// First match wins.
const CATEGORIES = [
  ["matrix products (gemm)", /gemm|matmul/i],
  ["allocation", /dlmalloc|__rust_alloc|__rust_dealloc|__rust_realloc|alloc::raw_vec|alloc::alloc|\bmalloc\b|\bfree\b|_int_malloc|_int_free|cfree|realloc/],
  ["copies (memcpy, memmove, memset)", /memcpy|memmove|memset|copy_from_slice|clone_from_slice/],
  ["other CPU kernels (burn-flex, macerator)", /burn_flex|macerator|pulp|burn_ndarray/],
  ["autodiff bookkeeping (burn-autodiff)", /burn_autodiff/],
  ["tensor and dispatch layers (burn-tensor, -backend, -dispatch, -ir, -std)", /burn_tensor|burn_backend|burn_dispatch|burn_ir|burn_std|burn_core|burn::/],
  ["privaudit's graph interpreter", /privaudit::model::interp/],
  ["privaudit's training loop and the rest of privaudit", /privaudit/],
  ["Rust std and core (hashing, formatting, iterators)", /\bcore::|\bstd::|hashbrown|alloc::/],
  ["JS↔wasm glue and JS", /^__wbg_|^__wbindgen_/],
];

function categorise(entries, total) {
  const sums = new Map();
  for (const [name, url, t] of entries) {
    const hit = CATEGORIES.find(([, re]) => re.test(name)) ?? (url?.endsWith(".js") ? CATEGORIES.at(-1) : undefined);
    const c = hit ? hit[0] : name.startsWith("(") ? `${name.replace(/[()]/g, "")} (the engine's own thread)` : "other";
    sums.set(c, (sums.get(c) ?? 0) + t);
  }
  return [...sums].sort((a, b) => b[1] - a[1]).map(([c, t]) => ({ category: c, share: t / total, msPerRefEpoch: t / (K * EPOCHS) }));
}

/** The functions with the most samples of their own (Rust hashes cut off). */
function top(entries, total, n = 12) {
  const by = new Map();
  for (const [name, , t] of entries) {
    const key = name.replace(/::h[0-9a-f]{16}$/, "");
    by.set(key, (by.get(key) ?? 0) + t);
  }
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, t]) => ({ name, share: t / total }));
}

async function browser() {
  const server = await serve(0);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const b = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await b.newPage();
    await page.goto(`${origin}/www/pkg/privaudit.js`); // any page of the origin: the engine is imported below
    const bytes = (p) => [...readFileSync(p)];
    const files = [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)];
    const run = () => page.evaluate(async ([m, a, n, epochs]) => {
      const engine = await import("/www/pkg/privaudit.js");
      await engine.default({ module_or_path: "/www/pkg/privaudit_bg.wasm" });
      const file = (name, x) => ({ name, bytes: new Uint8Array(x) });
      const { report } = await engine.runAudit({ model: file("m.onnx", m), members: file("a.csv", a), nonmembers: file("b.csv", n),
        options: { scale: 1 / 16, backend: "cpu", attacks: ["threshold", "attack_p", "lira", "rmia"], references: 4, mode: "offline", training: { epochs } } });
      return report.references.training_seconds;
    }, [...files, EPOCHS]);
    await run(); // warm-up: the browser optimises the hot wasm functions as they run
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
    await cdp.send("Profiler.start");
    const training = await run();
    const { profile } = await cdp.send("Profiler.stop");
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    // Only the samples under a reference's training job (training, then running it on every record).
    const inJob = new Map();
    const underJob = (id) => {
      if (inJob.has(id)) return inJob.get(id);
      const p = parent.get(id);
      const v = /run_job/.test(byId.get(id).callFrame.functionName) || (p !== undefined && underJob(p));
      inJob.set(id, v);
      return v;
    };
    const self = new Map();
    profile.samples.forEach((id, i) => {
      if (underJob(id)) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
    const busy = [...self].map(([id, t]) => [byId.get(id).callFrame.functionName || "(anonymous)", byId.get(id).callFrame.url, t]);
    const total = busy.reduce((s, e) => s + e[2], 0);
    return { where: "Chromium, CPU fallback (one page thread, warm)", training, totalMs: total, split: categorise(busy, total), top: top(busy, total) };
  } finally {
    await b.close();
    server.close();
  }
}

function native() {
  if (!existsSync("/usr/bin/perf") || !existsSync(`${ROOT}target/debug/privaudit`)) return null;
  const data = `${ROOT}target/profile.perf`;
  execFileSync("perf", ["record", "-q", "-F", "4000", "-o", data, "--", `${ROOT}target/debug/privaudit`, "audit", "-q", "--backend", "cpu", "--scale", "0.0625",
    "--model", `${DEMO}digits_mlp.onnx`, "--members", `${DEMO}digits_members.csv`, "--nonmembers", `${DEMO}digits_nonmembers.csv`,
    "--attacks", "threshold,attack_p,lira,rmia", "--refs", String(K), "--mode", "offline", "--epochs", String(EPOCHS), "--no-cache", "--out", `${ROOT}target/profile.json`],
    { env: { ...process.env, PRIVAUDIT_THREADS: "1" }, stdio: ["ignore", "ignore", "inherit"] });
  // Only the samples of the thread the jobs run on (parallel.rs names it privaudit-reference-0;
  // perf keeps 15 characters of a thread's name).
  const report = execFileSync("perf", ["report", "-i", data, "--no-children", "--comms", "privaudit-refer", "--sort", "symbol", "--stdio", "-q", "--percent-limit", "0"], { encoding: "utf8", maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] });
  const r = JSON.parse(readFileSync(`${ROOT}target/profile.json`, "utf8"));
  const totalMs = r.references.training_seconds * 1000;
  // Lines: "  12.34%  [.] symbol"; shares of all samples, scaled to the training time.
  const shares = report.split("\n").map((l) => l.match(/^\s*([\d.]+)%\s+\[[.k]\]\s+(.*)$/)).filter(Boolean).map((m) => [m[2].trim(), Number(m[1])]);
  const sum = shares.reduce((s, [, p]) => s + p, 0) || 1;
  const entries = shares.map(([name, p]) => [name, "", (p / sum) * totalMs]);
  return { where: "native CLI, CPU (1 thread; dev build)", training: r.references.training_seconds, totalMs, split: categorise(entries, totalMs), top: top(entries, totalMs), note: "the samples under the training jobs, scaled to the training time" };
}

export async function profile() {
  const out = [];
  try { out.push(await browser()); } catch (e) { console.error(`browser profile: ${e.message}`); }
  try { const n = native(); if (n) out.push(n); } catch (e) { console.error(`native profile: ${e.message}`); }
  return out;
}

export function print(rows) {
  for (const r of rows) {
    console.log(`\nwhere the time goes: ${r.where}; training ${r.training.toFixed(2)} s for ${K} references × ${EPOCHS} epochs${r.note ? ` (${r.note})` : ""}`);
    console.log("category".padEnd(76) + "share".padStart(8) + "ms/ref-epoch".padStart(14));
    for (const c of r.split.filter((c) => c.share >= 0.005)) console.log(c.category.padEnd(76) + `${(100 * c.share).toFixed(1)} %`.padStart(8) + c.msPerRefEpoch.toFixed(2).padStart(14));
    console.log("the functions with the most samples of their own:");
    for (const f of r.top) console.log(`  ${(100 * f.share).toFixed(1).padStart(5)} %  ${f.name.slice(0, 140)}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) print(await profile());
