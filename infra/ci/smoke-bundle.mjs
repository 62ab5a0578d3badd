#!/usr/bin/env node
// Smoke test of ONE built deploy bundle, offline: loads the bundle's own
// index.mjs (as Lambda@Edge would) and checks that requests without a token,
// with a forged token and with a tampered one are denied with a 4xx generated
// response and without any store call. Prints the bundle's sha256 last, so CI
// records the hash of exactly the bundle this test ran against.
//
//   node infra/ci/smoke-bundle.mjs dist/deploy/STACK/lambda-edge.zip [--keys FILE]
//
// With --keys (the key file baked into the bundle) it also checks that a
// genuine but expired token and a genuine token for another path are denied
// before the store. Tokens are minted by the npm package's wasm (the bundle's
// own module cannot mint: edge/js/test/support/mint.mjs). The zip's directory (same name minus .zip) holds the
// unpacked files scripts/build-bundle.mjs wrote next to it.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mintClaims } from '../../edge/js/test/support/mint.mjs';

function event(uri, querystring) {
  return {
    Records: [{
      cf: {
        config: { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType: 'viewer-request', requestId: 'smoke' },
        request: { clientIp: '203.0.113.178', headers: { 'user-agent': [{ key: 'User-Agent', value: 'oncelink-smoke' }] }, method: 'GET', querystring, uri },
      },
    }],
  };
}

async function main() {
  const [zip, flag, keysPath] = process.argv.slice(2);
  if (!zip || !zip.endsWith('.zip') || (flag !== undefined && (flag !== '--keys' || !keysPath))) {
    throw new Error('usage: smoke-bundle.mjs PATH/lambda-edge.zip [--keys FILE]');
  }
  const dir = resolve(zip.slice(0, -'.zip'.length));
  const entry = `${dir}/index.mjs`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing (build with scripts/build-bundle.mjs or npm run deploy -- --dry-run)`);

  let storeCalls = 0;
  globalThis.fetch = async () => {
    storeCalls += 1;
    throw new Error('the smoke test allows no store call');
  };
  const bundle = await import(pathToFileURL(entry).href);
  if (typeof bundle.handler !== 'function') throw new Error('the bundle exports no handler');
  const kid = bundle.bakedConfig?.validator?.keys?.active;
  if (typeof kid !== 'string') throw new Error('the bundle has no baked key file');

  const now = Math.floor(Date.now() / 1000);
  const claims = (p, exp) => ({ p, exp, n: 1 });
  // Same kid as the deployment's active key, wrong secret: a well-formed forgery.
  const otherKeys = JSON.stringify({ active: kid, keys: [{ kid, secret: randomBytes(32).toString('base64url') }] });
  const cases = [
    ['no token', 'missing_token', event('/example.pdf', '')],
    ['garbage token', 'malformed', event('/example.pdf', 't=%00%ff..')],
    ['forged signature', 'bad_signature', event('/example.pdf', `t=${mintClaims(otherKeys, claims('/example.pdf', now + 3600))}`)],
  ];
  if (keysPath) {
    const keys = readFileSync(keysPath, 'utf8');
    cases.push(['expired', 'expired', event('/example.pdf', `t=${mintClaims(keys, claims('/example.pdf', now - 7200))}`)]);
    cases.push(['other path', 'wrong_path', event('/example.pdf', `t=${mintClaims(keys, claims('/other.pdf', now + 3600))}`)]);
  }
  let failed = 0;
  for (const [name, reason, ev] of cases) {
    const result = await bundle.handler(ev);
    const status = Number(result?.status);
    const got = result?.headers?.['x-oncelink-reason']?.[0]?.value ?? null;
    const ok = typeof result?.status === 'string' && status >= 400 && status < 500 && got === reason;
    console.log(`${ok ? 'ok' : 'not ok'} - ${name}: status ${result?.status ?? '(forwarded)'}, reason ${got} (want ${reason})`);
    if (!ok) failed += 1;
  }
  if (storeCalls !== 0) {
    console.log(`not ok - ${storeCalls} store call(s) for requests that must be denied before the store`);
    failed += 1;
  }
  console.log(`${cases.length + 1 - failed} passed, ${failed} failed`);
  const sha256 = createHash('sha256').update(readFileSync(zip)).digest('hex');
  console.log(`sha256=${sha256}`);
  if (failed) process.exit(1);
}

main().catch((err) => {
  console.error(`smoke-bundle: ${err.message}`);
  process.exit(1);
});
