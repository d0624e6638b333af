// Accessibility checks shared by the page and widget tests (run inside the browser).
//
// unlabelledControls(root) lists every form control under `root` (a document or a shadow root)
// that has no accessible name: inputs, selects and textareas need a <label> (for= or wrapping)
// or aria-label/aria-labelledby; buttons need text or aria-label; progress bars an aria-label.
export function unlabelledControls(root) {
  const named = (el) => (el.getAttribute("aria-label") ?? "").trim() !== "" || (el.getAttribute("aria-labelledby") ?? "") !== "";
  const bad = [];
  for (const el of root.querySelectorAll("input, select, textarea, button, progress")) {
    const ok = el.tagName === "BUTTON" ? el.textContent.trim() !== "" || named(el)
      : named(el) || [...(el.labels ?? [])].some((l) => l.textContent.trim() !== "");
    if (!ok) bad.push(el.id || el.outerHTML.slice(0, 80));
  }
  return bad;
}

/**
 * The serious and critical violations axe-core (an npm devDependency, injected from disk: the
 * page loads nothing from elsewhere) finds in `page` under `selector` (shadow roots included),
 * as "impact rule: target — summary" lines. CDP evaluation is not subject to the page's CSP.
 */
export async function axeViolations(page, selector = "html") {
  const { readFileSync } = await import("node:fs");
  const source = readFileSync(new URL("../../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.evaluate(source);
  const found = await page.evaluate((sel) => window.axe.run(document.querySelector(sel), { resultTypes: ["violations"] }).then((r) => r.violations), selector);
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .flatMap((v) => v.nodes.map((n) => `${v.impact} ${v.id}: ${n.target.join(" ")} — ${n.failureSummary.split("\n").slice(1, 2).join("").trim()}`));
}
