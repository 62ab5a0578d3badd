// Attack class: claims that a lenient parser reads as absent. Found by the
// outside attack run (issue 11, finding 5): a signed `"n":null` was an
// unlimited link, and `pw`, `ip`, `g` null were dropped. A minter bug would
// then fail open. Every claim must be a value of its type or be left out.

import test from 'node:test';
import assert from 'node:assert/strict';
import { cli, newId, now, send, shimWithFiles, signRaw, withToken } from './support.mjs';

const NULLABLE = ['n', 'nbf', 'r', 'ip', 'fn', 'g', 'm', 'pw', 'ref'];

test('a signed null claim is malformed on origin-shim and in oncelink verify', async (t) => {
  const { keys, shim } = await shimWithFiles(t, { 'f.txt': 'secret file' });
  for (const claim of NULLABLE) {
    const text = `{"id":"${newId()}","p":"/f.txt","exp":${now() + 3600},"${claim}":null}`;
    const token = signRaw(keys, text);
    for (let i = 0; i < 2; i++) {
      const res = await send(shim.base, withToken('/f.txt', token));
      assert.equal(res.status, 403, `${claim}:null, request ${i + 1}: ${res.status} ${res.text}`);
      assert.equal(res.reason, 'malformed', `${claim}:null`);
    }
    const verify = await cli(['verify', '--keys', keys.path, '--path', '/f.txt', token]);
    assert.equal(verify.code, 1, `${claim}:null verify: ${verify.stdout} ${verify.stderr}`);
    assert.match(verify.stdout + verify.stderr, /malformed/);
  }
});
