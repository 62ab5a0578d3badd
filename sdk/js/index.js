// oncelink: mint, link, verify and inspect oncelink tokens from Node.
//
// The work is done by the same Rust core the edge runs, compiled to wasm
// (wasm/pkg/); this file only moves text across: options to JSON, the clock
// (Date.now) and random bytes (crypto.getRandomValues) in, a token or
// claims out, and every refusal as one OncelinkError with a stable reason.
import { readFileSync } from 'node:fs';
import * as wasm from './wasm/pkg/oncelink_sdk_wasm.js';

wasm.initSync({ module: readFileSync(new URL('./wasm/pkg/oncelink_sdk_wasm_bg.wasm', import.meta.url)) });

/** A refusal with a stable reason code (docs/sdk-js.md); never carries a secret. */
export class OncelinkError extends Error {
  constructor(reason, message) {
    super(`${reason}: ${message}`);
    this.name = 'OncelinkError';
    this.reason = reason;
  }
}

function unwrap(answer) {
  const parsed = JSON.parse(answer);
  if ('err' in parsed) throw new OncelinkError(parsed.err.reason, parsed.err.message);
  return parsed.ok;
}

function keysText(keys) {
  if (typeof keys === 'string') return keys;
  if (keys !== null && typeof keys === 'object') return JSON.stringify(keys);
  throw new OncelinkError('bad_keys', 'keys must be the key file as JSON text or as an object');
}

function optionsText(options, call) {
  if (options === undefined || options === null) return '';
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new OncelinkError('bad_option', `the options of ${call} must be an object`);
  }
  return JSON.stringify(options);
}

function text(value, name) {
  if (typeof value !== 'string') throw new OncelinkError('bad_option', `${name} must be a string`);
  return value;
}

function random(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

const nowSeconds = () => Date.now() / 1000;

/** Mints a token with the key file's active key. */
export function mint(keys, options) {
  return unwrap(wasm.mint(keysText(keys), optionsText(options, 'mint'), nowSeconds(), random(16)));
}

/** The URL of `token` for `path` (decoded, as minted) on `baseUrl`. */
export function link(baseUrl, path, token, options) {
  return unwrap(wasm.link(text(baseUrl, 'baseUrl'), text(path, 'path'), text(token, 'token'), optionsText(options, 'link')));
}

/**
 * Checks a token or link as the edge would (uses are not counted here). A
 * refusal of the token is an answer ({ valid: false, reason }); only a
 * caller's mistake (keys, options) throws.
 */
export function verify(keys, tokenOrUrl, options) {
  return unwrap(wasm.verify(keysText(keys), text(tokenOrUrl, 'tokenOrUrl'), optionsText(options, 'verify'), nowSeconds()));
}

/** A token's kid and claims WITHOUT checking its signature. */
export function inspect(tokenOrUrl, options) {
  return unwrap(wasm.inspect(text(tokenOrUrl, 'tokenOrUrl'), optionsText(options, 'inspect')));
}

/** A new key file (JSON text) with one 32-byte key from crypto.getRandomValues. */
export function keygen(options) {
  return unwrap(wasm.keygen(optionsText(options, 'keygen'), random(32)));
}
