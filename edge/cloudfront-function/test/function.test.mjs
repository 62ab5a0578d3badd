// Behaviour of the function on CloudFront's documented event and response
// shapes, its use of the KeyValueStore, and the KeyValueStore import file.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync, readFileSync as read } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFormatVectors, functionCode, KVS_ID } from './vectors.mjs';
import { KeyValueStore, loadFunction, outcomeOf } from './runtime.mjs';
import { kvsImport } from '../kvs-import.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const fixture = (name) => JSON.parse(readFileSync(join(HERE, 'fixtures', name), 'utf8'));
const format = loadFormatVectors();
const minted = Object.fromEntries(format.mint.map((m) => [m.name, m]));
const MINIMAL = minted.minimal; // p /a.txt, exp 1767225600, kid golden
const EVERY = minted.every_claim; // p /exports/*, n 3, ip 2001:db8::/32, fn, nbf
const BEFORE_EXPIRY = 1767225600 - 600;
const CONFIG = { keys: format.keys, skew: 30, token_param: 't', origin: 's3' };

function load(mode, entries = kvsImport(format.keys).data, config = CONFIG) {
  const store = new KeyValueStore(Object.fromEntries(entries.map((e) => [e.key, e.value])));
  return { run: loadFunction(functionCode(mode, config), { kvsId: KVS_ID, store }), store };
}

/** AWS's documented viewer-request example, aimed at /a.txt with a token added. */
function awsEvent(token) {
  const event = fixture('aws-viewer-request-event.json');
  delete event._source;
  event.request.uri = '/a.txt';
  event.request.querystring.t = { value: token };
  return event;
}

test("AWS's documented event: the token leaves the query, every other field stays as CloudFront gave it", async () => {
  const { run } = load('only');
  const event = awsEvent(MINIMAL.token);
  const out = await run(structuredClone(event), BEFORE_EXPIRY);
  const expected = structuredClone(event.request);
  delete expected.querystring.t;
  assert.deepEqual(out, expected);
});

test('a repeated Accept header (multiValue) that includes text/html gets the HTML denial', async () => {
  const { run } = load('only');
  const event = awsEvent(MINIMAL.token);
  const result = outcomeOf(await run(event, 1767225600 + 30));
  assert.equal(result.reason, 'expired');
  assert.equal(result.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(result.body, /<code>410 \u00b7 expired<\/code>/);
});

test('a denial has the documented generated-response shape', async () => {
  const { run } = load('only');
  const event = awsEvent('ol1.golden.x.y');
  delete event.request.headers.accept;
  const response = await run(event, BEFORE_EXPIRY);
  const shape = fixture('aws-generated-response.json');
  assert.deepEqual(Object.keys(response).sort(), Object.keys(shape).filter((k) => k !== '_source').sort());
  assert.equal(typeof response.statusCode, 'number');
  assert.equal(response.statusCode, 403);
  assert.equal(response.statusDescription, 'Forbidden');
  for (const [name, field] of Object.entries(response.headers)) {
    assert.equal(name, name.toLowerCase());
    assert.deepEqual(Object.keys(field), ['value']);
  }
  assert.deepEqual(response.body, {
    encoding: 'text',
    data: '{"error":"malformed","message":"This link is damaged or incomplete."}',
  });
});

test('the KeyValueStore is read only for tokens that pass every check before the key', async () => {
  const { run, store } = load('only');
  for (const [uri, t] of [['/a.txt', 'ol1.golden.e30.AAAA'], ['/a/../b', MINIMAL.token], ['/a.txt', '']]) {
    const event = awsEvent(t);
    event.request.uri = uri;
    await run(event, BEFORE_EXPIRY);
  }
  assert.equal(store.gets, 0);
  await run(awsEvent(MINIMAL.token), BEFORE_EXPIRY);
  assert.equal(store.gets, 1);
});

test('a kid missing from the KeyValueStore is unknown_kid (a retired key)', async () => {
  const entries = kvsImport(format.keys).data.filter((e) => e.key !== 'golden');
  const { run } = load('only', entries);
  const result = outcomeOf(await run(awsEvent(MINIMAL.token), BEFORE_EXPIRY));
  assert.deepEqual([result.reason, result.status], ['unknown_kid', 403]);
});

test('a KeyValueStore that fails, at once or later, is unknown_kid (fails closed)', async () => {
  const stores = {
    throws: { get() { throw new Error('store down'); } },
    rejects: { get: async () => { throw new Error('store down'); } },
  };
  for (const [what, handle] of Object.entries(stores)) {
    const run = loadFunction(functionCode('only', CONFIG), { kvsId: KVS_ID, store: { handle: () => handle } });
    const result = outcomeOf(await run(awsEvent(MINIMAL.token), BEFORE_EXPIRY));
    assert.deepEqual([result.reason, result.status], ['unknown_kid', 403], what);
  }
});

test('a use-limited token: refused by a function-only behavior, passed on with its token by the prefilter', async () => {
  const event = awsEvent(EVERY.token);
  event.request.uri = '/exports/2026/q1.zip';
  event.viewer.ip = '2001:db8::7';
  const inside = 1767225600 + 60;
  const only = outcomeOf(await load('only').run(structuredClone(event), inside));
  assert.deepEqual([only.reason, only.status], ['needs_consume', 403]);
  const passed = await load('prefilter').run(structuredClone(event), inside);
  assert.deepEqual(passed, event.request);
  assert.equal(passed.querystring.t.value, EVERY.token, 'the Lambda@Edge consume needs the token');
});

test('kvs-import: one entry per kid, the secret as the value; the function verifies with it', () => {
  const doc = kvsImport(format.keys);
  assert.deepEqual(doc, { data: format.keys.keys.map((k) => ({ key: k.kid, value: k.secret })) });
});

test('kvs-import refuses key files the core refuses', () => {
  const good = format.keys.keys[0];
  const cases = [
    [{ active: 'x', keys: [good] }, /active/],
    [{ active: good.kid, keys: [good, good] }, /twice/],
    [{ active: good.kid, keys: [{ kid: good.kid, secret: 'AAECAwQF' }] }, /32 to 64/],
    [{ active: good.kid, keys: [{ kid: good.kid, secret: `${good.secret}=` }] }, /canonical/],
    [{ active: good.kid, keys: [{ kid: good.kid, secret: good.secret.slice(0, -1) + 'B' }] }, /canonical/],
    [{ active: 'bad kid', keys: [{ kid: 'bad kid', secret: good.secret }] }, /kid/],
    [{ active: good.kid, keys: [] }, /no keys/],
    [{ active: good.kid, keys: [good], extra: 1 }, /unknown field/],
    [null, /not a key file/],
  ];
  for (const [file, message] of cases) {
    assert.throws(() => kvsImport(file), message, JSON.stringify(file));
  }
});

test('kvs-import and build run as commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oncelink-cff-'));
  const keys = join(dir, 'keys.json');
  writeFileSync(keys, JSON.stringify(format.keys));
  const script = (name) => join(HERE, '..', name);
  const printed = JSON.parse(execFileSync(process.execPath, [script('kvs-import.mjs'), '--keys', keys], { encoding: 'utf8' }));
  assert.deepEqual(printed, kvsImport(format.keys));
  const out = join(dir, 'f.js');
  const line = execFileSync(process.execPath, [script('build.mjs'), '--mode', 'prefilter', '--kvs-id', 'abc', '--out', out], { encoding: 'utf8' });
  assert.match(line, /bytes \(\d+\.\d% of the 10240-byte limit\), mode prefilter/);
  assert.match(read(out, 'utf8'), /mode:"prefilter"/);
  assert.throws(() => execFileSync(process.execPath, [script('kvs-import.mjs'), '--keys', join(dir, 'missing.json')], { stdio: 'pipe' }));
});
