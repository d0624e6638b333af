// The JS API's worker lifecycle, in headless Chromium: cancelling one audit never rejects
// another caller's (the running one and a queued one), a worker that crashes after it started
// rejects only what it was running and the queued audit still completes on a fresh worker, a
// failed engine load rejects init() and a later init() succeeds, and a label file given
// without its data file is a clear error rather than an "unknown option". Numbers: the demo's
// reference AUCs (tests/fixtures/demo_expected.json, onnxruntime → numpy → scikit-learn).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(`${ROOT}tests/fixtures/demo_expected.json`, "utf8"));
const demo = ["digits_mlp.onnx", "digits_members.csv", "digits_nonmembers.csv"].map((f) => [...readFileSync(`${ROOT}www/demo/${f}`)]);

let server, browser, origin;

before(async () => {
  server = await serve(0);
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function freshPage() {
  const page = await browser.newPage();
  await page.goto(`${origin}/www/styles.css`);
  await page.evaluate(helpers);
  return page;
}

function assertDemo(report, label) {
  assert.ok(report?.attacks, `${label}: ${JSON.stringify(report)}`);
  for (const a of report.attacks) assert.ok(Math.abs(a.auc - expected.attacks[a.name].auc) <= 2e-3, `${label}: ${a.name} AUC ${a.auc}`);
}

// In the page: `demoRequest(demo, extra)` builds the demo audit; `settle(p)` gives {report} or
// {error}. (Defined through evaluate: the origin's CSP forbids inline scripts.)
function helpers() {
  window.demoRequest = (demo, extra = {}) => ({ model: new Uint8Array(demo[0]), members: new Uint8Array(demo[1]), nonmembers: new Uint8Array(demo[2]), scale: 1 / 16, backend: "cpu", cache: false, ...extra });
  window.settle = (p) => p.then((report) => ({ report }), (e) => ({ error: e.name + ": " + e.message }));
}

test("cancelling one audit leaves the others running, whether it was running or queued", async () => {
  const page = await freshPage();
  const out = await page.evaluate(async (demo) => {
    const { audit } = await import("/www/api.js");
    // A slow running audit (references), then two queued demo audits; cancel the running one
    // once it trains, and the first queued one at once.
    const running = new AbortController();
    const queued = new AbortController();
    let training;
    const trains = new Promise((r) => { training = r; });
    const slow = settle(audit(demoRequest(demo, { attacks: ["lira"], references: 2, training: { epochs: 200 }, signal: running.signal, onProgress: (p) => p.stage === "train" && training() })));
    const dropped = settle(audit(demoRequest(demo, { signal: queued.signal })));
    const kept = settle(audit(demoRequest(demo)));
    queued.abort();
    await trains;
    running.abort();
    return { slow: await slow, dropped: await dropped, kept: await kept };
  }, demo);
  assert.match(out.slow.error, /^AbortError/);
  assert.match(out.dropped.error, /^AbortError/);
  assertDemo(out.kept.report, "the audit queued behind a cancelled one");
  await page.close();
});

test("a worker that crashes after starting rejects what it ran; the queued audit completes on a fresh worker", async () => {
  const page = await freshPage();
  // The first worker is a stand-in that says it is ready, starts the first audit and dies.
  let served = 0;
  await page.context().route("**/www/worker.js", (route) => {
    if (served++ > 0) return route.fallback();
    route.fulfill({ contentType: "text/javascript", body: `postMessage({ type: "ready" });
      let n = 0;
      onmessage = (ev) => { if (ev.data.type === "audit" && n++ === 0) { postMessage({ type: "started", id: ev.data.id }); setTimeout(() => { throw new Error("simulated crash"); }); } };` });
  });
  const out = await page.evaluate(async (demo) => {
    const { audit } = await import("/www/api.js");
    const first = settle(audit(demoRequest(demo)));
    const second = settle(audit(demoRequest(demo)));
    return { first: await first, second: await second };
  }, demo);
  assert.match(out.first.error, /^Error: the privaudit engine failed: .*simulated crash.*fresh engine/);
  assertDemo(out.second.report, "the audit queued behind a crash");
  await page.close();
});

test("a failed engine load rejects init(), and a later init() succeeds", async () => {
  const page = await freshPage();
  await page.context().route("**/www/pkg/privaudit_bg.wasm", (route) => route.fulfill({ contentType: "application/wasm", body: Buffer.from("not wasm") }));
  const first = await page.evaluate(async () => {
    const { default: init } = await import("/www/api.js");
    return settle(init());
  });
  assert.match(first.error, /cannot load the privaudit engine/);
  await page.context().unroute("**/www/pkg/privaudit_bg.wasm");
  const second = await page.evaluate(async (demo) => {
    const { default: init, audit } = await import("/www/api.js");
    await init();
    return settle(audit(demoRequest(demo)));
  }, demo);
  assertDemo(second.report, "after a failed load");
  await page.close();
});

test("a label file without its data file is a clear error", async () => {
  const page = await freshPage();
  const out = await page.evaluate(async (demo) => {
    const { audit } = await import("/www/api.js");
    return settle(audit(demoRequest(demo, { populationLabels: new Uint8Array([1, 2]) })));
  }, demo);
  assert.equal(out.error, "TypeError: populationLabels: a label file was given without population");
  await page.close();
});
