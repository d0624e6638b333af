// The hostile-input corpus (tests/fixtures/hostile/cases.json, made by make_hostile.py) through
// audit() in headless Chromium: every case rejects with the message the CLI gives (the file
// named, what was expected), never a wasm trap, and a good audit right after succeeds in the
// same engine. The one well-formed case (all-equal scores) resolves to a report that follows
// the schema, with a null best threshold.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { chromium } from "playwright-core";
import Ajv2020 from "ajv/dist/2020.js";
import { serve } from "../../scripts/serve.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const { cases } = JSON.parse(readFileSync(`${ROOT}tests/fixtures/hostile/cases.json`, "utf8"));
const validate = new Ajv2020({ allErrors: true, strict: true }).compile(JSON.parse(readFileSync(`${ROOT}schema/report.schema.json`, "utf8")));
const expected = JSON.parse(readFileSync(`${ROOT}tests/fixtures/demo_expected.json`, "utf8"));
const FILE_KEYS = ["model", "modelData", "members", "membersLabels", "nonmembers", "memberOutputs", "nonmemberOutputs", "referenceMembership"];

let server, browser, page;

before(async () => {
  server = await serve(0);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error" && !/privaudit panic/.test(m.text())) return; if (m.type() === "error") console.log("[page]", m.text()); });
  // Any page of this origin will do; the demo page's own audit is not needed here.
  await page.goto(`http://127.0.0.1:${server.address().port}/www/styles.css`);
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** A case's file, as {name, base64}; generated inputs are made in the page. */
function load(path) {
  if (path.startsWith("generate:")) return { generate: path.slice(9) };
  return { name: basename(path), base64: readFileSync(`${ROOT}${path}`).toString("base64") };
}

test(`every hostile input is a clear rejection in the browser, and the engine keeps working`, async () => {
  const browserCases = cases.filter((c) => c.browser !== false);
  assert.ok(browserCases.length >= 60, `${browserCases.length} browser cases`);
  const payload = browserCases.map((c) => {
    const files = {};
    for (const k of FILE_KEYS) if (c[k]) files[k] = load(c[k]);
    for (const k of ["referenceModels", "referenceOutputs"]) if (c[k]) files[k] = c[k].map(load);
    return { name: c.name, files, options: c.options ?? {} };
  });
  const demo = ["www/demo/digits_mlp.onnx", "www/demo/digits_members.csv", "www/demo/digits_nonmembers.csv"].map(load);
  const out = await page.evaluate(async ([payload, demo]) => {
    const { audit } = await import("/www/api.js");
    const bytes = (f) => {
      if (f.generate === "csv_10mb_cell") return { name: "csv_10mb_cell.csv", bytes: new TextEncoder().encode(`a,b,c,d,label\n1,2,3,${"x".repeat(10 << 20)},0\n`) };
      if (f.generate === "csv_1300000_headers") {
        const head = Array.from({ length: 1_300_000 }, (_, i) => `c${i}`).join(",");
        return { name: "csv_1300000_headers.csv", bytes: new TextEncoder().encode(`${head},y\n`) };
      }
      return { name: f.name, bytes: Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0)) };
    };
    const results = {};
    for (const c of payload) {
      const request = { ...c.options, backend: "cpu", cache: false };
      for (const [k, v] of Object.entries(c.files)) request[k] = Array.isArray(v) ? v.map(bytes) : bytes(v);
      try {
        results[c.name] = { report: await audit(request) };
      } catch (e) {
        results[c.name] = { error: `${e?.name}: ${e?.message ?? e}` };
      }
    }
    const [model, members, nonmembers] = demo.map(bytes);
    const after = await audit({ model, members, nonmembers, scale: 1 / 16, backend: "cpu" });
    return { results, after };
  }, [payload, demo]);

  const failures = [];
  for (const c of browserCases) {
    const r = out.results[c.name];
    if (c.succeeds) {
      if (!r.report) failures.push(`${c.name}: expected a report, got ${r.error}`);
      else if (!validate(r.report)) failures.push(`${c.name}: ${JSON.stringify(validate.errors)}`);
      else if (!r.report.attacks.every((a) => a.best_threshold === null)) failures.push(`${c.name}: best_threshold not null`);
      continue;
    }
    const msg = r.error ?? `resolved: ${JSON.stringify(r.report).slice(0, 100)}`;
    const files = [...FILE_KEYS, "referenceModels", "referenceOutputs"].flatMap((k) => [c[k]].flat()).filter(Boolean).map((p) => basename(p.replace(/^generate:/, "") + (p.startsWith("generate:") ? ".csv" : "")));
    const problems = [];
    if (!r.error) problems.push("did not reject");
    if (r.error && !r.error.startsWith("Error: ") && !r.error.startsWith("TypeError: ")) problems.push("not an Error");
    if (!msg.includes(c.expect)) problems.push(`does not contain "${c.expect}"`);
    if (/RuntimeError|unreachable|panic/i.test(msg)) problems.push("a wasm trap");
    if (msg.length > (c.maxMessage ?? 2000)) problems.push(`too long (${msg.length})`);
    if (!(files.some((f) => msg.includes(f)) || /option '|attack|options:/.test(msg))) problems.push("names no file or option");
    if (problems.length) failures.push(`${c.name}: ${problems.join(", ")}: ${msg.slice(0, 300)}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${browserCases.length} cases:\n${failures.join("\n")}`);
  // The same engine, after all of that, still gives the reference numbers.
  for (const a of out.after.attacks) assert.ok(Math.abs(a.auc - expected.attacks[a.name].auc) <= 2e-3, `${a.name} after the corpus`);
});
