// The page: <privacy-audit> (www/widget.js, the whole audit UI) and its demo bar. This file only
// loads the demos' files into the element and mirrors its state onto the page.
import "./widget.js";

const $ = (sel) => document.querySelector(sel);
const el = $("#audit");
let demo = false; // the audit shown or running is one of the demos

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

async function runDemo(d = DEMO) {
  const files = {};
  for (const [key, name] of Object.entries(d.files ?? DEMO.files)) {
    const res = await fetch(new URL(`./demo/${name}`, import.meta.url));
    if (!res.ok) throw new Error(`cannot load the demo file ${name}`);
    files[key] = { name, bytes: new Uint8Array(await res.arrayBuffer()) };
  }
  demo = true;
  // A cancelled or failed demo is said by the element itself.
  await el.audit({ ...files, ...d.options }, { title: d.title }).catch(() => {});
}

// The element's state on the page (tests and assistive tools read it), the demo buttons off
// while it runs, and the verdict of what it shows at the top of the page.
new MutationObserver(() => {
  const state = el.getAttribute("state");
  document.body.dataset.state = state;
  for (const b of document.querySelectorAll("header button")) b.disabled = state === "running";
  if (state === "running") $("#demo-verdict").hidden = true;
}).observe(el, { attributes: true, attributeFilter: ["state"] });
el.addEventListener("report", (e) => {
  $("#demo-verdict-text").textContent = `${demo ? "Demo" : "Your audit"}: ${e.detail.verdict.summary[0] ?? ""}`;
  $("#demo-verdict").hidden = false;
});
// A run from the element's own form is the user's.
el.shadowRoot.getElementById("run").addEventListener("click", () => { demo = false; }, { capture: true });
// "Skip to the report" and "See the report": into the element's report when there is one.
for (const a of document.querySelectorAll('a[href="#audit"]')) {
  a.addEventListener("click", (e) => { if (el.showReport()) e.preventDefault(); });
}

const failed = (e) => { $("#demo-running").textContent = e.message; };
$("#demo").addEventListener("click", () => runDemo().catch(failed));
$("#demo-refs").addEventListener("click", () => runDemo(DEMO_REFS).catch(failed));
$("#demo-images").addEventListener("click", () => runDemo(DEMO_IMAGES).catch(failed));
$("#demo-tabular").addEventListener("click", () => runDemo(DEMO_TABULAR).catch(failed));
runDemo().catch(failed);
