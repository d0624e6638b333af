// The page: file pickers, drag-and-drop, options, progress and the report. All work is done by
// the engine through api.js; this file only reads the form and writes the DOM.
import init, { runAudit } from "./api.js";
import { download, renderReport } from "./render.js";

const $ = (sel) => document.querySelector(sel);
const FILE_IDS = ["model", "modelData", "members", "membersLabels", "nonmembers", "nonmembersLabels", "population", "populationLabels", "memberOutputs", "nonmemberOutputs", "populationOutputs", "referenceMembership"];
const MULTI_IDS = ["referenceModels", "referenceOutputs"];
const dropped = {}; // id -> File, from drag-and-drop
let last = null; // the last result, for the save buttons
let abort = null; // the running audit's AbortController
let running = null; // the running audit's promise

const DEMO = {
  title: "Demo: an MLP deliberately overfit on 100 of scikit-learn's handwritten digits (8×8 pixels, 0–16), audited on its 100 training records and 500 it never saw.",
  files: { model: "digits_mlp.onnx", members: "digits_members.csv", nonmembers: "digits_nonmembers.csv" },
  options: { scale: 1 / 16 },
};
const DEMO_REFS = {
  title: "Demo with reference models: the same overfit digits MLP; 4 references of its architecture are trained here (offline: on 250 held-out non-members), then LiRA, RMIA and Attack-P run next to the threshold attacks.",
  options: { scale: 1 / 16, attacks: ["threshold", "attack_p", "lira", "rmia"], references: 4, mode: "offline", training: { epochs: 100 } },
};

function fileFor(id) {
  return dropped[id] ?? $(`#${id}`).files?.[0];
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
  };
  const id = $("#idColumn").value.trim();
  if (id) o.idColumn = id;
  if (mode() === "outputs") o.outputs = $("#outputs").value;
  if (o.attacks.some((a) => ["lira", "rmia", "attack_p"].includes(a))) {
    o.references = num("refs");
    o.mode = $("#refMode").value;
    o.seed = num("seed");
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
  for (const b of document.querySelectorAll("button")) b.disabled = b.id !== "cancel" && b.id !== "run";
  setProgress(0, "starting the engine…");
  abort = new AbortController();
  try {
    const result = await runAudit({ ...files, ...opts, signal: abort.signal, onProgress: (p) => setProgress(p.fraction, `${p.stage}: ${p.message}`) });
    last = result;
    render(result, title);
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

function render(result, title) {
  $("#report").hidden = false;
  $("#report-title").textContent = title;
  renderReport({ summary: $("#summary"), warnings: $("#warnings"), metrics: $("#metrics tbody"), references: $("#references"), roc: $("#roc"), hists: $("#hists") }, result);
}

async function runDemo(demo = DEMO) {
  const files = {};
  for (const [key, name] of Object.entries(DEMO.files)) {
    const res = await fetch(new URL(`./demo/${name}`, import.meta.url));
    if (!res.ok) throw new Error(`cannot load the demo file ${name}`);
    files[key] = { name, bytes: new Uint8Array(await res.arrayBuffer()) };
  }
  await run(files, demo.options, demo.title);
}

function runUser() {
  const files = {};
  for (const id of FILE_IDS) {
    const f = fileFor(id);
    if (f) files[id] = f;
  }
  // A label file belongs to an NPY data file: one picked earlier for an NPY that has since been
  // replaced by a CSV or NPZ is not sent.
  for (const [data, labels] of [["members", "membersLabels"], ["nonmembers", "nonmembersLabels"], ["population", "populationLabels"]]) {
    if (!files[data]?.name?.toLowerCase().endsWith(".npy")) delete files[labels];
  }
  for (const id of MULTI_IDS) {
    const list = [...($(`#${id}`).files ?? [])];
    if (list.length) files[id] = list;
  }
  if (mode() === "model") {
    delete files.memberOutputs;
    delete files.nonmemberOutputs;
    delete files.populationOutputs;
    const missing = ["model", "members", "nonmembers"].filter((k) => !files[k]);
    if (missing.length) return refuse(`Pick ${missing.join(", ")} first.`);
  } else {
    for (const k of ["model", "modelData", "members", "nonmembers", "population", "populationLabels", "referenceModels"]) delete files[k];
    const missing = ["memberOutputs", "nonmemberOutputs"].filter((k) => !files[k]);
    if (missing.length) return refuse(`Pick ${missing.join(", ")} first.`);
  }
  let opts;
  try {
    opts = options();
  } catch (e) {
    return refuse(e.message);
  }
  const names = Object.values(files).flat().map((f) => f.name).join(", ");
  return run(files, opts, `Your files: ${names}`);
}

function assignDropped(fileList) {
  for (const f of fileList) {
    const n = f.name.toLowerCase();
    const non = /non[-_ ]?member|nonmember|test|unseen|holdout/.test(n);
    let id;
    if (n.endsWith(".onnx")) id = "model";
    else if (n.endsWith(".data") || n.endsWith(".bin")) id = "modelData";
    else if (/label|_y\.npy$/.test(n) && n.endsWith(".npy")) id = non ? "nonmembersLabels" : "membersLabels";
    else id = non ? "nonmembers" : "members";
    if (mode() === "outputs" && (id === "members" || id === "nonmembers")) id = id === "members" ? "memberOutputs" : "nonmemberOutputs";
    dropped[id] = f;
  }
  $("#drop-help").textContent = "Using: " + Object.entries(dropped).map(([k, f]) => `${k} = ${f.name}`).join("; ");
}

function wire() {
  for (const id of FILE_IDS) $(`#${id}`).addEventListener("change", () => delete dropped[id]);
  for (const r of document.querySelectorAll('input[name="mode"]')) {
    r.addEventListener("change", () => {
      $("#model-inputs").hidden = mode() !== "model";
      $("#outputs-inputs").hidden = mode() !== "outputs";
    });
  }
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); assignDropped(e.dataTransfer.files); });
  $("#run").addEventListener("click", runUser);
  $("#demo").addEventListener("click", () => runDemo().catch((e) => showError(e.message)));
  $("#demo-refs").addEventListener("click", () => runDemo(DEMO_REFS).catch((e) => showError(e.message)));
  $("#cancel").addEventListener("click", () => abort?.abort());
  $("#save-json").addEventListener("click", () => last && download("privaudit-report.json", last.reportJson, "application/json"));
  $("#save-csv").addEventListener("click", () => last && download("privaudit-scores.csv", last.scoresCsv, "text/csv"));
}

wire();
init().catch((e) => showError(e.message));
runDemo().catch((e) => showError(e.message));
