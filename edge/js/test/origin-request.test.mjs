// The Lambda@Edge handler on an origin-request event (the prefilter edge mode,
// docs/cloudfront-functions.md: the CloudFront Function checks on
// viewer-request, this handler consumes on origin-request of a behavior with
// caching disabled). Starts from AWS's documented sample origin-request event
// (edge/fixtures/cloudfront/origin-request.json) and runs the real bundle
// against a real DynamoDB-compatible server (moto on 127.0.0.1).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toCoreRequest, viewerRecord } from '../cloudfront.mjs';
import { buildAndImport, captureLogs, mint, root, testConfig, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf } from './support/events.mjs';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';
import { eventFor, loadFunction, KeyValueStore, outcomeOf } from '../../cloudfront-function/test/runtime.mjs';
import { kvsEntries, functionCode, KVS_ID } from '../../cloudfront-function/test/vectors.mjs';

const fixtures = join(root, 'edge/fixtures/cloudfront');
const sampleEvent = () => JSON.parse(readFileSync(join(fixtures, 'origin-request.json'), 'utf8'));
const shape = JSON.parse(readFileSync(join(fixtures, 'generated-response.json'), 'utf8'));
const TABLE = 'oncelink-origin-request';
const SLOW_STORE = { attempt_timeout_ms: 60000, budget_ms: 60000 };
/** The headers the prefilter origin request policy forwards (infra/cloudformation/oncelink.yaml). */
const PREFILTER_HEADERS = ['user-agent', 'range', 'accept', 'sec-purpose', 'purpose', 'x-purpose', 'x-moz'];

const nowS = () => Math.floor(Date.now() / 1000);
const newId = () => randomBytes(16).toString('base64url');

/** The documented S3 origin object, in place of the sample's custom origin. */
const S3_ORIGIN = {
  s3: {
    authMethod: 'none',
    customHeaders: {},
    domainName: 'files-bucket.s3.eu-west-1.amazonaws.com',
    path: '',
    region: 'eu-west-1',
  },
};

/** The sample event with the viewer's query and User-Agent (the prefilter policy forwards both). */
function originEvent({ query, userAgent = 'client-1', origin } = {}) {
  const event = sampleEvent();
  const request = event.Records[0].cf.request;
  request.uri = '/files/report.pdf';
  request.querystring = query;
  request.headers['user-agent'] = [{ key: 'User-Agent', value: userAgent }];
  if (origin) request.origin = structuredClone(origin);
  return event;
}

/** Checks a generated response against the documented shape (the same in both request triggers). */
function assertResponseShape(response) {
  assert.equal(typeof response.status, 'string', 'status is a string');
  assert.match(response.status, /^[1-5][0-9][0-9]$/);
  assert.ok(shape.rules.bodyEncoding.includes(response.bodyEncoding));
  for (const [name, entries] of Object.entries(response.headers)) {
    assert.equal(name, name.toLowerCase());
    for (const entry of entries) assert.deepEqual(Object.keys(entry).sort(), ['key', 'value']);
  }
  for (const key of Object.keys(response)) assert.ok(key in shape.response, `field ${key} is one CloudFront documents`);
  assert.ok(!('origin' in response) && !('uri' in response), 'a response, not a request');
}

let moto;
const bundles = {};
let logs = [];

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  for (const origin of ['header', 's3']) {
    bundles[origin] = await buildAndImport(`origin-request-${origin}`, testConfig({ table: TABLE, endpoint: moto.endpoint }, { origin }));
    bundles[origin].handler = bundles[origin].mod.createHandler({ env: TEST_ENV, store: SLOW_STORE });
    logs.push(captureLogs(bundles[origin].mod));
  }
});

after(async () => {
  for (const l of logs) l.restore();
  await moto?.stop();
});

describe('the documented sample origin-request event', () => {
  it('maps to the core request like a viewer request (the origin object is not the core’s business)', () => {
    const { config, request } = viewerRecord(sampleEvent());
    assert.equal(config.eventType, 'origin-request');
    assert.deepEqual(toCoreRequest(request), {
      method: 'GET',
      path: '/',
      query: '',
      headers: {
        'x-forwarded-for': '203.0.113.178',
        'user-agent': 'Amazon CloudFront',
        via: '2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)',
        host: 'example.org',
        'cache-control': 'no-cache',
      },
      ip: '203.0.113.178',
    });
  });

  it('answers the sample as is (no token) with a documented-shape 403 and no store call', async () => {
    const response = await bundles.header.handler(sampleEvent());
    assertResponseShape(response);
    assert.equal(response.status, '403');
    assert.equal(reasonOf(response), 'missing_token');
  });
});

describe('consume on origin-request against moto', () => {
  it('consumes a single-use link once: the request goes on with its origin intact, the next is 410', async () => {
    const { handler, mod, config } = bundles.header;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 1 });
    const event = originEvent({ query: `a=1&t=${token}` });
    const original = structuredClone(event.Records[0].cf.request);

    const first = await handler(event);
    assert.ok(isForward(first), `first request allowed, got ${JSON.stringify(first).slice(0, 200)}`);
    assert.deepEqual(first.origin, original.origin, 'the origin object comes back unchanged');
    assert.equal(first.querystring, 'a=1', 'the token never reaches the origin');
    assert.equal(first.uri, original.uri);
    assert.equal(first.method, 'GET');
    assert.deepEqual(first.headers.host, original.headers.host, 'Host stays the origin’s');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'the store counted the use');

    const second = await handler(originEvent({ query: `a=1&t=${token}`, userAgent: 'client-2' }));
    assertResponseShape(second);
    assert.equal(second.status, '410');
    assert.equal(reasonOf(second), 'used_up');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'a refused request counts nothing');
  });

  it('with an S3 origin: the file name goes into the query S3 reads, the s3 origin object is untouched', async () => {
    const { handler, mod, config } = bundles.s3;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 2, fn: 'report.pdf' });
    const result = await handler(originEvent({ query: `t=${token}`, origin: S3_ORIGIN }));
    assert.ok(isForward(result), JSON.stringify(result).slice(0, 200));
    assert.deepEqual(result.origin, S3_ORIGIN);
    assert.match(result.querystring, /^response-content-disposition=attachment/);
    assert.ok(!result.querystring.includes(token));
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('refuses a forged token without touching the store', async () => {
    const { handler, mod, config } = bundles.header;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 1 });
    const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const response = await handler(originEvent({ query: `t=${forged}` }));
    assertResponseShape(response);
    assert.equal(response.status, '403');
    assert.equal(reasonOf(response), 'bad_signature');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined);
  });
});

/**
 * What CloudFront sends the origin-request trigger after the prefilter
 * function let a viewer request through: the function's request with the
 * query kept whole (QueryStringBehavior all) and only the headers the
 * prefilter policy names, plus CloudFront's own. A stand-in for CloudFront's
 * behaviour as documented, not CloudFront itself.
 */
function originEventAfterFunction(passed, viewerIp) {
  const event = sampleEvent();
  const request = event.Records[0].cf.request;
  request.clientIp = viewerIp;
  request.method = passed.method;
  request.uri = passed.uri;
  request.querystring = Object.entries(passed.querystring)
    .flatMap(([name, field]) => (field.multiValue ?? [field]).map((v) => (v.value === '' ? name : `${name}=${v.value}`)))
    .join('&');
  for (const name of PREFILTER_HEADERS) {
    const field = passed.headers[name];
    if (field) request.headers[name] = (field.multiValue ?? [field]).map((v) => ({ key: name, value: v.value }));
  }
  return event;
}

/** The minified prefilter CloudFront Function for a bundle's config, in the cloudfront-js-2.0 stand-in. */
function prefilterFunction(config) {
  return loadFunction(functionCode('prefilter', config.validator), {
    kvsId: KVS_ID,
    store: new KeyValueStore(kvsEntries(config.validator.keys)),
  });
}

describe('the prefilter pipeline: CloudFront Function on viewer-request, then this handler on origin-request', () => {
  it('a valid single-use link passes the function unchanged and is consumed once by the Lambda', async () => {
    const { handler, mod, config } = bundles.header;
    const fn = prefilterFunction(config);
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 1 });
    const viewer = { method: 'GET', path: '/files/report.pdf', query: `t=${token}`, headers: { 'user-agent': 'client-9', accept: '*/*' }, ip: '198.51.100.9' };

    const checked = outcomeOf(await fn(eventFor(viewer), nowS()));
    assert.equal(checked.kind, 'request', 'the function lets a valid use-limited token through');
    assert.equal(checked.request.querystring.t.value, token, 'prefilter mode passes the token on for the consume');
    const first = await handler(originEventAfterFunction(checked.request, viewer.ip));
    assert.ok(isForward(first));
    assert.equal(first.querystring, '');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');

    // The same client again inside the grace window resumes its download without a new use.
    const resumed = await handler(originEventAfterFunction(outcomeOf(await fn(eventFor(viewer), nowS())).request, viewer.ip));
    assert.ok(isForward(resumed));
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'a resume counts nothing');

    const other = { ...viewer, headers: { 'user-agent': 'client-10', accept: '*/*' }, ip: '192.0.2.10' };
    const again = outcomeOf(await fn(eventFor(other), nowS()));
    assert.equal(again.kind, 'request', 'the function cannot know the link is used up');
    const refused = await handler(originEventAfterFunction(again.request, other.ip));
    assert.equal(refused.status, '410');
    assert.equal(reasonOf(refused), 'used_up');
  });

  it('an expired link stops at the function: the Lambda never runs', async () => {
    const { mod, config } = bundles.header;
    const fn = prefilterFunction(config);
    const token = mint(mod, config, { id: newId(), p: '/files/*', exp: nowS() - 3600, n: 1 });
    const viewer = { method: 'GET', path: '/files/report.pdf', query: `t=${token}`, headers: {}, ip: '198.51.100.9' };
    const checked = outcomeOf(await fn(eventFor(viewer), nowS()));
    assert.equal(checked.kind, 'respond');
    assert.equal(checked.reason, 'expired');
    assert.equal(checked.status, 410);
  });
});

/**
 * Range in prefilter mode. CloudFront may ask the origin for a larger range
 * than the viewer did (CloudFront Developer Guide, "How CloudFront processes
 * partial requests for an object (range GETs)"), so the Lambda on
 * origin-request sees the widened range. Widening only moves the start
 * earlier, so the rule "a Range past 0 is only a resume" can only err towards
 * counting: a viewer's resume seen as a start at 0 is a consume, which the
 * store never counts twice for the client with a use inside grace (a resume
 * again), and which counts a use for anyone else, where viewer-request would
 * have refused (resume_denied). Never fewer counted uses than lambda mode.
 */
describe('ranges CloudFront widened before the origin-request consume', () => {
  const ranged = (token, userAgent, range) => {
    const event = originEvent({ query: `t=${token}`, userAgent });
    event.Records[0].cf.request.headers.range = [{ key: 'Range', value: range }];
    return event;
  };

  it('a resume widened to start at 0 is still a resume for the client that used the link, and counts nothing', async () => {
    const { handler, mod, config } = bundles.header;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 1 });
    assert.ok(isForward(await handler(originEvent({ query: `t=${token}`, userAgent: 'widened-1' }))));
    // The viewer asked for bytes=1048576-; CloudFront asked the origin for an aligned, wider range.
    const resumed = await handler(ranged(token, 'widened-1', 'bytes=0-2097151'));
    assert.ok(isForward(resumed), JSON.stringify(resumed).slice(0, 200));
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('CloudFront fetching a whole-file request in parts: the first part consumes, the later parts resume', async () => {
    const { handler, mod, config } = bundles.header;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 1 });
    assert.ok(isForward(await handler(ranged(token, 'parts-1', 'bytes=0-1048575'))));
    assert.ok(isForward(await handler(ranged(token, 'parts-1', 'bytes=1048576-2097151'))));
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
  });

  it('a widened range from a client without a use counts a use where viewer-request would refuse', async () => {
    const { handler, mod, config } = bundles.header;
    const id = newId();
    const token = mint(mod, config, { id, p: '/files/*', exp: nowS() + 600, n: 2 });
    // Unwidened, a start past 0 without a use is refused and writes nothing...
    const refused = await handler(ranged(token, 'widened-2', 'bytes=500-999'));
    assert.equal(reasonOf(refused), 'resume_denied');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined);
    // ...widened to 0 it is a consume: counted, never free.
    assert.ok(isForward(await handler(ranged(token, 'widened-2', 'bytes=0-1048575'))));
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1');
    assert.ok(isForward(await handler(ranged(token, 'widened-3', 'bytes=0-1048575'))));
    const over = await handler(ranged(token, 'widened-4', 'bytes=0-1048575'));
    assert.equal(over.status, '410');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '2');
  });
});

describe('answers generated on origin-request are never kept by CloudFront', () => {
  // CloudFront caches what an origin-request trigger generates; the
  // distribution sets ErrorCachingMinTTL 0 for every error status the edge
  // makes (infra/tests), and 404/410 with no-store are never cached at all
  // ("Control how long CloudFront caches errors"). Every answer says no-store.
  it('every refusal carries Cache-Control no-store, the 503 fallback too', async () => {
    const { handler, mod, config } = bundles.header;
    const token = mint(mod, config, { id: newId(), p: '/files/*', exp: nowS() + 600, n: 1 });
    const answers = [
      await handler(sampleEvent()),
      await handler(originEvent({ query: `t=${token.slice(0, -2)}AA` })),
      await handler(originEvent({ query: `t=${token}`, userAgent: 'ns-1' })),
      await handler(originEvent({ query: `t=${token}`, userAgent: 'ns-2' })),
      await handler({ Records: [] }),
    ].filter((r) => !isForward(r));
    assert.equal(answers.length, 4);
    for (const r of answers) {
      assert.equal(r.headers['cache-control']?.[0]?.value, 'no-store', `${r.status} ${reasonOf(r)}`);
    }
  });
});
