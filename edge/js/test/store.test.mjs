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
import {
  BACKOFF_BASE_MS, BACKOFF_CAP_MS, COLD_ROUND_TRIPS, CPU_MARGIN_MS, credentialsFrom, DEFAULT_ATTEMPT_TIMEOUT_MS,
  DEFAULT_BUDGET_MS, FARTHEST_RTT_MS, LAMBDA_TIMEOUT_MS, MAX_ATTEMPTS, MAX_DEPLOY_BUDGET_MS, MIN_ATTEMPT_MS,
  performStore, storeSettings,
} from '../store.mjs';
import { root } from './support/bundle.mjs';

let wasm;
before(async () => {
  wasm = await import(pathToFileURL(join(root, 'edge/pkg/oncelink_edge_wasm.js')).href);
  wasm.initSync({ module: readFileSync(join(root, 'edge/pkg/oncelink_edge_wasm_bg.wasm')) });
});

const op = { kind: 'consume', id: 'AAAAAAAAAAAAAAAAAAAAAA', region: 'us-east-1', n: 1, fp: 'WdmuMDLI3qcQAVChRcIeLA', now: 1767225600, resume_after: 1767225000, expire_at: 1767233430 };
const creds = { access_key_id: 'AKIDTEST', secret_access_key: 'secret' };
const THROTTLE = JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'slow down' });

/**
 * A simulated clock: fetch answers after `latency` ms of simulated time
 * (a number, or a function of the call number), unless the attempt's timeout
 * (armed through `after`) comes first; sleep advances the clock.
 */
function simulated({ latency, answer, random = () => 0.999, store = { attempt_timeout_ms: 300, budget_ms: 1000 } }) {
  let now = 1_000_000;
  const pauses = [];
  const calls = [];
  const timers = [];
  return {
    pauses,
    calls,
    deps: {
      wasm,
      creds,
      settings: storeSettings({ table: 'tokens', endpoint: 'http://127.0.0.1:9', ...store }),
      nowMs: () => now,
      random,
      sleep: async (ms) => {
        pauses.push(ms);
        now += ms;
      },
      after: (ms, fn) => {
        const timer = { at: now + ms, fn, live: true };
        timers.push(timer);
        return () => {
          timer.live = false;
        };
      },
      fetch: async (url, init) => {
        calls.push({ url, init });
        const takes = typeof latency === 'function' ? latency(calls.length) : latency;
        const due = timers.filter((t) => t.live && t.at <= now + takes).sort((a, b) => a.at - b.at)[0];
        if (due) {
          now = due.at;
          due.live = false;
          due.fn();
          throw Object.assign(new Error('aborted'), { name: 'AbortError' });
        }
        now += takes;
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

describe('default budgets', () => {
  // A cold container's first call to a table on another continent: TCP, TLS
  // and the request are 4 round trips; at about 330 ms (the longest published
  // inter-region round trips) plus DNS and a 128 MB replica's TLS CPU, 1700 ms.
  const COLD_FAR_CALL_MS = 1700;
  const COUNTED = [200, JSON.stringify({ Attributes: { used: { N: '1' } } })];

  it('answer a cold first call to the farthest home region instead of timing it out', async () => {
    const sim = simulated({ latency: COLD_FAR_CALL_MS, answer: () => COUNTED, store: {} });
    const result = await performStore(op, sim.deps);
    assert.deepEqual(result.reply, { reply: 'counted', used: 1 }, result.error);
    assert.equal(result.attempts, 1);
  });

  it('retry once more after a lost cold attempt, inside the budget', async () => {
    // The first connection hangs; the second is cold again.
    const sim = simulated({ latency: (n) => (n === 1 ? 60_000 : COLD_FAR_CALL_MS), answer: () => COUNTED, store: {} });
    const result = await performStore(op, sim.deps);
    assert.deepEqual(result.reply, { reply: 'counted', used: 1 }, result.error);
    assert.equal(result.attempts, 2);
    assert.ok(result.latencyMs <= DEFAULT_BUDGET_MS);
  });

  it('follow from the published round trips and stay under the viewer-request limit', () => {
    const coldFar = COLD_ROUND_TRIPS * FARTHEST_RTT_MS + CPU_MARGIN_MS;
    assert.ok(DEFAULT_ATTEMPT_TIMEOUT_MS >= coldFar, `${DEFAULT_ATTEMPT_TIMEOUT_MS} < ${coldFar}`);
    assert.ok(DEFAULT_BUDGET_MS >= 2 * DEFAULT_ATTEMPT_TIMEOUT_MS + BACKOFF_BASE_MS, 'two cold attempts fit');
    assert.ok(DEFAULT_BUDGET_MS <= MAX_DEPLOY_BUDGET_MS && MAX_DEPLOY_BUDGET_MS < LAMBDA_TIMEOUT_MS);
    assert.ok(LAMBDA_TIMEOUT_MS - DEFAULT_BUDGET_MS >= 1000, 'time is left for the decision and the answer');
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
    assert.throws(() => storeSettings({ table: 't', attempt_timeout_ms: 900, budget_ms: 800 }), /not be more than/);
    assert.throws(() => storeSettings({ table: 't', remember_ttl_ms: -1 }), /remember_ttl_ms/);
    assert.throws(() => storeSettings({ table: 't', remember_max: 0 }), /remember_max/);
    assert.deepEqual(storeSettings({ table: 't' }).target, { table: 't' });
  });
});
