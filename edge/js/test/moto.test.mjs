// The handler from the real bundle against a real DynamoDB-compatible server
// (moto, started here on 127.0.0.1): atomic consume under concurrency,
// resume semantics, revocation, and what the record and the logs hold.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { buildAndImport, captureLogs, mint, testConfig, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from './support/events.mjs';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';

const TABLE = 'oncelink-test';
const PARALLEL = 240;
const ROUNDS = 3;
/** moto answers one request at a time, about 25 ms each (more on a loaded machine). */
const SLOW_STORE = { attempt_timeout_ms: 60000, budget_ms: 60000 };

let moto;
let bundle;
let handler;
let logs;

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  bundle = await buildAndImport('moto', testConfig({ table: TABLE, endpoint: moto.endpoint }));
  // The baked budget (4 s) is for DynamoDB; 240 requests at once queue for
  // many seconds in a serialised moto. Correctness, not latency, is under
  // test here (faults.test.mjs checks the budget).
  handler = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE });
  logs = captureLogs(bundle.mod);
});

after(async () => {
  logs?.restore();
  await moto?.stop();
});

const newId = () => randomBytes(16).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

function tokenFor(claims) {
  const id = newId();
  return { id, token: mint(bundle.mod, bundle.config, { id, p: '/files/*', exp: nowS() + 3600, ...claims }) };
}

/** A GET of /files/report.pdf by client number `client` (its own /24 and User-Agent). */
function get(token, client, headers = {}, method = 'GET') {
  return viewerEvent({
    method,
    path: '/files/report.pdf',
    query: `t=${token}`,
    headers: { 'user-agent': `client-${client}`, ...headers },
    ip: `10.${(client >> 8) & 255}.${client & 255}.7`,
  });
}

/** Slot attributes of a record (one per slot a counted client's fingerprint fell in). */
const fpAttributes = (record) => Object.keys(record ?? {}).filter((k) => k.startsWith('s_'));

describe('concurrent consumes against moto', () => {
  for (const n of [1, 5]) {
    it(`${PARALLEL} parallel requests for one n=${n} token: exactly ${n} allowed, the rest 410, ${ROUNDS} rounds`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const { id, token } = tokenFor({ n });
        const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => handler(get(token, i))));
        const allowed = results.filter(isForward);
        const statuses = results.filter((r) => !isForward(r)).map((r) => `${r.status} ${reasonOf(r)}`);
        assert.equal(allowed.length, n, `round ${round}: allowed`);
        assert.deepEqual([...new Set(statuses)], ['410 used_up'], `round ${round}: every other answer is 410 used_up`);
        const record = await readRecord(moto.client, TABLE, id);
        assert.equal(record.used.N, String(n), 'the record counts exactly n uses');
        // One slot per counted use; fewer when two winners' fingerprints share a slot (docs/stores.md).
        const slots = fpAttributes(record).length;
        assert.ok(slots >= 1 && slots <= n, `one slot per counted use at most: ${slots}`);
        assert.equal(record.n.N, String(n));
        assert.ok(Number(record.expire_at.N) > nowS() + 3600, 'TTL past exp');
      }
    });
  }
});

describe('resume and use semantics against moto', () => {
  it('lets the same client resume inside grace, plain or ranged, without counting', async () => {
    const { id, token } = tokenFor({ n: 1 });
    const first = await handler(get(token, 1));
    assert.ok(isForward(first));
    const again = await handler(get(token, 1));
    assert.ok(isForward(again), 'same client again inside grace');
    const ranged = await handler(get(token, 1, { range: 'bytes=1000-' }));
    assert.ok(isForward(ranged), 'same client resuming a download');
    const other = await handler(get(token, 2));
    assert.equal(reasonOf(other), 'used_up');
    assert.equal(other.status, '410');
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.used.N, '1');
    const allows = logs.parsed().filter((l) => l.id_hash && l.outcome === 'allow').slice(-3).map((l) => l.allow);
    assert.deepEqual(allows, ['counted', 'resumed', 'resumed']);
  });

  it('denies a Range past 0 without a prior use and writes nothing', async () => {
    const { id, token } = tokenFor({ n: 2 });
    const ranged = await handler(get(token, 3, { range: 'bytes=500-999' }));
    assert.equal(ranged.status, '403');
    assert.equal(reasonOf(ranged), 'resume_denied');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined, 'a resume never creates the record');
    assert.ok(isForward(await handler(get(token, 3, { range: 'bytes=0-' }))), 'a Range from 0 is a new use');
    const stranger = await handler(get(token, 4, { range: 'bytes=500-' }));
    assert.equal(reasonOf(stranger), 'resume_denied', 'another client cannot resume someone else’s use');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('counts a new use by the same client once grace has passed', async () => {
    const { id, token } = tokenFor({ n: 2, g: 60 });
    assert.ok(isForward(await handler(get(token, 5))));
    const later = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, nowMs: () => Date.now() + 61_000 });
    assert.ok(isForward(await later(get(token, 5))), 'second use after grace');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '2');
    const third = await later(get(token, 5, {}));
    assert.ok(isForward(third), 'inside the new grace window it resumes');
    const evenLater = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, nowMs: () => Date.now() + 130_000 });
    assert.equal(reasonOf(await evenLater(get(token, 5))), 'used_up');
  });

  it('never consumes on HEAD or a prefetch', async () => {
    const { id, token } = tokenFor({ n: 1 });
    assert.ok(isForward(await handler(get(token, 6, {}, 'HEAD'))));
    assert.equal(reasonOf(await handler(get(token, 6, { 'sec-purpose': 'prefetch' }))), 'prefetch_refused');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined);
  });

  it('answers 410 revoked once the record is revoked, even for the client that used it', async () => {
    const { id, token } = tokenFor({ n: 3 });
    assert.ok(isForward(await handler(get(token, 7))));
    await moto.client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { id: { S: id } },
        UpdateExpression: 'SET revoked = :t',
        ExpressionAttributeValues: { ':t': { BOOL: true } },
      }),
    );
    for (const client of [7, 8]) {
      const r = await handler(get(token, client));
      assert.equal(r.status, '410');
      assert.equal(reasonOf(r), 'revoked');
    }
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('logs one line per decision with no token, signature, key or fingerprint', async () => {
    const { id, token } = tokenFor({ n: 1 });
    const before = logs.lines.length;
    await handler(get(token, 9));
    await handler(get(token, 10));
    const lines = logs.lines.slice(before);
    assert.equal(lines.length, 2);
    const record = await readRecord(moto.client, TABLE, id);
    const secrets = [token, token.split('.')[3], token.split('.')[2], id, bundle.config.validator.keys.keys[0].secret];
    for (const attr of fpAttributes(record)) secrets.push(record[attr].M.f.S);
    for (const line of logs.lines) for (const s of secrets) assert.ok(!line.includes(s), 'a log line holds a secret');
    const [first, second] = lines.map((l) => JSON.parse(l));
    assert.equal(first.outcome, 'allow');
    assert.equal(first.attempts, 1, 'one store request for a normal use');
    assert.equal(typeof first.store_ms, 'number');
    assert.match(first.id_hash, /^[0-9a-f]{16}$/);
    assert.equal(second.reason, 'used_up');
    assert.equal(second.status, 410);
    assert.equal(second.id_hash, first.id_hash);
  });
});

describe('links bound to their first downloader against moto', () => {
  /** A GET of `path` by client number `client` (its own /24 and User-Agent). */
  const getPath = (token, client, path, headers = {}) =>
    viewerEvent({
      path,
      query: `t=${token}`,
      headers: { 'user-agent': `client-${client}`, ...headers },
      ip: `10.${(client >> 8) & 255}.${client & 255}.7`,
    });

  it('a bound 3-use link: client 1 uses it, client 2 on another network is bound_elsewhere, client 1 uses it twice more, the fourth use is 410', async () => {
    const { id, token } = tokenFor({ n: 3, b: true });
    assert.ok(isForward(await handler(getPath(token, 1, '/files/a.pdf'))), 'the first use binds the link');
    const bound = (await readRecord(moto.client, TABLE, id)).bound?.S;
    assert.match(bound ?? '', /^[A-Za-z0-9_-]{22}$/, 'the record holds a keyed binding, no address');
    for (const [path, headers] of [['/files/a.pdf', {}], ['/files/b.pdf', {}], ['/files/a.pdf', { range: 'bytes=10-' }]]) {
      const other = await handler(getPath(token, 2, path, headers));
      assert.equal(`${other.status} ${reasonOf(other)}`, '403 bound_elsewhere', `${path} ${JSON.stringify(headers)}`);
    }
    for (const path of ['/files/b.pdf', '/files/c.pdf']) {
      assert.ok(isForward(await handler(getPath(token, 1, path))), `client 1: ${path}`);
    }
    const fourth = await handler(getPath(token, 1, '/files/d.pdf'));
    assert.equal(`${fourth.status} ${reasonOf(fourth)}`, '410 used_up');
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.used.N, '3', 'exactly the bound client\'s three uses');
    assert.equal(record.bound.S, bound, 'the binding never changes');
  });
});
