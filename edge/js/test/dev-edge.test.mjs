// The local CloudFront emulator (scripts/dev-edge.mjs), curl-style: real
// HTTP requests to it, the bundle deciding, moto counting, a local origin
// directory serving.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';
import { buildAndImport, mint, root, testConfig } from './support/bundle.mjs';

const TABLE = 'oncelink-dev-edge';
let moto;
let bundle;
let child;
let base;
const origin = join(root, 'dist', 'test', `origin-${process.pid}`);
const content = Buffer.from('0123456789'.repeat(100));

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  mkdirSync(join(origin, 'files'), { recursive: true });
  writeFileSync(join(origin, 'files', 'report.bin'), content);
  bundle = await buildAndImport('dev-edge', testConfig({ table: TABLE, endpoint: moto.endpoint }));
  child = spawn(
    process.execPath,
    [join(root, 'scripts/dev-edge.mjs'), '--port', '0', '--bundle', join(bundle.built.outDir, 'index.mjs'), '--origin-dir', origin],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout });
  base = await new Promise((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error('dev-edge did not start in 20 s')), 20000);
    lines.on('line', (line) => {
      const m = /^dev-edge: listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveBase(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`dev-edge exited with ${code}`)));
  });
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  await moto?.stop();
  rmSync(origin, { recursive: true, force: true });
});

const curl = (path, headers = {}) => fetch(`${base}${path}`, { headers: { 'user-agent': 'curl/8.0', ...headers } });

describe('dev-edge emulator', () => {
  it('serves an n=1 link once, lets the same client resume with Range, and answers 410 to others', async () => {
    const id = 'devEdgeTestToken0000001';
    const token = mint(bundle.mod, bundle.config, { id, p: '/files/report.bin', exp: Math.floor(Date.now() / 1000) + 600, n: 1, fn: 'Q3 report.bin' });
    const first = await curl(`/files/report.bin?t=${token}`);
    assert.equal(first.status, 200);
    assert.ok(Buffer.from(await first.arrayBuffer()).equals(content));
    assert.match(first.headers.get('content-disposition'), /^attachment; filename="Q3 report.bin"/);
    const resume = await curl(`/files/report.bin?t=${token}`, { range: 'bytes=990-' });
    assert.equal(resume.status, 206);
    assert.equal(await resume.text(), '0123456789');
    const other = await curl(`/files/report.bin?t=${token}`, { 'user-agent': 'someone-else' });
    assert.equal(other.status, 410);
    assert.equal(other.headers.get('x-oncelink-reason'), 'used_up');
    assert.equal((await other.json()).error, 'used_up');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('page mode: the POST body goes through "include body", the 303 pass downloads, a >40 KB body is bad_form', async () => {
    const id = 'devEdgePageToken0000001';
    const token = mint(bundle.mod, bundle.config, { id, p: '/files/report.bin', exp: Math.floor(Date.now() / 1000) + 600, n: 1, fn: 'Q3 report.bin', password: 'open sesame' });
    const page = await curl(`/files/report.bin?t=${token}`, { accept: 'text/html' });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /name="password"/);
    const post = (body) =>
      fetch(`${base}/files/report.bin?t=${token}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'user-agent': 'curl/8.0', 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body,
      });
    const huge = await post(`password=open+sesame&pad=${'x'.repeat(50 * 1024)}`);
    assert.equal(huge.status, 400, 'CloudFront truncates a body over 40 KB; the core refuses it');
    assert.equal(huge.headers.get('x-oncelink-reason'), 'bad_form');
    const wrong = await post('password=open+sesam');
    assert.equal(wrong.status, 403);
    assert.equal(wrong.headers.get('x-oncelink-reason'), 'wrong_password');
    const right = await post('password=open+sesame');
    assert.equal(right.status, 303);
    assert.equal(right.statusText, 'See Other');
    const location = right.headers.get('location');
    assert.match(location, /^\/files\/report\.bin\?t=.*&pass=/);
    const file = await curl(location);
    assert.equal(file.status, 200);
    assert.ok(Buffer.from(await file.arrayBuffer()).equals(content));
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.used.N, '1');
    assert.equal(record.failures.N, '1');
  });

  it('answers a request without a token with 403 and never reaches the origin', async () => {
    const response = await curl('/files/report.bin', { accept: 'text/html' });
    assert.equal(response.status, 403);
    assert.match(response.headers.get('content-type'), /^text\/html/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });
});
