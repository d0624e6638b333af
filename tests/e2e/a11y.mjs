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
