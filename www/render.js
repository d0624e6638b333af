// Report rendering for <privacy-audit> (widget.js, which the page embeds): plain DOM,
// numbers in a real table next to the plots. The SVGs come from the engine's own renderer
// (names escaped there), never from user input.

export const fmt = (v) => (v == null ? "–" : v.toFixed(4));

const SUPERSCRIPT = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };

/**
 * A number as people read it, the engine's rule (src/report/format.rs `num`): fixed-point with
 * four significant digits from 0.001 to 100,000, else three significant digits times a power
 * of ten in superscripts ("1.27×10⁻⁶"); an ASCII minus so that copied values parse.
 */
export function num(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) {
    const s = v.toFixed(Math.max(0, 3 - Math.floor(Math.log10(a))));
    const t = s.includes(".") ? s.replace(/0+$/, "").replace(/\.$/, "") : s;
    return t === "-0" ? "0" : t;
  }
  let exp = Math.floor(Math.log10(a));
  if (Math.abs(v / 10 ** exp).toFixed(2).startsWith("10")) exp += 1;
  const m = (v / 10 ** exp).toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
  return `${m}×10${String(exp).split("").map((c) => SUPERSCRIPT[c]).join("")}`;
}

/** Why an AUC below 0.5 is not a leak of its own, said where it occurs. */
export const BELOW_CHANCE = "below 0.5: this attack scores members lower than non-members, the opposite of what it expects; with a given split this usually means the two sets differ rather than that the model leaks (see the glossary)";

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
      if (k === "auc" && v < 0.5) {
        td.classList.add("below-chance");
        td.title = BELOW_CHANCE;
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
  const read = [r.model.reading, r.model.preprocessing?.length ? `preprocessing ${r.model.preprocessing.join(" → ")}` : null,
    r.model.estimator ? `estimator: ${r.model.estimator}` : null].filter(Boolean);
  const line = [`Ran on `, el("strong", { className: "backend-used", textContent: backend }),
    ` · ${r.data.members} members, ${r.data.nonmembers} non-members${pop}, ${r.data.classes} classes${acc}`];
  if (r.device) line.push(el("br"), el("small", { className: "device", textContent: `Ran on ${r.device}.` }));
  if (read.length) line.push(el("br"), el("small", { className: "model-read", textContent: `Model read: ${read.join("; ")}` }));
  return line;
}

/** Fill a references table (caption + tbody), or hide it when no reference model was used. */
export function fillReferences(table, report) {
  const refs = report.references;
  table.hidden = !refs;
  if (!refs) return;
  const how = { trained: "trained here", models: "your models", outputs: "your outputs" }[refs.source];
  const secs = (refs.training_seconds == null ? "" : `, ${refs.training_seconds.toFixed(1)} s`) + (refs.parallelism ? `; ${refs.parallelism}` : "");
  const tr = refs.training;
  const settings = tr ? ` · ${tr.optimizer}, learning rate ${tr.learningRate}, ${tr.epochs} epochs, batch ${tr.batchSize}, weight decay ${tr.weightDecay}` : "";
  const cached = refs.cached ? " · reused from an earlier run (kept on this machine)" : "";
  const link = el("a", { href: "#glossary", className: "glossary-link", textContent: "glossary" });
  table.querySelector("caption").replaceChildren(`${refs.count} reference models (${how}, ${refs.mode}, seed ${refs.seed}${secs})${settings}${cached}. Membership: ${refs.membership}. Terms: `, link, ".");
  table.querySelector("tbody").replaceChildren(...refs.models.map((m) => el("tr", {},
    el("th", { scope: "row", textContent: `#${m.index}` }),
    ...[String(m.train_records), fmt(m.accuracy_train), fmt(m.accuracy_test), m.loss.length ? fmt(m.loss[m.loss.length - 1]) : "–"].map((v) => el("td", { textContent: v })))));
}

/** The verdict's sentences as `<li>`s (the first, the finding, in bold), then the gate's result when there is one. */
export function verdictItems(report) {
  const v = report.verdict;
  const items = v.summary.map((t, i) => (i === 0 ? el("li", { className: "finding" }, el("strong", { textContent: t })) : el("li", { textContent: t })));
  if (v.gate) {
    const g = el("li", { className: v.gate.passed ? "gate passed" : "gate crossed" },
      el("strong", { textContent: `Gate “${v.gate.expression}”: ${v.gate.passed ? "passed" : "crossed"}` }),
      el("ul", {}, ...v.gate.conditions.map((c) => el("li", { textContent: `${c.crossed ? "✗" : "✓"} ${c.condition}: ${num(c.value)}${c.attack ? ` (${c.attack})` : ""}` }))));
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

const who = (x) => x.id ?? `${x.set === "members" ? "member" : "non-member"} row ${x.row}`;
const sci = num;

/**
 * The exposure table of `list` (report.exposure.members or .false_positives): rank, record (a
 * button that calls `onSelect(record)`), label, prediction, loss, then each attack's score with
 * its percentile among the non-members beneath. Returns [theadRow, ...bodyRows].
 */
export function exposedRows(report, list, onSelect) {
  const names = report.attacks.map((a) => a.name);
  const head = el("tr", {}, ...["rank", "record", "label", "predicted", "model's loss", ...names.map((n) => `score: ${n}`)].map((h) => el("th", { scope: "col", textContent: h })));
  const rows = list.map((x) => {
    const tr = el("tr");
    tr.dataset.set = x.set;
    tr.dataset.row = String(x.row);
    const button = el("button", { type: "button", className: "link", textContent: who(x), title: "show this record's scores and its reference models" });
    button.addEventListener("click", () => onSelect?.(x, tr));
    const preview = x.preview.length ? el("small", { className: "preview", textContent: x.preview.map(num).join(", ") }) : "";
    tr.append(el("td", { textContent: String(x.rank) }), el("th", { scope: "row" }, button, preview ? el("br") : "", preview),
      el("td", { textContent: String(x.label) }), el("td", { textContent: `${x.predicted}${x.correct ? "" : " ✗"}`, title: x.correct ? "" : "misclassified" }),
      el("td", { textContent: sci(x.loss) }),
      ...names.map((n) => {
        const td = el("td", { textContent: sci(x.scores[n]) }, el("br"), el("small", { textContent: `${x.percentiles[n].toFixed(1)} %` }));
        td.dataset.attack = n;
        td.dataset.value = String(x.scores[n]);
        td.dataset.percentile = String(x.percentiles[n]);
        return td;
      }));
    return tr;
  });
  return [head, ...rows];
}

const SVG = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
};

/**
 * One record in detail: every attack's score and percentile, and with reference models a strip
 * of the references' φ (IN: trained on it; OUT: not) with the target's φ marked.
 */
export function recordDetail(report, x) {
  const parts = [el("h4", { textContent: `${who(x)} (${x.set === "members" ? "a member" : "a non-member"}), rank ${x.rank}` }),
    el("p", { textContent: `label ${x.label}, predicted ${x.predicted}${x.correct ? "" : " (wrong)"}, loss ${sci(x.loss)}` })];
  const t = el("table", { className: "detail" }, el("caption", { textContent: "Every attack's score, and its percentile among the non-members' scores." }),
    el("thead", {}, el("tr", {}, ...["attack", "score", "percentile"].map((h) => el("th", { scope: "col", textContent: h })))),
    el("tbody", {}, ...report.attacks.map((a) => el("tr", {}, el("th", { scope: "row", textContent: a.name }), el("td", { textContent: sci(x.scores[a.name]) }), el("td", { textContent: `${x.percentiles[a.name].toFixed(1)} %` })))));
  parts.push(t);
  const r = x.references;
  if (r) {
    const all = [r.target, ...r.in, ...r.out];
    let [lo, hi] = [Math.min(...all), Math.max(...all)];
    if (hi - lo < 1e-9) [lo, hi] = [lo - 1, hi + 1];
    const [w, left, right] = [420, 50, 20];
    const px = (v) => left + ((v - lo) / (hi - lo)) * (w - left - right);
    const dots = (vals, y, color, label) => vals.map((v) => svg("circle", { cx: px(v).toFixed(1), cy: y, r: 4, fill: color, "fill-opacity": 0.7 }, svg("title", {}, `${label}: φ = ${v.toFixed(3)}`)));
    const plot = svg("svg", { viewBox: `0 0 ${w} 90`, fill: "currentColor", role: "img", "aria-label": `the target's φ ${r.target.toFixed(3)} among ${r.in.length} IN and ${r.out.length} OUT references`, class: "strip" },
      svg("text", { x: 4, y: 24, "font-size": 11 }, "IN"), svg("text", { x: 4, y: 54, "font-size": 11 }, "OUT"),
      ...dots(r.in, 20, "#d62728", "IN reference"), ...dots(r.out, 50, "#1f77b4", "OUT reference"),
      svg("line", { x1: px(r.target).toFixed(1), y1: 8, x2: px(r.target).toFixed(1), y2: 62, stroke: "currentColor", "stroke-width": 2 }, svg("title", {}, `target: φ = ${r.target.toFixed(3)}`)),
      svg("text", { x: left, y: 80, "font-size": 11 }, lo.toFixed(2)), svg("text", { x: w - right, y: 80, "font-size": 11, "text-anchor": "end" }, hi.toFixed(2)),
      svg("text", { x: (left + w - right) / 2, y: 80, "font-size": 11, "text-anchor": "middle" }, "φ = log p(y) − log Σ others"));
    parts.push(el("figure", {}, plot, el("figcaption", { textContent: `The target's φ (line) among the references' φ on this record: red, ${r.in.length} that trained on it; blue, ${r.out.length} that did not. A target far to the right of the blue dots is what LiRA calls a member.` })));
  }
  return parts;
}

/** The slices table's rows for the exposure's attack: each metric with its interval. */
export function sliceRows(report) {
  const name = report.exposure.attack;
  const iv = (v, ci) => [v.toFixed(3), ...(ci ? [el("br"), el("small", { className: "ci", textContent: range(ci) })] : [])];
  return report.slices.map((s) => {
    const tr = el("tr");
    tr.dataset.kind = s.kind;
    tr.dataset.name = s.name;
    if (s.small) tr.className = "small";
    const a = s.attacks.find((x) => x.name === name);
    const cells = a ? [
      el("td", {}, ...iv(a.auc, a.ci?.auc)), el("td", {}, ...iv(a.tpr_at_fpr["0.01"], a.ci?.tpr_at_fpr["0.01"])),
      el("td", {}, ...iv(a.tpr_at_fpr["0.001"], a.ci?.tpr_at_fpr["0.001"])), el("td", {}, ...iv(a.advantage, a.ci?.advantage)), el("td", { textContent: a.epsilon.toFixed(2) })]
      : [el("td", { colSpan: 5, textContent: s.note ?? "" })];
    if (a) tr.dataset.auc = String(a.auc);
    if (a && a.auc < 0.5) {
      cells[0].classList.add("below-chance");
      cells[0].title = BELOW_CHANCE;
    }
    tr.append(el("th", { scope: "row", textContent: s.small ? `${s.name} (small)` : s.name }), el("td", { textContent: String(s.members) }), el("td", { textContent: String(s.nonmembers) }), ...cells);
    return tr;
  });
}


/** The duplicates: the sentence, then the example pairs, as `<li>`s. */
export function duplicateItems(report, note) {
  const d = report.duplicates;
  if (!d) return [];
  return [el("li", { textContent: note }), ...d.examples.map((p) => el("li", { textContent: `${p.kind}: ${who(p.a)} and ${who(p.b)}${p.hash_distance != null ? ` (${p.hash_distance} bits apart)` : ""}` }))];
}

/**
 * A comparison's rows: the model (a button that calls `onSelect(index)`), its accuracies, the
 * strongest attack's AUC and TPR with intervals, the ε bound and where its references came from.
 */
export function comparisonRows(c, onSelect) {
  const iv = (v, ci, attack) => [v.toFixed(3), ...(ci ? [el("br"), el("small", { className: "ci", textContent: range(ci) })] : []), el("br"), el("small", { textContent: attack })];
  return c.rows.map((r, i) => {
    const tr = el("tr");
    tr.dataset.index = String(i);
    tr.dataset.name = r.name;
    tr.dataset.auc = String(r.auc);
    const button = el("button", { type: "button", className: "link", textContent: r.name, title: `show ${r.name}'s report` });
    button.addEventListener("click", () => onSelect?.(i));
    tr.append(el("th", { scope: "row" }, button, el("br"), el("small", { textContent: `${r.model}${r.quantised ? ", QDQ" : ""}` })),
      el("td", { textContent: fmt(r.accuracy_members) }), el("td", { textContent: fmt(r.accuracy_nonmembers) }),
      el("td", {}, ...iv(r.auc, r.auc_ci, r.auc_attack)), el("td", {}, ...iv(r.tpr, r.tpr_ci, r.tpr_attack)),
      el("td", { textContent: r.epsilon == null ? "–" : `${r.epsilon.toFixed(2)} (≤ ${r.epsilon_ceiling.toFixed(2)})` }), el("td", { textContent: r.references }));
    return tr;
  });
}





/** Render everything into the given elements. */
export function renderReport(els, result) {
  const r = result.report;
  // The engine's sentences in the host's own terms (its controls, where they name an option).
  const words = els.words ?? ((t) => t);
  els.summary.replaceChildren(...summary(r));
  els.summary.dataset.backend = r.backend;
  if (els.verdict) {
    els.verdict.replaceChildren(...verdictItems(r));
    els.verdict.dataset.leak = String(r.verdict.leak_measured);
    els.verdict.dataset.grade = r.verdict.grade;
  }
  if (els.provenance) {
    els.provenance.querySelector("tbody").replaceChildren(...provenanceRows(r));
    els.provenance.querySelector("caption").textContent = `Audited ${r.provenance.created} by ${r.provenance.engine}; report schema ${r.schema_version}. SHA-256 as sha256sum computes it (an image folder: over its files in path order; see the README).`;
  }
  els.warnings.replaceChildren(...r.warnings.map((w) => el("li", { textContent: words(w) })));
  // The warnings stand above the tables, as warnings, and only when there are some.
  const box = els.warnings.closest(".warnings-box");
  if (box) box.hidden = r.warnings.length === 0;
  if (els.glossary) {
    els.glossary.querySelector("dl").replaceChildren(...(result.glossary ?? []).flatMap(([t, d]) => [el("dt", { textContent: t }), el("dd", { textContent: d })]));
  }
  els.metrics.replaceChildren(...metricRows(r));
  if (els.statisticsNote) els.statisticsNote.textContent = words(result.statisticsNote ?? "");
  if (els.epsilon) els.epsilon.replaceChildren(...epsilonRows(r));
  if (els.epsilonNote) {
    els.epsilonNote.textContent = words(result.epsilonNote ?? "");
    els.epsilonNote.dataset.basis = r.statistics.epsilon_basis;
  }
  fillReferences(els.references, r);
  if (els.exposure) {
    const show = (x, tr) => {
      for (const row of els.exposure.querySelectorAll("tr.selected")) row.classList.remove("selected");
      tr.classList.add("selected");
      els.recordDetail.replaceChildren(...recordDetail(r, x));
      els.recordDetail.hidden = false;
    };
    const fill = (table, list) => {
      const [head, ...rows] = exposedRows(r, list, show);
      table.querySelector("thead").replaceChildren(head);
      table.querySelector("tbody").replaceChildren(...rows);
    };
    els.exposure.hidden = r.exposure.members.length === 0;
    fill(els.exposure.querySelector(".exposed-members"), r.exposure.members);
    fill(els.exposure.querySelector(".false-positives"), r.exposure.false_positives);
    els.exposure.querySelector(".exposure-note").textContent = `Ranked by ${r.exposure.attack}, the strongest attack. Choose a record to see all its scores${r.references ? " and where the target falls among its reference models" : ""}. The full ranking is the rank column of the per-record scores CSV.`;
    els.recordDetail.hidden = true;
    els.recordDetail.replaceChildren();
  }
  if (els.slices) {
    els.slices.hidden = r.slices.length === 0;
    els.slices.querySelector("tbody").replaceChildren(...sliceRows(r));
    els.slices.querySelector(".slices-chart").innerHTML = result.slicesSvg ?? "";
  }
  if (els.duplicates) {
    els.duplicates.hidden = !r.duplicates;
    els.duplicates.querySelector("ul").replaceChildren(...duplicateItems(r, result.duplicatesNote ?? ""));
  }
  els.roc.querySelector("svg")?.remove();
  els.roc.insertAdjacentHTML("afterbegin", result.rocSvg);
  els.hists.innerHTML = result.histogramSvgs.join("");
}

/**
 * Make every `a.glossary-link` under `root` open and show the glossary element `glossary` (a
 * `<details>`): fragment links do not reach into a shadow root.
 */
export function wireGlossaryLinks(root, glossary) {
  root.addEventListener("click", (ev) => {
    const a = ev.target.closest?.("a.glossary-link");
    if (!a || !glossary) return;
    ev.preventDefault();
    glossary.open = true;
    glossary.scrollIntoView({ block: "start" });
    glossary.querySelector("summary")?.focus();
  });
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
