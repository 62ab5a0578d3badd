// Attack class: a use-limited folder link (`p=/dir/*`, n=1) used as a key to
// the whole folder. Found by the outside attack run (issue 11, finding 1):
// after one counted use of /dir/b.txt the same client read /dir/sub/c.txt in
// full and by Range, neither counted, because a resume was keyed on token id
// and client only, not on the file.

import test from 'node:test';
import assert from 'node:assert/strict';
import { send, shimWithFiles, sign, withToken } from './support.mjs';

const FILES = { 'dir/b.txt': 'b-content', 'dir/sub/c.txt': 'c-content-0123456789', 'dir/d.txt': 'd-content' };

test('one use of a folder link opens one file, not the folder', async (t) => {
  const { keys, shim } = await shimWithFiles(t, FILES);
  const token = sign(keys, { p: '/dir/*', n: 1 });
  const first = await send(shim.base, withToken('/dir/b.txt', token));
  assert.equal(first.status, 200);
  assert.equal(first.text, 'b-content');

  const other = await send(shim.base, withToken('/dir/sub/c.txt', token));
  assert.equal(other.status, 410, `another file after the one use: ${other.status} ${other.text}`);
  assert.equal(other.reason, 'used_up');

  const ranged = await send(shim.base, withToken('/dir/sub/c.txt', token), { headers: { range: 'bytes=5-' } });
  assert.equal(ranged.status, 403, `a Range of another file is no resume: ${ranged.status} ${ranged.text}`);
  assert.equal(ranged.reason, 'resume_denied');

  // The file that was counted can still be resumed by its downloader.
  const resume = await send(shim.base, withToken('/dir/b.txt', token), { headers: { range: 'bytes=2-' } });
  assert.equal(resume.status, 206);
  assert.equal(resume.text, 'content');
});

test('a 2-use folder link gives exactly two files to one client', async (t) => {
  const { keys, shim } = await shimWithFiles(t, FILES);
  const token = sign(keys, { p: '/dir/*', n: 2 });
  assert.equal((await send(shim.base, withToken('/dir/b.txt', token))).status, 200);
  assert.equal((await send(shim.base, withToken('/dir/d.txt', token))).status, 200);
  const third = await send(shim.base, withToken('/dir/sub/c.txt', token));
  assert.equal(third.status, 410);
  assert.equal(third.reason, 'used_up');
});
