// The npm package as a user gets it: `npm pack`, installed into a fresh temporary project, then
// in headless Chromium (Debian's, driven by playwright-core, WebGPU on SwiftShader):
//   (a) a plain HTML page using <privacy-audit>, driven like a user (pick files in its shadow
//       root, run, read the report's table), then from code (a preset model, el.audit()), then
//       by hand again with the network cut;
//   (b) an app built with Vite calling audit(), and (c) the same app built by webpack 5 with
//       no config (the worker and wasm resolved through `new URL(…, import.meta.url)`);
// all against the CLI's AUCs on the demo (2e-3, as in page.test.mjs). Every request is
// recorded: only the page's own origin, only static assets. Events: `progress` in order,
// `report` once, a bad file fires `error` and the element recovers. Types: `tsc --noEmit` on a
// TypeScript file using the API.
//
// The tarball is packed with --ignore-scripts: the shipped wasm is the one `npm run build` made
// (the release script's wasm-opt pass takes ~8 min on 2 cores and is not part of the tests).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, mkdirSync, cpSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/serve.mjs";
import { axeViolations, unlabelledControls } from "./a11y.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;
const DEMO = `${ROOT}www/demo/`;
const BIN = `${ROOT}node_modules/.bin/`;
const expected = JSON.parse(readFileSync(`${ROOT}tests/fixtures/demo_expected.json`, "utf8"));
const TIMEOUT = 600_000;
let dir, browser;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "privaudit-pkg-"));
  const tarball = execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" }).trim().split("\n").at(-1);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", join(dir, tarball)], { cwd: dir, stdio: "ignore" });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--enable-unsafe-webgpu", "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  }).then((b) => { browser = b; });
});

after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the tarball ships only the package files", () => {
  const files = execFileSync("find", ["node_modules/privaudit", "-type", "f"], { cwd: dir, encoding: "utf8" }).trim().split("\n").map((f) => f.replace("node_modules/privaudit/", "")).sort();
  assert.deepEqual(files.filter((f) => !/^(README\.md|LICENSE.*|package\.json)$/.test(f)), [
    "www/api.js", "www/files.js", "www/index.d.ts", "www/pkg/privaudit.js", "www/pkg/privaudit_bg.wasm", "www/render.js", "www/trainer.js", "www/widget.d.ts", "www/widget.js", "www/worker.js",
  ]);
});

/** The file keys api.js reads: FILE_KEYS, LABEL_KEYS' values, and the two reference lists. */
function acceptedKeys() {
  const src = readFileSync(`${ROOT}www/api.js`, "utf8");
  const files = JSON.parse(src.match(/const FILE_KEYS = (\[[^\]]*\]);/)[1]);
  const labels = [...src.match(/const LABEL_KEYS = \{([^}]*)\}/)[1].matchAll(/: "(\w+)"/g)].map((m) => m[1]);
  assert.ok(files.length >= 9 && labels.length === 6, "api.js's key lists were found");
  return [...files, ...labels, "referenceModels", "referenceOutputs"];
}

test("types: tsc --noEmit on a TypeScript file that uses the API", () => {
  writeFileSync(join(dir, "usage.ts"), `
import init, { audit, compare, runAudit, runCompare, type AuditReport, type AuditOptions, type AuditRequest, type Comparison } from "privaudit";
import "privaudit/widget";
const opts: AuditOptions = { scale: 1 / 16, attacks: ["threshold", "lira"], references: 4, mode: "offline", training: { epochs: 10, optimizer: "adam" }, rmiaA: "tune" };
export async function run(model: File, members: Blob, nonmembers: Uint8Array): Promise<number> {
  await init();
  const r: AuditReport = await audit({ model, members, nonmembers, ...opts, onProgress: (p) => console.log(p.stage, p.fraction) });
  const full = await runAudit({ model, members, nonmembers, signal: new AbortController().signal });
  const el = document.createElement("privacy-audit");
  el.addEventListener("report", (e) => console.log(e.detail.attacks[0].auc));
  el.model = model;
  const c: Comparison = await compare({ models: [model, { name: "dp", model: members }], members, nonmembers, scale: 1 / 16 });
  const cr = await runCompare({ models: [model, model], members, nonmembers });
  return r.attacks[0].tpr_at_fpr["0.01"] + full.report.data.members + (r.references?.count ?? 0) + c.rows[0].auc + cr.audits[1].report.data.members + (c.rows[1].epsilon ?? 0);
}
// @ts-expect-error: an unknown option is a type error too
export const bad: AuditOptions = { sclae: 2 };
// Every key api.js accepts (read from its source below) is declared: excess properties fail.
declare const f: File;
export const every: AuditRequest = { ${acceptedKeys().map((k) => `${k}: ${/^reference(Models|Outputs)$/.test(k) ? "[f]" : "f"}`).join(", ")}, onProgress: () => {}, signal: new AbortController().signal };
`);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022", "dom"], skipLibCheck: false }, files: ["usage.ts"] }));
  execFileSync(`${BIN}tsc`, ["-p", dir], { stdio: "pipe" });
});

async function pageWithRequests(origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("console", (m) => { if (m.type() === "error") console.log("[page]", m.text()); });
  return { context, page, requests };
}

function checkAucs(got, label) {
  for (const [name, want] of Object.entries(expected.attacks)) {
    assert.ok(Math.abs(got[name] - want.auc) <= 2e-3, `${label}: ${name} AUC ${got[name]} vs ${want.auc}`);
  }
}

// The README's snippet, pasted as it is into an empty page of the consumer's project: the
// element loads and audits (from code, with the demo's files).
test("the README's widget snippet works as written in a plain page", async () => {
  const readme = readFileSync(`${ROOT}README.md`, "utf8");
  const snippet = readme.slice(readme.indexOf("### npm package and `<privacy-audit>`")).match(/```html\n([\s\S]*?)```/)[1];
  writeFileSync(join(dir, "snippet.html"), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>snippet</title></head><body>\n${snippet}</body></html>`);
  const server = await serve(0, dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { context, page, requests } = await pageWithRequests(origin);
  try {
    await page.goto(`${origin}/snippet.html`);
    await page.waitForFunction(() => document.querySelector("privacy-audit")?.shadowRoot?.querySelector("#run"), null, { timeout: 30_000 });
    const bytes = (p) => [...readFileSync(p)];
    const report = await page.evaluate(async ([m, a, b]) => {
      const el = document.querySelector("privacy-audit");
      return el.audit({ model: { name: "m.onnx", bytes: new Uint8Array(m) }, members: { name: "a.csv", bytes: new Uint8Array(a) }, nonmembers: { name: "b.csv", bytes: new Uint8Array(b) } });
    }, [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)]);
    checkAucs(Object.fromEntries(report.attacks.map((a) => [a.name, a.auc])), "README snippet");
    for (const url of requests) assert.equal(new URL(url).origin, origin, url);
  } finally {
    await context.close();
    server.close();
  }
});

test("a plain HTML page with <privacy-audit>, used like a user would, also offline", async () => {
  mkdirSync(join(dir, "plain"), { recursive: true });
  writeFileSync(join(dir, "plain", "index.html"), `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>widget</title>
<script type="importmap">{ "imports": { "privaudit": "/node_modules/privaudit/www/api.js", "privaudit/widget": "/node_modules/privaudit/www/widget.js" } }</script>
<script type="module">
import "privaudit/widget";
const el = document.querySelector("privacy-audit");
window.events = [];
for (const t of ["progress", "report", "error"]) el.addEventListener(t, (e) => window.events.push({ type: t, detail: e.detail }));
</script></head><body><privacy-audit scale="0.0625" backend="auto"></privacy-audit></body></html>`);
  const server = await serve(0, dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { context, page, requests } = await pageWithRequests(origin);
  try {
    await page.goto(`${origin}/plain/index.html`);
    await page.waitForFunction(() => document.querySelector("privacy-audit")?.shadowRoot?.querySelector("#run"));
    assert.deepEqual(await page.evaluate(`(${unlabelledControls})(document.querySelector("privacy-audit").shadowRoot)`), [], "every control in the element has a label");
    const runOnce = async (members) => {
      await page.evaluate(() => { window.events = []; });
      // All three at once into the one picker; the data file's role is then set in the table.
      await page.click("privacy-audit #clear-files");
      await page.setInputFiles("privacy-audit #pick-files", [`${DEMO}digits_mlp.onnx`, members, `${DEMO}digits_nonmembers.csv`]);
      await page.locator(`privacy-audit #roles tr[data-name="${basename(members)}"] select`).selectOption("members");
      const roles = await page.$$eval("privacy-audit >> #roles tbody tr", (rows) => Object.fromEntries(rows.map((r) => [r.dataset.name, r.dataset.role])));
      assert.deepEqual(roles, { "digits_mlp.onnx": "model", [basename(members)]: "members", "digits_nonmembers.csv": "nonmembers" });
      // Keyboard only: Tab to the Audit button, Enter.
      await page.evaluate(() => document.activeElement?.blur());
      for (let i = 0; i < 30 && await page.evaluate(() => document.querySelector("privacy-audit").shadowRoot.activeElement?.id) !== "run"; i++) {
        await page.keyboard.press("Tab");
      }
      assert.equal(await page.evaluate(() => document.querySelector("privacy-audit").shadowRoot.activeElement?.id), "run", "the Audit button is reachable by Tab");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => window.events.some((e) => e.type === "report" || e.type === "error"), null, { timeout: TIMEOUT });
      return page.evaluate(() => window.events);
    };
    let events = await runOnce(`${DEMO}digits_members.csv`);
    assert.equal(events.filter((e) => e.type === "report").length, 1, "one report event");
    const fractions = events.filter((e) => e.type === "progress").map((e) => e.detail.fraction);
    assert.ok(fractions.length > 3 && fractions.every((f, i) => i === 0 || f >= fractions[i - 1]), `progress in order: ${fractions}`);
    assert.equal(events.at(-1).type, "report");
    const table = await page.$$eval("privacy-audit >> #metrics tbody tr", (rows) => Object.fromEntries(rows.map((r) => [r.dataset.attack, Number(r.querySelector('td[data-metric="auc"]').dataset.value)])));
    checkAucs(table, "widget");
    // axe-core over the element with its report, light and dark: no serious or critical violation.
    for (const scheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await axeViolations(page), [], `the widget, ${scheme}`);
    }
    await page.emulateMedia({ colorScheme: "light" });
    // backend="auto" with the tests' software adapter (SwiftShader): the CPU, and the report says why.
    const shown = events.find((e) => e.type === "report").detail;
    assert.equal(shown.backend, "cpu");
    assert.match(shown.device, /auto chose it over the GPU adapter .*software renderer/);
    // The per-record sections render in the element too.
    const sections = await page.evaluate(() => {
      const r = document.querySelector("privacy-audit").shadowRoot;
      return { exposed: r.querySelectorAll("#exposure table.exposed-members tbody tr").length, fps: r.querySelectorAll("#exposure table.false-positives tbody tr").length,
        slices: r.querySelectorAll("#slices tbody tr").length, chart: !!r.querySelector("#slices .slices-chart svg"), duplicates: r.querySelector("#duplicates li")?.textContent };
    });
    assert.deepEqual({ ...sections, duplicates: /^duplicates: /.test(sections.duplicates) }, { exposed: 20, fps: 20, slices: 16, chart: true, duplicates: true });

    // A bad file: an error event with the message, shown in the element; then it recovers.
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "p0,label\n1,2\n");
    events = await runOnce(bad);
    const err = events.find((e) => e.type === "error");
    assert.ok(err && /bad\.csv/.test(err.detail.message), JSON.stringify(events.at(-1)));
    assert.match(await page.$eval("privacy-audit >> #error", (e) => e.textContent), /bad\.csv/);

    // A host page presets the model (its picker hides) and hands the element data from code.
    const bytes = (p) => [...readFileSync(p)];
    const fromCode = await page.evaluate(async ([m, a, b]) => {
      const el = document.querySelector("privacy-audit");
      el.shadowRoot.getElementById("clear-files").click();
      el.model = new Blob([new Uint8Array(m)]);
      const hidden = el.shadowRoot.querySelector('ul.roles li[data-role="model"] span').textContent === "Given: set by this page.";
      const report = await el.audit({ members: new Uint8Array(a), nonmembers: new Uint8Array(b) });
      const shown = el.shadowRoot.querySelector("#metrics tbody tr") !== null && el.report === report;
      el.model = null;
      return { hidden, shown, aucs: Object.fromEntries(report.attacks.map((x) => [x.name, x.auc])) };
    }, [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)]);
    // Two models compared from code: the comparison table and plot, a "comparison" event, and
    // choosing the second model shows its report.
    const compared = await page.evaluate(async ([m, q, a, b]) => {
      const el = document.querySelector("privacy-audit");
      let event = null;
      el.addEventListener("comparison", (e) => { event = e.detail; }, { once: true });
      const file = (bytes, name) => new File([new Uint8Array(bytes)], name);
      const report = await el.audit({ model: file(m, "plain.onnx"), compareModels: [file(q, "int8.onnx")], members: new Uint8Array(a), nonmembers: new Uint8Array(b), scale: 1 / 16 });
      const r = el.shadowRoot;
      const rows = [...r.querySelectorAll("#comparison-table tr")].map((t) => t.dataset.name);
      r.querySelector('#comparison-table tr[data-name="int8"] button').click();
      return { rows, plot: !!r.querySelector("#comparison-plot svg"), event: event?.rows.map((x) => x.name), first: report.model.accuracy_members, second: el.report.model.accuracy_nonmembers, want: event?.reports[1].model.accuracy_nonmembers };
    }, [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${ROOT}tests/fixtures/models/digits_mlp_qdq.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)]);
    assert.deepEqual({ rows: compared.rows, plot: compared.plot, event: compared.event }, { rows: ["plain", "int8"], plot: true, event: ["plain", "int8"] });
    assert.equal(compared.second, compared.want, "the chosen model's report is shown");
    assert.ok(fromCode.hidden, "a preset model fills the model role");
    assert.ok(fromCode.shown, "el.audit() shows its report and keeps it as el.report");
    checkAucs(fromCode.aucs, "el.audit() with a preset model");

    // Cut the network: the page and its engine are already here, and nothing needs more.
    await context.setOffline(true);
    events = await runOnce(`${DEMO}digits_members.csv`);
    assert.equal(events.filter((e) => e.type === "report").length, 1, `offline: ${JSON.stringify(events.at(-1))}`);
    checkAucs(Object.fromEntries(events.find((e) => e.type === "report").detail.attacks.map((a) => [a.name, a.auc])), "widget offline");
    for (const url of requests) {
      assert.equal(new URL(url).origin, origin, `request to another origin: ${url}`);
      assert.match(new URL(url).pathname, /^\/(plain\/index\.html|node_modules\/privaudit\/www\/[\w/.-]+\.(js|wasm))$/, `not a static asset: ${url}`);
    }
  } finally {
    await context.close();
    server.close();
  }
});

// Serves a bundled app's output folder and runs the demo audit through its window.runDemo.
async function auditBuiltApp(dist, label) {
  const server = await serve(0, dist);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { context, page, requests } = await pageWithRequests(origin);
  try {
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => window.ready === true);
    const bytes = (p) => [...readFileSync(p)];
    const report = await page.evaluate(([m, a, b]) => window.runDemo(new Uint8Array(m), new Uint8Array(a), new Uint8Array(b)),
      [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)]);
    checkAucs(Object.fromEntries(report.attacks.map((a) => [a.name, a.auc])), label);
    // The bundle carries the reference trainers' worker (a worker started by a worker).
    const cpu = await page.evaluate(async ([m, a, b]) => ({ report: await window.runOnCpu(new Uint8Array(m), new Uint8Array(a), new Uint8Array(b)), cores: navigator.hardwareConcurrency }),
      [bytes(`${DEMO}digits_mlp.onnx`), bytes(`${DEMO}digits_members.csv`), bytes(`${DEMO}digits_nonmembers.csv`)]);
    if (cpu.cores >= 2) assert.match(cpu.report.references.parallelism, /^2 references trained side by side in 2 Web Workers/, `${label}: ${cpu.report.references.parallelism}`);
    for (const url of requests) assert.equal(new URL(url).origin, origin, `${label}: request to another origin: ${url}`);
    assert.ok(requests.some((u) => u.endsWith(".wasm")), `${label}: the wasm came from the app's own assets`);
  } finally {
    await context.close();
    server.close();
  }
}

// A fresh app folder using the installed package: src/main.js exposes window.runDemo.
function makeApp(name) {
  const app = join(dir, name);
  mkdirSync(join(app, "src"), { recursive: true });
  writeFileSync(join(app, "src", "main.js"), `import { audit } from "privaudit";
window.runDemo = async (model, members, nonmembers) => audit({ model, members, nonmembers, scale: 1 / 16 });
window.runOnCpu = async (model, members, nonmembers) => audit({ model, members, nonmembers, scale: 1 / 16, backend: "cpu", attacks: ["lira"], references: 2, training: { epochs: 2 }, cache: false });
window.ready = true;`);
  cpSync(join(dir, "node_modules"), join(app, "node_modules"), { recursive: true });
  return app;
}

test("a Vite-built app calling audit() gets the same numbers, with only its own assets", async () => {
  const app = makeApp("vite-app");
  writeFileSync(join(app, "index.html"), `<!doctype html><html><head><meta charset="utf-8"><title>vite</title></head><body><script type="module" src="/src/main.js"></script></body></html>`);
  execFileSync(`${BIN}vite`, ["build", "--logLevel", "warn"], { cwd: app, stdio: "pipe" });
  await auditBuiltApp(join(app, "dist"), "vite");
});

test("a webpack 5 app, with no webpack config at all, gets the same numbers", async () => {
  const app = makeApp("webpack-app");
  // webpack's defaults: src/index.js in, dist/main.js out, production mode.
  cpSync(join(app, "src", "main.js"), join(app, "src", "index.js"));
  // Run as webpack's CLI would in the app folder (webpack's Node API; webpack-cli is not needed).
  const build = `require(${JSON.stringify(`${ROOT}node_modules/webpack`)})({ mode: "production" }, (err, stats) => {
    if (err || stats.hasErrors()) { console.error(err ?? stats.toString("errors-only")); process.exit(1); }
  });`;
  execFileSync(process.execPath, ["-e", build], { cwd: app, stdio: "pipe" });
  writeFileSync(join(app, "dist", "index.html"), `<!doctype html><html><head><meta charset="utf-8"><title>webpack</title></head><body><script src="main.js"></script></body></html>`);
  await auditBuiltApp(join(app, "dist"), "webpack");
});
