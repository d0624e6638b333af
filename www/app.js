// The page: file pickers, drag-and-drop, options, progress and the report. All work is done by
// the engine through api.js; this file only reads the form and writes the DOM.
import init, { runAudit } from "./api.js";
import { download, renderReport } from "./render.js";

const $ = (sel) => document.querySelector(sel);
const FILE_IDS = ["model", "modelData", "members", "membersLabels", "nonmembers", "nonmembersLabels", "population", "populationLabels", "memberOutputs", "nonmemberOutputs", "populationOutputs", "referenceMembership"];
const MULTI_IDS = ["referenceModels", "referenceOutputs"];
const dropped = {}; // id -> File, from drag-and-drop
let last = null; // the last result, for the save buttons
let busy = false;
let abort = null; // the running audit's AbortController

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

function options() {
  const o = {
    labelColumn: $("#labelColumn").value.trim() || "label",
    scale: Number($("#scale").value),
    shift: Number($("#shift").value),
    backend: $("#backend").value,
    attacks: [...document.querySelectorAll('input[name="attack"]:checked')].map((c) => c.value),
  };
  const id = $("#idColumn").value.trim();
  if (id) o.idColumn = id;
  if (mode() === "outputs") o.outputs = $("#outputs").value;
  if (o.attacks.some((a) => ["lira", "rmia", "attack_p"].includes(a))) {
    o.references = Number($("#refs").value);
    o.mode = $("#refMode").value;
    o.seed = Number($("#seed").value);
    o.training = {
      optimizer: $("#optimizer").value,
      learningRate: Number($("#lr").value),
      epochs: Number($("#epochs").value),
      batchSize: Number($("#batch").value),
      weightDecay: Number($("#weightDecay").value),
    };
    const a = $("#rmiaA").value.trim();
    o.rmiaA = a === "tune" || a === "" ? "tune" : Number(a);
    o.rmiaGamma = Number($("#rmiaGamma").value);
  }
  return o;
}

function showError(message) {
  const e = $("#error");
  e.textContent = message;
  e.hidden = !message;
}

function setProgress(fraction, text) {
  $("#progress").value = fraction;
  $("#progress-text").textContent = text;
}

async function run(files, opts, title) {
  if (busy) return;
  busy = true;
  showError("");
  for (const b of document.querySelectorAll("button")) b.disabled = b.id !== "cancel";
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
    busy = false;
    abort = null;
    for (const b of document.querySelectorAll("button")) b.disabled = b.id === "cancel";
    document.body.dataset.state = $("#error").hidden ? "done" : "error";
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
  for (const id of MULTI_IDS) {
    const list = [...($(`#${id}`).files ?? [])];
    if (list.length) files[id] = list;
  }
  if (mode() === "model") {
    delete files.memberOutputs;
    delete files.nonmemberOutputs;
    delete files.populationOutputs;
    const missing = ["model", "members", "nonmembers"].filter((k) => !files[k]);
    if (missing.length) return showError(`Pick ${missing.join(", ")} first.`);
  } else {
    for (const k of ["model", "modelData", "members", "nonmembers", "population", "populationLabels", "referenceModels"]) delete files[k];
    const missing = ["memberOutputs", "nonmemberOutputs"].filter((k) => !files[k]);
    if (missing.length) return showError(`Pick ${missing.join(", ")} first.`);
  }
  const names = Object.values(files).flat().map((f) => f.name).join(", ");
  return run(files, options(), `Your files: ${names}`);
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
