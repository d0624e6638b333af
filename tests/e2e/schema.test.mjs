// The report's JSON Schema (schema/report.schema.json, draft 2020-12) checked by ajv 8 (a
// well-kept validator, instead of a hand-written one) on reports the CLI writes for every kind
// of audit: a model, outputs only, reference attacks with trained references, Attack-P with a
// held-out population, and all-equal scores (whose best threshold is null, never infinite).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import Ajv2020 from "ajv/dist/2020.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(process.env.CARGO_TARGET_DIR ?? `${ROOT}target`, "debug", "privaudit");
const schema = JSON.parse(readFileSync(`${ROOT}schema/report.schema.json`, "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: true });
const validate = ajv.compile(schema);
// The comparison's schema refers to the report's for each model's report.
const validateComparison = ajv.compile(JSON.parse(readFileSync(`${ROOT}schema/comparison.schema.json`, "utf8")));

function audit(args) {
  const dir = mkdtempSync(join(tmpdir(), "privaudit-schema-"));
  try {
    execFileSync(CLI, ["audit", "-q", "--backend", "cpu", "--no-cache", "--out", join(dir, "r.json"), ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    return JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const demo = ["--model", "www/demo/digits_mlp.onnx", "--members", "www/demo/digits_members.csv", "--nonmembers", "www/demo/digits_nonmembers.csv", "--scale", "0.0625"];
const cases = {
  "a model audit": demo,
  "outputs only": ["--member-outputs", "tests/fixtures/digits_members_logits.csv", "--nonmember-outputs", "tests/fixtures/digits_nonmembers_logits.csv"],
  "trained references (LiRA, RMIA)": [...demo, "--attacks", "loss,lira,rmia", "--refs", "2", "--epochs", "3", "--population", "tests/fixtures/digits_population.csv"],
  "Attack-P with a held-out population": [...demo, "--attacks", "attack_p"],
  "all-equal scores": ["--member-outputs", "tests/fixtures/hostile/outputs_equal_m.csv", "--nonmember-outputs", "tests/fixtures/hostile/outputs_equal_n.csv"],
};

for (const [name, args] of Object.entries(cases)) {
  test(`the report of ${name} follows the schema`, () => {
    const r = audit(args);
    assert.ok(validate(r), JSON.stringify(validate.errors, null, 1));
    if (name === "all-equal scores") assert.ok(r.attacks.every((a) => a.best_threshold === null && a.auc === 0.5));
  });
}

test("a comparison of a model and its QDQ version with shared references follows its schema", () => {
  const dir = mkdtempSync(join(tmpdir(), "privaudit-schema-"));
  try {
    execFileSync(CLI, ["compare", "-q", "--backend", "cpu", "--no-cache", "--out", join(dir, "c.json"), "--models", "www/demo/digits_mlp.onnx,tests/fixtures/models/digits_mlp_qdq.onnx",
      "--members", "www/demo/digits_members.csv", "--nonmembers", "www/demo/digits_nonmembers.csv", "--scale", "0.0625", "--attacks", "loss,lira_offline", "--refs", "2", "--epochs", "3"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    const c = JSON.parse(readFileSync(join(dir, "c.json"), "utf8"));
    assert.ok(validateComparison(c), JSON.stringify(validateComparison.errors, null, 1));
    assert.equal(c.reports[1].references.source, "shared");
    assert.equal(validateComparison({ ...c, reports: [c.reports[0], { ...c.reports[1], extra: 1 }] }), false, "each report is checked against the report's schema");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the validator catches what the schema forbids", () => {
  const r = audit(cases["outputs only"]);
  for (const [what, broken] of [
    ["an undeclared field", { ...r, extra: 1 }],
    ["a missing field", (({ warnings, ...rest }) => rest)(r)],
    ["another schema version", { ...r, schema_version: 99 }],
    ["an attack not in the registry", { ...r, attacks: [{ ...r.attacks[0], name: "lira2" }] }],
    ["an infinite threshold written as a string", { ...r, attacks: [{ ...r.attacks[0], best_threshold: "inf" }] }],
  ]) {
    assert.equal(validate(broken), false, what);
  }
});
