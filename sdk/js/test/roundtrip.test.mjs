// A link minted by the installed package, served by the real origin-shim
// (SQLite store) and checked by the real `oncelink` CLI: it downloads
// exactly n times (to n different clients: a client's repeat inside the
// grace window is a resume, not a use), and the CLI and the package accept
// each other's tokens.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';
import { binDir, cli, scratch, send, startShim, writeFiles } from '../../../security/attacks/support.mjs';
import { oncelink } from './support.mjs';

const FILE = '/reports/Q3 résumé.pdf';
const BODY = 'the quarterly report\n';

/** `--create-store` when this origin-shim asks for it (a new SQLite file). */
function createStoreFlag() {
  const help = execFileSync(join(binDir(), 'origin-shim'), ['serve', '--help'], { encoding: 'utf8' });
  return help.includes('--create-store') ? ['--create-store'] : [];
}

async function served(t) {
  const dir = scratch(t);
  writeFiles(join(dir, 'files'), { [FILE.slice(1)]: BODY });
  const made = await cli(['keygen']);
  assert.equal(made.code, 0, made.stderr);
  const keysPath = join(dir, 'keys.json');
  writeFileSync(keysPath, made.stdout, { mode: 0o600 });
  const shim = await startShim(t, ['serve', '--keys', keysPath, '--root', join(dir, 'files'), '--store', `sqlite:${join(dir, 'uses.db')}`, ...createStoreFlag()]);
  return { keys: made.stdout, keysPath, shim };
}

for (const uses of [1, 3]) {
  test(`a link the package mints with uses ${uses} downloads exactly ${uses} times from origin-shim`, async (t) => {
    const { keys, shim } = await served(t);
    const token = oncelink.mint(keys, { path: FILE, uses, ttl: '10m', filename: 'Q3.pdf' });
    const url = new URL(oncelink.link(shim.base, FILE, token));
    for (let i = 1; i <= uses; i++) {
      const r = await send(shim.base, url.pathname + url.search, { headers: { 'user-agent': `client ${i}` } });
      assert.equal(r.status, 200, `use ${i}: ${r.text}`);
      assert.equal(r.text, BODY);
    }
    const after = await send(shim.base, url.pathname + url.search, { headers: { 'user-agent': 'one client too many' } });
    assert.equal(after.reason, 'used_up', `${after.status} ${after.text}`);
  });
}

test('the CLI accepts what the package mints, and the package what the CLI mints', async (t) => {
  const { keys, keysPath } = await served(t);
  const token = oncelink.mint(keys, { path: FILE, uses: 2, ip: '192.0.2.0/24' });
  const checked = await cli(['verify', '--keys', keysPath, token]);
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  assert.deepEqual(JSON.parse(checked.stdout).claims, oncelink.verify(keys, token).claims);
  const minted = await cli(['mint', '--keys', keysPath, '--path', FILE, '--uses', '1', '--base-url', 'https://d.example', '--json']);
  assert.equal(minted.code, 0, minted.stderr);
  const { token: cliToken, url } = JSON.parse(minted.stdout);
  assert.equal(url, oncelink.link('https://d.example', FILE, cliToken), 'the same link for the same token');
  assert.equal(oncelink.verify(keys, url).valid, true);
  const tampered = await cli(['verify', '--keys', keysPath, token.slice(0, -2) + (token.endsWith('A') ? 'BA' : 'AA')]);
  assert.equal(tampered.code, 1);
});
