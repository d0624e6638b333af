// Checks of the report's plots as Chromium lays them out: every text inside its SVG's viewBox,
// text contrast against the page background, label boxes that do not overprint. Each function
// runs in the page (pass it to page.evaluate as a string: `(${fn})(args)`).

/**
 * Every SVG under the elements matching `selector` (shadow roots included when `host` names an
 * element holding one): for each, the texts that stick out of the viewBox and those whose
 * contrast against the page's background is below 4.5:1. Returns
 * `[{ svg: class, outside: [text], lowContrast: [[text, ratio]] }]`.
 */
export function svgReadability({ selector, host }) {
  const root = host ? document.querySelector(host).shadowRoot : document;
  // The colour the page is drawn on: the first opaque background up from the root element, else
  // the canvas colour of the current scheme.
  const probe = document.createElement("div");
  probe.style.background = "Canvas";
  document.body.append(probe);
  let bg = getComputedStyle(probe).backgroundColor;
  probe.remove();
  for (const e of [document.body, document.documentElement]) {
    const c = getComputedStyle(e).backgroundColor;
    if (!/rgba\(.*, 0\)$/.test(c) && c !== "transparent") {
      bg = c;
      break;
    }
  }
  const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const out = [];
  for (const svg of root.querySelectorAll(`${selector} svg`)) {
    const [vx, vy, vw, vh] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
    const outside = [];
    const lowContrast = [];
    for (const t of svg.querySelectorAll("text")) {
      if (!t.textContent.trim()) continue;
      const b = t.getBBox();
      // A rotated label's box is in its own coordinates: map its corners to the SVG's.
      const m = t.getCTM() && svg.getCTM() ? svg.getCTM().inverse().multiply(t.getCTM()) : null;
      const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]].map(([x, y]) => (m ? new DOMPoint(x, y).matrixTransform(m) : { x, y }));
      const xs = corners.map((p) => p.x), ys = corners.map((p) => p.y);
      if (Math.min(...xs) < vx - 0.5 || Math.max(...xs) > vx + vw + 0.5 || Math.min(...ys) < vy - 0.5 || Math.max(...ys) > vy + vh + 0.5) {
        outside.push(`${t.textContent} [${Math.min(...xs).toFixed(1)}, ${Math.max(...xs).toFixed(1)}] × [${Math.min(...ys).toFixed(1)}, ${Math.max(...ys).toFixed(1)}] in ${vw} × ${vh}`);
      }
      const style = getComputedStyle(t);
      const ratio = contrast(style.fill, bg);
      if (ratio < 4.5 || Number(style.fillOpacity) < 1 || Number(style.opacity) < 1) lowContrast.push([t.textContent, Number(ratio.toFixed(2)), style.fill, bg]);
    }
    out.push({ svg: svg.getAttribute("class"), outside, lowContrast });
  }
  return out;
}

/**
 * The comparison plot's layout: its point labels' and legend entries' boxes that intersect,
 * and its axis tick labels (grouped by axis) that repeat.
 */
export function comparisonLayout({ selector, host }) {
  const root = host ? document.querySelector(host).shadowRoot : document;
  const svg = root.querySelector(`${selector} svg.privaudit-compare`);
  const boxes = [...svg.querySelectorAll("text.point-label")].map((t) => [t.textContent, t.getBBox()]);
  const overlapping = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i][1], boxes[j][1]];
      if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) overlapping.push([boxes[i][0], boxes[j][0]]);
    }
  }
  // Tick labels: numeric texts, grouped by the axis they sit on (same y: x axis; same x: y axis).
  const ticks = [...svg.querySelectorAll("text")].filter((t) => /^\d+(\.\d+)?$/.test(t.textContent));
  const groups = {};
  for (const t of ticks) {
    const key = t.getAttribute("text-anchor") === "end" ? `y@${t.getAttribute("x")}` : `x@${t.getAttribute("y")}`;
    (groups[key] ??= []).push(t.textContent);
  }
  const repeated = Object.values(groups).filter((g) => new Set(g).size !== g.length);
  return { labels: boxes.map(([n]) => n), overlapping, repeated, markers: svg.querySelectorAll("[data-model]").length };
}
