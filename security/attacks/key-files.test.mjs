// Attack class: the signing key leaking through the files and messages that
// handle it. Found by the outside attack run (issue 11, findings 6 and 7):
// `oncelink keygen --add` wrote through a planted `<file>.tmp` (a 0666 file
// left the key file world-writable; a symlink received the secrets), and a
// key file parse error quoted the secret back (`invalid type: string "…"`).

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { cli, runShimToExit, scratch } from './support.mjs';

const SECRET = 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXh5eg';

const mode = (path) => statSync(path).mode & 0o777;

test('keygen --out writes a 0600 file and will not overwrite one', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'keys.json');
  const first = await cli(['keygen', '--out', path]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(mode(path), 0o600);
  const before = readFileSync(path, 'utf8');
  const again = await cli(['keygen', '--out', path]);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /--force/);
  assert.equal(readFileSync(path, 'utf8'), before);
});

test('keygen --add writes through no planted temp file or symlink', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'keys.json');
  assert.equal((await cli(['keygen', '--out', path])).code, 0);
  const planted = `${path}.tmp`;
  writeFileSync(planted, 'planted');
  chmodSync(planted, 0o666);
  const added = await cli(['keygen', '--add', path]);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(readFileSync(planted, 'utf8'), 'planted');
  assert.equal(mode(path), 0o600);
  const keys = JSON.parse(readFileSync(path, 'utf8'));
  assert.equal(keys.keys.length, 2);

  const dir2 = scratch(t);
  const path2 = join(dir2, 'keys.json');
  assert.equal((await cli(['keygen', '--out', path2])).code, 0);
  const target = join(dir2, 'stolen');
  symlinkSync(target, `${path2}.tmp`);
  assert.equal((await cli(['keygen', '--add', path2])).code, 0);
  assert.equal(existsSync(target), false, 'the symlink target received the key file');
  assert.equal(mode(path2), 0o600);
});

const BROKEN = [
  `{"keys":["${SECRET}"]}`,
  `{"active":"k1","keys":[{"kid":"k1","secret":"${SECRET}!"}]}`,
  `{"active":"k1","keys":[{"kid":"k1","secret":["${SECRET}"]}]}`,
  `{"active":"k1","keys":[{"kid":"k1","secret":"${SECRET}","extra":"${SECRET}"}]}`,
  `{"active":"k2","keys":[{"kid":"k1","secret":"${SECRET}"}]}`,
  `{"active":"k1","keys":[{"kid":"k1","secret":"${SECRET}"},{"kid":"k1","secret":"${SECRET}"}]}`,
  `{"active":"k1","keys":[{"kid":"k1","secret":"${SECRET.slice(0, 20)}"}]}`,
];

test('a broken key file is named, its secret never printed', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'keys.json');
  const forms = [SECRET, SECRET.slice(0, 20), Buffer.from(SECRET, 'base64url').toString('hex')];
  for (const text of BROKEN) {
    writeFileSync(path, text, { mode: 0o600 });
    const mint = await cli(['mint', '--keys', path, '--path', '/f', '--ttl', '1h']);
    const shim = await runShimToExit(['serve', '--keys', path, '--root', dir, '--store', `sqlite:${join(dir, 'u.db')}`, '--create-store']);
    for (const [who, code, stderr] of [['oncelink mint', mint.code, mint.stderr], ['origin-shim', shim.code, shim.stderr]]) {
      assert.notEqual(code, 0, `${who} accepted ${text}`);
      for (const form of forms) assert.ok(!stderr.includes(form), `${who} printed the secret for ${text}: ${stderr}`);
      assert.match(stderr, /keys\.json/, `${who} names the file`);
    }
  }
});

test('a key file readable by others is warned about', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'keys.json');
  assert.equal((await cli(['keygen', '--out', path])).code, 0);
  chmodSync(path, 0o644);
  const mint = await cli(['mint', '--keys', path, '--path', '/f', '--ttl', '1h']);
  assert.equal(mint.code, 0, mint.stderr);
  assert.match(mint.stderr, /chmod 600/);
  chmodSync(path, 0o600);
  const quiet = await cli(['mint', '--keys', path, '--path', '/f', '--ttl', '1h']);
  assert.equal(quiet.stderr, '');
});
