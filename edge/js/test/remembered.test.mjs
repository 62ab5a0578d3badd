// The container's memory of revoked and used-up links (remembered.mjs): the
// real bundle against a real DynamoDB-compatible server (moto). A repeat of a
// refusal that cannot change is answered with the core's own earlier answer
// and no store call; everything that could still be allowed goes to the store.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Remembered } from '../remembered.mjs';
import { keepAliveFetch } from '../transport.mjs';
import { buildAndImport, captureLogs, mint, testConfig, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from './support/events.mjs';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';

const TABLE = 'oncelink-remembered';
const SLOW_STORE = { attempt_timeout_ms: 60000, budget_ms: 60000 };

let moto;
let bundle;
let logs;
let storeCalls = 0;
const countingFetch = (url, init) => {
  storeCalls += 1;
  return keepAliveFetch(url, init);
};

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  bundle = await buildAndImport('remembered', testConfig({ table: TABLE, endpoint: moto.endpoint }));
  logs = captureLogs(bundle.mod);
});

after(async () => {
  logs?.restore();
  await moto?.stop();
});

const newId = () => randomBytes(16).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);
const handlerWith = (store = {}, extra = {}) =>
  bundle.mod.createHandler({ env: TEST_ENV, store: { ...SLOW_STORE, ...store }, fetch: countingFetch, ...extra });

function tokenFor(claims) {
  const id = newId();
  return { id, token: mint(bundle.mod, bundle.config, { id, p: '/files/*', exp: nowS() + 3600, ...claims }) };
}

function get(token, client, headers = {}) {
  return viewerEvent({
    path: '/files/report.pdf',
    query: `t=${token}`,
    headers: { 'user-agent': `client-${client}`, ...headers },
    ip: `10.0.${client}.7`,
  });
}

/** Runs one request; returns the response and how many store calls it made. */
async function counted(handler, event) {
  const before = storeCalls;
  const response = await handler(event);
  return { response, calls: storeCalls - before };
}

async function revoke(id) {
  await moto.client.send(
    new UpdateItemCommand({
      TableName: TABLE,
      Key: { id: { S: id } },
      UpdateExpression: 'SET revoked = :t',
      ExpressionAttributeValues: { ':t': { BOOL: true } },
    }),
  );
}

describe('remembered refusals', () => {
  it('answers a repeated used_up from memory with the exact answer the store path gave, and logs it', async () => {
    const handler = handlerWith();
    const { id, token } = tokenFor({ n: 1 });
    assert.ok(isForward(await handler(get(token, 1))));
    const first = await counted(handler, get(token, 2));
    assert.equal(reasonOf(first.response), 'used_up');
    assert.ok(first.calls >= 1, 'the first refusal is the store’s');
    const linesBefore = logs.lines.length;
    const again = await counted(handler, get(token, 2));
    assert.equal(again.calls, 0, 'a repeat makes no store call');
    assert.deepEqual(again.response, first.response);
    const [line] = logs.parsed().slice(linesBefore);
    assert.equal(line.remembered, true);
    assert.equal(line.reason, 'used_up');
    assert.equal(line.attempts, 0);
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('still lets the client that used the last use resume inside grace', async () => {
    const handler = handlerWith();
    const { token } = tokenFor({ n: 1 });
    assert.ok(isForward(await handler(get(token, 3))));
    assert.equal(reasonOf(await handler(get(token, 4))), 'used_up');
    // A Range past 0 is only ever a resume: client 4 has none (docs/token-v1.md).
    assert.equal(reasonOf(await handler(get(token, 4, { range: 'bytes=100-' }))), 'resume_denied');
    // Client 3 is not client 4: its resume goes to the store and is allowed.
    const resume = await counted(handler, get(token, 3, { range: 'bytes=100-' }));
    assert.ok(isForward(resume.response), 'the downloader resumes');
    assert.ok(resume.calls >= 1);
  });

  it('answers every client of a revoked link from memory once one was refused', async () => {
    const handler = handlerWith();
    const { id, token } = tokenFor({ n: 5 });
    assert.ok(isForward(await handler(get(token, 5))));
    await revoke(id);
    const first = await counted(handler, get(token, 6));
    assert.equal(reasonOf(first.response), 'revoked');
    assert.ok(first.calls >= 1);
    for (const client of [5, 7, 8]) {
      const again = await counted(handler, get(token, client, client === 8 ? { range: 'bytes=9-' } : {}));
      assert.equal(again.calls, 0, `client ${client}`);
      assert.deepEqual(again.response, first.response);
    }
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('never remembers a link that can still be used', async () => {
    const handler = handlerWith();
    const { token } = tokenFor({ n: 2 });
    assert.ok(isForward(await handler(get(token, 9))));
    // A refused resume of a live link (no use by this client) is not final.
    assert.equal(reasonOf(await handler(get(token, 10, { range: 'bytes=5-' }))), 'resume_denied');
    const second = await counted(handler, get(token, 10));
    assert.ok(isForward(second.response), 'the second use is still counted');
    assert.ok(second.calls >= 1);
  });

  it('goes back to the store when memory is off (remember_ttl_ms 0)', async () => {
    const handler = handlerWith({ remember_ttl_ms: 0 });
    const { token } = tokenFor({ n: 1 });
    assert.ok(isForward(await handler(get(token, 11))));
    assert.equal(reasonOf(await handler(get(token, 12))), 'used_up');
    const again = await counted(handler, get(token, 12));
    assert.equal(reasonOf(again.response), 'used_up');
    assert.ok(again.calls >= 1);
  });
});

describe('Remembered, on its own clock', () => {
  const pending = (id, fp = 'fp1', extra = {}) => ({ op: { id, fp, kind: 'consume' }, html: false, ...extra });
  const usedUp = { step: 'respond', status: 410, reason: 'used_up', headers: [], body: '{}' };

  it('forgets an entry after its time to live', () => {
    const memory = new Remembered({ ttlMs: 1000, maxEntries: 10 });
    memory.remember(pending('a'), usedUp, 0);
    assert.equal(memory.recall(pending('a'), 999), usedUp);
    assert.equal(memory.recall(pending('a'), 1000), null);
    assert.equal(memory.size, 0);
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const memory = new Remembered({ ttlMs: 1000, maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'd']) memory.remember(pending(id), usedUp, 0);
    assert.equal(memory.size, 3);
    assert.equal(memory.recall(pending('a'), 1), null);
    assert.equal(memory.recall(pending('d'), 1), usedUp);
  });

  it('keeps used_up per client and never for a password link', () => {
    const memory = new Remembered({ ttlMs: 1000, maxEntries: 10 });
    memory.remember(pending('a', 'fp1'), usedUp, 0);
    assert.equal(memory.recall(pending('a', 'fp2'), 1), null, 'another client may be the resuming downloader');
    memory.remember(pending('p', 'fp1', { max_failures: 5 }), usedUp, 0);
    assert.equal(memory.recall(pending('p', 'fp1', { max_failures: 5 }), 1), null);
    memory.remember(pending('r'), { ...usedUp, status: 403, reason: 'resume_denied' }, 0);
    assert.equal(memory.size, 1, 'only final refusals are kept');
  });
});
