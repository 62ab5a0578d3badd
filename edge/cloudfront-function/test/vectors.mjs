// The shared decision vectors (edge/vectors/decide.json) as CloudFront
// Functions cases, and what the function must do with each.
//
// "Stateless" (docs/cloudfront-functions.md): a case whose first step in the
// core is `respond` (denied before any store call), or `forward` with allow
// `unlimited` (a token without `n`). Use-limited cases (`need_store`, or
// `forward` with allow `head`) are not the function's to decide: in
// "prefilter" mode they must pass through unchanged for the Lambda@Edge
// consume, in "only" mode they must be refused with `needs_consume`. The one
// stateless denial that the core gives after seeing `n`, `prefetch_refused`,
// is `needs_consume` in "only" mode for the same reason.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, functionSettings, minify, SOURCE_PATH } from '../build.mjs';
import { KeyValueStore, loadFunction } from './runtime.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const VECTORS_DIR = join(HERE, '..', '..', 'vectors');
export const KVS_ID = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

export function loadDecideVectors() {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'decide.json'), 'utf8'));
}

export function loadFormatVectors() {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'format.json'), 'utf8'));
}

/** A case's effective core config: the file's config with the case's overrides. */
export function caseConfig(doc, testCase) {
  return { ...doc.config, ...(testCase.config ?? {}) };
}

/** The case's request with `{token}` replaced in the query and header values. */
export function caseRequest(testCase) {
  const token = testCase.token ?? '';
  const request = structuredClone(testCase.request);
  if (typeof request.query === 'string') request.query = request.query.replaceAll('{token}', token);
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value === 'string') request.headers[name] = value.replaceAll('{token}', token);
  }
  return request;
}

/** The KeyValueStore contents for a key file: kid -> base64url secret. */
export function kvsEntries(keyFile) {
  return Object.fromEntries(keyFile.keys.map((k) => [k.kid, k.secret]));
}

const source = readFileSync(SOURCE_PATH, 'utf8');
const codeCache = new Map();

/** The function code for a mode and core config, as built (minified) or as written. */
export function functionCode(mode, config, variant = 'minified') {
  const settings = functionSettings({ mode, kvs: KVS_ID, config });
  const key = JSON.stringify([settings, variant]);
  if (!codeCache.has(key)) {
    const configured = configure(source, settings);
    codeCache.set(key, variant === 'minified' ? minify(configured) : configured);
  }
  return codeCache.get(key);
}

/** A loaded function for a mode and core config, with its KeyValueStore. */
export function loadFor(mode, config, variant = 'minified', prune = true) {
  const store = new KeyValueStore(kvsEntries(config.keys));
  const run = loadFunction(functionCode(mode, config, variant), { kvsId: KVS_ID, store, prune });
  return { run, store };
}

/** The HTTP status of a reason code (edge/src/error.rs `Reason::status`). */
export function statusOf(reason) {
  if (reason === 'method_not_allowed') return 405;
  if (['expired', 'used_up', 'revoked'].includes(reason)) return 410;
  return reason === 'store_unavailable' ? 503 : 403;
}

/**
 * What the function must do with a vector in `mode`: `{deny: code, status}`,
 * `{forward: true}` (function-only forward of a time-limited link) or
 * `{pass: true}` (the request unchanged).
 */
export function expectationFor(testCase, mode) {
  const step = testCase.expect;
  const useLimited = step.step === 'need_store' || (step.step === 'forward' && step.allow === 'head');
  if (step.step === 'respond') {
    if (step.reason === 'prefetch_refused' && mode === 'only') return { deny: 'needs_consume', status: 403 };
    return { deny: step.reason, status: step.status ?? statusOf(step.reason) };
  }
  if (useLimited) {
    return mode === 'only' ? { deny: 'needs_consume', status: 403 } : { pass: true };
  }
  if (step.step === 'forward' && step.allow === 'unlimited') {
    return mode === 'only' ? { forward: true } : { pass: true };
  }
  throw new Error(`${testCase.name}: no CloudFront Function expectation for ${JSON.stringify(step)}`);
}
