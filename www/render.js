// Report rendering shared by the page (app.js) and the custom element (widget.js): plain DOM,
// numbers in a real table next to the plots. The SVGs come from the engine's own renderer
// (names escaped there), never from user input.

export const fmt = (v) => (v == null ? "–" : v.toFixed(4));

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

const range = (iv) => `${iv[0].toFixed(3)}–${iv[1].toFixed(3)}`;

/**
 * One `<tr>` per attack; cells carry `data-metric`, the full-precision `data-value` and, with
 * intervals, `data-lo`/`data-hi` (shown beneath the value). A TPR at a level below 1/N is
 * greyed (class `unmeasurable`, with a title saying why).
 */
export function metricRows(report) {
  const unmeasurable = new Set(report.statistics?.unmeasurable_fpr_levels ?? []);
  const why = `below 1/N = ${report.statistics?.min_measurable_fpr}: this is the TPR at zero false positives`;
  return report.attacks.map((a) => {
    const tr = el("tr");
    tr.dataset.attack = a.name;
    const ci = a.ci;
    const cells = [["auc", a.auc, ci?.auc], ...["0.1", "0.01", "0.001", "0"].map((k) => [`tpr@${k}`, a.tpr_at_fpr[k], ci?.tpr_at_fpr[k], k]),
      ["advantage", a.advantage, ci?.advantage], ["ppv", a.ppv]];
    const params = Object.entries(a.parameters ?? {}).map(([k, v]) => `${k} = ${v}`).join(", ");
    tr.append(el("th", { scope: "row", textContent: a.name, title: params }), ...cells.map(([k, v, iv, level]) => {
      const td = el("td", { textContent: fmt(v) });
      td.dataset.metric = k;
      td.dataset.value = String(v);
      if (iv) {
        td.append(el("br"), el("small", { className: "ci", textContent: range(iv) }));
        [td.dataset.lo, td.dataset.hi] = iv.map(String);
      }
      if (level != null && unmeasurable.has(level)) {
        td.className = "unmeasurable";
        td.title = why;
      }
      return td;
    }));
    return tr;
  });
}

const eps = (v) => (v == null ? "–" : v.toFixed(2));

/** One `<tr>` per attack of the ε table: each bound with its ceiling in brackets. */
export function epsilonRows(report) {
  return report.attacks.map((a) => {
    const e = a.epsilon;
    const o = e.one_run;
    const cells = [
      ["roc", `${eps(e.roc.epsilon)} (≤ ${eps(e.roc.ceiling)})`, e.roc.epsilon],
      ["gdp-mu", `${eps(e.gdp.mu)} (≤ ${eps(e.gdp.mu_ceiling)})`, e.gdp.mu],
      ["gdp-epsilon", `${eps(e.gdp.epsilon)} (≤ ${eps(e.gdp.epsilon_ceiling)})`, e.gdp.epsilon],
      ["one-run", o ? `${eps(o.epsilon)} (≤ ${eps(o.ceiling)})` : "–", o?.epsilon],
      ["one-run-guesses", o ? `${o.correct} of ${o.guesses} right` : "–"],
    ];
    const tr = el("tr");
    tr.dataset.attack = a.name;
    tr.append(el("th", { scope: "row", textContent: a.name }), ...cells.map(([k, text, v]) => {
      const td = el("td", { textContent: text });
      td.dataset.bound = k;
      if (v != null) td.dataset.value = String(v);
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

/** The verdict's sentences as `<li>`s, then the gate's result when there is one. */
export function verdictItems(report) {
  const v = report.verdict;
  const items = v.summary.map((t) => el("li", { textContent: t }));
  if (v.gate) {
    const g = el("li", { className: v.gate.passed ? "gate passed" : "gate crossed" },
      el("strong", { textContent: `Gate “${v.gate.expression}”: ${v.gate.passed ? "passed" : "crossed"}` }),
      el("ul", {}, ...v.gate.conditions.map((c) => el("li", { textContent: `${c.crossed ? "✗" : "✓"} ${c.condition}: ${c.value}${c.attack ? ` (${c.attack})` : ""}` }))));
    items.push(g);
  }
  return items;
}

/** The provenance: when, by what, and every input's SHA-256, as `<tr>`s. */
export function provenanceRows(report) {
  return report.provenance.inputs.map((d) => {
    const tr = el("tr");
    tr.dataset.role = d.role;
    tr.append(el("th", { scope: "row", textContent: d.role }), el("td", { textContent: d.name }), el("td", { textContent: String(d.bytes) }),
      el("td", { textContent: d.records != null ? String(d.records) : d.files != null ? `${d.files} files` : "" }), el("td", {}, el("code", { textContent: d.sha256 })));
    return tr;
  });
}

/** The ε table's header row. */
export const EPSILON_HEADERS = ["attack", "ε (ROC)", "μ (Gaussian DP)", "ε from μ", "ε (one run)", "one-run guesses"];

/** The provenance table's header row. */
export const PROVENANCE_HEADERS = ["role", "file", "bytes", "records", "SHA-256"];

/** The table header row and the references table's, for callers that build their own. */
export const METRIC_HEADERS = ["attack", "AUC", "TPR @ 10 % FPR", "TPR @ 1 %", "TPR @ 0.1 %", "TPR @ 0", "advantage", "PPV"];
export const REFERENCE_HEADERS = ["reference", "trained on", "accuracy (its training records)", "accuracy (other records)", "final training loss"];

/** Render everything into the given elements. */
export function renderReport(els, result) {
  const r = result.report;
  els.summary.replaceChildren(...summary(r));
  els.summary.dataset.backend = r.backend;
  if (els.verdict) {
    els.verdict.replaceChildren(...verdictItems(r));
    els.verdict.dataset.leak = String(r.verdict.leak_measured);
  }
  if (els.provenance) {
    els.provenance.querySelector("tbody").replaceChildren(...provenanceRows(r));
    els.provenance.querySelector("caption").textContent = `Audited ${r.provenance.created} by ${r.provenance.engine}; report schema ${r.schema_version}. SHA-256 as sha256sum computes it (an image folder: over its files in path order; see the README).`;
  }
  els.warnings.replaceChildren(...r.warnings.map((w) => el("li", { textContent: w })));
  els.metrics.replaceChildren(...metricRows(r));
  if (els.statisticsNote) els.statisticsNote.textContent = result.statisticsNote ?? "";
  if (els.epsilon) els.epsilon.replaceChildren(...epsilonRows(r));
  if (els.epsilonNote) {
    els.epsilonNote.textContent = result.epsilonNote ?? "";
    els.epsilonNote.dataset.basis = r.statistics.epsilon_basis;
  }
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
