// Attack class: path segments that a Java origin (Tomcat, Jetty, Spring)
// resolves differently from the core. Found by the outside attack run (issue
// 11, finding 2): `/up/..;/secret.txt` passed the core (the segment is `..;`,
// not `..`) and reached the upstream unchanged, which resolves it to `..`.

import test from 'node:test';
import assert from 'node:assert/strict';
import { recordingUpstream, scratch, send, sign, startShim, withToken, writeKeys } from './support.mjs';
import { join } from 'node:path';

const SPELLINGS = [
  '/up/..;/secret.txt',
  '/up/%2e%2e;/secret.txt',
  '/up/..%3b/secret.txt',
  '/up/..;x=1/secret.txt',
  '/up/.;/secret.txt',
  '/up/a/..;/..;/secret.txt',
  '/up/;x/secret.txt',
  '/up/%2E%2E%3B/secret.txt',
];

test('no spelling of a parameterised dot segment reaches the upstream', async (t) => {
  const upstream = await recordingUpstream(t);
  const dir = scratch(t);
  const keys = writeKeys(dir);
  const shim = await startShim(t, ['serve', '--keys', keys.path, '--upstream', upstream.url, '--store', `sqlite:${join(dir, 'uses.db')}`, '--create-store']);
  const token = sign(keys, { p: '/up/*' });
  for (const path of SPELLINGS) {
    const res = await send(shim.base, withToken(path, token));
    assert.equal(res.status, 403, `${path}: ${res.status} ${res.text}`);
    assert.equal(res.reason, 'bad_path', path);
  }
  assert.deepEqual(upstream.seen, [], 'the upstream received a request');

  // A name that merely contains ';' is a file name, not a parameter trick.
  const fine = await send(shim.base, withToken('/up/a;b.txt', token));
  assert.equal(fine.status, 200, fine.text);
  assert.deepEqual(upstream.seen, ['/up/a;b.txt']);
});
