// <privacy-audit>: a complete audit UI (file pickers, options, progress, report with plots and
// a table, export buttons) in a shadow root. UI only: the work is done by api.js, whose worker
// owns the wasm engine. Importing this module registers the element (its only side effect).
//
//   <script type="module">import "privaudit/widget";</script>
//   <privacy-audit backend="auto" attacks="threshold,attack_p" label-column="label"></privacy-audit>
//
// Attributes (and the same-named properties): backend, attacks (comma-separated), label-column,
// id-column, scale, shift, references, mode, seed, epochs, learning-rate, batch-size, optimizer.
// Methods: audit({ model?, members, nonmembers, population?, ...options }) runs an audit with
// these files (the preset model when none is given); cancel().
// Files: one drop zone (and "Add files…"/"Add a folder…" buttons) for everything; each item
// gets a role from its name and contents, shown in an editable table (www/files.js).
// Property `model` (File | Blob | Uint8Array | {name, bytes}) presets the model: the model role
// reads "set by this page" and users only add their data (a model they add wins).
// Events: "progress" (detail {stage, fraction, message}), "report" (detail: the report),
// "error" (detail {message}). Theme with --privaudit-accent, --privaudit-bad, --privaudit-muted,
// --privaudit-font and ::part(form | run | cancel | progress | error | report | metrics | roc |
// histograms | references | epsilon | verdict | warnings | glossary | provenance | save-html | save-json | save-csv).
import init, { runAudit, runCompare } from "./api.js";
import { comparisonRows, download, renderReport, wireGlossaryLinks, COMPARISON_HEADERS, EPSILON_HEADERS, METRIC_HEADERS, PROVENANCE_HEADERS, REFERENCE_HEADERS, SLICE_HEADERS } from "./render.js";
import { FileSet, filesMarkup, wireFileSet } from "./files.js";

const STYLE = `
:host { display: block; font: 15px/1.45 var(--privaudit-font, system-ui, sans-serif);
  /* The host page's scheme (color-scheme is inherited): light-dark() picks by it. */
  --accent: var(--privaudit-accent, light-dark(#0b6bcb, #6cb2ff)); --bad: var(--privaudit-bad, light-dark(#b3261e, #ff8a80));
  --muted: var(--privaudit-muted, light-dark(#4b5563, #b8bec9)); --warn: light-dark(#8a4b00, #ffc46b); --warnbox: light-dark(#fff4e5, #2d2213);
  --on-accent: light-dark(#ffffff, #0b1220); }
select, input { max-width: 100%; }
table { display: block; overflow-x: auto; max-width: 100%; }
@media (max-width: 640px) { .grid { grid-template-columns: minmax(0, 1fr); } th, td { white-space: normal; padding: .25rem .35rem; } }
[hidden] { display: none !important; }
.grid { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; align-items: center; margin: .5rem 0; }
fieldset { border: 1px solid color-mix(in srgb, var(--muted) 50%, transparent); border-radius: 6px; margin: .5rem 0; }
fieldset label { margin-right: 1.2rem; }
.actions { display: flex; gap: .7rem; flex-wrap: wrap; margin: .7rem 0; }
button { font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .5; cursor: progress; }
:is(button, input, select):focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.status { display: flex; gap: 1rem; align-items: center; min-height: 1.5rem; }
.error { color: var(--bad); font-weight: 600; white-space: pre-wrap; }
table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
caption { text-align: left; color: var(--muted); font-size: .9em; caption-side: bottom; padding-top: .3rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid color-mix(in srgb, var(--muted) 35%, transparent); text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th[scope="row"], td.text, caption { white-space: normal; }
th:first-child, td:first-child { text-align: left; }
.roc svg { width: 100%; max-width: 720px; }
.hists { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: .5rem; }
.hists svg { width: 100%; }
.warnings-box { background: var(--warnbox); border-left: 4px solid var(--warn); padding: .1rem 1rem; margin: .7rem 0; }
.warnings-box h3 { color: var(--warn); margin: .4rem 0; }
td.below-chance { text-decoration: underline dotted; }
.glossary dt { font-weight: 600; margin-top: .4rem; }
.glossary dd { margin-left: 1.2rem; }
td small.ci { color: var(--muted); font-size: .8em; white-space: nowrap; }
td.unmeasurable { color: var(--muted); font-style: italic; }
.note { color: var(--muted); font-size: .9em; }
.verdict { border-left: 4px solid var(--accent); padding: .3rem 1rem .3rem 1.8rem; margin: .7rem 0; }
.gate.crossed strong { color: var(--bad); }
.provenance td, .provenance th { text-align: left; font-size: .85em; }
.provenance code { word-break: break-all; }
tr.small { color: var(--muted); font-style: italic; }
tr.selected { background: color-mix(in srgb, var(--accent) 12%, transparent); }
button.link { background: none; border: none; color: var(--accent); text-decoration: underline; padding: 0; cursor: pointer; font: inherit; text-align: left; }
small.preview { color: var(--muted); }
.record-detail { border: 1px solid color-mix(in srgb, var(--muted) 35%, transparent); border-radius: 6px; padding: .3rem 1rem; margin: .6rem 0; }
.record-detail svg.strip { width: 100%; max-width: 520px; }
.slices-chart svg { width: 100%; max-width: 680px; }
.drop { border: 2px dashed var(--muted); border-radius: 8px; padding: .3rem 1rem; }
.drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, transparent); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.pick-input { position: absolute; width: 1px; height: 1px; opacity: 0; }
label.pick { padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
label.pick:has(+ .pick-input:focus-visible) { outline: 3px solid var(--accent); outline-offset: 2px; }
#roles td, #roles th { text-align: left; }
ul.roles { font-size: .9em; padding-left: 1.2rem; }
ul.roles .missing { color: var(--bad); font-weight: 600; }
button.remove { padding: .2rem .6rem; }
`;

const headerRow = (names) => `<tr>${names.map((n) => `<th scope="col">${n}</th>`).join("")}</tr>`;

const TEMPLATE = `<style>${STYLE}</style>
<form part="form">
  <div id="files" class="files" part="files">${filesMarkup()}</div>
  <fieldset><legend>Attacks</legend>
    <label><input type="checkbox" name="attack" value="threshold" checked> threshold (LOSS, confidence, entropy, modified entropy)</label>
    <label><input type="checkbox" name="attack" value="attack_p"> Attack-P</label>
    <label><input type="checkbox" name="attack" value="lira"> LiRA</label>
    <label><input type="checkbox" name="attack" value="rmia"> RMIA</label>
  </fieldset>
  <div class="grid">
    <label for="scale">Scale features by</label><input id="scale" type="number" step="any" value="1">
    <label for="backend">Run on</label>
    <select id="backend"><option value="auto">the fastest: a hardware GPU if there is one, else the CPU</option><option value="gpu">the GPU, even a software one</option><option value="cpu">CPU</option></select>
  </div>
  <div class="actions">
    <button id="run" part="run" type="button">Audit</button>
    <button id="cancel" part="cancel" type="button" class="secondary" disabled>Cancel</button>
  </div>
  <div class="status" aria-live="polite">
    <progress id="progress" part="progress" max="1" value="0" aria-label="audit progress"></progress><span id="progress-text"></span>
  </div>
  <p id="error" class="error" part="error" role="alert" hidden></p>
</form>
<section id="comparison" part="comparison" hidden aria-label="models compared">
  <table><caption>Every model audited on the same records: the strongest attack's AUC and TPR with intervals. Choose a model to see its report.</caption>
    <thead>${headerRow(COMPARISON_HEADERS)}</thead><tbody id="comparison-table"></tbody></table>
  <figure id="comparison-plot"></figure>
</section>
<section id="report" part="report" hidden aria-label="audit report">
  <p id="summary"></p>
  <ul id="verdict" class="verdict" part="verdict" aria-label="verdict"></ul>
  <section class="warnings-box" part="warnings" aria-label="warnings" hidden><h3>Warnings</h3><ul id="warnings"></ul></section>
  <table part="metrics"><caption>TPR at FPR ≤ level: the best true-positive rate among thresholds whose false-positive rate does not exceed the level. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
    <thead>${headerRow(METRIC_HEADERS)}</thead><tbody id="metrics"></tbody></table>
  <p id="statistics-note" class="note"></p>
  <table part="epsilon"><caption>Lower bounds on ε at the stated confidence; in brackets the largest value these counts of records could show.</caption>
    <thead>${headerRow(EPSILON_HEADERS)}</thead><tbody id="epsilon"></tbody></table>
  <p id="epsilon-note" class="note"></p>
  <table id="references" part="references" hidden><caption></caption><thead>${headerRow(REFERENCE_HEADERS)}</thead><tbody></tbody></table>
  <figure id="roc" class="roc" part="roc"><figcaption>ROC curves, log-log, from FPR 1/N, as staircases; dashed: chance; shaded: the strongest attack's bootstrap band.</figcaption></figure>
  <div id="hists" class="hists" part="histograms"></div>
  <section id="exposure" part="exposure" hidden aria-label="the most exposed records">
    <p class="exposure-note note"></p>
    <table class="exposed-members"><caption>Members the strongest attack is most sure of: each attack's score, with its percentile among the non-members' scores beneath.</caption><thead></thead><tbody></tbody></table>
    <table class="false-positives"><caption>False positives: the non-members that look most like members.</caption><thead></thead><tbody></tbody></table>
    <div id="record-detail" class="record-detail" part="record-detail" aria-live="polite" hidden></div>
  </section>
  <section id="slices" part="slices" hidden aria-label="slices">
    <table><caption>The strongest attack on each slice alone, with its interval; small: fewer than 50 members or non-members. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
      <thead>${headerRow(SLICE_HEADERS)}</thead><tbody></tbody></table>
    <figure class="slices-chart"></figure>
  </section>
  <section id="duplicates" part="duplicates" hidden aria-label="duplicates"><ul></ul></section>
  <details id="glossary" class="glossary" part="glossary"><summary>Glossary: AUC, TPR and FPR, advantage, PPV, ε, μ, intervals, ranks</summary><dl></dl></details>
  <table id="provenance" class="provenance" part="provenance" tabindex="0"><caption></caption><thead>${headerRow(PROVENANCE_HEADERS)}</thead><tbody></tbody></table>
  <div class="actions">
    <button id="save-html" part="save-html" type="button" class="secondary">Save report (HTML document)</button>
    <button id="save-json" part="save-json" type="button" class="secondary">Save report (JSON)</button>
    <button id="save-csv" part="save-csv" type="button" class="secondary">Save per-record scores (CSV)</button>
  </div>
</section>`;

const OPTION_ATTRIBUTES = ["backend", "attacks", "label-column", "id-column", "scale", "shift", "references", "mode", "seed", "epochs", "learning-rate", "batch-size", "optimizer"];
const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

export class PrivacyAudit extends HTMLElement {
  static observedAttributes = OPTION_ATTRIBUTES;
  #root;
  #model = null;
  #abort = null;
  #last = null;
  #files = new FileSet();
  #drawFiles = () => {};

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    this.#root.innerHTML = TEMPLATE;
    const $ = (id) => this.#root.getElementById(id);
    $("run").addEventListener("click", () => this.#runFromForm());
    $("cancel").addEventListener("click", () => this.cancel());
    $("save-json").addEventListener("click", () => this.#last && download("privaudit-report.json", this.#last.reportJson, "application/json"));
    $("save-html").addEventListener("click", () => this.#last && download("privaudit-report.html", this.#last.reportHtml, "text/html"));
    wireGlossaryLinks(this.#root, $("glossary"));
    $("save-csv").addEventListener("click", () => this.#last && download("privaudit-scores.csv", this.#last.scoresCsv, "text/csv"));
    this.#drawFiles = wireFileSet(this.#root, this.#files, {
      mode: () => "model",
      announce: (m) => { $("files-status").textContent = m; },
      onError: (e) => this.#fail(e),
      onChange: () => { $("error").hidden = true; },
      given: () => (this.#model != null ? { model: "set by this page" } : {}),
    });
  }

  connectedCallback() {
    init().catch((e) => this.#fail(e));
    this.#syncForm();
  }

  attributeChangedCallback() {
    this.#syncForm();
  }

  /** A preset model: the model role reads "set by this page". */
  get model() { return this.#model; }
  set model(m) {
    this.#model = m ?? null;
    this.#drawFiles();
  }

  /** The last report, or null. */
  get report() { return this.#last?.report ?? null; }

  /** Options from the attributes and the form. */
  get options() {
    const o = {};
    for (const a of OPTION_ATTRIBUTES) {
      const v = this.getAttribute(a);
      if (v == null || v === "") continue;
      const key = camel(a);
      if (a === "attacks") o.attacks = v.split(",").map((s) => s.trim()).filter(Boolean);
      else if (["scale", "shift", "references", "seed"].includes(a)) o[key] = Number(v);
      else if (["epochs", "learning-rate", "batch-size", "optimizer"].includes(a)) (o.training ??= {})[key] = a === "optimizer" ? v : Number(v);
      else o[key] = v;
    }
    return o;
  }

  #syncForm() {
    const $ = (id) => this.#root.getElementById(id);
    const o = this.options;
    if (o.backend) $("backend").value = o.backend;
    if (o.scale != null) $("scale").value = String(o.scale);
    if (o.attacks) {
      for (const c of this.#root.querySelectorAll('input[name="attack"]')) c.checked = o.attacks.includes(c.value);
    }
  }

  #formOptions() {
    const $ = (id) => this.#root.getElementById(id);
    const o = {
      ...this.options,
      backend: $("backend").value,
      attacks: [...this.#root.querySelectorAll('input[name="attack"]:checked')].map((c) => c.value),
    };
    // Empty means the engine's default; anything else must be a number (never a silent 0).
    const scale = $("scale").value.trim();
    if (scale !== "") {
      if (!Number.isFinite(Number(scale))) throw new Error(`Scale features by: expected a number, got "${scale}"`);
      o.scale = Number(scale);
    }
    return o;
  }

  #runFromForm() {
    const files = this.#files.request("model", this.#model != null ? ["model"] : []);
    this.#drawFiles(); // a required role still empty now reads "Missing."
    if (files instanceof Error) return this.#fail(files);
    let opts;
    try {
      opts = this.#formOptions();
    } catch (e) {
      return this.#fail(e);
    }
    return this.audit({ ...opts, ...files }).catch(() => {});
  }

  /** Run an audit. Resolves to the report; rejects (and fires "error") on failure. */
  async audit(args = {}) {
    const $ = (id) => this.#root.getElementById(id);
    if (this.#abort) throw new Error("an audit is already running");
    const request = { ...this.options, ...args };
    if (request.model == null && this.#model != null) request.model = this.#model;
    this.#abort = new AbortController();
    $("error").hidden = true;
    // The previous report is not this run's: hidden until this one is ready.
    $("report").hidden = true;
    $("comparison").hidden = true;
    $("run").disabled = true;
    $("cancel").disabled = false;
    this.#progress(0, "starting the engine…");
    try {
      const onProgress = (p) => {
        this.#progress(p.fraction, `${p.stage}: ${p.message}`);
        this.dispatchEvent(new CustomEvent("progress", { detail: p }));
      };
      const { compareModels, ...one } = request;
      let result;
      if (compareModels?.length) {
        // Several models (the role "a model to compare"): the comparison, then the first
        // model's report; choosing a model in the table shows its report.
        const models = [one.model, ...compareModels].map((m) => ({ name: (m?.name ?? "model").replace(/\.onnx$/i, ""), model: m }));
        delete one.model;
        const compared = await runCompare({ ...one, models, signal: this.#abort.signal, onProgress });
        $("comparison").hidden = false;
        $("comparison-table").replaceChildren(...comparisonRows(compared.comparison, (i) => this.#show(compared.audits[i])));
        $("comparison-plot").innerHTML = compared.svg;
        this.dispatchEvent(new CustomEvent("comparison", { detail: compared.comparison }));
        result = compared.audits[0];
      } else {
        result = await runAudit({ ...one, signal: this.#abort.signal, onProgress });
        $("comparison").hidden = true;
      }
      this.#show(result);
      this.#progress(1, "done");
      this.dispatchEvent(new CustomEvent("report", { detail: result.report }));
      return result.report;
    } catch (e) {
      if (e?.name === "AbortError") this.#progress(0, "cancelled");
      else this.#fail(e);
      throw e;
    } finally {
      this.#abort = null;
      $("run").disabled = false;
      $("cancel").disabled = true;
    }
  }

  /** Draw one audit's result as the report. */
  #show(result) {
    const $ = (id) => this.#root.getElementById(id);
    this.#last = result;
    $("report").hidden = false;
    renderReport({ summary: $("summary"), verdict: $("verdict"), provenance: $("provenance"), warnings: $("warnings"), metrics: $("metrics"), statisticsNote: $("statistics-note"), epsilon: $("epsilon"), epsilonNote: $("epsilon-note"), references: $("references"), roc: $("roc"), hists: $("hists"), exposure: $("exposure"), recordDetail: $("record-detail"), slices: $("slices"), duplicates: $("duplicates"), glossary: $("glossary") }, result);
  }

  /** Stop a running audit (its promise rejects with an AbortError). */
  cancel() {
    this.#abort?.abort();
  }

  #progress(fraction, text) {
    this.#root.getElementById("progress").value = fraction;
    this.#root.getElementById("progress-text").textContent = text;
  }

  #fail(e) {
    const message = e?.message ?? String(e);
    const err = this.#root.getElementById("error");
    err.textContent = message;
    err.hidden = false;
    this.#progress(0, "");
    this.dispatchEvent(new CustomEvent("error", { detail: { message } }));
  }
}

if (!customElements.get("privacy-audit")) customElements.define("privacy-audit", PrivacyAudit);
