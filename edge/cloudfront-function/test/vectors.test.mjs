// Every case of the shared decision vectors through the CloudFront Function,
// in both modes, both as built (minified) and as written: the same reason
// code and status as the Rust core for every stateless case, the token
// stripped and the file name passed on for time-limited links, use-limited
// tokens refused ("only") or passed through untouched ("prefilter").
// See test/vectors.mjs for what "stateless" means here.

import test from 'node:test';
import assert from 'node:assert/strict';
import {
  caseClaims, caseConfig, caseRequest, expectationFor, loadDecideVectors, loadFor, loadFormatVectors,
} from './vectors.mjs';
import { eventFor, outcomeOf, queryOf, flatHeaders } from './runtime.mjs';
import { functionSettings } from '../build.mjs';

const doc = loadDecideVectors();
const loaded = new Map();

function functionFor(mode, config, variant) {
  const key = JSON.stringify([mode, config, variant]);
  if (!loaded.has(key)) loaded.set(key, loadFor(mode, config, variant));
  return loaded.get(key);
}

// "c" and "c=" are one CloudFront querystring field: compare without the "=".
const normalizeQuery = (query) => query.split('&').filter((p) => p !== '').map((p) => p.replace(/=$/, '')).join('&');

function checkForward(testCase, request, event, result) {
  const step = testCase.expect;
  const config = caseConfig(doc, testCase);
  assert.equal(result.kind, 'request', `expected the request to go on, got ${JSON.stringify(result)}`);
  const out = result.request;
  assert.equal(out.uri, step.path ?? request.path, 'the path must go on unchanged');
  assert.equal(out.method, request.method);
  assert.ok(!Object.hasOwn(out.querystring, config.token_param ?? 't'), 'the token must be out of the query (and the cache key)');
  if (step.query !== undefined) {
    assert.equal(normalizeQuery(queryOf(out.querystring)), normalizeQuery(step.query), 'query sent on');
  }
  const headers = flatHeaders(out.headers);
  for (const [name, value] of step.set_headers ?? []) {
    assert.equal(headers[name], value, `header ${name} the core sets`);
  }
  for (const name of step.remove_headers ?? []) {
    assert.ok(!Object.hasOwn(headers, name), `header ${name} the core removes must be gone`);
  }
  const kept = flatHeaders(event.request.headers);
  for (const [name, value] of Object.entries(kept)) {
    const removed = (step.remove_headers ?? []).includes(name) || name.startsWith('x-oncelink-');
    if (!removed && !(name === 'authorization' && /^\s*oncelink/i.test(value))) {
      assert.equal(headers[name], value, `viewer header ${name} must go on unchanged`);
    }
  }
}

for (const variant of ['minified', 'source']) {
  for (const mode of ['only', 'prefilter']) {
    test(`decide.json through the ${variant} function, mode ${mode}`, async (t) => {
      let checked = 0;
      for (const testCase of doc.cases) {
        await t.test(testCase.name, async () => {
          const config = caseConfig(doc, testCase);
          if (mode === 'only' && config.grant_keys != null) {
            // Origin grants need the Lambda tier: such a deployment cannot be built function-only.
            assert.throws(() => functionSettings({ mode, config }), /grant/);
            checked += 1;
            return;
          }
          if (config.cors_origins?.length) {
            // CORS is the Lambda's: no function is built with an allow-list.
            assert.throws(() => functionSettings({ mode, config }), /cors_origins needs the Lambda/);
            checked += 1;
            return;
          }
          if (config.ask_file_size === true) {
            // Only a host that serves files is asked for their size.
            assert.throws(() => functionSettings({ mode, config }), /ask_file_size/);
            checked += 1;
            return;
          }
          if (config.default_mode === 'page') {
            // Page mode is the Lambda's: no function is built with page as the default.
            assert.throws(() => functionSettings({ mode, config }), /default_mode page/);
            checked += 1;
            return;
          }
          const { run } = functionFor(mode, config, variant);
          const request = caseRequest(testCase);
          const event = eventFor(request);
          const result = outcomeOf(await run(event, testCase.now));
          const want = expectationFor(testCase, mode);
          if (want.deny !== undefined) {
            assert.deepEqual([result.kind, result.reason, result.status], ['respond', want.deny, want.status]);
            if (want.deny === testCase.expect.reason && testCase.expect.headers !== undefined) {
              assert.deepEqual(Object.entries(result.headers), testCase.expect.headers, 'response headers');
            }
            if (want.deny === testCase.expect.reason && testCase.expect.body !== undefined) {
              assert.equal(result.body, testCase.expect.body, 'response body');
            }
          } else if (want.pass) {
            assert.equal(result.kind, 'request', `expected a pass-through, got ${JSON.stringify(result)}`);
            assert.deepEqual(result.request, event.request, 'prefilter passes the request on unchanged');
          } else {
            checkForward(testCase, request, event, result);
          }
          checked += 1;
        });
      }
      assert.equal(checked, doc.cases.length, 'every vector was run');
    });
  }
}

// The golden verify vectors: signature and claims only. Each token is sent on
// a request that satisfies its claims (path, time, address), through the
// prefilter, where a valid token of either kind passes.
test('format.json verify cases give the core reason codes', async (t) => {
  const format = loadFormatVectors();
  const config = { keys: format.keys, skew: 30, token_param: 't', origin: 's3' };
  const { run } = loadFor('prefilter', config);
  for (const testCase of format.verify) {
    await t.test(testCase.name, async () => {
      const claims = caseClaims(testCase) ?? {};
      const path = typeof claims.p === 'string' ? claims.p.replace(/\*$/, 'file') : '/a.txt';
      const ip = claims.ip ? claims.ip.replace(/\/\d+$/, '').replace(/::$/, '::1') : '192.0.2.1';
      const now = Number.isInteger(claims.nbf) ? claims.nbf : Number.isInteger(claims.exp) ? claims.exp - 60 : 1767225000;
      const event = eventFor({ method: 'GET', path: encodeURI(path), query: `t=${testCase.token}`, headers: {}, ip });
      const result = outcomeOf(await run(event, now));
      const got = result.kind === 'request' ? 'ok' : result.reason;
      assert.equal(got, testCase.expect);
    });
  }
});
