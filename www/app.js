// The page: file pickers, drag-and-drop, options, progress and the report. All work is done by
// the engine through api.js; this file only reads the form and writes the DOM.
import init, { runAudit, runCompare, zipImages } from "./api.js";
import { comparisonRows, download, renderReport, wireGlossaryLinks } from "./render.js";
import { FileSet, filesMarkup, wireFileSet } from "./files.js";

const $ = (sel) => document.querySelector(sel);
const fileset = new FileSet(); // everything the user dropped or picked, with its role
let shown = {}; // members/nonmembers/population -> {path -> File} of a folder, or {zip} of a zip: for the thumbnails
let last = null; // the last result, for the save buttons
let abort = null; // the running audit's AbortController
let running = null; // the running audit's promise

const DEMO = {
  title: "Demo: an MLP deliberately overfit on 100 of scikit-learn's handwritten digits (8×8 pixels, 0–16), audited on its 100 training records and 500 it never saw.",
  files: { model: "digits_mlp.onnx", members: "digits_members.csv", nonmembers: "digits_nonmembers.csv" },
  options: { scale: 1 / 16 },
};
const DEMO_IMAGES = {
  title: "Image demo: a small CNN (Conv, MaxPool, Linear) overfit on 100 of scikit-learn's handwritten digits as 8×8 PNG images in one folder per digit (zipped); 2 references of its architecture are trained here on 250 population images, then LiRA and RMIA run next to LOSS.",
  files: { model: "digits_cnn.onnx", members: "digits_images/members.zip", nonmembers: "digits_images/nonmembers.zip", population: "digits_images/population.zip" },
  options: { attacks: ["loss", "attack_p", "lira", "rmia"], references: 2, mode: "offline", training: { epochs: 30, learningRate: 0.003, batchSize: 25 } },
};
const DEMO_TABULAR = {
  title: "Tabular demo: a scikit-learn pipeline (StandardScaler + MLPClassifier) exported by skl2onnx with default options, trained on 280 of scikit-learn's breast-cancer records; its Scaler runs as the file has it, 2 references of its network are trained here on halves of 144 held-out records, then LiRA runs next to the threshold attacks.",
  files: { model: "cancer_pipeline.onnx", members: "cancer_members.csv", nonmembers: "cancer_nonmembers.csv" },
  options: { attacks: ["threshold", "lira"], references: 2, mode: "offline", training: { epochs: 60, batchSize: 48, learningRate: 0.005 } },
};
const DEMO_REFS = {
  title: "Demo with reference models: the same overfit digits MLP; 4 references of its architecture are trained here (offline: on 250 held-out non-members), then LiRA, RMIA and Attack-P run next to the threshold attacks.",
  options: { scale: 1 / 16, attacks: ["threshold", "attack_p", "lira", "rmia"], references: 4, mode: "offline", training: { epochs: 100 } },
};

/** `H×W`, `H,W` or `N` as [H, W]; empty as null. */
function size(id) {
  const text = $(`#${id}`).value.trim();
  if (!text) return null;
  const parts = text.split(/[×x,\s]+/).filter(Boolean).map(Number);
  const ok = parts.length >= 1 && parts.length <= 2 && parts.every((v) => Number.isInteger(v) && v > 0);
  if (!ok) throw new Error(`${document.querySelector(`label[for="${id}"]`)?.textContent ?? id}: expected H×W or N, got "${text}"`);
  return parts.length === 1 ? [parts[0], parts[0]] : parts;
}

function mode() {
  return document.querySelector('input[name="mode"]:checked').value;
}

// A numeric field: empty means its default (the value the page was served with, which a test
// keeps equal to the engine's default); anything that is not a finite number is an error —
// never a silent 0.
function num(id) {
  const el = $(`#${id}`);
  // A number input whose text is not a number reads as "" with validity.badInput set.
  const text = el.value.trim() === "" && !el.validity?.badInput ? el.defaultValue : el.value.trim();
  const v = Number(text);
  if (text === "" || !Number.isFinite(v)) {
    const label = document.querySelector(`label[for="${id}"]`)?.textContent ?? id;
    throw new Error(`${label}: expected a number${el.value ? `, got "${el.value}"` : ""}`);
  }
  return v;
}

function options() {
  const o = {
    labelColumn: $("#labelColumn").value.trim() || $("#labelColumn").defaultValue,
    scale: num("scale"),
    shift: num("shift"),
    backend: $("#backend").value,
    attacks: [...document.querySelectorAll('input[name="attack"]:checked')].map((c) => c.value),
    seed: num("seed"),
    statistics: { bootstrap: num("bootstrap"), confidence: num("confidence"), delta: num("delta"), randomisedMembership: $("#randomised").checked },
  };
  const id = $("#idColumn").value.trim();
  if (id) o.idColumn = id;
  o.exposed = num("exposedCount");
  o.slices = $("#slicesOn").checked;
  const slice = $("#sliceColumn").value.trim();
  if (slice) o.sliceColumn = slice;
  const output = $("#modelOutput").value.trim();
  if (output && mode() !== "outputs") o.output = output;
  if ($("#dropDuplicates").checked && mode() !== "outputs") o.dropDuplicates = true;
  const image = { resize: size("imageResize"), centerCrop: size("imageCrop"), normalize: $("#imageNormalize").value };
  if (image.resize || image.centerCrop || image.normalize !== "none") o.image = image;
  if (mode() === "outputs") o.outputs = $("#outputs").value;
  if (o.attacks.some((a) => ["lira", "rmia", "attack_p"].includes(a))) {
    o.references = num("refs");
    o.mode = $("#refMode").value;
    o.training = {
      optimizer: $("#optimizer").value,
      learningRate: num("lr"),
      epochs: num("epochs"),
      batchSize: num("batch"),
      weightDecay: num("weightDecay"),
    };
    const a = $("#rmiaA").value.trim();
    o.rmiaA = a === "tune" || a === "" ? "tune" : num("rmiaA");
    o.rmiaGamma = num("rmiaGamma");
  }
  return o;
}

function showError(message) {
  const e = $("#error");
  e.textContent = message;
  e.hidden = !message;
}

/** Refuse to start an audit: say why (the state tells tests and assistive tools it ended). */
function refuse(message) {
  showError(message);
  document.body.dataset.state = "error";
}

function setProgress(fraction, text) {
  $("#progress").value = fraction;
  $("#progress-text").textContent = text;
}

// Starting an audit while another runs (the demo, say) cancels that one first.
async function run(files, opts, title) {
  if (running) {
    abort?.abort();
    await running;
  }
  running = audit(files, opts, title);
  await running;
  running = null;
}

async function audit(files, opts, title) {
  showError("");
  // The previous report is not this run's: it leaves the page until this one is ready.
  $("#report").hidden = true;
  $("#comparison").hidden = true;
  $("#demo-verdict").hidden = true;
  for (const b of document.querySelectorAll("button")) b.disabled = b.id !== "cancel" && b.id !== "run";
  setProgress(0, "starting the engine…");
  abort = new AbortController();
  try {
    const onProgress = (p) => setProgress(p.fraction, `${p.stage}: ${p.message}`);
    const { compareModels, ...rest } = files;
    if (compareModels?.length) {
      // Several models: the first is the one given the role "model", then the others in order.
      const models = [rest.model, ...compareModels].map((m) => ({ name: (m.name ?? "model").replace(/\.onnx$/i, ""), model: m }));
      delete rest.model;
      const compared = await runCompare({ ...rest, models, ...opts, signal: abort.signal, onProgress });
      renderComparison(compared, title);
    } else {
      const result = await runAudit({ ...rest, ...opts, signal: abort.signal, onProgress });
      comparisonShown = null;
      $("#comparison").hidden = true;
      last = result;
      render(result, title);
    }
    setProgress(1, "done");
  } catch (e) {
    if (e?.name === "AbortError") {
      setProgress(0, "cancelled");
    } else {
      setProgress(0, "");
      showError(e.message ?? String(e));
    }
  } finally {
    const cancelled = abort?.signal.aborted;
    abort = null;
    for (const b of document.querySelectorAll("button")) b.disabled = b.id === "cancel";
    document.body.dataset.state = cancelled ? "cancelled" : $("#error").hidden ? "done" : "error";
  }
}

let comparisonShown = null; // the last comparison, while it is shown

// A comparison: its table and plot, then the report of the model chosen in the table (the first
// at the start), drawn as a single audit's.
function renderComparison(compared, title) {
  comparisonShown = compared;
  const box = $("#comparison");
  box.hidden = false;
  const c = compared.comparison;
  const show = (i) => {
    last = compared.audits[i];
    for (const tr of box.querySelectorAll("tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.index) === i);
    render(compared.audits[i], `${title} — ${c.rows[i].name}`);
  };
  $("#comparison-table").replaceChildren(...comparisonRows(c, show));
  $("#comparison-plot").innerHTML = compared.svg;
  $("#comparison-note").textContent = `The strongest attack's AUC and TPR at ${c.fpr_level === "0" ? "0" : `${Number(c.fpr_level) * 100} %`} FPR on each model, with ${c.confidence * 100} % intervals; ε: the ROC bound over all attacks. Choose a model to see its whole report below.${c.warnings.length ? ` ${c.warnings.join(" ")}` : ""}`;
  show(0);
}

function render(result, title) {
  $("#report").hidden = false;
  // The first screen says what the report below found, with a way to it.
  const first = result.report.verdict.summary[0] ?? "";
  $("#demo-verdict-text").textContent = `${title.split(":")[0]}: ${first}`;
  $("#demo-verdict").hidden = false;
  $("#report-title").textContent = title;
  renderReport({ summary: $("#summary"), verdict: $("#verdict"), provenance: $("#provenance"), warnings: $("#warnings"), metrics: $("#metrics tbody"), statisticsNote: $("#statistics-note"), epsilon: $("#epsilon tbody"), epsilonNote: $("#epsilon-note"), references: $("#references"), roc: $("#roc"), hists: $("#hists"), exposure: $("#exposure"), recordDetail: $("#record-detail"), slices: $("#slices"), duplicates: $("#duplicates"), glossary: $("#glossary") }, result);
  renderExposed(result);
}

// Thumbnails of the records the strongest attack (the report's exposure ranking) is most sure
// are members: the most exposed members, then the non-members it takes for members, with what
// they really are: which images leak. Images come from the picked folders, or out of a zipped
// set by the engine's own zip reader (so the paths are the audit's).
function renderExposed(result) {
  const box = $("#exposed");
  const report = result.report;
  box.hidden = !report.data.images;
  if (box.hidden) {
    // The previous image audit's thumbnails: release their object URLs.
    for (const img of box.querySelectorAll("img")) URL.revokeObjectURL(img.src);
    return;
  }
  const e = report.exposure;
  const row = (x) => ({ ...x, member: x.set === "members" ? "1" : "0", score: x.scores[e.attack] });
  $("#exposed-note").textContent = `${e.attack}: the 8 members it scores most likely to be training members, then the 8 non-members it scores highest (false positives). A border marks what each really is.`;
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
  for (const img of box.querySelectorAll("img")) URL.revokeObjectURL(img.src);
  $("#exposed-members").replaceChildren(...e.members.slice(0, 8).map(row).map(figure));
  $("#exposed-nonmembers").replaceChildren(...e.false_positives.slice(0, 8).map(row).map(figure));
  const forResult = result;
  for (const [set, waiting] of Object.entries(zipped)) {
    if (!waiting.length) continue;
    zipImages(shown[set].zip, waiting.map(([r]) => r.id)).then(
      (blobs) => {
        if (last !== forResult) return; // a newer report is shown
        waiting.forEach(([r, fig], i) => blobs[i] && picture(fig, r, blobs[i]));
      },
      (e) => showError(`cannot show the images of ${set}: ${e.message}`),
    );
  }
}

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

async function runDemo(demo = DEMO) {
  const files = {};
  shown = {};
  for (const [key, name] of Object.entries(demo.files ?? DEMO.files)) {
    const res = await fetch(new URL(`./demo/${name}`, import.meta.url));
    if (!res.ok) throw new Error(`cannot load the demo file ${name}`);
    files[key] = { name, bytes: new Uint8Array(await res.arrayBuffer()) };
    if (["members", "nonmembers", "population"].includes(key)) shown[key] = thumbnailSource(files[key]);
  }
  await run(files, demo.options, demo.title);
}

function runUser() {
  const files = fileset.request(mode());
  drawFiles(); // a required role still empty now reads "Missing."
  if (files instanceof Error) return refuse(files.message);
  let opts;
  try {
    opts = options();
  } catch (e) {
    return refuse(e.message);
  }
  shown = {};
  for (const set of ["members", "nonmembers", "population"]) shown[set] = thumbnailSource(files[set]);
  const names = fileset.items.filter((i) => i.role !== "ignore").map((i) => i.name).join(", ");
  return run(files, opts, `Your files: ${names}`);
}

let drawFiles = () => {}; // redraws the file table (wired in wire())

function wire() {
  $("#files").innerHTML = filesMarkup();
  drawFiles = wireFileSet(document, fileset, { mode, announce: (m) => { $("#files-status").textContent = m; }, onError: (e) => showError(e.message), onChange: () => showError("") });
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => {
      $("#outputs-inputs").hidden = mode() !== "outputs";
      drawFiles(`Auditing ${mode() === "model" ? "a model and its records" : "the model's outputs only"}.`);
    });
  }
  $("#run").addEventListener("click", runUser);
  $("#demo").addEventListener("click", () => runDemo().catch((e) => showError(e.message)));
  $("#demo-refs").addEventListener("click", () => runDemo(DEMO_REFS).catch((e) => showError(e.message)));
  $("#demo-images").addEventListener("click", () => runDemo(DEMO_IMAGES).catch((e) => showError(e.message)));
  $("#demo-tabular").addEventListener("click", () => runDemo(DEMO_TABULAR).catch((e) => showError(e.message)));
  $("#cancel").addEventListener("click", () => abort?.abort());
  $("#save-json").addEventListener("click", () => last && download("privaudit-report.json", last.reportJson, "application/json"));
  $("#save-html").addEventListener("click", () => last && download("privaudit-report.html", last.reportHtml, "text/html"));
  $("#save-comparison-html").addEventListener("click", () => comparisonShown && download("privaudit-comparison.html", comparisonShown.comparisonHtml, "text/html"));
  wireGlossaryLinks(document, $("#glossary"));
  $("#save-comparison").addEventListener("click", () => comparisonShown && download("privaudit-comparison.json", comparisonShown.comparisonJson, "application/json"));
  $("#save-csv").addEventListener("click", () => last && download("privaudit-scores.csv", last.scoresCsv, "text/csv"));
}

wire();
init().catch((e) => showError(e.message));
runDemo().catch((e) => showError(e.message));
