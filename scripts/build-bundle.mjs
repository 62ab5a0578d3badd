#!/usr/bin/env node
// Bundles the Lambda@Edge viewer-request handler with its baked config:
//   dist/lambda-edge/index.mjs + oncelink_edge_wasm_bg.wasm, and a
//   deterministic dist/lambda-edge.zip (sorted entries, fixed timestamps).
//
//   node scripts/build-bundle.mjs [--config FILE] [--out DIR] [--zip FILE] [--pkg DIR]
//
// FILE is {"validator": <ConfigFile>, "store": {"table", "endpoint"?,
// "attempt_timeout_ms"?, "budget_ms"?, "remember_ttl_ms"?, "remember_max"?}}
// (defaults and their reasons in edge/js/store.mjs; the build prints the
// store settings it bakes, defaults filled in). Without --config a development
// config in .dev/edge-config.json is used (created with a fresh key from the
// oncelink CLI when missing). The build refuses a config without keys, or one
// the validator itself refuses, and fails when the zip is over the
// Lambda@Edge viewer-request limit (1 MB) or the project budget below.
// Expects edge/pkg/ (or --pkg DIR) from scripts/build-wasm.sh.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeLambda } from './zip.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Lambda@Edge's limit for a viewer-request function package, compressed. */
export const LAMBDA_EDGE_LIMIT_BYTES = 1024 * 1024;
/**
 * The project's own budget for the compressed package (see docs/lambda-edge.md):
 * today's 95 KB with the development config plus room for about 150 more keys
 * (each about 45 bytes compressed), under issue 18's 128 KiB.
 */
export const PROJECT_BUDGET_BYTES = 100 * 1024;
const WASM_NAME = 'oncelink_edge_wasm_bg.wasm';

/** Throws a one-line error unless `config` has the shape and keys a bundle needs. */
export function checkConfigShape(config) {
  if (!config || typeof config !== 'object') throw new Error('config must be a JSON object');
  const v = config.validator;
  if (!v || typeof v !== 'object') throw new Error('config has no "validator" object');
  const keys = v.keys?.keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new Error('config has no keys (validator.keys.keys is empty or missing)');
  if (!config.store || typeof config.store.table !== 'string' || config.store.table === '') {
    throw new Error('config has no store.table');
  }
  const allowed = new Set(['validator', 'store']);
  for (const k of Object.keys(config)) if (!allowed.has(k)) throw new Error(`config has an unknown field "${k}"`);
}

/** Loads edge/pkg and checks the config the way the handler will (new Validator). */
async function checkWithCore(config, pkgDir) {
  const wasm = await import(pathToFileURL(join(pkgDir, 'oncelink_edge_wasm.js')).href);
  wasm.initSync({ module: readFileSync(join(pkgDir, WASM_NAME)) });
  // The Lambda ships a module that only decides (edge/wasm/Cargo.toml: `mint` off).
  if ('mint_token' in wasm) throw new Error(`${pkgDir} was built with the mint feature: rebuild it with 'bash scripts/build-wasm.sh'`);
  try {
    new wasm.Validator(JSON.stringify(config.validator)).free();
  } catch (err) {
    throw new Error(`the validator refuses this config: ${err.message}`);
  }
  const { storeSettings, MAX_DEPLOY_BUDGET_MS } = await import(pathToFileURL(join(root, 'edge/js/store.mjs')).href);
  const settings = storeSettings(config.store);
  if (settings.budgetMs > MAX_DEPLOY_BUDGET_MS || settings.attemptTimeoutMs > MAX_DEPLOY_BUDGET_MS) {
    throw new Error(`store.budget_ms and store.attempt_timeout_ms must be at most ${MAX_DEPLOY_BUDGET_MS} (the viewer-request limit is 5 s)`);
  }
  return settings;
}

/** The store settings a bundle runs with, defaults filled in (no secrets), as the build prints them. */
export function bakedStoreSettings(settings) {
  return {
    table: settings.target.table,
    attempt_timeout_ms: settings.attemptTimeoutMs,
    budget_ms: settings.budgetMs,
    remember_ttl_ms: settings.rememberTtlMs,
    remember_max: settings.rememberMax,
    events: settings.events,
  };
}

/** The development config, created on first use with a key from the oncelink CLI. */
export function devConfigPath() {
  const path = join(root, '.dev', 'edge-config.json');
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const bin = [process.env.CARGO_TARGET_DIR, join(root, 'target')]
    .filter(Boolean)
    .map((dir) => join(dir, 'debug', 'oncelink'))
    .find((path) => existsSync(path));
  const keyJson = bin
    ? execFileSync(bin, ['keygen'], { encoding: 'utf8' })
    : execFileSync('cargo', ['run', '--quiet', '-p', 'oncelink', '--', 'keygen'], { cwd: root, encoding: 'utf8' });
  const config = {
    validator: { keys: JSON.parse(keyJson), home_region: 'us-east-1', origin: 'header' },
    store: { table: 'oncelink-dev', endpoint: 'http://127.0.0.1:5000' },
  };
  writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  console.error(`build-bundle: created a development config with a new key in ${path}`);
  return path;
}

/**
 * Builds the bundle. options: { config (object), outDir, zipPath, pkgDir?, quiet? }.
 * Returns { outDir, zipPath, zipBytes, sha256 }.
 */
export async function buildBundle({ config, outDir, zipPath, pkgDir = join(root, 'edge/pkg'), quiet = false }) {
  checkConfigShape(config);
  if (!existsSync(join(pkgDir, WASM_NAME))) {
    throw new Error(`${pkgDir}/${WASM_NAME} is missing: run 'bash scripts/build-wasm.sh' first`);
  }
  const settings = await checkWithCore(config, pkgDir);
  const esbuild = await import('esbuild');
  const configModule = {
    name: 'oncelink-config',
    setup(build) {
      build.onResolve({ filter: /^oncelink:wasm$/ }, () => ({ path: join(pkgDir, 'oncelink_edge_wasm.js') }));
      build.onResolve({ filter: /^oncelink:config$/ }, () => ({ path: 'config', namespace: 'oncelink-config' }));
      build.onLoad({ filter: /.*/, namespace: 'oncelink-config' }, () => ({
        contents: JSON.stringify(config),
        loader: 'json',
      }));
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(root, 'edge/js/handler.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    write: false,
    outfile: 'index.mjs',
    plugins: [configModule],
    logLevel: 'silent',
  });
  const js = Buffer.from(result.outputFiles[0].contents);
  const wasmBytes = readFileSync(join(pkgDir, WASM_NAME));
  const { zip, sha256 } = writeLambda(outDir, zipPath, [
    { name: 'index.mjs', data: js },
    { name: WASM_NAME, data: wasmBytes },
  ]);
  if (!quiet) {
    console.log(`build-bundle: ${zipPath}: ${zip.length} bytes, sha256 ${sha256}`);
    console.log(`build-bundle: index.mjs ${js.length} bytes, ${WASM_NAME} ${wasmBytes.length} bytes`);
    console.log(`build-bundle: store settings ${JSON.stringify(bakedStoreSettings(settings))}`);
  }
  if (zip.length > LAMBDA_EDGE_LIMIT_BYTES) {
    throw new Error(`zip is ${zip.length} bytes, over the Lambda@Edge viewer-request limit of ${LAMBDA_EDGE_LIMIT_BYTES}`);
  }
  if (zip.length > PROJECT_BUDGET_BYTES) {
    throw new Error(`zip is ${zip.length} bytes, over the project budget of ${PROJECT_BUDGET_BYTES}`);
  }
  return { outDir, zipPath, zipBytes: zip.length, sha256, store: bakedStoreSettings(settings) };
}

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!['--config', '--out', '--zip', '--pkg'].includes(flag)) throw new Error(`unknown argument ${flag}`);
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    args[flag.slice(2)] = value;
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const configPath = args.config ?? devConfigPath();
  let config;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config ${configPath}: ${err.message}`);
  }
  const outDir = resolve(args.out ?? join(root, 'dist/lambda-edge'));
  const zipPath = resolve(args.zip ?? `${outDir}.zip`);
  await buildBundle({ config, outDir, zipPath, ...(args.pkg ? { pkgDir: resolve(args.pkg) } : {}) });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`build-bundle: ${err.message}`);
    process.exit(1);
  });
}
