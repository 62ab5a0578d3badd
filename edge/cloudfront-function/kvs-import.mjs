#!/usr/bin/env node
// Turns an oncelink key file into a CloudFront KeyValueStore import file, the
// JSON CloudFront reads from S3 when the store is created:
//   {"data":[{"key":"<kid>","value":"<base64url secret>"}, ...]}
// ("File format for key-value pairs", CloudFront Developer Guide). Every kid
// of the key file goes in, so rotation works as in the Lambda@Edge tier: the
// function accepts any kid it finds in the store.
//
//   node edge/cloudfront-function/kvs-import.mjs --keys keys.json [--out FILE]
//
// The key file is checked with the core's rules (edge/src/keys.rs): kid 1..32
// of [A-Za-z0-9_-], secret canonical base64url of 32..64 bytes, no kid twice,
// `active` among the keys. The output holds secrets: write it only where the
// key file itself may go.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** KeyValueStore limits: key and value length, in characters. */
export const MAX_KEY_CHARS = 512;
export const MAX_VALUE_CHARS = 1024;

/** The import document for a parsed key file; throws one line on a bad file. */
export function kvsImport(keyFile) {
  if (keyFile === null || typeof keyFile !== 'object' || !Array.isArray(keyFile.keys)) {
    throw new Error('not a key file: expected {"active": kid, "keys": [{"kid", "secret"}, ...]}');
  }
  const extra = Object.keys(keyFile).filter((k) => k !== 'active' && k !== 'keys');
  if (extra.length > 0) {
    throw new Error(`unknown field ${JSON.stringify(extra[0])} in the key file`);
  }
  if (keyFile.keys.length === 0) {
    throw new Error('the key file lists no keys');
  }
  const seen = new Set();
  const data = keyFile.keys.map((entry) => {
    const { kid, secret } = entry ?? {};
    if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{1,32}$/.test(kid)) {
      throw new Error(`kid ${JSON.stringify(kid)} must be 1 to 32 of [A-Za-z0-9_-]`);
    }
    if (seen.has(kid)) {
      throw new Error(`kid ${JSON.stringify(kid)} is listed twice`);
    }
    seen.add(kid);
    const bytes = typeof secret === 'string' ? canonicalBase64url(secret) : null;
    if (bytes === null) {
      throw new Error(`secret of ${JSON.stringify(kid)} is not canonical base64url without padding`);
    }
    if (bytes.length < 32 || bytes.length > 64) {
      throw new Error(`secret of ${JSON.stringify(kid)} is ${bytes.length} bytes; it must be 32 to 64`);
    }
    if (kid.length > MAX_KEY_CHARS || secret.length > MAX_VALUE_CHARS) {
      throw new Error(`key ${JSON.stringify(kid)} does not fit the KeyValueStore limits`);
    }
    return { key: kid, value: secret };
  });
  if (!seen.has(keyFile.active)) {
    throw new Error(`active kid ${JSON.stringify(keyFile.active)} is not among the keys`);
  }
  return { data };
}

/** The bytes of canonical unpadded base64url, or null. */
export function canonicalBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    return null;
  }
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const args = process.argv.slice(2);
    const flag = (name) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    };
    const keysPath = flag('--keys');
    if (!keysPath) {
      throw new Error('usage: kvs-import.mjs --keys KEYFILE [--out FILE]');
    }
    let keyFile;
    try {
      keyFile = JSON.parse(readFileSync(keysPath, 'utf8'));
    } catch (e) {
      throw new Error(`cannot read ${keysPath}: ${e.message}`);
    }
    const json = `${JSON.stringify(kvsImport(keyFile), null, 2)}\n`;
    const out = flag('--out');
    if (out) {
      writeFileSync(out, json, { mode: 0o600 });
    } else {
      process.stdout.write(json);
    }
  } catch (e) {
    console.error(`kvs-import: ${e.message}`);
    process.exit(1);
  }
}
