// The shared decision vectors (edge/vectors/decide.json) as CloudFront
// Functions cases, and what the function must do with each.
//
// "Stateless" (docs/cloudfront-functions.md): a case the core refuses in one
// of the checks before the link's mode and use limit, or forwards with allow
// `unlimited` (a direct-mode token without `n`). Use-limited and page-mode
// links (docs/page-mode.md) are not the function's to decide: in "prefilter"
// mode they must pass through unchanged for the Lambda@Edge handler, in
// "only" mode they must be refused with `needs_consume`. That includes the
// core's `prefetch_refused` and unfurler `preview` for use-limited links: the
// preview wins over the prefetch refusal for a listed User-Agent, a list the
// function does not carry, so the function leaves both to the Lambda.

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
 * The reasons the core gives before it looks at the link's mode or use limit
 * (docs/token-v1.md, in `check` order), and the 405 it gives a POST to a
 * direct-mode link: all stateless, so the function gives them too.
 */
export const STATELESS_REASONS = new Set(['method_not_allowed', 'bad_path', 'missing_token', 'malformed', 'unknown_kid',
  'bad_signature', 'expired', 'not_yet_valid', 'wrong_path', 'ip_mismatch']);

/** The claims of a token as JSON.parse reads them, or null (only used for tokens the core accepted). */
export function claimsOf(token) {
  try {
    const claims = JSON.parse(Buffer.from(String(token).split('.')[2], 'base64url').toString('utf8'));
    return claims !== null && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** A vector's claims: its token's, else the ones it was minted from. */
export function caseClaims(testCase) {
  return claimsOf(testCase.token) ?? testCase.mint?.claims ?? null;
}

/**
 * What the function must do with a vector in `mode`: `{deny: code, status}`,
 * `{forward: true}` (function-only forward of a time-limited link) or
 * `{pass: true}` (the request unchanged). `claims` are the token's, needed
 * for any step past the stateless checks: a link in page mode (`m: "page"`
 * or `pw`) or with `n` is never the function's to decide, whatever the core
 * answered (page, preview, prefetch refusal, pass, password, store, forward):
 * the prefilter passes it on, a function-only behavior refuses it with
 * `needs_consume`.
 */
export function expectationFor(testCase, mode, claims = caseClaims(testCase)) {
  const step = testCase.expect;
  if (step.step === 'respond' && STATELESS_REASONS.has(step.reason)) {
    return { deny: step.reason, status: step.status ?? statusOf(step.reason) };
  }
  if (claims === null) {
    throw new Error(`${testCase.name}: the core got past the stateless checks, but the token's claims are unknown`);
  }
  const page = claims.m === 'page' || claims.pw != null;
  if (page || claims.n != null) {
    return mode === 'only' ? { deny: 'needs_consume', status: 403 } : { pass: true };
  }
  if (step.step === 'forward' && step.allow === 'unlimited') {
    return mode === 'only' ? { forward: true } : { pass: true };
  }
  throw new Error(`${testCase.name}: no CloudFront Function expectation for ${JSON.stringify(step)}`);
}
