#!/usr/bin/env node
// Builds the AWS events Lambda (events/, docs/events.md "On AWS"): its wasm
// (events/wasm -> events/pkg, scripts/build-wasm.sh) and one ESM bundle
// (esbuild, @smithy/signature-v4 inside) into dist/events/, zipped
// deterministically into dist/events.zip (handler `index.handler`, Node.js
// 22). A separate artifact from the Lambda@Edge zip, with its own budget.
//
//   node scripts/build-events.mjs [--no-wasm] [--out DIR] [--zip FILE]

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeLambda } from './zip.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WASM_NAME = 'oncelink_events_wasm_bg.wasm';
/** The events Lambda's own budget (a regular Lambda allows 50 MB zipped; this keeps growth a decision). */
export const EVENTS_BUDGET_BYTES = 256 * 1024;

/** Builds the bundle; returns { outDir, zipPath, zipBytes, sha256 }. */
export async function buildEvents({ outDir = join(root, 'dist/events'), zipPath = join(root, 'dist/events.zip'), wasm = true, quiet = false } = {}) {
  const pkgDir = join(root, 'events/pkg');
  if (wasm) {
    execFileSync('bash', ['scripts/build-wasm.sh', 'oncelink-events-wasm', 'events/pkg'], { cwd: root, stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'] });
  }
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(root, 'events/index.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    write: false,
    outfile: 'index.mjs',
    plugins: [
      {
        name: 'oncelink-events-wasm',
        setup(build) {
          build.onResolve({ filter: /^oncelink:events-wasm$/ }, () => ({ path: join(pkgDir, 'oncelink_events_wasm.js') }));
        },
      },
    ],
    logLevel: 'silent',
  });
  const js = Buffer.from(result.outputFiles[0].contents);
  const wasmBytes = readFileSync(join(pkgDir, WASM_NAME));
  const { zip, sha256 } = writeLambda(outDir, zipPath, [
    { name: 'index.mjs', data: js },
    { name: WASM_NAME, data: wasmBytes },
  ]);
  if (!quiet) {
    console.log(`build-events: ${zipPath}: ${zip.length} bytes, sha256 ${sha256}`);
    console.log(`build-events: index.mjs ${js.length} bytes, ${WASM_NAME} ${wasmBytes.length} bytes`);
  }
  if (zip.length > EVENTS_BUDGET_BYTES) throw new Error(`events zip is ${zip.length} bytes, over its budget of ${EVENTS_BUDGET_BYTES}`);
  return { outDir, zipPath, zipBytes: zip.length, sha256 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? resolve(argv[i + 1]) : undefined;
  };
  buildEvents({ outDir: opt('--out'), zipPath: opt('--zip'), wasm: !argv.includes('--no-wasm') }).catch((err) => {
    console.error(`build-events: ${err.message}`);
    process.exit(1);
  });
}
