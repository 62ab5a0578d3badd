// Store faults, from local HTTP servers started here: the handler answers
// 503 store_unavailable within its budget and never lets a request through;
// a store that throttles once and then answers gets a 200 after a retry.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { buildAndImport, captureLogs, mint, testConfig, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from './support/events.mjs';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';

const TABLE = 'oncelink-test';
const ATTEMPT_MS = 300;
const BUDGET_MS = 1000;
/** Scheduling slack on a loaded 2-core machine; the budget itself is the bound under test. */
const SLACK_MS = 750;
const DDB = 'com.amazonaws.dynamodb.v20120810#';

let moto;
let fault;
let bundle;
let handler;
let logs;

/** A local store stand-in whose behaviour the test switches; `proxy` passes requests to moto. */
async function startFaultServer(upstream) {
  const state = { mode: 'proxy', hits: 0, throttleFirst: 0 };
  const server = createServer(async (req, res) => {
    state.hits += 1;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const json = (status, value) => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(value));
    };
    let mode = state.mode;
    if (mode === 'throttle-once') mode = state.throttleFirst-- > 0 ? 'throttle' : 'proxy';
    switch (mode) {
      case 'hang':
        return; // never answers; the socket stays open until the server closes
      case 'close':
        return req.socket.destroy();
      case '500':
        return json(500, { __type: `${DDB}InternalServerError`, message: 'Internal server error' });
      case '503-plain':
        res.writeHead(503);
        return res.end('Service Unavailable');
      case 'throttle':
        return json(400, { __type: `${DDB}ThrottlingException`, message: 'Rate of requests exceeds the allowed throughput.' });
      case 'provisioned':
        return json(400, { __type: `${DDB}ProvisionedThroughputExceededException`, message: 'slow down' });
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        return res.end('{"Attributes": {"used": {"N": "1"');
      case 'unknown-error':
        return json(400, { __type: `${DDB}SomethingNewException`, message: 'what' });
      case 'proxy': {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)));
        const answer = await fetch(upstream, { method: 'POST', headers, body });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        return res.end(Buffer.from(await answer.arrayBuffer()));
      }
      default:
        throw new Error(`unknown mode ${mode}`);
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    state,
    endpoint: `http://127.0.0.1:${server.address().port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  fault = await startFaultServer(moto.endpoint);
  bundle = await buildAndImport(
    'faults',
    testConfig({ table: TABLE, endpoint: fault.endpoint, attempt_timeout_ms: ATTEMPT_MS, budget_ms: BUDGET_MS }),
  );
  handler = bundle.mod.createHandler({ env: TEST_ENV });
  logs = captureLogs(bundle.mod);
});

after(async () => {
  logs?.restore();
  await fault?.stop();
  await moto?.stop();
});

function request(n = 1) {
  const id = randomBytes(16).toString('base64url');
  const token = mint(bundle.mod, bundle.config, { id, p: '/f.bin', exp: Math.floor(Date.now() / 1000) + 600, n });
  return { id, event: viewerEvent({ path: '/f.bin', query: `t=${token}`, headers: { 'user-agent': 'fault-test' } }) };
}

async function timed(event) {
  const started = performance.now();
  const result = await handler(event);
  return { result, ms: performance.now() - started, log: logs.parsed().at(-1) };
}

describe('store faults give 503 within the budget, never an allow', () => {
  const retryable = ['hang', 'close', '500', '503-plain', 'throttle', 'provisioned'];
  for (const mode of retryable) {
    it(`${mode}: retried, then 503 store_unavailable with Retry-After`, async () => {
      fault.state.mode = mode;
      fault.state.hits = 0;
      const { id, event } = request();
      const { result, ms, log } = await timed(event);
      assert.ok(!isForward(result), 'never forwarded');
      assert.equal(result.status, '503');
      assert.equal(reasonOf(result), 'store_unavailable');
      assert.equal(result.headers['retry-after'][0].value, '2');
      assert.ok(ms <= BUDGET_MS + SLACK_MS, `answered in ${ms.toFixed(0)} ms, budget ${BUDGET_MS} ms`);
      assert.ok(log.attempts >= 2, `retried (${log.attempts} attempts)`);
      assert.equal(fault.state.hits, log.attempts, 'every attempt reached the store');
      assert.equal(typeof log.store_error, 'string');
      assert.equal(await readRecord(moto.client, TABLE, id), undefined);
    });
  }

  for (const mode of ['garbage', 'unknown-error']) {
    it(`${mode}: an unexpected answer is a 503 at once, not retried`, async () => {
      fault.state.mode = mode;
      fault.state.hits = 0;
      const { result, log } = await timed(request().event);
      assert.equal(result.status, '503');
      assert.equal(reasonOf(result), 'store_unavailable');
      assert.equal(log.attempts, 1);
      assert.equal(fault.state.hits, 1);
      assert.ok(log.store_error && !log.store_error.includes('{'), 'the error is described, the body not quoted');
    });
  }

  it('an unreachable store (nothing listening) is a 503 within the budget', async () => {
    const unreachable = bundle.mod.createHandler({ env: TEST_ENV, store: { endpoint: 'http://127.0.0.1:9' } });
    const started = performance.now();
    const result = await unreachable(request().event);
    assert.equal(result.status, '503');
    assert.ok(performance.now() - started <= BUDGET_MS + SLACK_MS);
  });
});

describe('a store that recovers', () => {
  it('throttles once, then counts: 200 after one retry, one use on the record', async () => {
    fault.state.mode = 'throttle-once';
    fault.state.throttleFirst = 1;
    fault.state.hits = 0;
    const { id, event } = request();
    const { result, log } = await timed(event);
    assert.ok(isForward(result), `allowed after a retry (got ${result.status} ${reasonOf(result)})`);
    assert.equal(log.allow, 'counted');
    assert.equal(log.attempts, 2);
    assert.equal(fault.state.hits, 2);
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('a lost answer to a counted use is retried as a resume of the same client, not a second use', async () => {
    // First attempt reaches moto and counts, but its answer is dropped; the
    // retry's condition fails on this client's own fresh use (ALL_OLD), which
    // the core reads as a resume: allowed, and still one use on the record.
    fault.state.mode = 'proxy';
    const { id, event } = request(1);
    let calls = 0;
    const lossy = bundle.mod.createHandler({
      env: TEST_ENV,
      fetch: async (url, init) => {
        calls += 1;
        const answer = await fetch(url, init);
        if (calls === 1) {
          await answer.arrayBuffer();
          throw new TypeError('fetch failed (simulated reset after the write)');
        }
        return answer;
      },
    });
    const result = await lossy(event);
    assert.ok(isForward(result));
    assert.equal(logs.parsed().at(-1).allow, 'resumed');
    assert.equal(calls, 2);
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });
});
