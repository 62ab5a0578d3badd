// The bundle build: deterministic zip, refusals, limits.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { checkConfigShape, LAMBDA_EDGE_LIMIT_BYTES, PROJECT_BUDGET_BYTES } from '../../../scripts/build-bundle.mjs';
import { crc32, zipBytes } from '../../../scripts/zip.mjs';
import { root, testConfig } from './support/bundle.mjs';

const script = join(root, 'scripts/build-bundle.mjs');
const work = join(root, 'dist', 'test', `bundle-${process.pid}`);
mkdirSync(work, { recursive: true });
// A private copy of edge/pkg, so a rebuild of the shared one mid-test cannot
// change the inputs between two builds.
const pkg = join(work, 'pkg');
cpSync(join(root, 'edge/pkg'), pkg, { recursive: true });
after(() => rmSync(work, { recursive: true, force: true }));

function build(name, config) {
  const configPath = join(work, `${name}.json`);
  writeFileSync(configPath, JSON.stringify(config));
  return spawnSync(process.execPath, [script, '--config', configPath, '--out', join(work, name), '--pkg', pkg], { encoding: 'utf8' });
}

/** Reads a zip's central directory: [{name, time, date, data}]. */
function readZip(buf) {
  const endAt = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = buf.readUInt16LE(endAt + 10);
  let at = buf.readUInt32LE(endAt + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    const nameLen = buf.readUInt16LE(at + 28);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    const local = buf.readUInt32LE(at + 42);
    const size = buf.readUInt32LE(at + 20);
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = inflateRawSync(buf.subarray(dataAt, dataAt + size));
    assert.equal(crc32(data), buf.readUInt32LE(at + 16), `crc of ${name}`);
    entries.push({ name, time: buf.readUInt16LE(at + 12), date: buf.readUInt16LE(at + 14), data });
    at += 46 + nameLen + buf.readUInt16LE(at + 30) + buf.readUInt16LE(at + 32);
  }
  return entries;
}

describe('bundle build', () => {
  it('gives the same bytes for the same inputs, and prints size and sha256', () => {
    const config = testConfig({ endpoint: 'http://127.0.0.1:9' });
    const first = build('same-a', config);
    assert.equal(first.status, 0, first.stderr);
    const second = build('same-b', config);
    assert.equal(second.status, 0, second.stderr);
    const a = readFileSync(join(work, 'same-a.zip'));
    const b = readFileSync(join(work, 'same-b.zip'));
    assert.ok(a.equals(b), 'two builds of the same inputs are byte-identical');
    const sha = createHash('sha256').update(a).digest('hex');
    assert.match(first.stdout, new RegExp(`${a.length} bytes, sha256 ${sha}`));
    assert.ok(a.length <= PROJECT_BUDGET_BYTES && PROJECT_BUDGET_BYTES < LAMBDA_EDGE_LIMIT_BYTES);
  });

  it('writes sorted entries with fixed timestamps that unpack to the built files', () => {
    const entries = readZip(readFileSync(join(work, 'same-a.zip')));
    assert.deepEqual(entries.map((e) => e.name), ['index.mjs', 'oncelink_edge_wasm_bg.wasm']);
    for (const e of entries) {
      assert.equal(e.time, 0);
      assert.equal(e.date, 33, '1980-01-01');
      assert.ok(e.data.equals(readFileSync(join(work, 'same-a', e.name))));
    }
  });

  it('changes when the config changes', () => {
    const other = build('other', testConfig({ endpoint: 'http://127.0.0.1:9' }));
    assert.equal(other.status, 0, other.stderr);
    assert.ok(!readFileSync(join(work, 'other.zip')).equals(readFileSync(join(work, 'same-a.zip'))));
  });

  it('refuses a config without keys, with one line', () => {
    const config = testConfig({});
    config.validator.keys.keys = [];
    const result = build('nokeys', config);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /^build-bundle: config has no keys/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.throws(() => checkConfigShape({ store: { table: 't' } }), /no "validator"/);
    assert.throws(() => checkConfigShape({ validator: { keys: { keys: [{}] } } }), /store.table/);
  });

  it('refuses a package over the project budget, with one line', () => {
    // Keys are random bytes, so each adds its size to the zip: enough of them
    // push the development package (about 95 KB) past the budget.
    const config = testConfig({});
    const extra = Array.from({ length: 300 }, (_, i) => ({ kid: `x${i}`, secret: randomBytes(32).toString('base64url') }));
    config.validator.keys.keys.push(...extra);
    const result = build('overbudget', config);
    assert.notEqual(result.status, 0, 'a zip over the budget was built');
    assert.match(result.stderr, new RegExp(`^build-bundle: zip is \\d+ bytes, over the project budget of ${PROJECT_BUDGET_BYTES}`));
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  it('refuses a config the validator refuses, and bad store settings', () => {
    const bad = testConfig({});
    bad.validator.home_region = 'Not A Region';
    const result = build('badregion', bad);
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /validator refuses this config: .*home_region/);
    const slow = testConfig({ budget_ms: 4600 });
    const tooSlow = build('slow', slow);
    assert.notEqual(tooSlow.status, 0);
    assert.match(tooSlow.stderr, /budget_ms/);
  });

  it('zip writer output is read by an independent reader (python zipfile)', () => {
    const bytes = zipBytes([{ name: 'b.txt', data: Buffer.from('bee') }, { name: 'a.txt', data: Buffer.from('ay') }]);
    const path = join(work, 'tiny.zip');
    writeFileSync(path, bytes);
    const listing = execFileSync('python3', ['-c', 'import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(";".join(f"{i.filename}={z.read(i).decode()}@{i.date_time}" for i in z.infolist()))', path], { encoding: 'utf8' });
    assert.equal(listing.trim(), 'a.txt=ay@(1980, 1, 1, 0, 0, 0);b.txt=bee@(1980, 1, 1, 0, 0, 0)');
  });
});
