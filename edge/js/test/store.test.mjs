// performStore's retry loop on a simulated clock: bounded attempts, the
// budget never exceeded, full-jitter pauses below their ceilings, and
// credentials and settings checked. The real wasm builds and reads the
// DynamoDB messages; only time and the network are simulated here (the real
// network faults are in faults.test.mjs).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, credentialsFrom, MAX_ATTEMPTS, MIN_ATTEMPT_MS, performStore, storeSettings } from '../store.mjs';
import { root } from './support/bundle.mjs';

let wasm;
before(async () => {
  wasm = await import(pathToFileURL(join(root, 'edge/pkg/oncelink_edge_wasm.js')).href);
  wasm.initSync({ module: readFileSync(join(root, 'edge/pkg/oncelink_edge_wasm_bg.wasm')) });
});

const op = { kind: 'consume', id: 'AAAAAAAAAAAAAAAAAAAAAA', region: 'us-east-1', n: 1, fp: 'WdmuMDLI3qcQAVChRcIeLA', now: 1767225600, resume_after: 1767225000, expire_at: 1767233430 };
const creds = { access_key_id: 'AKIDTEST', secret_access_key: 'secret' };
const THROTTLE = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' });

/** A simulated clock: fetch answers after `latency` ms of simulated time; sleep advances it. */
function simulated({ latency, answer, random = () => 0.999 }) {
  let now = 1_000_000;
  const pauses = [];
  const calls = [];
  return {
    pauses,
    calls,
    deps: {
      wasm,
      creds,
      settings: storeSettings({ table: 'tokens', endpoint: 'http://127.0.0.1:9', attempt_timeout_ms: 300, budget_ms: 1000 }),
      nowMs: () => now,
      random,
      sleep: async (ms) => {
        pauses.push(ms);
        now += ms;
      },
      fetch: async (url, init) => {
        calls.push({ url, init });
        now += latency;
        const [status, body] = answer(calls.length);
        return { status, text: async () => body };
      },
    },
  };
}

describe('performStore retry loop', () => {
  it('stops at MAX_ATTEMPTS when throttled quickly, with full-jitter pauses under their ceilings', async () => {
    const sim = simulated({ latency: 5, answer: () => [400, THROTTLE] });
    const result = await performStore(op, sim.deps);
    assert.deepEqual(result.reply, { reply: 'unavailable' });
    assert.equal(result.attempts, MAX_ATTEMPTS);
    assert.equal(sim.calls.length, MAX_ATTEMPTS);
    sim.pauses.forEach((p, i) => assert.ok(p < Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** i), `pause ${i} = ${p}`));
    assert.match(result.error, /ThrottlingException/);
  });

  it('never runs past the budget when every attempt is slow', async () => {
    const sim = simulated({ latency: 290, answer: () => [500, '{}'] });
    const result = await performStore(op, sim.deps);
    assert.deepEqual(result.reply, { reply: 'unavailable' });
    assert.ok(result.latencyMs <= 1000, `spent ${result.latencyMs} ms of a 1000 ms budget`);
    assert.ok(result.attempts >= 2 && result.attempts < MAX_ATTEMPTS);
  });

  it('sends the signed request as built and returns the first definite answer', async () => {
    const sim = simulated({ latency: 5, answer: (n) => (n === 1 ? [400, THROTTLE] : [200, JSON.stringify({ Attributes: { used: { N: '1' } } })]) });
    const result = await performStore(op, sim.deps);
    assert.deepEqual(result.reply, { reply: 'counted', used: 1 });
    assert.equal(result.attempts, 2);
    const [{ url, init }] = sim.calls;
    assert.equal(url, 'http://127.0.0.1:9/');
    assert.equal(init.method, 'POST');
    const names = init.headers.map(([k]) => k);
    assert.ok(names.includes('authorization') && names.includes('x-amz-target'));
    assert.ok(!names.includes('host'), 'fetch derives Host from the URL (the same value that was signed)');
    assert.equal(JSON.parse(init.body).Key.id.S, op.id);
  });

  it('does not retry an answer it cannot read', async () => {
    const sim = simulated({ latency: 5, answer: () => [200, 'not json'] });
    const result = await performStore(op, sim.deps);
    assert.equal(result.attempts, 1);
    assert.deepEqual(result.reply, { reply: 'unavailable' });
  });

  it('makes no request without credentials', async () => {
    const sim = simulated({ latency: 5, answer: () => [200, '{}'] });
    const result = await performStore(op, { ...sim.deps, creds: null });
    assert.equal(sim.calls.length, 0);
    assert.deepEqual(result.reply, { reply: 'unavailable' });
  });
});

describe('settings and credentials', () => {
  it('reads Lambda credential variables, session token included', () => {
    assert.equal(credentialsFrom({}), null);
    assert.equal(credentialsFrom({ AWS_ACCESS_KEY_ID: 'a' }), null);
    assert.deepEqual(credentialsFrom({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 'c' }), { access_key_id: 'a', secret_access_key: 'b', session_token: 'c' });
  });

  it('refuses unusable store settings with one line', () => {
    assert.throws(() => storeSettings({}), /store.table/);
    assert.throws(() => storeSettings({ table: 't', budget_ms: MIN_ATTEMPT_MS - 1 }), /budget_ms must be an integer/);
    assert.throws(() => storeSettings({ table: 't', attempt_timeout_ms: 1.5 }), /attempt_timeout_ms/);
    assert.deepEqual(storeSettings({ table: 't' }).target, { table: 't' });
  });
});
