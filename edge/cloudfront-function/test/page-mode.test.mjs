// The claims `m` and `pw` and how the function routes page mode
// (docs/page-mode.md, docs/cloudfront-functions.md): it checks their rules as
// the core does (a token that breaks one is `malformed`), and never decides a
// page-mode link itself. Such links, like use-limited ones, pass on unchanged
// to the Lambda@Edge consume in "prefilter" mode and are refused with
// `needs_consume` in "only" mode. A POST to a link in direct mode is refused
// with 405, as the core refuses it. Tokens are minted here with node:crypto
// from hand-written claims JSON, so malformed claims can be signed too.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { kvsEntries, loadDecideVectors, loadFor } from './vectors.mjs';
import { eventFor, outcomeOf } from './runtime.mjs';
import { functionSettings } from '../build.mjs';

const doc = loadDecideVectors();
const config = doc.config;
const secret = kvsEntries(config.keys)[config.keys.active];
const NOW = 1767225600;
const ID = 'AAAAAAAAAAAAAAAAAAAAAA';
const PATH = '/files/report.pdf';
// A genuine password hash shape: 32 bytes in canonical base64url (43 chars).
const PW = createHmac('sha256', 'k').update('x').digest('base64url');

const functions = { only: loadFor('only', config), prefilter: loadFor('prefilter', config) };

/** A token signed with the deployment's active key over `claimsJson` as given. */
function mint(claimsJson) {
  const signed = `ol1.${config.keys.active}.${Buffer.from(claimsJson, 'utf8').toString('base64url')}`;
  return `${signed}.${createHmac('sha256', Buffer.from(secret, 'base64url')).update(signed).digest('base64url')}`;
}

/** Claims JSON for PATH, valid for an hour, with `extra` fields (raw JSON text) appended. */
function claims(extra = '') {
  return `{"id":"${ID}","p":"${PATH}","exp":${NOW + 3600}${extra}}`;
}

function request(token, { method = 'GET', query = '', headers = {} } = {}) {
  const q = [`t=${token}`, query].filter((p) => p !== '').join('&');
  return { method, path: PATH, query: q, headers: { 'user-agent': 'Mozilla/5.0 Example/1.0', ...headers }, ip: '203.0.113.7' };
}

async function decide(mode, req) {
  const event = eventFor(req);
  const result = outcomeOf(await functions[mode].run(structuredClone(event), NOW));
  return { event, result };
}

/** `respond <reason> <status>`, `pass` (unchanged) or `forward`, for one request in one mode. */
async function outcome(mode, req) {
  const { event, result } = await decide(mode, req);
  if (result.kind === 'respond') return `respond ${result.reason} ${result.status}`;
  return JSON.stringify(result.request) === JSON.stringify(event.request) ? 'pass' : 'forward';
}

test('m and pw claims that break a rule are malformed, in both modes and for every method', async () => {
  const broken = {
    'm is not a mode': ',"m":"Page"',
    'm is empty': ',"m":""',
    'm is a number': ',"m":1',
    'm is an array': ',"m":["page"]',
    'm twice': ',"m":"page","m":"page"',
    'pw without n': `,"pw":"${PW}"`,
    'pw with m direct': `,"n":1,"m":"direct","pw":"${PW}"`,
    'pw of 42 characters': `,"n":1,"pw":"${PW.slice(0, 42)}"`,
    'pw of 44 characters': `,"n":1,"pw":"${PW}A"`,
    'pw with non-zero trailing bits': `,"n":1,"pw":"${PW.slice(0, 42)}${PW.endsWith('B') ? 'C' : 'B'}"`,
    'pw in the standard alphabet': `,"n":1,"pw":"+${PW.slice(1)}"`,
    'pw padded': `,"n":1,"pw":"${PW}="`,
    'pw is a number': ',"n":1,"pw":5',
    'pw with m page but no n': `,"m":"page","pw":"${PW}"`,
    'm null (not absent)': ',"m":null',
    'pw null (not absent)': ',"n":1,"pw":null',
  };
  for (const [what, extra] of Object.entries(broken)) {
    const token = mint(claims(extra));
    for (const mode of ['only', 'prefilter']) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        assert.equal(await outcome(mode, request(token, { method })), 'respond malformed 403', `${what}, ${mode}, ${method}`);
      }
    }
  }
});

test('valid m and pw claims, escaped ones included, are accepted', async () => {
  const valid = {
    'm page': ',"m":"page"',
    'm page, escaped': ',"\\u006d":"\\u0070age"',
    'm direct': ',"m":"direct"',
    'pw with n': `,"n":3,"pw":"${PW}"`,
    'pw with n and m page': `,"n":3,"m":"page","pw":"${PW}"`,
  };
  for (const [what, extra] of Object.entries(valid)) {
    const got = await outcome('prefilter', request(mint(claims(extra))));
    assert.equal(got, 'pass', what);
  }
});

test('page-mode links pass on unchanged in prefilter mode, whatever the method and the pass', async () => {
  const links = {
    'm page': ',"m":"page"',
    'm page with n': ',"m":"page","n":1',
    'pw (page mode without m)': `,"n":2,"pw":"${PW}"`,
  };
  const requests = {
    GET: {},
    HEAD: { method: 'HEAD' },
    POST: { method: 'POST' },
    'GET with a pass': { query: 'pass=1767225660.AAAAAAAAAAAAAAAAAAAAAA' },
    'GET with a pass and a prefetch header': { query: 'pass=1767225660.AAAAAAAAAAAAAAAAAAAAAA', headers: { 'sec-purpose': 'prefetch' } },
    'GET from an unfurler': { headers: { 'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)' } },
  };
  for (const [link, extra] of Object.entries(links)) {
    const token = mint(claims(extra));
    for (const [what, options] of Object.entries(requests)) {
      assert.equal(await outcome('prefilter', request(token, options)), 'pass', `${link}, ${what}`);
      assert.equal(await outcome('only', request(token, options)), 'respond needs_consume 403', `${link}, ${what}`);
    }
  }
});

test('the prefilter passes the token and the pass on to the Lambda untouched', async () => {
  const req = request(mint(claims(',"m":"page","n":1')), { query: 'pass=1767225660.x&a=1' });
  const { event, result } = await decide('prefilter', req);
  assert.deepEqual(result.request, event.request);
  assert.equal(result.request.querystring.pass.value, '1767225660.x');
  assert.ok(result.request.querystring.t.value.startsWith('ol1.'));
});

test('direct-mode links: a POST is refused with 405 as the core refuses it; GET and HEAD as before', async () => {
  for (const extra of ['', ',"m":"direct"']) {
    const token = mint(claims(extra));
    for (const mode of ['only', 'prefilter']) {
      const { result } = await decide(mode, request(token, { method: 'POST' }));
      assert.deepEqual([result.reason, result.status, result.headers.allow], ['method_not_allowed', 405, 'GET, HEAD']);
    }
    assert.equal(await outcome('only', request(token)), 'forward', 'a time-limited direct link is served by the function');
    assert.equal(await outcome('only', request(token, { method: 'HEAD' })), 'forward');
    assert.equal(await outcome('prefilter', request(token)), 'pass');
  }
  const limited = mint(claims(',"m":"direct","n":1'));
  assert.equal(await outcome('prefilter', request(limited, { method: 'POST' })), 'respond method_not_allowed 405');
  assert.equal(await outcome('only', request(limited, { method: 'POST' })), 'respond method_not_allowed 405');
  // The core refuses a prefetch of a use-limited link, but gives a listed
  // unfurler a preview first: both are the Lambda's to say.
  for (const headers of [{}, { purpose: 'prefetch' }, { 'sec-purpose': 'prefetch', 'user-agent': 'Slackbot 1.0' }]) {
    assert.equal(await outcome('prefilter', request(limited, { headers })), 'pass', JSON.stringify(headers));
    assert.equal(await outcome('only', request(limited, { headers })), 'respond needs_consume 403', JSON.stringify(headers));
  }
});

test('a function-only forward drops the pass parameter, as the core never forwards it', async () => {
  const token = mint(claims());
  const { result } = await decide('only', request(token, { query: 'a=1&pass=1767225660.x&b' }));
  assert.equal(result.kind, 'request');
  assert.deepEqual(Object.keys(result.request.querystring), ['a', 'b']);
  const custom = { ...config, pass_param: 'ticket' };
  const { run } = loadFor('only', custom);
  const event = eventFor(request(token, { query: 'pass=1&ticket=2' }));
  const out = await run(event, NOW);
  assert.deepEqual(Object.keys(out.querystring), ['pass']);
  assert.throws(() => functionSettings({ config: { pass_param: 't' } }), /pass_param/);
  assert.throws(() => functionSettings({ config: { pass_param: 'a b' } }), /pass_param/);
});

test('a POST goes through every check before the mode, in the core order', async () => {
  const page = mint(claims(',"m":"page"'));
  assert.equal(await outcome('prefilter', { ...request(page, { method: 'POST' }), path: '/a/../b' }), 'respond bad_path 403');
  assert.equal(await outcome('prefilter', { ...request('', { method: 'POST' }), query: '' }), 'respond missing_token 403');
  assert.equal(await outcome('prefilter', { ...request(page, { method: 'POST' }), path: '/files/other.pdf' }), 'respond wrong_path 403');
  const expired = mint(`{"id":"${ID}","p":"${PATH}","exp":${NOW - 31},"m":"page"}`);
  assert.equal(await outcome('prefilter', request(expired, { method: 'POST' })), 'respond expired 410');
  for (const method of ['PUT', 'DELETE', 'OPTIONS', 'post', 'PATCH']) {
    assert.equal(await outcome('prefilter', request(page, { method })), 'respond method_not_allowed 405', method);
  }
});

test('the build refuses a page-mode default: the function never decides page mode', () => {
  assert.throws(() => functionSettings({ mode: 'prefilter', config: { default_mode: 'page' } }), /default_mode page needs the Lambda/);
  assert.throws(() => functionSettings({ mode: 'only', config: { default_mode: 'page' } }), /default_mode page/);
  assert.throws(() => functionSettings({ config: { default_mode: 'Page' } }), /default_mode must be/);
  assert.equal(functionSettings({ config: { default_mode: 'direct' } }).mode, 'only');
});
