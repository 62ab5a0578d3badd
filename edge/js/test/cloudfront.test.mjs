// The AWS documentation's sample viewer-request event and response shape
// (edge/fixtures/cloudfront/) against the mapping and the bundled handler.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import {
  applyForward,
  canonicalHeaderName,
  coreBody,
  generatedResponseBytes,
  MAX_FORM_BYTES,
  toCoreRequest,
  viewerRecord,
} from '../cloudfront.mjs';
import { buildAndImport, captureLogs, mint, root, testConfig, TEST_ENV } from './support/bundle.mjs';

const fixtures = join(root, 'edge/fixtures/cloudfront');
const sampleEvent = () => JSON.parse(readFileSync(join(fixtures, 'viewer-request.json'), 'utf8'));
const shape = JSON.parse(readFileSync(join(fixtures, 'generated-response.json'), 'utf8'));

/** Checks a generated response against the documented shape. */
function assertResponseShape(response) {
  assert.equal(typeof response.status, 'string', 'status is a string');
  assert.match(response.status, /^[1-5][0-9][0-9]$/);
  assert.equal(typeof response.statusDescription, 'string');
  assert.ok(shape.rules.bodyEncoding.includes(response.bodyEncoding));
  assert.equal(typeof response.body, 'string');
  for (const [name, entries] of Object.entries(response.headers)) {
    assert.equal(name, name.toLowerCase(), `header key ${name} is lowercase`);
    assert.ok(Array.isArray(entries) && entries.length > 0);
    for (const entry of entries) {
      assert.deepEqual(Object.keys(entry).sort(), ['key', 'value']);
      assert.equal(entry.key.toLowerCase(), name);
      assert.equal(typeof entry.value, 'string');
    }
  }
  assert.ok(generatedResponseBytes(response) <= shape.rules.max_bytes_viewer_request);
  for (const key of Object.keys(response)) {
    assert.ok(key in shape.response, `field ${key} is one CloudFront documents`);
  }
}

describe('CloudFront mapping of the documented sample event', () => {
  it('turns the sample into the core request', () => {
    const { config, request } = viewerRecord(sampleEvent());
    assert.equal(config.eventType, 'viewer-request');
    assert.deepEqual(toCoreRequest(request), {
      method: 'GET',
      path: '/',
      query: '',
      headers: { host: 'd111111abcdef8.cloudfront.net', 'user-agent': 'curl/7.66.0', accept: '*/*' },
      ip: '203.0.113.178',
    });
  });

  it('joins repeated header values with ", " under the lowercase name', () => {
    const request = toCoreRequest({
      method: 'GET',
      uri: '/a%20b',
      querystring: 'x=1&t=abc',
      clientIp: '2001:db8::1',
      headers: { accept: [{ key: 'Accept', value: 'text/html' }, { key: 'accept', value: '*/*' }] },
    });
    assert.equal(request.headers.accept, 'text/html, */*');
    assert.equal(request.path, '/a%20b', 'the uri is passed as received');
    assert.equal(request.query, 'x=1&t=abc');
  });

  it('refuses an event that is not a viewer request', () => {
    assert.throws(() => viewerRecord({}), /not a CloudFront viewer-request event/);
    assert.throws(() => viewerRecord({ Records: [{ cf: {} }] }), /not a CloudFront viewer-request event/);
  });

  it('gives a POST body ("include body", base64 or text) to the core as form text when it asks', () => {
    const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
    const form = 'password=s%C3%A9same+ouvre&x=1';
    assert.deepEqual(coreBody({ inputTruncated: false, action: 'read-only', encoding: 'base64', data: b64(form) }), { read: form });
    assert.deepEqual(coreBody({ inputTruncated: false, action: 'read-only', encoding: 'text', data: form }), { read: form });
    assert.deepEqual(coreBody({ inputTruncated: false, action: 'read-only', encoding: 'base64', data: b64('pässword=ü') }), { read: 'pässword=ü' });
    assert.deepEqual(coreBody(undefined), { read: '' }, 'no body (include body off, or an empty POST) is the empty form');
    assert.deepEqual(coreBody({ inputTruncated: false, action: 'read-only', encoding: 'base64', data: '' }), { read: '' });
    const at = 'x'.repeat(MAX_FORM_BYTES);
    assert.deepEqual(coreBody({ inputTruncated: false, action: 'read-only', encoding: 'base64', data: b64(at) }), { read: at });
    const post = toCoreRequest({ method: 'POST', uri: '/f', headers: {}, body: { encoding: 'text', data: 'password=x' } });
    assert.ok(!('body' in post), 'the request carries no body: the core asks for it');
  });

  it('gives a body it must not read as an explicit unreadable value, never a repaired one', () => {
    const unreadable = [
      [{ inputTruncated: true, action: 'read-only', encoding: 'base64', data: Buffer.from('password=abc').toString('base64') }, 'truncated'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'base64', data: 'cGFzc3dvcmQ9!!!' }, 'bad_encoding'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'base64', data: 'cGFzc3dvcmQ9YQ' }, 'bad_encoding'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'base64', data: Buffer.from([0x70, 0x3d, 0xff, 0xfe]).toString('base64') }, 'not_utf8'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'gzip', data: 'x' }, 'bad_encoding'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'text', data: 42 }, 'bad_encoding'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'text', data: 'x'.repeat(MAX_FORM_BYTES + 1) }, 'too_large'],
      [{ inputTruncated: false, action: 'read-only', encoding: 'base64', data: Buffer.from('é'.repeat(MAX_FORM_BYTES)).toString('base64') }, 'too_large'],
      ['password=abc', 'bad_encoding'],
    ];
    for (const [body, why] of unreadable) {
      assert.deepEqual(coreBody(body), { unreadable: why }, JSON.stringify(body).slice(0, 80));
    }
  });

  it('applies set and remove headers in CloudFront form', () => {
    const req = { uri: '/f', querystring: 't=x&a=1', headers: { 'x-oncelink-grant': [{ key: 'X-Oncelink-Grant', value: 'forged' }] } };
    applyForward(req, { query: 'a=1', set_headers: [['x-oncelink-disposition', 'attachment']], remove_headers: ['x-oncelink-grant'] });
    assert.equal(req.querystring, 'a=1');
    assert.deepEqual(req.headers, { 'x-oncelink-disposition': [{ key: 'X-Oncelink-Disposition', value: 'attachment' }] });
    assert.equal(canonicalHeaderName('content-security-policy'), 'Content-Security-Policy');
  });
});

describe('bundled handler on the documented sample event', () => {
  let bundle;
  before(async () => {
    bundle = await buildAndImport('cloudfront', testConfig({ endpoint: 'http://127.0.0.1:9' }));
  });

  it('answers the sample (no token) with a documented-shape 403', async () => {
    const logs = captureLogs(bundle.mod);
    const response = await bundle.mod.handler(sampleEvent());
    logs.restore();
    assertResponseShape(response);
    assert.equal(response.status, '403');
    assert.equal(response.headers['x-oncelink-reason'][0].value, 'missing_token');
    assert.deepEqual(JSON.parse(response.body).error, 'missing_token');
    const [line] = logs.parsed();
    assert.equal(line.request_id, '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==');
    assert.equal(line.outcome, 'deny');
    assert.equal(line.attempts, 0, 'no store call for a request without a token');
  });

  it('forwards the sample with a valid time-limited token, token removed, rest unchanged', async () => {
    const { mod, config } = bundle;
    const token = mint(mod, config, { p: '/*', exp: Math.floor(Date.now() / 1000) + 600 });
    const event = sampleEvent();
    event.Records[0].cf.request.querystring = `a=1&t=${token}&b=2`;
    const expected = structuredClone(event.Records[0].cf.request);
    expected.querystring = 'a=1&b=2';
    const logs = captureLogs(mod);
    const result = await mod.handler(event);
    logs.restore();
    assert.deepEqual(result, expected);
    assert.equal(logs.lines.length, 1);
    assert.ok(!logs.lines[0].includes(token.split('.')[3]), 'the log never holds the signature');
  });

  it('answers HTML to a browser and JSON otherwise, both in the documented shape', async () => {
    const event = sampleEvent();
    event.Records[0].cf.request.headers.accept = [{ key: 'Accept', value: 'text/html,application/xhtml+xml' }];
    event.Records[0].cf.request.method = 'PUT';
    const logs = captureLogs(bundle.mod);
    const response = await bundle.mod.handler(event);
    logs.restore();
    assertResponseShape(response);
    assert.equal(response.status, '405');
    assert.match(response.headers['content-type'][0].value, /^text\/html/);
    assert.equal(response.headers.allow[0].value, 'GET, HEAD');
  });

  it('answers a broken event with a 503 store_unavailable, never a forward', async () => {
    const logs = captureLogs(bundle.mod);
    const response = await bundle.mod.handler({ Records: [] });
    logs.restore();
    assertResponseShape(response);
    assert.equal(response.status, '503');
    assert.equal(response.headers['retry-after'][0].value, '2');
    assert.equal(logs.parsed()[0].reason, 'store_unavailable');
  });

  it('answers 503 when a use-limited token meets no credentials', async () => {
    const { mod, config } = bundle;
    const token = mint(mod, config, { p: '/*', exp: Math.floor(Date.now() / 1000) + 600, n: 1 });
    const event = sampleEvent();
    event.Records[0].cf.request.querystring = `t=${token}`;
    const handler = mod.createHandler({ env: {} });
    const logs = captureLogs(mod);
    const response = await handler(event);
    logs.restore();
    assertResponseShape(response);
    assert.equal(response.status, '503');
    assert.equal(logs.parsed()[0].store_error, 'no AWS credentials in the environment');
    assert.ok(TEST_ENV.AWS_ACCESS_KEY_ID);
  });
});

describe('bundle with a baked CORS allow-list (validator.cors_origins)', () => {
  const app = 'https://app.example.com';
  let bundle;
  before(async () => {
    // The store endpoint answers nothing: a store call would be a 503.
    bundle = await buildAndImport('cors', testConfig({ endpoint: 'http://127.0.0.1:9' }, { cors_origins: [app] }));
  });

  const run = async (request) => {
    const logs = captureLogs(bundle.mod);
    const event = sampleEvent();
    Object.assign(event.Records[0].cf.request, request);
    const response = await bundle.mod.handler(event);
    logs.restore();
    return { response, line: logs.parsed()[0] };
  };
  const header = (response, name) => response.headers[name]?.[0]?.value;
  const originHeader = (value) => ({ origin: [{ key: 'Origin', value }] });

  it('answers a preflight with 204 and no token check or store call', async () => {
    const token = mint(bundle.mod, bundle.config, { p: '/*', exp: Math.floor(Date.now() / 1000) + 600, n: 1 });
    const { response, line } = await run({
      method: 'OPTIONS',
      querystring: `t=${token}`,
      headers: { ...originHeader(app), 'access-control-request-method': [{ key: 'Access-Control-Request-Method', value: 'GET' }] },
    });
    assertResponseShape(response);
    assert.equal(response.status, '204');
    assert.equal(header(response, 'x-oncelink-reason'), 'preflight');
    assert.equal(header(response, 'access-control-allow-origin'), app);
    assert.equal(header(response, 'access-control-allow-methods'), 'GET, HEAD, POST');
    assert.equal(line.attempts, 0, 'a preflight never reaches the store');
  });

  it('lets an allowed origin read a refusal, and only that origin', async () => {
    const { response } = await run({ headers: originHeader(app) });
    assert.equal(response.status, '403');
    assert.equal(header(response, 'access-control-allow-origin'), app);
    assert.equal(header(response, 'access-control-expose-headers'), 'x-oncelink-reason, content-disposition');
    assert.equal(header(response, 'vary'), 'origin');
    const other = (await run({ headers: originHeader('https://evil.example') })).response;
    assert.equal(other.status, '403');
    assert.equal(header(other, 'access-control-allow-origin'), undefined);
    assert.equal(header(other, 'vary'), 'origin');
  });

  it('refuses to build with an origin that is not one', async () => {
    await assert.rejects(
      buildAndImport('cors-bad', testConfig({ endpoint: 'http://127.0.0.1:9' }, { cors_origins: ['https://app.example.com/'] })),
      /cors_origins/,
    );
  });
});
