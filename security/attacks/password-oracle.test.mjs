// Attack class: learning a link's password from a link that can no longer be
// used. Found by the outside attack run (issue 11, finding 3): on a locked,
// used-up or revoked link right and wrong guesses got identical 410s, but a
// wrong guess wrote to the store and a right one only read, so the right
// password was the fast answer (0.36-0.44 ms vs 0.65-0.86 ms on SQLite).
// The check here is the cause, not the clock: on a spent link neither guess
// may change the store file, so both take the same path. The medians are
// printed for the record, never asserted.

import test from 'node:test';
import assert from 'node:assert/strict';
import { statSync, existsSync } from 'node:fs';
import { cli, median, send, shimWithFiles } from './support.mjs';

const PASSWORD = 'correct horse battery staple';

function storeBytes(db) {
  return ['', '-wal'].map((suffix) => (existsSync(db + suffix) ? statSync(db + suffix).size : 0)).join('/');
}

async function mintPasswordLink(keys, path, uses) {
  const out = await cli(['mint', '--keys', keys.path, '--path', path, '--uses', String(uses), '--ttl', '1h', '--json', '--password-stdin'], { input: `${PASSWORD}\n` });
  assert.equal(out.code, 0, out.stderr);
  return JSON.parse(out.stdout).token;
}

const guess = (shim, path, token, password) =>
  send(shim.base, `${path}?t=${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `password=${encodeURIComponent(password)}`,
  });

async function assertNoOracle(t, shim, db, path, token, expectedReason) {
  const before = storeBytes(db);
  const times = { right: [], wrong: [] };
  let right;
  let wrong;
  for (let i = 0; i < 20; i++) {
    for (const which of i % 2 ? ['right', 'wrong'] : ['wrong', 'right']) {
      const start = process.hrtime.bigint();
      const res = await guess(shim, path, token, which === 'right' ? PASSWORD : `not ${PASSWORD} ${i}`);
      times[which].push(Number(process.hrtime.bigint() - start) / 1e6);
      if (which === 'right') right = res;
      else wrong = res;
    }
  }
  assert.equal(right.status, 410, right.text);
  assert.equal(right.reason, expectedReason);
  assert.equal(wrong.status, right.status);
  assert.equal(wrong.text, right.text, 'right and wrong guesses must read the same');
  assert.equal(storeBytes(db), before, 'a guess on a spent link changed the store file');
  t.diagnostic(`${expectedReason}: median right ${median(times.right).toFixed(3)} ms, wrong ${median(times.wrong).toFixed(3)} ms`);
}

test('guesses on a locked password link neither write nor differ', async (t) => {
  const { keys, shim, db } = await shimWithFiles(t, { 'f.txt': 'x' }, ['--max-password-failures', '2']);
  const token = await mintPasswordLink(keys, '/f.txt', 1);
  // The first wrong guess is answered with the page, the second locks.
  assert.equal((await guess(shim, '/f.txt', token, 'wrong 0')).reason, 'wrong_password');
  assert.equal((await guess(shim, '/f.txt', token, 'wrong 1')).reason, 'locked');
  await assertNoOracle(t, shim, db, '/f.txt', token, 'locked');
});

test('guesses on a used-up password link neither write nor differ', async (t) => {
  const { keys, shim, db } = await shimWithFiles(t, { 'f.txt': 'x' });
  const token = await mintPasswordLink(keys, '/f.txt', 1);
  const pass = await guess(shim, '/f.txt', token, PASSWORD);
  assert.equal(pass.status, 303, pass.text);
  const download = await send(shim.base, pass.headers.location);
  assert.equal(download.status, 200, download.text);
  await assertNoOracle(t, shim, db, '/f.txt', token, 'used_up');
});

test('guesses on a revoked password link neither write nor differ', async (t) => {
  const { keys, shim, db } = await shimWithFiles(t, { 'f.txt': 'x' });
  const token = await mintPasswordLink(keys, '/f.txt', 1);
  const id = JSON.parse((await cli(['inspect', token])).stdout).claims.id;
  const revoke = await cli(['revoke', '--store', `sqlite:${db}`, id]);
  assert.equal(revoke.code, 0, revoke.stderr);
  await assertNoOracle(t, shim, db, '/f.txt', token, 'revoked');
});
