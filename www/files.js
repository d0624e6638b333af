// One place for the user's files, shared by the page (app.js) and <privacy-audit> (widget.js):
// everything is dropped or picked at once — a model, its external weights, CSV/NPY/NPZ files,
// zips and folders of images — and each item gets a role (model, members, …) from its name and
// its first bytes, shown in a table where it can be changed before the audit runs.
//
// Plain logic (FileSet, guess, describe) and one DOM renderer (renderFileSet); no framework.
// Nothing is read but the first bytes of each file (to tell an NPY label vector from data, an
// NPZ from a zip of images); the audit itself reads the files in the worker.

/** Every role, with what it means. `set`: an audited set (a file, a zip or a folder). */
export const ROLES = {
  model: { label: "ONNX model", help: "the model to audit (.onnx)", need: "model" },
  modelData: { label: "external weights", help: "the .onnx.data file the model names, if its weights are stored outside it", need: "optional" },
  members: { label: "members", outputs: "outputs on members", help: "records the model was trained on: CSV, NPY, NPZ, a folder of class folders of images, or a zip of one", need: "required", set: true },
  nonmembers: { label: "non-members", outputs: "outputs on non-members", help: "records it never saw, in the same form", need: "required", set: true },
  population: { label: "population", outputs: "outputs on the population", help: "records in neither set, for Attack-P and reference models; without it half the non-members are held out", need: "optional", set: true },
  membersLabels: { label: "members' labels", help: "a 1-D NPY of class indices, for members given as NPY", need: "NPY only" },
  nonmembersLabels: { label: "non-members' labels", help: "the same, for non-members", need: "NPY only" },
  populationLabels: { label: "population labels", help: "the same, for the population", need: "NPY only" },
  compareModels: { label: "a model to compare", help: "another version of the model (DP-trained, pruned, quantised …): every model is audited on the same records and compared in one table", need: "optional", multi: true },
  referenceModels: { label: "a reference model", help: "your own reference models (.onnx), instead of training them here", need: "optional", multi: true },
  referenceOutputs: { label: "a reference's outputs", help: "your references' outputs on every audited record (CSV/NPZ, one file per reference)", need: "optional", multi: true },
  referenceMembership: { label: "reference membership", help: "which records each of your references was trained on (records × K of 0/1)", need: "optional" },
  sliceFile: { label: "slice values", help: "a CSV naming each record's group, for metrics per group: set,row,<name> (tables) or set,id,<name> (images by path)", need: "optional" },
  ignore: { label: "not used", help: "left out of the audit", need: "optional", multi: true },
};

const SETS = ["members", "nonmembers", "population"];
const LABELS = { members: "membersLabels", nonmembers: "nonmembersLabels", population: "populationLabels" };
const OUTPUT_KEYS = { members: "memberOutputs", nonmembers: "nonmemberOutputs", population: "populationOutputs", membersLabels: "memberOutputsLabels", nonmembersLabels: "nonmemberOutputsLabels", populationLabels: "populationOutputsLabels" };
/** Roles that have no meaning when only the model's outputs are audited. */
const MODEL_ONLY = ["model", "modelData", "compareModels", "referenceModels"];
const IMAGE = /\.(png|jpe?g)$/i;

/** The roles offered in a mode ("model" or "outputs"), in table order. */
export function rolesFor(mode) {
  return Object.keys(ROLES).filter((r) => mode === "model" || !MODEL_ONLY.includes(r));
}

/** A role's name as the table shows it in `mode`. */
export function roleLabel(role, mode) {
  return (mode === "outputs" && ROLES[role].outputs) || ROLES[role].label;
}

/** Which set a name points to: non-members, population, members, or null (no hint). */
export function setHint(name) {
  const n = name.toLowerCase();
  if (/non[-_ ]?mem|nonmem|(^|[^a-z])(out|test|unseen|holdout|held[-_ ]?out|val(id(ation)?)?)([^a-z]|$)/.test(n)) return "nonmembers";
  if (/pop(ulation)?|shadow|(^|[^a-z])(ref(erence)?|aux(iliary)?)([^a-z]|$)/.test(n)) return "population";
  if (/mem(ber)?s?|(^|[^a-z])(in|train(ing)?)([^a-z]|$)/.test(n)) return "members";
  return null;
}

const kb = (n) => (n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / (1 << 20)).toFixed(1)} MB`);

/** What a file's first bytes say it is: {kind, detail, shape?, dtype?}. */
export async function sniff(file) {
  const name = file.name.toLowerCase();
  const head = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
  const size = kb(file.size);
  if (head[0] === 0x93 && String.fromCharCode(...head.slice(1, 6)) === "NUMPY") {
    const text = new TextDecoder().decode(head.slice(8));
    const descr = /'descr':\s*'([^']*)'/.exec(text)?.[1] ?? "?";
    const shape = (/'shape':\s*\(([^)]*)\)/.exec(text)?.[1] ?? "").split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    const dtype = { f: "float", i: "int", u: "uint", b: "bool" }[descr.replace(/^[<>|=]/, "")[0]] ?? descr;
    const bits = Number(descr.replace(/^[<>|=][a-z]/, "")) * 8;
    return { kind: "npy", shape, dtype: `${dtype}${bits || ""}`, detail: `NPY ${dtype}${bits || ""} [${shape.join(", ")}], ${size}` };
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    const len = head[26] | (head[27] << 8);
    const first = new TextDecoder().decode(head.slice(30, 30 + len));
    if (name.endsWith(".npz") || first.endsWith(".npy")) return { kind: "npz", detail: `NPZ, ${size}` };
    return { kind: "zip", detail: `zip, ${size}` };
  }
  if (name.endsWith(".onnx")) return { kind: "onnx", detail: `ONNX model, ${size}` };
  if (/\.(data|bin)$/.test(name)) return { kind: "weights", detail: `weights, ${size}` };
  if (IMAGE.test(name)) return { kind: "image", detail: `one image, ${size}` };
  if (/\.(csv|txt|tsv)$/.test(name)) {
    const line = new TextDecoder().decode(head).split(/\r?\n/)[0];
    const cols = line.split(",").length;
    return { kind: "csv", detail: `CSV, ${cols} column${cols === 1 ? "" : "s"}, ${size}` };
  }
  return { kind: "other", detail: `${size}` };
}

/**
 * What is wrong with a folder as an image set, in words, or null: empty, images not in class
 * folders, or class folders without images.
 */
export function folderProblem(folder) {
  const files = folder.files;
  if (!files.length) return `${folder.name} is empty: an image set is a folder with one sub-folder of images per class.`;
  const images = files.filter((f) => IMAGE.test(folderPath(f)));
  const loose = images.filter((f) => !folderPath(f).includes("/"));
  if (images.length && loose.length === images.length) {
    return `${folder.name} holds ${images.length} image${images.length === 1 ? "" : "s"} but no class folders: put each class's images in a sub-folder named after the class (as torchvision's ImageFolder reads them).`;
  }
  if (!images.length) {
    const classes = new Set(files.map((f) => folderPath(f).split("/")).filter((p) => p.length > 1).map((p) => p[0]));
    return classes.size
      ? `${folder.name} has ${classes.size} class folder${classes.size === 1 ? "" : "s"} (${[...classes].slice(0, 3).join(", ")}${classes.size > 3 ? ", …" : ""}) but no PNG or JPEG image in them.`
      : `${folder.name} holds no PNG or JPEG image and no class folders.`;
  }
  return null;
}

/** A folder as {name, files}: how many images in how many class folders. */
export function describeFolder(folder) {
  const images = folder.files.filter((f) => IMAGE.test(folderPath(f)));
  const classes = new Set(images.map((f) => folderPath(f).split("/")[0]));
  return `folder: ${images.length} image${images.length === 1 ? "" : "s"} in ${classes.size} class folder${classes.size === 1 ? "" : "s"}${images.length < folder.files.length ? `, ${folder.files.length - images.length} other files` : ""}`;
}

const folderPath = (f) => f.relativePath ?? f.name;

/**
 * Split what a directory holds (files with paths relative to it) into items: a directory whose
 * sub-folders hold images is one set (its sub-folders are the classes); one whose sub-folders
 * are such sets (members/, nonmembers/, …) gives one item per sub-folder, and its loose files
 * (model.onnx, …) are items of their own.
 */
export function splitFolder(name, entries) {
  const depth = (p) => p.split("/").length;
  const byTop = new Map();
  const loose = [];
  for (const e of entries) {
    const parts = e.path.split("/");
    if (parts[0].startsWith(".") || parts[0] === "__MACOSX") continue;
    if (parts.length === 1) loose.push(e);
    else (byTop.get(parts[0]) ?? byTop.set(parts[0], []).get(parts[0])).push(e);
  }
  const asFolder = (n, list, strip) => ({ name: n, files: list.map((e) => named(e.file, e.path.split("/").slice(strip).join("/"))) });
  // Images but no sub-folders: one set whose problem is said (not one "not used" row per image).
  if (byTop.size === 0 && loose.some((e) => IMAGE.test(e.path))) {
    return { folders: [asFolder(name, loose.filter((e) => IMAGE.test(e.path)), 0)], files: loose.filter((e) => !IMAGE.test(e.path)).map((e) => named(e.file, e.path)) };
  }
  // Images two levels down (class/img) anywhere: this directory is one set.
  const classImages = entries.some((e) => depth(e.path) === 2 && IMAGE.test(e.path));
  if (classImages || byTop.size === 0) {
    const items = [asFolder(name, entries.filter((e) => depth(e.path) > 1), 0)];
    return { folders: items.filter((f) => f.files.length), files: loose.map((e) => named(e.file, e.path)) };
  }
  const folders = [];
  const files = loose.map((e) => named(e.file, e.path));
  for (const [top, list] of byTop) {
    const inner = splitFolder(top, list.map((e) => ({ path: e.path.split("/").slice(1).join("/"), file: e.file })));
    folders.push(...inner.folders);
    files.push(...inner.files);
  }
  return { folders, files };
}

// A File under another name (its path inside a folder), without copying its bytes.
function named(file, path) {
  if (file.name === path && !file.webkitRelativePath) return file;
  return new File([file], path, { type: file.type, lastModified: file.lastModified });
}

/** Files from a directory input (webkitRelativePath "picked/a/b.png") as split items. */
export function fromDirectoryInput(fileList) {
  const list = [...fileList];
  if (!list.length) return { folders: [], files: [] };
  const root = list[0].webkitRelativePath.split("/")[0] || "folder";
  return splitFolder(root, list.map((f) => ({ path: f.webkitRelativePath.split("/").slice(1).join("/") || f.name, file: f })));
}

/** A dropped directory entry (the entries API), read whole, as split items. */
export async function fromDirectoryEntry(entry) {
  const entries = [];
  const walk = async (dir, prefix) => {
    const reader = dir.createReader();
    for (;;) {
      const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
      if (!batch.length) break;
      for (const e of batch) {
        if (e.name.startsWith(".")) continue;
        if (e.isDirectory) await walk(e, `${prefix}${e.name}/`);
        else entries.push({ path: `${prefix}${e.name}`, file: await new Promise((res, rej) => e.file(res, rej)) });
      }
    }
  };
  await walk(entry, "");
  return splitFolder(entry.name, entries);
}

/**
 * The files of one audit and their roles. Single roles hold one item: an item given a role that
 * another holds takes it, and the other becomes "not used" (still listed, to be reassigned).
 */
export class FileSet {
  items = []; // {key, name, value: File | {name, files}, folder, detail, kind, shape, role, problem?}
  /** Whether an audit was asked for (only then is a required role said to be missing). */
  attempted = false;
  /** What the last add could not take, in words (an empty folder, a folder of loose images). */
  problems = [];
  #next = 1;

  /** Add files and folders ({name, files}); each gets a guessed role. Returns the new items. */
  async add({ files = [], folders = [] }) {
    const added = [];
    this.problems = [];
    for (const f of folders) {
      const problem = folderProblem(f);
      if (problem && !f.files.length) {
        this.problems.push(problem);
        continue;
      }
      added.push({ key: this.#next++, name: f.name, value: f, folder: true, kind: "folder", detail: describeFolder(f), problem });
    }
    if (!files.length && !folders.length) this.problems.push("Nothing was added: the folder is empty.");
    for (const f of files) added.push({ key: this.#next++, name: f.name, value: f, folder: false, ...(await sniff(f)) });
    // In name order, whatever order the browser listed a folder in.
    added.sort((a, b) => a.name.localeCompare(b.name));
    // The same name again (picked anew, or from elsewhere) replaces the item: one row per name.
    const where = (x) => x.value?.webkitRelativePath || x.value?.relativePath || x.name;
    this.items = this.items.filter((i) => !added.some((a) => where(a) === where(i) && a.folder === i.folder));
    this.items.push(...added);
    // Items whose name says what they are first, then the rest in name order.
    const hinted = added.map((it) => ({ it, role: guess(it, this.items) }));
    hinted.sort((a, b) => (a.role == null) - (b.role == null) || a.it.name.localeCompare(b.it.name));
    for (const { it, role } of hinted) this.#assign(it, it.problem ? "ignore" : role ?? this.#freeSet(it));
    this.problems.push(...added.filter((it) => it.problem).map((it) => it.problem));
    this.#showPaths();
    return added;
  }

  // Names that repeat (a project folder's members/data.csv and nonmembers/data.csv) are shown
  // with their folder path.
  #showPaths() {
    for (const it of this.items) {
      const path = it.value?.webkitRelativePath || it.value?.relativePath || "";
      const same = this.items.filter((o) => o.name === it.name).length > 1;
      it.label = same && path ? path : it.name;
    }
  }

  /** Give `key` a role; returns the item that lost it, if any. */
  setRole(key, role) {
    const it = this.items.find((i) => i.key === key);
    if (!it || !ROLES[role]) throw new Error(`no such item or role: ${key}, ${role}`);
    if (!canHold(it, role)) throw new Error(`${it.name} cannot be ${ROLES[role].label}`);
    return this.#assign(it, role);
  }

  remove(key) {
    this.items = this.items.filter((i) => i.key !== key);
  }

  clear() {
    this.items = [];
    this.problems = [];
  }

  /** The item holding `role` (the first, for a multi role). */
  holder(role) {
    return this.items.find((i) => i.role === role);
  }

  // A single role taken from another item sends that item back to what its name and contents
  // suggest (or the first free set, or the role the taker had), never silently to "not used".
  #assign(it, role) {
    let displaced = null;
    const before = it.role;
    it.role = role;
    if (!ROLES[role].multi) {
      displaced = this.items.find((i) => i !== it && i.role === role) ?? null;
      if (displaced) {
        const free = (r) => r && r !== role && canHold(displaced, r) && (ROLES[r].multi || !this.items.some((i) => i !== displaced && i.role === r));
        const hint = guess(displaced, this.items);
        displaced.role = [hint, before, this.#freeSet(displaced)].find(free) ?? "ignore";
      }
    }
    return displaced;
  }

  // A data item with no hint in its name: the first free set, else not used.
  #freeSet(it) {
    if (!canHold(it, "members")) return "ignore";
    return SETS.find((s) => !this.items.some((i) => i !== it && i.role === s)) ?? "ignore";
  }

  /**
   * The audit's file arguments (api.js keys) in `mode`, or an Error naming what is missing or
   * does not fit. `given`: roles the host fills itself (a widget's preset model).
   */
  request(mode, given = []) {
    this.attempted = true;
    const out = {};
    const problems = [];
    for (const it of this.items) {
      const role = it.role;
      if (role === "ignore" || (mode === "outputs" && MODEL_ONLY.includes(role))) continue;
      const key = mode === "outputs" && OUTPUT_KEYS[role] ? OUTPUT_KEYS[role] : role;
      if (ROLES[role].multi) (out[key] ??= []).push(it.value);
      else out[key] = it.value;
    }
    const required = Object.keys(ROLES).filter((r) => ROLES[r].need === (r === "model" ? "model" : "required"));
    const missing = required.filter((r) => (r !== "model" || mode === "model") && !given.includes(r) && !this.items.some((i) => i.role === r));
    if (missing.length) problems.push(`Give a file the role of ${missing.map((r) => roleLabel(r, mode)).join(", ")} (drop or pick it, or change a role in the table).`);
    for (const s of SETS) {
      const labels = this.holder(LABELS[s]);
      const data = this.holder(s);
      if (data?.folder && mode === "outputs") problems.push(`${data.name} is a folder of images; in outputs-only mode each set is a file of the model's outputs.`);
      if (labels && (!data || data.kind !== "npy")) {
        problems.push(`${labels.name} is ${ROLES[LABELS[s]].label}, which go with ${roleLabel(s, mode)} given as NPY; ${data ? `${data.name} is ${data.folder ? "a folder (its class folders are the labels)" : "not NPY (it carries its own labels)"}` : "there are none"}.`);
      }
    }
    if (problems.length) return new Error(problems.join("\n"));
    return out;
  }
}

/** Whether an item can take a role at all (a folder is only ever an audited set). */
export function canHold(it, role) {
  if (role === "ignore") return true;
  if (it.folder) return ROLES[role].set === true;
  if (it.kind === "image") return false;
  if (role === "model" || role === "referenceModels" || role === "compareModels") return it.kind === "onnx";
  if (role === "modelData") return it.kind === "weights" || it.kind === "other";
  if (role.endsWith("Labels")) return it.kind === "npy" || it.kind === "csv";
  if (ROLES[role].set) return ["csv", "npy", "npz", "zip", "other"].includes(it.kind);
  if (role === "referenceOutputs") return ["csv", "npz", "npy"].includes(it.kind);
  if (role === "referenceMembership") return ["csv", "npy"].includes(it.kind);
  if (role === "sliceFile") return it.kind === "csv";
  return false;
}

/** The role an item's name and contents point to, or null when only its order can decide. */
export function guess(it, all) {
  const n = it.name.toLowerCase();
  if (it.folder) return setHint(n);
  if (it.kind === "onnx") return /(^|[^a-z])(ref(erence)?|shadow)/.test(n) ? "referenceModels" : "model";
  if (it.kind === "weights") return "modelData";
  if (it.kind === "image") return "ignore";
  if (it.kind === "other") return "ignore";
  if (/membership/.test(n)) return "referenceMembership";
  if (it.kind === "csv" && /slice/.test(n)) return "sliceFile";
  if (/(^|[^a-z])ref(erence)?s?[-_ ]?\d*[-_ ]?(out(puts?)?|logits?|probs?)/.test(n)) return "referenceOutputs";
  const isLabels = (it.kind === "npy" && it.shape?.length === 1 && /int|uint|bool/.test(it.dtype ?? "")) || /labels?|(^|[-_])y\.npy$/.test(n);
  if (isLabels) {
    const hint = setHint(n.replace(/labels?/, ""));
    if (hint) return LABELS[hint];
    // By contents: the NPY set with as many rows as this vector has entries.
    const rows = it.shape?.[0];
    const match = all.filter((o) => o !== it && o.kind === "npy" && (o.shape?.length ?? 0) > 1 && o.shape[0] === rows);
    return match.length === 1 ? LABELS[setHint(match[0].name) ?? "members"] : "membersLabels";
  }
  return setHint(n);
}

/**
 * The drop zone, pick buttons, role table and role list that renderFileSet fills: one markup
 * for the page and the widget (ids are unique within a document or a shadow root).
 */
export function filesMarkup() {
  return `<div id="drop" class="drop">
  <p id="drop-help">Drop everything here at once — the <code>.onnx</code> model, its <code>.onnx.data</code>, members and non-members as CSV/NPY/NPZ, image folders (one sub-folder per class) or zips of them, or one folder holding all of these — or add them with the buttons. Each gets a role from its name and contents (a name containing “non”, “test” or “holdout” marks non-members, “pop” or “shadow” the population); change any role in the table before running.</p>
  <p class="actions">
    <label class="pick" for="pick-files">Add files…</label><input id="pick-files" class="pick-input" type="file" multiple>
    <label class="pick" for="pick-folder">Add a folder…</label><input id="pick-folder" class="pick-input" type="file" webkitdirectory>
    <button id="clear-files" type="button" class="secondary">Remove all files</button>
  </p>
</div>
<table id="roles" hidden>
  <caption>Your files and the role each plays in the audit (change a role with its menu).</caption>
  <thead><tr><th scope="col">file</th><th scope="col">what it holds</th><th scope="col">role</th><th scope="col"><span class="sr">remove</span></th></tr></thead>
  <tbody></tbody>
</table>
<ul class="roles" aria-label="the roles, what each means and which are needed"></ul>
<p id="files-status" class="sr" aria-live="polite"></p>`;
}

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

/**
 * Draw `set` into `box` (an element holding a <table> with <tbody> and a <ul class="roles">):
 * one row per item with a role <select> and a remove button, then each role with what it means,
 * whether it is needed and which item holds it (`given`: role -> what the host says fills it). After every edit it draws itself again, keeps
 * the keyboard focus on the edited row (or the next one) and calls `onChange(message)` with a
 * sentence for a live region.
 */
export function renderFileSet(box, set, mode, onChange, given = {}) {
  const tbody = box.querySelector("tbody");
  const rows = set.items.map((it) => {
    const select = el("select", { className: "role" });
    select.setAttribute("aria-label", `role of ${it.name}`);
    for (const r of rolesFor(mode)) {
      if (!canHold(it, r)) continue;
      select.append(el("option", { value: r, textContent: roleLabel(r, mode), selected: r === it.role }));
    }
    if (!rolesFor(mode).includes(it.role)) select.append(el("option", { value: it.role, textContent: `${roleLabel(it.role, mode)} (not used in this mode)`, selected: true }));
    // Arrow keys (and Home/End, PageUp/PageDown) on a closed menu only browse: the role is
    // taken with Enter, on leaving the menu, or by a choice made with the mouse.
    let browsing = false;
    const commit = (focus) => {
      if (select.value === it.role) return;
      const lost = set.setRole(it.key, select.value);
      renderFileSet(box, set, mode, onChange, given);
      if (focus) box.querySelector(`tr[data-key="${it.key}"] select`)?.focus();
      onChange?.(`${it.name} is now ${roleLabel(select.value, mode)}${lost ? `; ${lost.name} is now ${roleLabel(lost.role, mode)}` : ""}.`);
    };
    select.addEventListener("keydown", (e) => {
      browsing = ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"].includes(e.key);
      if (e.key === "Enter") commit(true);
    });
    select.addEventListener("pointerdown", () => { browsing = false; });
    select.addEventListener("change", () => {
      if (!browsing) commit(true);
    });
    select.addEventListener("blur", () => commit(false));
    const remove = el("button", { type: "button", className: "secondary remove", textContent: "Remove" });
    remove.setAttribute("aria-label", `remove ${it.name}`);
    remove.addEventListener("click", () => {
      const at = set.items.indexOf(it);
      set.remove(it.key);
      renderFileSet(box, set, mode, onChange, given);
      const rows = box.querySelectorAll("tbody tr");
      (rows[Math.min(at, rows.length - 1)]?.querySelector("button.remove") ?? box.querySelector(".pick-input"))?.focus();
      onChange?.(`${it.name} removed.`);
    });
    const tr = el("tr", {}, el("th", { scope: "row", textContent: it.label ?? it.name }), el("td", { textContent: it.problem ? `${it.detail}: ${it.problem}` : it.detail }), el("td", {}, select), el("td", {}, remove));
    tr.dataset.role = it.role;
    tr.dataset.key = String(it.key);
    tr.dataset.name = it.name;
    return tr;
  });
  tbody.replaceChildren(...rows);
  box.querySelector("table").hidden = rows.length === 0;
  const ul = box.querySelector("ul.roles");
  ul.replaceChildren(...rolesFor(mode).filter((r) => r !== "ignore").map((r) => {
    // A file the user gave wins over what the host preset.
    const mine = set.items.filter((i) => i.role === r).map((i) => i.name);
    const held = mine.length || !given[r] ? mine : [given[r]];
    const need = ROLES[r].need === "model" ? "required" : ROLES[r].need;
    const li = el("li", {}, el("strong", { textContent: roleLabel(r, mode) }), ` (${need}): ${ROLES[r].help}. `,
      el("span", { className: held.length ? "held" : need === "required" && set.attempted ? "missing" : "empty", textContent: held.length ? `Given: ${held.join(", ")}.` : need === "required" ? (set.attempted ? "Missing." : "Not given yet.") : "" }));
    li.dataset.role = r;
    return li;
  }));
}

/**
 * Wire the controls of filesMarkup() inside `root` (a document or a shadow root) to `set`: the
 * drop zone, both pickers and "Remove all files". `mode()` gives the current mode; `announce`
 * takes a sentence for the live region; `onError` a failure (or what the added files lack);
 * `onChange` is called whenever the files or their roles change (to clear an old error). Returns `draw(message)`, which
 * redraws the table (call it when the mode or the host's `given()` roles change).
 */
export function wireFileSet(root, set, { mode, announce, onError, onChange, given = () => ({}) }) {
  const $ = (id) => root.getElementById(id);
  // Any change of the files clears an earlier error (onChange), then says what went wrong with
  // these files, if anything (onError).
  const draw = (message) => {
    renderFileSet($("files"), set, mode(), (m) => { onChange?.(); announce(m); }, given());
    if (message) announce(message);
  };
  const add = (items) => set.add(items).then((added) => {
    onChange?.();
    draw(added.length ? `Added ${added.map((i) => `${i.name} as ${roleLabel(i.role, mode())}`).join("; ")}.` : "Nothing to add.");
    if (set.problems.length) onError(new Error(set.problems.join("\n")));
  }, onError);
  $("pick-files").addEventListener("change", (e) => { const files = [...e.target.files]; e.target.value = ""; add({ files }); });
  $("pick-folder").addEventListener("change", (e) => { const items = fromDirectoryInput(e.target.files); e.target.value = ""; add(items); });
  $("clear-files").addEventListener("click", () => { set.clear(); onChange?.(); draw("All files removed."); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    fromDataTransfer(e.dataTransfer).then(add, onError);
  });
  draw();
  return draw;
}

/** Items from a drop: folders through the entries API, files as they are. */
export async function fromDataTransfer(dataTransfer) {
  const entries = [...(dataTransfer.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const dirs = entries.filter((e) => e.isDirectory);
  const out = { folders: [], files: [] };
  for (const d of dirs) {
    const part = await fromDirectoryEntry(d);
    out.folders.push(...part.folders);
    out.files.push(...part.files);
  }
  out.files.push(...[...dataTransfer.files].filter((f) => !dirs.some((d) => d.name === f.name)));
  return out;
}
