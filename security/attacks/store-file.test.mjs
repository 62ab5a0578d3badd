// Attack class: taking the use store away from under a running edge. Found by
// the outside attack run (issue 11, finding 4): with its SQLite files
// removed, origin-shim went on answering 200, counting into the deleted
// inode, and after a restart every spent link downloaded again, because a
// missing store file was created silently.

import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runShimToExit, scratch, send, shimWithFiles, sign, startShim, withToken, writeKeys } from './support.mjs';

const removeStore = (db) => ['', '-wal', '-shm'].forEach((s) => rmSync(db + s, { force: true }));

test('a store file removed under a running shim is a 503, never a download', async (t) => {
  const { keys, shim, db } = await shimWithFiles(t, { 'f.txt': 'file' });
  const spent = sign(keys, { p: '/f.txt', n: 1 });
  assert.equal((await send(shim.base, withToken('/f.txt', spent))).status, 200);
  removeStore(db);
  for (const token of [spent, sign(keys, { p: '/f.txt', n: 1 })]) {
    const res = await send(shim.base, withToken('/f.txt', token));
    assert.equal(res.status, 503, `after rm: ${res.status} ${res.text}`);
    assert.equal(res.reason, 'store_unavailable');
    assert.ok(res.headers['retry-after'], 'a 503 carries Retry-After');
  }
  assert.equal(existsSync(db), false, 'the shim recreated the store file behind our back');
});

test('a store file replaced by another store is a 503', async (t) => {
  const { keys, shim, db, dir } = await shimWithFiles(t, { 'f.txt': 'file' });
  const spent = sign(keys, { p: '/f.txt', n: 1 });
  assert.equal((await send(shim.base, withToken('/f.txt', spent))).status, 200);
  // A second, empty store made by another shim, moved over the first.
  const other = join(dir, 'other.db');
  const maker = await startShim(t, ['serve', '--keys', keys.path, '--root', dir, '--store', `sqlite:${other}`, '--create-store']);
  maker.kill('SIGTERM');
  await maker.exited;
  removeStore(db);
  copyFileSync(other, db);
  const res = await send(shim.base, withToken('/f.txt', spent));
  assert.equal(res.status, 503, `after replace: ${res.status} ${res.text}`);
});

test('a missing store file is refused at start unless --create-store', async (t) => {
  const dir = scratch(t);
  const keys = writeKeys(dir);
  const db = join(dir, 'missing.db');
  const { code, stderr } = await runShimToExit(['serve', '--keys', keys.path, '--root', dir, '--store', `sqlite:${db}`]);
  assert.equal(code, 2, stderr);
  assert.match(stderr, /--create-store/);
  assert.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`);
  assert.equal(existsSync(db), false);
});
