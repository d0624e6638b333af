// A large image audit in headless Chromium on WebGPU (SwiftShader): 10,000 32×32 RGB PNGs, as
// two zips of 5,000 in 10 class folders (made here: the PNGs with Node's zlib, the zips with
// fflate), through the JS API with the CNN fixture cnn_classic_bn.onnx (its outputs are checked
// against onnxruntime 1.32 in the native tests). The model runs in many batches, sized from the
// binding limit the WebGPU device reports; on wasm a dispatch over that limit would be skipped,
// not failed (cubecl#1641), so every record's LOSS and confidence scores are compared with the
// CLI's on the same zips (CPU; same f32 model, sums in another order: 1e-4 relative).
// No request leaves the page's origin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { zipSync } from "fflate";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const MODEL = `${ROOT}tests/fixtures/models/cnn_classic_bn.onnx`;
const SIDE = 32, PER_SET = 5000, CLASSES = 10;
let server, browser, origin, dir;

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A 32×32 8-bit RGB PNG of seeded pixels: a class-dependent gradient plus noise. */
function png(seed, cls) {
  let s = (seed * 2654435761 + 1) >>> 0;
  const rows = Buffer.alloc(SIDE * (1 + 3 * SIDE));
  for (let y = 0; y < SIDE; y++) {
    const o = y * (1 + 3 * SIDE); // filter byte 0 (None), then the row
    for (let x = 0; x < SIDE; x++) {
      for (let c = 0; c < 3; c++) {
        s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
        rows[o + 1 + 3 * x + c] = ((x + y) * (cls + 1) * (c + 2) + (s & 63)) & 255;
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIDE, 0);
  ihdr.writeUInt32BE(SIDE, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, adaptive filtering, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows, { level: 1 })), chunk("IEND", Buffer.alloc(0))]);
}

/** A zip of `PER_SET` images from `first` on, in `<set>/<class>/<n>.png` (stored: PNGs are compressed). */
function imageZip(set, first) {
  const files = {};
  for (let i = first; i < first + PER_SET; i++) files[`${set}/${i % CLASSES}/${String(i).padStart(5, "0")}.png`] = [png(i, i % CLASSES), { level: 0 }];
  return Buffer.from(zipSync(files));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "privaudit-large-"));
  writeFileSync(join(dir, "members.zip"), imageZip("members", 0));
  writeFileSync(join(dir, "nonmembers.zip"), imageZip("nonmembers", PER_SET));
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
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Per-record scores CSV (ours: no quoted fields here) as rows of objects. */
function scores(csv) {
  const [header, ...rows] = csv.trim().split("\n").map((l) => l.split(","));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

test("10,000 32×32 RGB images audited in Chromium on WebGPU, in batches under the device's binding limit, score as the CLI does", { timeout: 900_000 }, async () => {
  const page = await browser.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  // The test's files, served from the page's own origin.
  const files = { "cnn.onnx": readFileSync(MODEL), "members.zip": readFileSync(join(dir, "members.zip")), "nonmembers.zip": readFileSync(join(dir, "nonmembers.zip")) };
  await page.route(`${origin}/large/*`, (route) => route.fulfill({ body: files[new URL(route.request().url()).pathname.split("/").pop()], contentType: "application/octet-stream" }));
  await page.goto(`${origin}/www/styles.css`);
  const out = await page.evaluate(async () => {
    const { runAudit } = await import("/www/api.js");
    const get = async (name) => ({ name, bytes: new Uint8Array(await (await fetch(`/large/${name}`)).arrayBuffer()) });
    const batches = [];
    const r = await runAudit({
      model: await get("cnn.onnx"), members: await get("members.zip"), nonmembers: await get("nonmembers.zip"),
      attacks: ["loss", "confidence"], cache: false, backend: "gpu",
      onProgress: (p) => { if (p.stage === "inference") batches.push(p.message); },
    });
    const adapter = await navigator.gpu?.requestAdapter();
    return { report: r.report, csv: r.scoresCsv, batches, limit: adapter && Math.min(adapter.limits.maxStorageBufferBindingSize, adapter.limits.maxBufferSize) };
  });
  const { report } = out;
  assert.equal(report.backend, "webgpu", report.backend_note);
  assert.deepEqual([report.data.members, report.data.nonmembers], [PER_SET, PER_SET]);
  assert.equal(report.data.images.class_names.length, CLASSES);
  // Batches sized from the limit the device reports (the engine requests the adapter's limits):
  // as many records as fit a quarter of it, in f32, at the model's widest per-record
  // intermediate, its first convolution's unfolded input (3 channels × 9 kernel places × 32×32).
  const done = out.batches.map((m) => Number(m.match(/(\d+) of 10000 records/)?.[1])).filter(Number.isFinite);
  const batch = Math.min(4096, Math.floor(out.limit / 4 / 4 / (3 * 9 * 32 * 32)));
  console.log(`# large: ${done.length} batches of ${done[0]}; the adapter's binding limit ${out.limit} bytes`);
  assert.deepEqual(done, Array.from({ length: Math.ceil(2 * PER_SET / batch) }, (_, i) => Math.min((i + 1) * batch, 2 * PER_SET)), out.batches.slice(0, 3).join("; "));
  assert.ok(done.length >= 2, "more than one batch");
  const cliScores = join(dir, "cli.csv");
  execFileSync(`${ROOT}target/debug/privaudit`, ["audit", "-q", "--backend", "cpu", "--model", MODEL, "--members", join(dir, "members.zip"), "--nonmembers", join(dir, "nonmembers.zip"),
    "--attacks", "loss,confidence", "--no-cache", "--out", join(dir, "cli.json"), "--scores", cliScores]);
  const [want, got] = [scores(readFileSync(cliScores, "utf8")), scores(out.csv)];
  assert.equal(got.length, 2 * PER_SET);
  let worst = 0;
  for (const [i, w] of want.entries()) {
    const g = got[i];
    assert.deepEqual([g.set, g.id, g.label], [w.set, w.id, w.label], `record ${i}`);
    for (const a of ["loss", "confidence"]) {
      const d = Math.abs(Number(g[a]) - Number(w[a])) / Math.max(1, Math.abs(Number(w[a])));
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-4, `${w.id}: ${a} browser ${g[a]} vs CLI ${w[a]}`);
    }
  }
  console.log(`# large: worst relative difference of a score, browser (WebGPU) vs CLI (CPU): ${worst.toExponential(2)}`);
  const cli = JSON.parse(readFileSync(join(dir, "cli.json"), "utf8"));
  for (const a of cli.attacks) assert.ok(Math.abs(a.auc - report.attacks.find((b) => b.name === a.name).auc) <= 1e-3, a.name);
  for (const url of requests) assert.ok(url.startsWith(origin), `a request left the page: ${url}`);
  await page.close();
});
