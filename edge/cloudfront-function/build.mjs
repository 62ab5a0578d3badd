#!/usr/bin/env node
// Builds the CloudFront Function: bakes the deployment settings into
// verify.js, minifies it with esbuild for the cloudfront-js-2.0 runtime, runs
// the runtime-feature lint on the result and refuses anything over the 10 KB
// code limit.
//
//   node edge/cloudfront-function/build.mjs [--mode only|prefilter] [--kvs-id ID]
//       [--config CONFIG.json] [--out FILE]
//
// --config reads the deployment configuration (the same JSON as the Lambda
// bundle; only skew, token_param, pass_param and origin are used, and
// default_mode must be direct; keys never enter the code: they go to the
// KeyValueStore, see kvs-import.mjs). --kvs-id defaults to the CloudFormation
// placeholder `${OncelinkKvsId}`, so the code can be inlined with Fn::Sub; the
// build checks there is no other `${` in it.
// Prints one line with the size; exits 1 with one line on any problem.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { lint } from './lint.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The function source. */
export const SOURCE_PATH = join(HERE, 'verify.js');
/** CloudFront Functions' maximum function size, in bytes. */
export const MAX_BYTES = 10 * 1024;
/** The placeholder the infra template substitutes with the KeyValueStore id. */
export const KVS_PLACEHOLDER = '${OncelinkKvsId}';
/** The module import the runtime needs, kept out of esbuild's hands. */
const IMPORT_LINE = "import cf from 'cloudfront';";
const CONFIG_LINE = /^( *)const CONFIG = \{[^\n]*\};$/m;
const MODES = ['only', 'prefilter'];

/**
 * The settings baked into the function, checked the way the core checks its
 * config (edge/src/config.rs): skew 0..3600, token_param and pass_param 1..64
 * of [A-Za-z0-9_-] and different. Refuses what only the Lambda tier can do:
 * origin grants on a function-only behavior, page mode as the default.
 */
export function functionSettings({ mode = 'only', kvs = KVS_PLACEHOLDER, config = {} } = {}) {
  if (!MODES.includes(mode)) {
    throw new Error(`mode must be one of ${MODES.join(', ')}, not ${JSON.stringify(mode)}`);
  }
  if (typeof kvs !== 'string' || kvs === '' || /['"\\\n]/.test(kvs)) {
    throw new Error('the KeyValueStore id must be a non-empty string without quotes');
  }
  const skew = config.skew ?? 30;
  if (!Number.isInteger(skew) || skew < 0 || skew > 3600) {
    throw new Error('skew must be 0 to 3600 seconds');
  }
  const param = config.token_param ?? 't';
  if (typeof param !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(param)) {
    throw new Error('token_param must be 1 to 64 of [A-Za-z0-9_-]');
  }
  const pass = config.pass_param ?? 'pass';
  if (typeof pass !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(pass) || pass === param) {
    throw new Error('pass_param must be 1 to 64 of [A-Za-z0-9_-] and differ from token_param');
  }
  const origin = config.origin ?? 's3';
  if (origin !== 's3' && origin !== 'header') {
    throw new Error('origin must be s3 or header');
  }
  // Page mode's pages, passes and passwords are the Lambda's (docs/page-mode.md):
  // the function hands every page-mode link on, so it cannot have page as the
  // default for links without `m` (the infra refuses page mode in function tiers).
  const defaultMode = config.default_mode ?? 'direct';
  if (defaultMode !== 'direct') {
    throw new Error(defaultMode === 'page'
      ? 'default_mode page needs the Lambda@Edge tier; a CloudFront Function never decides page mode'
      : 'default_mode must be direct or page');
  }
  if (Array.isArray(config.cors_origins) && config.cors_origins.length > 0) {
    // The function's own refusals would carry no CORS headers, and it answers no preflight.
    throw new Error('cors_origins needs the Lambda@Edge tier alone; a CloudFront Function writes no CORS headers');
  }
  if (config.grant_keys != null && mode === 'only') {
    throw new Error('origin grants (grant_keys) need the Lambda@Edge tier; a function-only behavior cannot issue them');
  }
  if (config.ask_file_size === true) {
    // The core then asks the host for the file (need_file_size): only a host that serves files answers.
    throw new Error('ask_file_size is for hosts that serve files (origin-shim); CloudFront serves none');
  }
  return { kvs, mode, skew, param, pass, origin };
}

/** verify.js with `settings` baked into its CONFIG line. */
export function configure(source, settings) {
  if (!CONFIG_LINE.test(source)) {
    throw new Error('verify.js has no single-line `const CONFIG = {...};` to replace');
  }
  if (!source.includes(IMPORT_LINE)) {
    throw new Error(`verify.js must start its code with ${IMPORT_LINE}`);
  }
  return source.replace(CONFIG_LINE, (line, indent) => `${indent}const CONFIG = ${JSON.stringify(settings)};`);
}

/**
 * Minifies configured source. The import line is taken out first so esbuild
 * sees a script: it then keeps top-level names (CloudFront calls `handler`)
 * and renames only locals. Syntax the runtime lacks is never introduced.
 */
export function minify(source) {
  const body = source.replace(IMPORT_LINE, '');
  const result = transformSync(body, {
    minify: true,
    legalComments: 'none',
    charset: 'ascii',
    supported: {
      'template-literal': false,
      'object-extensions': false,
      'optional-chain': false,
      'nullish-coalescing': false,
      destructuring: false,
      'for-of': false,
      'default-argument': false,
      'object-rest-spread': false,
      'rest-argument': false,
      'optional-catch-binding': false,
      'logical-assignment': false,
      'exponent-operator': false,
      class: false,
      generator: false,
      'async-generator': false,
      bigint: false,
    },
  });
  return `${IMPORT_LINE}${result.code}`;
}

/** Configures, minifies, lints and size-checks; returns the code and its size. */
export function buildFunction(options = {}) {
  const settings = functionSettings(options);
  const configured = configure(readFileSync(SOURCE_PATH, 'utf8'), settings);
  const code = minify(configured);
  const bytes = Buffer.byteLength(code, 'utf8');
  const problems = lint(code);
  if (problems.length > 0) {
    throw new Error(`the minified function uses something cloudfront-js-2.0 lacks: ${problems[0]}`);
  }
  const placeholders = code.split('${').length - 1;
  const expected = settings.kvs === KVS_PLACEHOLDER ? 1 : 0;
  if (placeholders !== expected) {
    throw new Error('the code must contain no `${` besides the KeyValueStore placeholder (Fn::Sub would expand it)');
  }
  if (bytes > MAX_BYTES) {
    throw new Error(`the function is ${bytes} bytes after minification; CloudFront allows ${MAX_BYTES}`);
  }
  return { code, bytes, settings };
}

function parseArgs(argv) {
  const options = {};
  let out = null;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) {
      throw new Error(`${flag} needs a value`);
    }
    if (flag === '--mode') options.mode = value;
    else if (flag === '--kvs-id') options.kvs = value;
    else if (flag === '--config') options.config = JSON.parse(readFileSync(value, 'utf8'));
    else if (flag === '--out') out = value;
    else throw new Error(`unknown flag ${flag} (expected --mode, --kvs-id, --config, --out)`);
  }
  return { options, out };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const { options, out } = parseArgs(process.argv.slice(2));
    const { code, bytes, settings } = buildFunction(options);
    const target = out ?? join('dist', 'cloudfront-function', `oncelink-${settings.mode}.js`);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, code);
    const percent = ((bytes / MAX_BYTES) * 100).toFixed(1);
    console.log(`build-cff: ${target}: ${bytes} bytes (${percent}% of the ${MAX_BYTES}-byte limit), mode ${settings.mode}`);
  } catch (e) {
    console.error(`build-cff: ${e.message}`);
    process.exit(1);
  }
}
