// The duplicates part of `npm run bench` (benches/bench.mjs calls it; not a test, nothing fails on
// speed): 100,000 tabular records (64 features, the digits MLP's input) with planted exact copies,
// through the CLI's audit (LOSS only, no intervals, no slices), reading the search's own wall time
// from the report (`duplicates.seconds`); next to benches/numpy_duplicates.py, which finds the same
// copies with numpy's np.unique(axis=0) (a sort of the rows), if numpy is installed. The counts
// must agree; the ratio is numpy's time / ours.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

/** A seeded stream (mulberry32), so every run plants the same rows. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function duplicates({ records = 100_000, env = process.env } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "privaudit-dup-"));
  const r = rng(7);
  const row = () => Array.from({ length: 64 }, () => Math.floor(r() * 17));
  const half = records / 2;
  const members = Array.from({ length: half }, row);
  const nonmembers = Array.from({ length: half }, row);
  // Plant: 1 % of the non-members copy a member; 1 % of the members copy another member.
  for (let i = 0; i < half / 100; i++) {
    nonmembers[Math.floor(r() * half)] = [...members[Math.floor(r() * half)]];
    members[Math.floor(r() * half)] = [...members[Math.floor(r() * half)]];
  }
  const header = [...Array(64).keys()].map((i) => `p${i}`).concat("label").join(",");
  const csv = (rows) => `${header}\n${rows.map((x) => `${x.join(",")},${x[0] % 10}`).join("\n")}\n`;
  writeFileSync(join(dir, "members.csv"), csv(members));
  writeFileSync(join(dir, "nonmembers.csv"), csv(nonmembers));
  const out = join(dir, "report.json");
  const t0 = performance.now();
  execFileSync(`${ROOT}target/debug/privaudit`, ["audit", "-q", "--backend", "cpu", "--scale", "0.0625", "--model", `${ROOT}www/demo/digits_mlp.onnx`,
    "--members", join(dir, "members.csv"), "--nonmembers", join(dir, "nonmembers.csv"), "--attacks", "loss", "--bootstrap", "0", "--no-slices",
    "--out", out], { env, stdio: ["ignore", "ignore", "inherit"] });
  const total = (performance.now() - t0) / 1000;
  const d = JSON.parse(readFileSync(out, "utf8")).duplicates;
  const rows = [{ where: "privaudit (native CLI, hashing)", seconds: d.seconds, within: d.exact_within_members, across: d.exact_members_in_nonmembers }];
  try {
    const peer = JSON.parse(execFileSync("python3", [`${ROOT}benches/numpy_duplicates.py`, join(dir, "members.csv"), join(dir, "nonmembers.csv")], { encoding: "utf8" }));
    rows.push({ where: `numpy ${peer.numpy} np.unique(axis=0)`, seconds: peer.seconds, within: peer.within, across: peer.across, peer: true });
  } catch (e) {
    console.error(`numpy peer skipped: ${e.message.split("\n")[0]}`);
  }
  return { records, total, rows };
}
