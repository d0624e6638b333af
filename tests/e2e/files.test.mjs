// The file-role logic shared by the page and <privacy-audit> (www/files.js), in Node (its File
// and Blob): which role each dropped item gets from its name and first bytes, how a folder
// holding several sets is split, and what a request lacks. The browser tests drive the same
// code through the page's table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FileSet, folderProblem, splitFolder, setHint, sniff } from "../../www/files.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const file = (path, name = path.split("/").pop()) => new File([readFileSync(`${ROOT}${path}`)], name);
const npy = (descr, shape) => {
  const header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`.padEnd(118) + "\n";
  return new Uint8Array([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, header.length, 0, ...new TextEncoder().encode(header)]);
};
const roles = (set) => Object.fromEntries(set.items.map((i) => [i.name, i.role]));

test("names point to sets; no hint is null", () => {
  assert.equal(setHint("digits_members.csv"), "members");
  assert.equal(setHint("digits_nonmembers.csv"), "nonmembers");
  assert.equal(setHint("non-members"), "nonmembers");
  assert.equal(setHint("test.zip"), "nonmembers");
  assert.equal(setHint("holdout"), "nonmembers");
  assert.equal(setHint("population.zip"), "population");
  assert.equal(setHint("shadow_data.npz"), "population");
  assert.equal(setHint("train.csv"), "members");
  assert.equal(setHint("outputs.csv"), null, "'out' inside a word is no hint");
  assert.equal(setHint("cats.zip"), null);
});

test("the demo's files dropped at once get their roles; the rest fill the free sets in name order", async () => {
  const set = new FileSet();
  await set.add({ files: [file("www/demo/digits_nonmembers.csv"), file("www/demo/digits_mlp.onnx"), file("www/demo/digits_members.csv")] });
  assert.deepEqual(roles(set), { "digits_nonmembers.csv": "nonmembers", "digits_mlp.onnx": "model", "digits_members.csv": "members" });
  const req = set.request("model");
  assert.deepEqual(Object.keys(req).sort(), ["members", "model", "nonmembers"]);
  // In outputs-only mode the same sets are the outputs files; the model is not used.
  assert.deepEqual(Object.keys(set.request("outputs")).sort(), ["memberOutputs", "nonmemberOutputs"]);

  const plain = new FileSet();
  await plain.add({ files: [new File(["a,label\n1,0\n"], "b.csv"), new File(["a,label\n1,0\n"], "a.csv"), new File(["a,label\n1,0\n"], "c.csv"), new File(["x"], "d.csv")] });
  assert.deepEqual(roles(plain), { "a.csv": "members", "b.csv": "nonmembers", "c.csv": "population", "d.csv": "ignore" });
  assert.match(plain.request("model").message, /role of ONNX model/);
});

test("a role taken from another item swaps or sends it back to its guess, never silently to 'not used'", async () => {
  const set = new FileSet();
  await set.add({ files: [file("www/demo/digits_members.csv"), file("www/demo/digits_nonmembers.csv"), new File(["a,label\n1,0\n"], "pop.csv")] });
  assert.deepEqual(roles(set), { "digits_members.csv": "members", "digits_nonmembers.csv": "nonmembers", "pop.csv": "population" });
  // The non-members' file given the members' role: the two swap.
  const lost = set.setRole(set.items.find((i) => i.name === "digits_nonmembers.csv").key, "members");
  assert.equal(lost.name, "digits_members.csv");
  assert.deepEqual(roles(set), { "digits_members.csv": "nonmembers", "digits_nonmembers.csv": "members", "pop.csv": "population" });
  // Changing one's mind puts them back.
  set.setRole(set.items.find((i) => i.name === "digits_members.csv").key, "members");
  assert.deepEqual(roles(set), { "digits_members.csv": "members", "digits_nonmembers.csv": "nonmembers", "pop.csv": "population" });
});

test("folders that are no image set say why: empty, loose images, class folders without images", async () => {
  const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "x.png");
  assert.match(folderProblem({ name: "empty", files: [] }), /^empty is empty: an image set is a folder with one sub-folder of images per class/);
  const flat = splitFolder("shots", Array.from({ length: 94 }, (_, i) => ({ path: `${i}.png`, file: png })));
  assert.deepEqual([flat.folders.length, flat.files.length], [1, 0], "94 loose images are one folder, not 94 rows");
  assert.match(folderProblem(flat.folders[0]), /^shots holds 94 images but no class folders/);
  assert.match(folderProblem({ name: "set", files: [new File(["x"], "cat/readme.txt"), new File(["x"], "dog/notes.txt")].map((f) => Object.assign(f, { relativePath: f.name })) }), /^set has 2 class folders \(cat, dog\) but no PNG or JPEG image/);
  assert.equal(folderProblem({ name: "ok", files: [Object.assign(new File(["x"], "a.png"), { relativePath: "cat/a.png" })] }), null);
  const set = new FileSet();
  await set.add(flat);
  assert.equal(set.items[0].role, "ignore");
  assert.match(set.problems.join(" "), /no class folders/);
  await set.add({ files: [], folders: [] });
  assert.deepEqual(set.problems, ["Nothing was added: the folder is empty."]);
  // Files of the same name from different folders are shown with their path.
  const same = new FileSet();
  await same.add({ files: ["members", "nonmembers"].map((d) => Object.assign(new File(["a,label\n1,0\n"], "data.csv"), { relativePath: `${d}/data.csv` })) });
  assert.deepEqual(same.items.map((i) => i.label).sort(), ["members/data.csv", "nonmembers/data.csv"]);
});

test("a second item for a single role takes it; the first is kept as 'not used'", async () => {
  const set = new FileSet();
  await set.add({ files: [file("www/demo/digits_mlp.onnx")] });
  await set.add({ files: [file("www/demo/digits_cnn.onnx")] });
  assert.deepEqual(roles(set), { "digits_mlp.onnx": "ignore", "digits_cnn.onnx": "model" });
  const lost = set.setRole(set.items[0].key, "model");
  assert.equal(lost.name, "digits_cnn.onnx");
  assert.equal(roles(set)["digits_cnn.onnx"], "ignore");
});

test("NPY contents decide: a 1-D integer vector is labels, paired with the NPY set of its length", async () => {
  assert.deepEqual((await sniff(new File([npy("<f4", [100, 64])], "x.npy"))).shape, [100, 64]);
  const set = new FileSet();
  await set.add({ files: [new File([npy("<f4", [100, 64])], "train_x.npy"), new File([npy("<f4", [500, 64])], "unseen_x.npy"),
    new File([npy("<i8", [500])], "ys.npy"), new File([npy("<i8", [100])], "y_a.npy")] });
  assert.deepEqual(roles(set), { "train_x.npy": "members", "unseen_x.npy": "nonmembers", "ys.npy": "nonmembersLabels", "y_a.npy": "membersLabels" });
  assert.deepEqual(Object.keys(set.request("outputs")).sort(), ["memberOutputs", "memberOutputsLabels", "nonmemberOutputs", "nonmemberOutputsLabels"]);
  // Labels for a CSV set are refused by name, not dropped silently.
  const csv = new FileSet();
  await csv.add({ files: [file("www/demo/digits_mlp.onnx"), file("www/demo/digits_members.csv"), file("www/demo/digits_nonmembers.csv"), new File([npy("<i8", [100])], "members_labels.npy")] });
  assert.match(csv.request("model").message, /members_labels\.npy is members' labels, which go with members given as NPY; digits_members\.csv is not NPY/);
});

test("a folder holding a model and set folders is split; a folder of class folders is one set", async () => {
  const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "x.png");
  const entries = [
    { path: "cnn.onnx", file: file("www/demo/digits_cnn.onnx") },
    { path: "members/0/a.png", file: png }, { path: "members/1/b.png", file: png },
    { path: "nonmembers.zip", file: file("www/demo/digits_images/nonmembers.zip") },
    { path: "__MACOSX/members/._a.png", file: png },
  ];
  const split = splitFolder("bundle", entries);
  assert.deepEqual(split.folders.map((f) => [f.name, f.files.map((x) => x.name)]), [["members", ["0/a.png", "1/b.png"]]]);
  assert.deepEqual(split.files.map((f) => f.name).sort(), ["cnn.onnx", "nonmembers.zip"]);
  const set = new FileSet();
  await set.add(split);
  assert.deepEqual(roles(set), { members: "members", "cnn.onnx": "model", "nonmembers.zip": "nonmembers" });
  assert.match(set.items.find((i) => i.name === "members").detail, /^folder: 2 images in 2 class folders$/);
  assert.match(set.request("outputs").message, /members is a folder of images/);

  const one = splitFolder("cats-vs-dogs", [{ path: "cat/1.png", file: png }, { path: "dog/2.png", file: png }]);
  assert.deepEqual(one.folders.map((f) => f.name), ["cats-vs-dogs"]);
  assert.equal(one.files.length, 0);
});

test("hostile first bytes never throw: truncated and lying headers are described, not trusted", async () => {
  const cases = [
    new File([], "empty.npy"),
    new File([new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59])], "magic_only.npy"),
    new File([new Uint8Array([0x93, ...new TextEncoder().encode("NUMPY"), 1, 0, 0xff, 0xff, ...new TextEncoder().encode("{'descr': '<f4', 'shape': (1e999, -3, x), }")])], "lying.npy"),
    new File([new Uint8Array([0x50, 0x4b, 0x03, 0x04])], "cut.zip"),
    new File([new Uint8Array([0x50, 0x4b, 0x03, 0x04, ...new Uint8Array(22), 0xff, 0xff])], "long_name.zip"),
    new File([new Uint8Array(4096).fill(0xff)], "binary.csv"),
    new File(["\u0000"], "model.onnx"),
    new File(["x"], "no_extension"),
  ];
  const set = new FileSet();
  await set.add({ files: cases });
  const r = roles(set);
  assert.equal(r["model.onnx"], "model", "an .onnx name is a model; its bytes are the engine's to refuse");
  assert.equal(r["no_extension"], "ignore", "an unknown file is not used unless the user says so");
  assert.equal(r["lying.npy"] !== undefined, true);
  for (const it of set.items) assert.equal(typeof it.detail, "string", it.name);
  // Whatever was guessed, the request is built or refused with a message; nothing throws.
  const req = set.request("model");
  assert.ok(req instanceof Error || typeof req === "object");
});

test("a CSV named for slices is the slice values; an ONNX model can be given the role of a model to compare", async () => {
  const set = new FileSet();
  await set.add({ files: [file("www/demo/digits_mlp.onnx"), new File(["set,row,group\nmembers,1,a\n"], "slices.csv"), file("www/demo/digits_members.csv"), file("www/demo/digits_nonmembers.csv")] });
  assert.equal(roles(set)["slices.csv"], "sliceFile");
  await set.add({ files: [file("tests/fixtures/models/digits_mlp_qdq.onnx")] });
  // A second model takes the model role (the first is kept, 'not used'); either can compare.
  set.setRole(set.items.find((i) => i.name === "digits_mlp.onnx").key, "compareModels");
  const req = set.request("model");
  assert.equal(req.model.name, "digits_mlp_qdq.onnx");
  assert.deepEqual(req.compareModels.map((f) => f.name), ["digits_mlp.onnx"]);
  assert.equal(req.sliceFile.name, "slices.csv");
  // Only ONNX files can be compared; in outputs mode there is nothing to compare.
  assert.throws(() => set.setRole(set.items.find((i) => i.name === "slices.csv").key, "compareModels"), /cannot|no such/);
  assert.equal(set.request("outputs").compareModels, undefined);
});
