#!/usr/bin/env node
// Builds the wasm (scripts/build-wasm.sh) and prints its raw and gzip sizes.
// With --check, fails when a size is over the budget below. The budget is the
// project's own, far under Lambda@Edge's 1 MB zip limit: it exists so that a
// dependency that adds tens of kilobytes is a decision, not an accident.
//
//   npm run size            build and print
//   npm run size -- --check build, print, and enforce the budget
//   --no-build              measure edge/pkg as it is
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET = {
  "oncelink_edge_wasm_bg.wasm": { raw: 196_900, gzip: 87_000 }, // history: docs/performance.md
  "oncelink_edge_wasm.js": { raw: 22_400, gzip: 5_200 },
};

const args = new Set(process.argv.slice(2));
if (!args.has("--no-build")) {
  execFileSync("bash", ["scripts/build-wasm.sh"], { stdio: ["ignore", "inherit", "inherit"] });
}
let over = 0;
console.log("| file | raw bytes | gzip -9 bytes | budget (raw / gzip) |");
console.log("|---|---:|---:|---|");
for (const [file, budget] of Object.entries(BUDGET)) {
  const bytes = readFileSync(new URL(`../edge/pkg/${file}`, import.meta.url));
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const ok = bytes.length <= budget.raw && gzip <= budget.gzip;
  if (!ok) over++;
  console.log(`| ${file} | ${bytes.length} | ${gzip} | ${budget.raw} / ${budget.gzip}${ok ? "" : " OVER"} |`);
}
if (args.has("--check") && over > 0) {
  console.error(`size: ${over} file(s) over budget`);
  process.exit(1);
}
