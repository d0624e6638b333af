// Report rendering shared by the page (app.js) and the custom element (widget.js): plain DOM,
// numbers in a real table next to the plots. The SVGs come from the engine's own renderer
// (names escaped there), never from user input.

export const fmt = (v) => (v == null ? "–" : v.toFixed(4));

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

/** One `<tr>` per attack; cells carry `data-metric` and the full-precision `data-value`. */
export function metricRows(report) {
  return report.attacks.map((a) => {
    const tr = el("tr");
    tr.dataset.attack = a.name;
    const cells = [["auc", a.auc], ["tpr@0.1", a.tpr_at_fpr["0.1"]], ["tpr@0.01", a.tpr_at_fpr["0.01"]], ["tpr@0.001", a.tpr_at_fpr["0.001"]],
      ["tpr@0", a.tpr_at_fpr["0"]], ["advantage", a.advantage], ["ppv", a.ppv]];
    const params = Object.entries(a.parameters ?? {}).map(([k, v]) => `${k} = ${v}`).join(", ");
    tr.append(el("th", { scope: "row", textContent: a.name, title: params }), ...cells.map(([k, v]) => {
      const td = el("td", { textContent: fmt(v) });
      td.dataset.metric = k;
      td.dataset.value = String(v);
      return td;
    }));
    return tr;
  });
}

/** A one-line summary: backend, set sizes, accuracy. `backendLabel` is an element to fill. */
export function summary(report) {
  const r = report;
  const backend = { webgpu: "WebGPU (GPU)", wgpu: "GPU", cpu: "CPU" }[r.backend] ?? r.backend;
  const acc = r.model.format === "outputs" ? "" :
    ` · accuracy ${fmt(r.model.accuracy_members)} on members, ${fmt(r.model.accuracy_nonmembers)} on non-members (generalisation gap ${fmt(r.model.generalization_gap)})`;
  const pop = r.data.population ? `, ${r.data.population} population records` : "";
  return [`Ran on `, el("strong", { className: "backend-used", textContent: backend }),
    ` · ${r.data.members} members, ${r.data.nonmembers} non-members${pop}, ${r.data.classes} classes${acc}`];
}

/** Fill a references table (caption + tbody), or hide it when no reference model was used. */
export function fillReferences(table, report) {
  const refs = report.references;
  table.hidden = !refs;
  if (!refs) return;
  const how = { trained: "trained here", models: "your models", outputs: "your outputs" }[refs.source];
  const secs = refs.training_seconds == null ? "" : `, ${refs.training_seconds.toFixed(1)} s`;
  const tr = refs.training;
  const settings = tr ? ` · ${tr.optimizer}, learning rate ${tr.learningRate}, ${tr.epochs} epochs, batch ${tr.batchSize}, weight decay ${tr.weightDecay}` : "";
  const cached = refs.cached ? " · reused from an earlier run (kept on this machine)" : "";
  table.querySelector("caption").textContent = `${refs.count} reference models (${how}, ${refs.mode}, seed ${refs.seed}${secs})${settings}${cached}. Membership: ${refs.membership}.`;
  table.querySelector("tbody").replaceChildren(...refs.models.map((m) => el("tr", {},
    el("th", { scope: "row", textContent: `#${m.index}` }),
    ...[String(m.train_records), fmt(m.accuracy_train), fmt(m.accuracy_test), m.loss.length ? fmt(m.loss[m.loss.length - 1]) : "–"].map((v) => el("td", { textContent: v })))));
}

/** The table header row and the references table's, for callers that build their own. */
export const METRIC_HEADERS = ["attack", "AUC", "TPR @ 10 % FPR", "TPR @ 1 %", "TPR @ 0.1 %", "TPR @ 0", "advantage", "PPV"];
export const REFERENCE_HEADERS = ["reference", "trained on", "accuracy (its training records)", "accuracy (other records)", "final training loss"];

/** Render everything into the given elements. */
export function renderReport(els, result) {
  const r = result.report;
  els.summary.replaceChildren(...summary(r));
  els.summary.dataset.backend = r.backend;
  els.warnings.replaceChildren(...r.warnings.map((w) => el("li", { textContent: w })));
  els.metrics.replaceChildren(...metricRows(r));
  fillReferences(els.references, r);
  els.roc.querySelector("svg")?.remove();
  els.roc.insertAdjacentHTML("afterbegin", result.rocSvg);
  els.hists.innerHTML = result.histogramSvgs.join("");
}

/** Save text as a file (a download; nothing is sent anywhere). */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
