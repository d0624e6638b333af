// <privacy-audit>: the whole audit UI — the drop zone and role table, every option, progress,
// the comparison of several models, and the report (verdict, warnings, tables, plots, records,
// thumbnails of exposed images, glossary, provenance, HTML/JSON/CSV export) — in a shadow root.
// The page (index.html) is this element plus its demo bar; a host page embeds the same element.
// UI only: the work is done by api.js, whose worker owns the wasm engine. Importing this module
// registers the element (its only side effect).
//
//   <script type="module" src="/node_modules/privaudit/www/widget.js"></script>
//   <privacy-audit backend="auto" attacks="threshold,attack_p" label-column="label"></privacy-audit>
//
// Attributes (which set the form's fields): backend, attacks (comma-separated), label-column,
// id-column, scale, shift, references, mode, seed, epochs, learning-rate, batch-size, optimizer.
// Methods: audit({ model?, members, nonmembers, population?, compareModels?, ...options },
// { title }?) runs an audit with these files and options (the preset model when none is given;
// a running audit is cancelled first); cancel(); showReport() scrolls to the report and focuses it.
// Files: one drop zone (and "Add files…"/"Add a folder…" buttons) for everything; each item
// gets a role from its name and contents, shown in an editable table (www/files.js).
// Property `model` (File | Blob | Uint8Array | {name, bytes}) presets the model: the model role
// reads "set by this page" and users only add their data (a model they add wins).
// Attribute `state` (set by the element): running, done, error or cancelled.
// Events: "progress" (detail {stage, fraction, message}), "report" (detail: the report),
// "comparison" (detail: the comparison), "error" (detail {message}). Theme with
// --privaudit-accent, --privaudit-bad, --privaudit-muted, --privaudit-font and ::part(form | files |
// run | cancel | progress | error | comparison | report | verdict | warnings | metrics | epsilon |
// references | roc | histograms | exposure | record-detail | slices | duplicates | thumbnails |
// glossary | provenance | save-html | save-json | save-csv).
import init, { runAudit, runCompare, zipImages } from "./api.js";
import { comparisonRows, download, renderReport, wireGlossaryLinks } from "./render.js";
import { FileSet, filesMarkup, wireFileSet } from "./files.js";

// The element's one stylesheet. Colours follow the host page's scheme (color-scheme is
// inherited; light-dark() picks by it) and meet 4.5:1 in both (tested with axe-core).
const STYLE = `
:host { display: block; font: 15px/1.45 var(--privaudit-font, system-ui, sans-serif);
  --accent: var(--privaudit-accent, light-dark(#0b6bcb, #6cb2ff)); --bad: var(--privaudit-bad, light-dark(#b3261e, #ff8a80));
  --muted: var(--privaudit-muted, light-dark(#4b5563, #b8bec9)); --warn: light-dark(#8a4b00, #ffc46b); --warnbox: light-dark(#fff4e5, #2d2213);
  --on-accent: light-dark(#ffffff, #0b1220); }
[hidden] { display: none !important; }
h2 { margin: 1.2rem 0 .4rem; }
a { color: var(--accent); }
.grid { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; align-items: center; margin: .5rem 0; }
fieldset { border: 1px solid color-mix(in srgb, var(--muted) 50%, transparent); border-radius: 6px; margin: .5rem 0; }
fieldset label { margin-right: 1.2rem; }
select, input { max-width: 100%; }
.actions { display: flex; gap: .7rem; flex-wrap: wrap; margin: .7rem 0; }
button { font: inherit; padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button:disabled { opacity: .5; cursor: progress; }
:is(button, input, select, summary, [tabindex]):focus-visible, .drop:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.status { display: flex; gap: 1rem; align-items: center; min-height: 1.5rem; }
progress { width: 16rem; max-width: 40%; }
.error { color: var(--bad); font-weight: 600; white-space: pre-wrap; }
/* A table wider than the element scrolls inside itself (each holds a link or is focusable). */
table { border-collapse: collapse; margin: 1rem 0; width: 100%; display: block; overflow-x: auto; max-width: 100%; }
caption { text-align: left; color: var(--muted); font-size: .9em; caption-side: bottom; padding-top: .3rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid color-mix(in srgb, var(--muted) 35%, transparent); text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th[scope="row"], td.text, caption { white-space: normal; }
th:first-child, td:first-child { text-align: left; }
#roc svg { width: 100%; max-width: 720px; }
#hists { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: .5rem; }
#hists svg { width: 100%; }
.warnings-box { background: var(--warnbox); border-left: 4px solid var(--warn); padding: .1rem 1rem; margin: .7rem 0; }
.warnings-box h3 { color: var(--warn); margin: .4rem 0; }
.verdict { border-left: 4px solid var(--accent); padding: .3rem 1rem .3rem 1.8rem; margin: .7rem 0; }
.verdict li.finding { font-size: 1.05em; }
td.below-chance { text-decoration: underline dotted; }
td small.ci { color: var(--muted); font-size: .8em; white-space: nowrap; }
td.unmeasurable { color: var(--muted); font-style: italic; }
.note { color: var(--muted); font-size: .9em; }
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
.glossary dt { font-weight: 600; margin-top: .4rem; }
.glossary dd { margin-left: 1.2rem; }
.thumbs { display: flex; flex-wrap: wrap; gap: .6rem; margin: .4rem 0 1rem; }
.thumbs figure { margin: 0; width: 6.5rem; font-size: .8em; color: var(--muted); }
.thumbs img { width: 6.5rem; height: 6.5rem; object-fit: contain; image-rendering: pixelated; border: 2px solid color-mix(in srgb, var(--muted) 35%, transparent); border-radius: 4px; background: white; }
.thumbs figcaption { overflow-wrap: anywhere; }
.drop { border: 2px dashed var(--muted); border-radius: 8px; padding: .3rem 1rem; margin: .5rem 0 1rem; }
.drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, transparent); }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.pick-input { position: absolute; width: 1px; height: 1px; opacity: 0; }
label.pick { padding: .45rem 1rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
label.pick:has(+ .pick-input:focus-visible) { outline: 3px solid var(--accent); outline-offset: 2px; }
#roles td, #roles th { text-align: left; }
ul.roles { font-size: .9em; padding-left: 1.2rem; }
ul.roles .missing { color: var(--bad); font-weight: 600; }
ul.roles .held { color: var(--accent); }
button.remove { padding: .2rem .6rem; }
/* Phones: one column of labels and fields. */
@media (max-width: 640px) {
  .grid { grid-template-columns: minmax(0, 1fr); }
  th, td { white-space: normal; padding: .25rem .35rem; }
  .provenance code { font-size: .75em; }
}
@media print { #inputs, .actions, .status { display: none; } }
`;

const TEMPLATE = `
<section id="inputs" part="form" aria-labelledby="inputs-h">
  <h2 id="inputs-h">Your files</h2>
  <fieldset>
    <legend>What to audit</legend>
    <label><input type="radio" name="mode" value="model" checked> an ONNX model and records</label>
    <label><input type="radio" name="mode" value="outputs"> the model's outputs only (logits or probabilities)</label>
  </fieldset>
  <div id="files" class="files" part="files">${filesMarkup()}</div>
  <div class="grid" id="outputs-inputs" hidden>
    <label for="outputs">Outputs are</label>
    <select id="outputs"><option value="auto">detect</option><option value="logits">logits</option><option value="probabilities">probabilities</option></select>
  </div>
  <details id="options">
    <summary>Options</summary>
    <div class="grid">
      <label for="labelColumn">Label column (CSV)</label><input id="labelColumn" value="label">
      <label for="idColumn">Id column (CSV): names the records in the report, not a feature</label><input id="idColumn" placeholder="none">
      <label for="modelOutput">Model output with the class scores (when it has several)</label><input id="modelOutput" placeholder="chosen by privaudit, e.g. probabilities">
      <label for="scale">Scale features by</label><input id="scale" type="number" step="any" value="1">
      <label for="shift">then add</label><input id="shift" type="number" step="any" value="0">
      <label for="imageResize">Images: resize to H×W (empty: to the model's size when it differs)</label><input id="imageResize" placeholder="e.g. 256×256">
      <label for="imageCrop">Images: centre crop H×W (after the resize)</label><input id="imageCrop" placeholder="none">
      <label for="imageNormalize">Images: normalisation</label><select id="imageNormalize"><option value="none">none (values in [0, 1], ToTensor)</option><option value="imagenet">ImageNet mean/std</option></select>
      <label for="backend">Run on</label>
      <select id="backend"><option value="auto">the fastest: a hardware GPU (WebGPU) if there is one, else the CPU</option><option value="gpu">the GPU (WebGPU), even a software one</option><option value="cpu">the CPU</option></select>
    </div>
    <fieldset id="attacks"><legend>Attacks</legend>
      <label><input type="checkbox" name="attack" value="loss" checked> LOSS</label>
      <label><input type="checkbox" name="attack" value="confidence" checked> confidence</label>
      <label><input type="checkbox" name="attack" value="entropy" checked> entropy</label>
      <label><input type="checkbox" name="attack" value="modified_entropy" checked> modified entropy</label>
      <label><input type="checkbox" name="attack" value="attack_p"> Attack-P (population threshold)</label>
      <label><input type="checkbox" name="attack" value="lira"> LiRA (trains reference models)</label>
      <label><input type="checkbox" name="attack" value="rmia"> RMIA (trains reference models)</label>
    </fieldset>
    <fieldset id="reference-options"><legend>Reference models (LiRA, RMIA)</legend>
      <div class="grid">
        <label for="refs">Number of references K (even)</label><input id="refs" type="number" min="2" step="2" value="4">
        <label for="refMode">Mode</label>
        <select id="refMode"><option value="offline">offline: references never see the audited records</option><option value="online">online: each audited record is in half of them</option></select>
        <label for="seed">Seed</label><input id="seed" type="number" min="0" step="1" value="0">
        <label for="optimizer">Optimizer</label><select id="optimizer"><option value="adam">Adam</option><option value="sgd">SGD</option></select>
        <label for="lr">Learning rate</label><input id="lr" type="number" step="any" min="0" value="0.001">
        <label for="epochs">Epochs</label><input id="epochs" type="number" min="1" step="1" value="100">
        <label for="batch">Batch size</label><input id="batch" type="number" min="1" step="1" value="32">
        <label for="weightDecay">Weight decay</label><input id="weightDecay" type="number" step="any" min="0" value="0">
        <label for="rmiaA">RMIA offline a (0–1, or “tune”)</label><input id="rmiaA" value="tune">
        <label for="rmiaGamma">RMIA γ</label><input id="rmiaGamma" type="number" step="any" min="0" value="1">
      </div>
      <p class="note">A reference must learn for LiRA and RMIA to mean anything: with few epochs or a small learning rate it may not, and the report then leaves those attacks out of its verdict (progress says so after its first epochs).</p>
    </fieldset>
    <fieldset id="statistics-options"><legend>Statistics</legend>
      <div class="grid">
        <label for="bootstrap">Bootstrap resamples for the intervals (0: none)</label><input id="bootstrap" type="number" min="0" step="1" value="1000">
        <label for="confidence">Confidence of intervals and ε bounds</label><input id="confidence" type="number" min="0.5" max="0.999999" step="any" value="0.95">
        <label for="delta">δ of the ε bounds</label><input id="delta" type="number" min="0" step="any" value="0.00001">
      </div>
      <label><input type="checkbox" id="randomised"> Each audited record was put in training by an independent fair coin (the ε bounds are then a DP audit, with the one-run bound; otherwise they are heuristic)</label>
    </fieldset>
    <fieldset id="report-options"><legend>Records, slices and duplicates</legend>
      <div class="grid">
        <label for="exposedCount">Most exposed members listed (and as many false positives)</label><input id="exposedCount" type="number" min="0" max="1000" step="1" value="20">
        <label for="sliceColumn">Slice column (CSV): its values group the records</label><input id="sliceColumn" placeholder="none, e.g. group">
      </div>
      <label><input type="checkbox" id="slicesOn" checked> Metrics per slice: class, correct or not, loss quartile, and the slice column</label>
      <label><input type="checkbox" id="dropDuplicates"> Drop the non-members that copy a member (exactly, or nearly for images) before the audit</label>
    </fieldset>
  </details>
  <p class="actions">
    <button id="run" part="run" type="button">Audit my files</button>
    <button id="cancel" part="cancel" type="button" class="secondary" disabled>Cancel</button>
  </p>
  <div class="status" aria-live="polite">
    <progress id="progress" part="progress" max="1" value="0" aria-label="audit progress"></progress>
    <span id="progress-text"></span>
  </div>
  <p id="error" class="error" part="error" role="alert" hidden></p>
</section>

<section id="comparison" part="comparison" aria-labelledby="comparison-h" hidden>
  <h2 id="comparison-h">Models compared</h2>
  <table>
    <caption>Utility against privacy, every model audited on the same records. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
    <thead><tr><th scope="col">model</th><th scope="col">accuracy (members)</th><th scope="col">accuracy (non-members)</th><th scope="col">AUC</th><th scope="col">TPR at the level</th><th scope="col">ε (ROC)</th><th scope="col">references</th></tr></thead>
    <tbody id="comparison-table"></tbody>
  </table>
  <p id="comparison-note" class="note"></p>
  <figure id="comparison-plot"></figure>
  <p class="actions">
    <button id="save-comparison-html" type="button" class="secondary">Save the comparison (HTML document)</button>
    <button id="save-comparison" type="button" class="secondary">Save the comparison (JSON)</button>
  </p>
</section>

<section id="report" part="report" aria-labelledby="report-h" tabindex="-1" hidden>
  <h2 id="report-h">Report</h2>
  <p id="report-title"></p>
  <p id="summary"></p>
  <h3 id="verdict-h">Verdict</h3>
  <ul id="verdict" class="verdict" part="verdict" aria-labelledby="verdict-h"></ul>
  <section class="warnings-box" part="warnings" aria-labelledby="warnings-h" hidden>
    <h3 id="warnings-h">Warnings</h3>
    <ul id="warnings"></ul>
  </section>
  <!-- Saving comes right after the findings: a few Tab stops from "Audit", not past every record. -->
  <p class="actions">
    <button id="save-html" part="save-html" type="button">Save report (HTML document)</button>
    <button id="save-json" part="save-json" type="button" class="secondary">Save report (JSON)</button>
    <button id="save-csv" part="save-csv" type="button" class="secondary">Save per-record scores (CSV)</button>
  </p>
  <table id="metrics" part="metrics">
    <caption>Attack success. TPR at FPR ≤ level: the best true-positive rate among thresholds whose false-positive rate does not exceed the level. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
    <thead><tr><th scope="col">attack</th><th scope="col">AUC</th><th scope="col">TPR @ 10 % FPR</th><th scope="col">TPR @ 1 %</th><th scope="col">TPR @ 0.1 %</th><th scope="col">TPR @ 0</th><th scope="col">advantage</th><th scope="col">PPV</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="statistics-note" class="note"></p>
  <table id="epsilon" part="epsilon">
    <caption>Lower bounds on ε: the training is not (ε, δ)-DP with any smaller ε, at the stated confidence. In brackets: the largest value these counts of records could show at all, so a small bound from few records is not read as a small ε. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
    <thead><tr><th scope="col">attack</th><th scope="col">ε (ROC)</th><th scope="col">μ (Gaussian DP)</th><th scope="col">ε from μ</th><th scope="col">ε (one run)</th><th scope="col">one-run guesses</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="epsilon-note" class="note"></p>
  <table id="references" part="references" tabindex="0" hidden>
    <caption></caption>
    <thead><tr><th scope="col">reference</th><th scope="col">trained on</th><th scope="col">accuracy (its training records)</th><th scope="col">accuracy (other records)</th><th scope="col">final training loss</th></tr></thead>
    <tbody></tbody>
  </table>
  <figure id="roc" part="roc"><figcaption>ROC curves, log-log, from the smallest measurable FPR (1/N): the best TPR at each FPR, as a staircase; the dashed line is chance; the shaded band is the strongest attack's bootstrap interval.</figcaption></figure>
  <div id="hists" part="histograms"></div>
  <section id="exposure" part="exposure" aria-labelledby="exposure-h" hidden>
    <h3 id="exposure-h">The most exposed records</h3>
    <p class="exposure-note note"></p>
    <table class="exposed-members"><caption>Members the strongest attack is most sure of. Rank: position among all audited records by that attack's score (1 = most likely a member; tied scores share a rank, so ranks can jump); rows count from 1 in each file, without its header. Model's loss: −log p(label). Then each attack's score (higher = more likely a member), with its percentile among the non-members' scores beneath. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption><thead></thead><tbody></tbody></table>
    <table class="false-positives"><caption>False positives: the non-members that look most like members. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption><thead></thead><tbody></tbody></table>
    <div id="record-detail" class="record-detail" part="record-detail" aria-live="polite" hidden></div>
  </section>
  <section id="slices" part="slices" aria-labelledby="slices-h" hidden>
    <h3 id="slices-h">Slices</h3>
    <table><caption>The strongest attack on each slice alone, with its interval; small: fewer than 50 members or non-members (in italics). Every attack's numbers per slice are in the JSON. Terms: <a href="#glossary" class="glossary-link">glossary</a>.</caption>
      <thead><tr><th scope="col">slice</th><th scope="col">members</th><th scope="col">non-members</th><th scope="col">AUC</th><th scope="col">TPR @ 1 %</th><th scope="col">TPR @ 0.1 %</th><th scope="col">advantage</th><th scope="col">ε (ROC)</th></tr></thead>
      <tbody></tbody></table>
    <figure class="slices-chart"></figure>
  </section>
  <section id="duplicates" part="duplicates" aria-labelledby="duplicates-h" hidden>
    <h3 id="duplicates-h">Duplicates</h3>
    <ul></ul>
  </section>
  <section id="exposed" part="thumbnails" aria-labelledby="exposed-h" hidden>
    <h3 id="exposed-h">The images the strongest attack is most sure are members</h3>
    <p id="exposed-note"></p>
    <div class="thumbs" id="exposed-members" role="list" aria-label="scored most likely members"></div>
    <div class="thumbs" id="exposed-nonmembers" role="list" aria-label="non-members scored most likely members (false positives)"></div>
  </section>
  <details id="glossary" class="glossary" part="glossary">
    <summary>Glossary: AUC, TPR and FPR, advantage, PPV, ε, μ, intervals, ranks</summary>
    <dl></dl>
  </details>
  <table id="provenance" class="provenance" part="provenance" tabindex="0">
    <caption></caption>
    <thead><tr><th scope="col">role</th><th scope="col">file</th><th scope="col">bytes</th><th scope="col">records</th><th scope="col">SHA-256</th></tr></thead>
    <tbody></tbody>
  </table>
</section>`;

const OPTION_ATTRIBUTES = ["backend", "attacks", "label-column", "id-column", "scale", "shift", "references", "mode", "seed", "epochs", "learning-rate", "batch-size", "optimizer"];
/** The form field each attribute sets. */
const FIELD = { backend: "backend", "label-column": "labelColumn", "id-column": "idColumn", scale: "scale", shift: "shift", references: "refs", mode: "refMode", seed: "seed", epochs: "epochs", "learning-rate": "lr", "batch-size": "batch", optimizer: "optimizer" };
const camel = (s) => s.replace(/-([a-z])/g, (_, c) => c.toUpperCase());

/**
 * The engine names an option by its JSON key ("the option ‘dropDuplicates’", "option 'scale': …");
 * this element says it with its own control: the field each key sets. Every key the engine's
 * sentences name is here (tests/integration/registry.rs).
 */
const FIELD_OF = {
  attacks: "attacks", backend: "backend", dropDuplicates: "dropDuplicates", exposed: "exposedCount", idColumn: "idColumn",
  "image.centerCrop": "imageCrop", "image.normalize": "imageNormalize", "image.resize": "imageResize", labelColumn: "labelColumn",
  mode: "refMode", output: "modelOutput", outputs: "outputs", references: "refs", rmiaA: "rmiaA", rmiaGamma: "rmiaGamma",
  scale: "scale", seed: "seed", shift: "shift", sliceColumn: "sliceColumn", "statistics.bootstrap": "bootstrap",
  "statistics.confidence": "confidence", "statistics.delta": "delta", "statistics.randomisedMembership": "randomised",
  "training.batchSize": "batch", "training.epochs": "epochs", "training.learningRate": "lr", "training.optimizer": "optimizer",
  "training.weightDecay": "weightDecay", referenceOutputs: "the role “a reference's outputs” (in the table of your files)",
};

/** What the thumbnails are taken from: a zip (File or {name, bytes}), or a folder's path -> File. */
function thumbnailSource(value) {
  const name = value?.name ?? "";
  if (!value?.files && /\.zip$/i.test(name)) return { zip: value };
  return value?.files || value instanceof FileList || Array.isArray(value) ? folderIndex(value) : undefined;
}

/** path inside its folder -> File, for a picked or dropped folder. */
function folderIndex(value) {
  const list = value instanceof FileList || Array.isArray(value) ? [...value] : Array.isArray(value?.files) ? value.files : [];
  const out = {};
  for (const f of list) {
    const rel = f.webkitRelativePath || f.relativePath || f.name;
    out[f.webkitRelativePath ? rel.split("/").slice(1).join("/") : rel] = f;
  }
  return out;
}

export class PrivacyAudit extends HTMLElement {
  static observedAttributes = OPTION_ATTRIBUTES;
  #root;
  #model = null;
  #abort = null;
  #running = null; // the running audit's promise
  #last = null; // the result shown
  #compared = null; // the comparison shown
  #shown = {}; // members/nonmembers/population -> thumbnail source of the running or shown audit
  #files = new FileSet();
  #drawFiles = () => {};

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: "open" });
    // A constructed stylesheet: allowed by a page's CSP that forbids inline styles.
    if ("adoptedStyleSheets" in this.#root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      this.#root.adoptedStyleSheets = [sheet];
      this.#root.innerHTML = TEMPLATE;
    } else {
      this.#root.innerHTML = `<style>${STYLE}</style>${TEMPLATE}`;
    }
    const $ = (id) => this.#root.getElementById(id);
    $("run").addEventListener("click", () => this.#runFromForm());
    $("cancel").addEventListener("click", () => this.cancel());
    $("save-json").addEventListener("click", () => this.#last && download("privaudit-report.json", this.#last.reportJson, "application/json"));
    $("save-html").addEventListener("click", () => this.#last && download("privaudit-report.html", this.#last.reportHtml, "text/html"));
    $("save-csv").addEventListener("click", () => this.#last && download("privaudit-scores.csv", this.#last.scoresCsv, "text/csv"));
    $("save-comparison").addEventListener("click", () => this.#compared && download("privaudit-comparison.json", this.#compared.comparisonJson, "application/json"));
    $("save-comparison-html").addEventListener("click", () => this.#compared && download("privaudit-comparison.html", this.#compared.comparisonHtml, "text/html"));
    wireGlossaryLinks(this.#root, $("glossary"));
    this.#drawFiles = wireFileSet(this.#root, this.#files, {
      mode: () => this.#mode(),
      announce: (m) => { $("files-status").textContent = m; },
      onError: (e) => this.#fail(e),
      onChange: () => this.#showError(""),
      given: () => (this.#model != null ? { model: "set by this page" } : {}),
    });
    for (const r of this.#root.querySelectorAll('input[name="mode"]')) {
      r.addEventListener("change", () => {
        $("outputs-inputs").hidden = this.#mode() !== "outputs";
        this.#drawFiles(`Auditing ${this.#mode() === "model" ? "a model and its records" : "the model's outputs only"}.`);
      });
    }
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

  /** The report shown, or null. */
  get report() { return this.#last?.report ?? null; }

  /** Options from the attributes. */
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

  /** Scroll to the report and focus it (a skip link's target). */
  showReport() {
    const r = this.#root.getElementById("report");
    if (r.hidden) return false;
    r.scrollIntoView({ block: "start" });
    r.focus();
    return true;
  }

  #mode() {
    return this.#root.querySelector('input[name="mode"]:checked').value;
  }

  // The attributes set the form's fields.
  #syncForm() {
    const $ = (id) => this.#root.getElementById(id);
    for (const [attr, id] of Object.entries(FIELD)) {
      const v = this.getAttribute(attr);
      if (v != null && v !== "") $(id).value = v;
    }
    const attacks = this.getAttribute("attacks");
    if (attacks) {
      const names = attacks.split(",").map((s) => s.trim());
      for (const c of this.#root.querySelectorAll('input[name="attack"]')) {
        c.checked = names.includes(c.value) || (names.includes("threshold") && THRESHOLD.includes(c.value));
      }
    }
  }

  /** `H×W`, `H,W` or `N` as [H, W]; empty as null. */
  #size(id) {
    const el = this.#root.getElementById(id);
    const text = el.value.trim();
    if (!text) return null;
    const parts = text.split(/[×x,\s]+/).filter(Boolean).map(Number);
    const ok = parts.length >= 1 && parts.length <= 2 && parts.every((v) => Number.isInteger(v) && v > 0);
    if (!ok) throw new Error(`${this.#label(id)}: expected H×W or N, got "${text}"`);
    return parts.length === 1 ? [parts[0], parts[0]] : parts;
  }

  #label(id) {
    return this.#root.querySelector(`label[for="${id}"]`)?.textContent ?? id;
  }

  // A numeric field: empty means its default (the value it was served with, which a test keeps
  // equal to the engine's default); anything that is not a finite number is an error — never a
  // silent 0.
  #num(id) {
    const el = this.#root.getElementById(id);
    // A number input whose text is not a number reads as "" with validity.badInput set.
    const text = el.value.trim() === "" && !el.validity?.badInput ? el.defaultValue : el.value.trim();
    const v = Number(text);
    if (text === "" || !Number.isFinite(v)) throw new Error(`${this.#label(id)}: expected a number${el.value ? `, got "${el.value}"` : ""}`);
    return v;
  }

  /** Every option as the form says it (the form shows the attributes). */
  #formOptions() {
    const $ = (id) => this.#root.getElementById(id);
    const outputsOnly = this.#mode() === "outputs";
    const o = {
      labelColumn: $("labelColumn").value.trim() || $("labelColumn").defaultValue,
      scale: this.#num("scale"),
      shift: this.#num("shift"),
      backend: $("backend").value,
      attacks: [...this.#root.querySelectorAll('input[name="attack"]:checked')].map((c) => c.value),
      seed: this.#num("seed"),
      statistics: { bootstrap: this.#num("bootstrap"), confidence: this.#num("confidence"), delta: this.#num("delta"), randomisedMembership: $("randomised").checked },
      exposed: this.#num("exposedCount"),
      slices: $("slicesOn").checked,
    };
    const id = $("idColumn").value.trim();
    if (id) o.idColumn = id;
    const slice = $("sliceColumn").value.trim();
    if (slice) o.sliceColumn = slice;
    const output = $("modelOutput").value.trim();
    if (output && !outputsOnly) o.output = output;
    if ($("dropDuplicates").checked && !outputsOnly) o.dropDuplicates = true;
    const image = { resize: this.#size("imageResize"), centerCrop: this.#size("imageCrop"), normalize: $("imageNormalize").value };
    if (image.resize || image.centerCrop || image.normalize !== "none") o.image = image;
    if (outputsOnly) o.outputs = $("outputs").value;
    if (o.attacks.some((a) => ["lira", "rmia", "attack_p"].includes(a))) {
      o.references = this.#num("refs");
      o.mode = $("refMode").value;
      o.training = { optimizer: $("optimizer").value, learningRate: this.#num("lr"), epochs: this.#num("epochs"), batchSize: this.#num("batch"), weightDecay: this.#num("weightDecay") };
      const a = $("rmiaA").value.trim();
      o.rmiaA = a === "tune" || a === "" ? "tune" : this.#num("rmiaA");
      o.rmiaGamma = this.#num("rmiaGamma");
    }
    return o;
  }

  #runFromForm() {
    const files = this.#files.request(this.#mode(), this.#model != null ? ["model"] : []);
    this.#drawFiles(); // a required role still empty now reads "Missing."
    if (files instanceof Error) return this.#fail(files);
    let opts;
    try {
      opts = this.#formOptions();
    } catch (e) {
      return this.#fail(e);
    }
    const names = this.#files.items.filter((i) => i.role !== "ignore").map((i) => i.name).join(", ");
    return this.audit({ ...opts, ...files }, { title: `Your files: ${names}` }).catch(() => {});
  }

  /**
   * Run an audit (a running one is cancelled first). Resolves to the report; rejects (and fires
   * "error") on failure, with an AbortError when cancelled.
   */
  async audit(args = {}, { title = "" } = {}) {
    if (this.#running) {
      this.#abort?.abort();
      await this.#running.catch(() => {});
    }
    const run = this.#audit(args, title);
    this.#running = run;
    try {
      return await run;
    } finally {
      if (this.#running === run) this.#running = null;
    }
  }

  async #audit(args, title) {
    const $ = (id) => this.#root.getElementById(id);
    const request = { ...this.options, ...args };
    if (request.model == null && this.#model != null) request.model = this.#model;
    const abort = new AbortController();
    this.#abort = abort;
    this.#showError("");
    // The previous report is not this run's: hidden until this one is ready.
    $("report").hidden = true;
    $("comparison").hidden = true;
    this.#shown = Object.fromEntries(["members", "nonmembers", "population"].map((s) => [s, thumbnailSource(request[s])]));
    $("cancel").disabled = false;
    this.setAttribute("state", "running");
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
        const compared = await runCompare({ ...one, models, signal: abort.signal, onProgress });
        this.#showComparison(compared, title);
        this.dispatchEvent(new CustomEvent("comparison", { detail: compared.comparison }));
        result = compared.audits[0];
      } else {
        result = await runAudit({ ...one, signal: abort.signal, onProgress });
        this.#compared = null;
        this.#show(result, title);
      }
      this.#progress(1, "done");
      this.setAttribute("state", "done");
      this.dispatchEvent(new CustomEvent("report", { detail: result.report }));
      return result.report;
    } catch (e) {
      if (e?.name === "AbortError") {
        this.#progress(0, "cancelled");
        this.setAttribute("state", "cancelled");
      } else {
        this.#fail(e);
      }
      throw e;
    } finally {
      if (this.#abort === abort) {
        this.#abort = null;
        $("cancel").disabled = true;
      }
    }
  }

  // A comparison: its table and plot, then the report of the model chosen in the table (the
  // first at the start), drawn as a single audit's.
  #showComparison(compared, title) {
    const $ = (id) => this.#root.getElementById(id);
    this.#compared = compared;
    const box = $("comparison");
    box.hidden = false;
    const c = compared.comparison;
    const show = (i) => {
      for (const tr of box.querySelectorAll("tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.index) === i);
      this.#show(compared.audits[i], `${title ? `${title} — ` : ""}${c.rows[i].name}`);
    };
    $("comparison-table").replaceChildren(...comparisonRows(c, show));
    $("comparison-plot").innerHTML = compared.svg;
    $("comparison-note").textContent = `The strongest attack's AUC and TPR at ${c.fpr_level === "0" ? "0" : `${Number(c.fpr_level) * 100} %`} FPR on each model, with ${c.confidence * 100} % intervals; ε: the ROC bound over all attacks. Choose a model to see its whole report below.${c.warnings.length ? ` ${c.warnings.join(" ")}` : ""}`;
    show(0);
  }

  /** Draw one audit's result as the report. */
  #show(result, title) {
    const $ = (id) => this.#root.getElementById(id);
    const q = (sel) => this.#root.querySelector(sel);
    this.#last = result;
    $("report").hidden = false;
    $("report-title").textContent = title;
    $("report-title").hidden = !title;
    renderReport({ summary: $("summary"), verdict: $("verdict"), provenance: $("provenance"), warnings: $("warnings"), metrics: q("#metrics tbody"), statisticsNote: $("statistics-note"), epsilon: q("#epsilon tbody"), epsilonNote: $("epsilon-note"), references: $("references"), roc: $("roc"), hists: $("hists"), exposure: $("exposure"), recordDetail: $("record-detail"), slices: $("slices"), duplicates: $("duplicates"), glossary: $("glossary"), words: (t) => this.#inPageTerms(t) }, result);
    this.#thumbnails(result);
  }

  // Thumbnails of the records the strongest attack (the report's exposure ranking) is most sure
  // are members: the most exposed members, then the non-members it takes for members, with what
  // they really are: which images leak. Images come from the picked folders, or out of a zipped
  // set by the engine's own zip reader (so the paths are the audit's).
  #thumbnails(result) {
    const $ = (id) => this.#root.getElementById(id);
    const box = $("exposed");
    const report = result.report;
    // The previous image audit's thumbnails: release their object URLs.
    for (const img of box.querySelectorAll("img")) URL.revokeObjectURL(img.src);
    box.hidden = !report.data.images;
    if (box.hidden) return;
    const shown = this.#shown;
    const e = report.exposure;
    const row = (x) => ({ ...x, member: x.set === "members" ? "1" : "0", score: x.scores[e.attack] });
    $("exposed-note").textContent = `${e.attack}: the 8 members it scores most likely to be training members, then the 8 non-members it scores highest (false positives). A border marks what each really is.`;
    const zipped = { members: [], nonmembers: [] }; // [row, figure] still waiting for a zip's image
    const picture = (fig, r, blob) => {
      const img = document.createElement("img");
      img.src = URL.createObjectURL(blob);
      img.alt = `${r.id}, class ${report.data.images.class_names[Number(r.label)] ?? r.label}`;
      img.style.borderColor = r.member === "1" ? "var(--bad)" : "var(--accent)";
      fig.prepend(img);
    };
    const figure = (r) => {
      const set = r.set === "members" ? "members" : "nonmembers";
      const fig = document.createElement("figure");
      fig.setAttribute("role", "listitem");
      fig.dataset.member = r.member;
      const f = shown[set]?.zip ? null : shown[set]?.[r.id];
      if (f) picture(fig, r, f);
      else if (shown[set]?.zip) zipped[set].push([r, fig]);
      const cap = document.createElement("figcaption");
      cap.textContent = `${r.member === "1" ? "member" : "non-member"} · ${r.id} · score ${r.score.toPrecision(3)}`;
      fig.append(cap);
      return fig;
    };
    $("exposed-members").replaceChildren(...e.members.slice(0, 8).map(row).map(figure));
    $("exposed-nonmembers").replaceChildren(...e.false_positives.slice(0, 8).map(row).map(figure));
    for (const [set, waiting] of Object.entries(zipped)) {
      if (!waiting.length) continue;
      zipImages(shown[set].zip, waiting.map(([r]) => r.id)).then(
        (blobs) => {
          if (this.#last !== result) return; // a newer report is shown
          waiting.forEach(([r, fig], i) => blobs[i] && picture(fig, r, blobs[i]));
        },
        (err) => this.#showError(`cannot show the images of ${set}: ${err.message}`),
      );
    }
  }

  /** Stop a running audit (its promise rejects with an AbortError). */
  cancel() {
    this.#abort?.abort();
  }

  /** The control that sets option `key`, in words ("“Epochs” (Options, Reference models)"), or null. */
  #control(key) {
    const id = FIELD_OF[key];
    if (!id) return null;
    const el = this.#root.getElementById(id);
    if (!el) return id.includes(" ") ? id : null;
    // The label up to its first bracket: "RMIA offline a (0–1, or “tune”)" → "RMIA offline a".
    const label = (el.labels?.[0]?.textContent ?? el.querySelector?.("legend")?.textContent ?? "").trim().replace(/\s+/g, " ").split(" (")[0];
    const group = el.closest("fieldset:not(#attacks)")?.querySelector("legend")?.textContent;
    return `${el.type === "checkbox" ? "the box " : ""}“${label}” (Options${group && group !== label ? `, ${group}` : ""})`;
  }

  /**
   * `text` in this element's terms: "the option ‘KEY’" as the control that sets it, and an error
   * about an option's value ("option 'scale': …") followed by that control.
   */
  #inPageTerms(text) {
    let out = String(text).replace(/the option ‘([\w.]+)’/g, (all, key) => this.#control(key) ?? all);
    const key = /^option '([\w.]+)': /.exec(out)?.[1];
    const control = key && this.#control(key);
    if (control) out += ` (${control})`;
    return out;
  }

  #progress(fraction, text) {
    this.#root.getElementById("progress").value = fraction;
    this.#root.getElementById("progress-text").textContent = text;
  }

  #showError(message) {
    const err = this.#root.getElementById("error");
    err.textContent = this.#inPageTerms(message);
    err.hidden = !message;
  }

  #fail(e) {
    const message = e?.message ?? String(e);
    this.#showError(message);
    this.#progress(0, "");
    this.setAttribute("state", "error");
    this.dispatchEvent(new CustomEvent("error", { detail: { message } }));
  }
}

if (!customElements.get("privacy-audit")) customElements.define("privacy-audit", PrivacyAudit);
