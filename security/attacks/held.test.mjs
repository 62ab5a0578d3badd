// Attack classes that held when the outside attack run tried them (issue 11):
// kept here so that they keep holding. Each test is one class, against the
// real origin-shim binary.

import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { metricsText, recordingUpstream, scratch, send, shimWithFiles, sign, signRaw, startShim, withToken, writeKeys } from './support.mjs';

/** Store calls plus events handed to the store, from origin-shim's /metrics. */
async function storeTouches(shim) {
  const text = await metricsText(shim);
  let n = 0;
  for (const m of text.matchAll(/^oncelink_(?:store_seconds_count|events_total)\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

test('forged, foreign-key and overlong tokens are refused without touching the store', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': 'file', 'g.txt': 'file' }, ['--admin-listen', '127.0.0.1:0']);
  const good = sign(keys, { p: '/f.txt', n: 1 });
  const other = { kid: keys.kid, secret: Buffer.alloc(32, 7).toString('base64url') };
  // Counted where origin-shim calls its store (every consume, resume, read
  // and attempt) and where it hands an event to it, so the count moves with
  // any store work a request causes, whatever the files do.
  const before = await storeTouches(shim);
  const cases = [
    [`${good.slice(0, -2)}AA`, 'bad_signature'],
    [sign(other, { p: '/f.txt', n: 1 }), 'bad_signature'],
    [sign({ kid: 'nope', secret: keys.secret }, { p: '/f.txt', n: 1 }), 'unknown_kid'],
    [`${good}${'A'.repeat(2100)}`, 'malformed'],
    [good.replace(/\.([^.]+)\.([^.]+)$/, '.$1=.$2'), 'malformed'],
    ['ol1.k1.e30', 'malformed'],
  ];
  for (let round = 0; round < 10; round++) {
    for (const [token, reason] of cases) {
      const res = await send(shim.base, withToken('/f.txt', token));
      assert.equal(res.status, 403, `${reason}: ${res.text}`);
      assert.equal(res.reason, reason);
    }
  }
  assert.equal(await storeTouches(shim), before, 'a refused token reached the store');
  // The count does move with store work: one genuine use, then a refusal of
  // the same genuine link on another path, which is an event.
  const used = sign(keys, { p: '/g.txt', n: 1 });
  assert.equal((await send(shim.base, withToken('/g.txt', used))).status, 200);
  assert.equal((await send(shim.base, withToken('/f.txt', used))).reason, 'wrong_path');
  assert.ok((await storeTouches(shim)) >= before + 2, 'a use and a refusal of a genuine link were not counted');
});

test('traversal out of --root in every spelling is bad_path', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'pub/a.txt': 'a', 'secret.txt': 'secret' });
  const token = sign(keys, { p: '/pub/*' });
  for (const path of ['/pub/../secret.txt', '/pub/%2e%2e/secret.txt', '/pub/%2E%2e%2fsecret.txt', '/pub/..%2fsecret.txt',
    '/pub/%5c..%5csecret.txt', '/pub//a.txt', '/pub/./a.txt', '/pub/%00a.txt', '/pub/a.txt%00']) {
    const res = await send(shim.base, withToken(path, token));
    assert.ok(res.status === 403 && res.reason === 'bad_path', `${path}: ${res.status} ${res.text}`);
  }
  // Double encoding is decoded once: %252e%252e is a segment named "%2e%2e", not a dot segment.
  const twice = await send(shim.base, withToken('/pub/%252e%252e/secret.txt', token));
  assert.notEqual(twice.status, 200, twice.text);
});

test('a Range past byte 0 without a prior use is no way around the count', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': '0123456789' });
  const token = sign(keys, { p: '/f.txt', n: 1 });
  for (const range of ['bytes=1-', 'bytes=5-9', 'bytes=-5']) {
    const res = await send(shim.base, withToken('/f.txt', token), { headers: { range } });
    assert.equal(res.status, 403, `${range}: ${res.status} ${res.text}`);
    assert.equal(res.reason, 'resume_denied');
  }
  assert.equal((await send(shim.base, withToken('/f.txt', token))).status, 200);
});

test('HEAD and prefetches never consume a use', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': 'file' });
  const token = sign(keys, { p: '/f.txt', n: 1 });
  for (let i = 0; i < 5; i++) {
    assert.equal((await send(shim.base, withToken('/f.txt', token), { method: 'HEAD' })).status, 200);
    for (const headers of [{ 'sec-purpose': 'prefetch' }, { purpose: 'prefetch' }, { 'x-moz': 'prefetch' }, { 'x-purpose': 'preview' }]) {
      assert.notEqual((await send(shim.base, withToken('/f.txt', token), { headers })).status, 200, JSON.stringify(headers));
    }
  }
  const get = await send(shim.base, withToken('/f.txt', token));
  assert.equal(get.status, 200, 'the one use is still there');
});

test('200 parallel requests on a 1-use link download exactly once', async (t) => {
  // 398 used_up from one address: past the refusal limit's burst, which
  // would answer the rest 429 (origin-shim/tests/rate_limit.rs tests the limit).
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': 'file' }, ['--refusal-rate', '0']);
  for (let round = 0; round < 2; round++) {
    const token = sign(keys, { p: '/f.txt', n: 1 });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send(shim.base, withToken('/f.txt', token), { headers: { 'user-agent': `racer-${i}` } })),
    );
    const served = answers.filter((r) => r.status === 200).length;
    const gone = answers.filter((r) => r.status === 410).length;
    assert.equal(served, 1, `round ${round}: ${served} downloads`);
    assert.equal(gone, 199);
  }
});

test('X-Forwarded-For does not satisfy an ip claim, and viewer x-oncelink-* headers never reach the upstream', async (t) => {
  const upstream = await recordingUpstream(t);
  const dir = scratch(t);
  const keys = writeKeys(dir);
  const shim = await startShim(t, ['serve', '--keys', keys.path, '--upstream', upstream.url, '--store', `sqlite:${join(dir, 'u.db')}`, '--create-store']);
  const bound = sign(keys, { p: '/x', ip: '10.0.0.0/8' });
  for (const header of ['x-forwarded-for', 'x-real-ip', 'forwarded', 'cloudfront-viewer-address']) {
    const value = header === 'forwarded' ? 'for=10.1.2.3' : '10.1.2.3';
    const res = await send(shim.base, withToken('/x', bound), { headers: { [header]: value } });
    assert.equal(res.status, 403, header);
    assert.equal(res.reason, 'ip_mismatch');
  }
  const open = sign(keys, { p: '/x' });
  const res = await send(shim.base, withToken('/x', open), { headers: { 'x-oncelink-grant': 'forged', 'x-oncelink-disposition': 'attachment; filename=evil.exe' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(upstream.headers.length, 1);
  for (const name of Object.keys(upstream.headers[0])) assert.ok(!name.startsWith('x-oncelink-'), `${name} reached the upstream`);
  assert.ok(!upstream.seen[0].includes('t='), `the token reached the upstream: ${upstream.seen[0]}`);
});

test('a spent folder link answers 410 whether or not the file exists', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'dir/a.txt': 'a' });
  const token = sign(keys, { p: '/dir/*', n: 1 });
  assert.equal((await send(shim.base, withToken('/dir/a.txt', token))).status, 200);
  const missing = await send(shim.base, withToken('/dir/nope.txt', token));
  const present = await send(shim.base, withToken('/dir/a.txt', token), { headers: { 'user-agent': 'someone-else' } });
  assert.equal(present.status, 410);
  assert.equal(missing.status, 410, `a missing file on a spent link: ${missing.status} ${missing.text}`);
  assert.equal(missing.text, present.text);
});

test('a signature over other bytes than sent is refused (claims re-encoded)', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': 'file' });
  // The same claims with a space: a different claims part, so the MAC fails.
  const text = `{"id":"AAAAAAAAAAAAAAAAAAAAAA","p":"/f.txt","exp":${Math.floor(Date.now() / 1000) + 600}}`;
  const token = signRaw(keys, text);
  const [pfx, kid, , sig] = token.split('.');
  const respaced = Buffer.from(text.replace(':', ': ')).toString('base64url');
  const res = await send(shim.base, withToken('/f.txt', `${pfx}.${kid}.${respaced}.${sig}`));
  assert.equal(res.reason, 'bad_signature');
});
