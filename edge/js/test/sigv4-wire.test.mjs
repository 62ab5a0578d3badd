// The signed DynamoDB request as it arrives on the wire, after the handler's
// fetch, checked against an independent SigV4 signer (@smithy/signature-v4,
// the AWS SDK v3's own): re-signing exactly the headers the Authorization
// header names must give the same signature. Catches any header or body the
// JS transport would change after Rust signed it. (The signer itself is
// checked against the AWS test suite and botocore in the Rust tests.)

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { buildAndImport, mint, testConfig } from './support/bundle.mjs';
import { viewerEvent } from './support/events.mjs';

const ENV = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'FwoGZXIvYXdzEBYaDExampleSessionToken/with+base64==' };
/** SHA-256 / HMAC-SHA256 in the shape smithy's signer takes (the canonicalisation is smithy's). */
class NodeSha256 {
  constructor(secret) {
    this.hash = secret ? createHmac('sha256', Buffer.from(secret)) : createHash('sha256');
  }
  update(data) {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

let server;
let port;
let received;
let bundle;

before(async () => {
  server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    received = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ Attributes: { used: { N: '1' } } }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  port = server.address().port;
  bundle = await buildAndImport('sigv4', testConfig({ endpoint: `http://127.0.0.1:${port}` }));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** The signature an independent signer computes for the received request. */
async function independentSignature(req, region) {
  const auth = req.headers.authorization;
  const signedNames = /SignedHeaders=([^,]+)/.exec(auth)[1].split(';');
  const headers = Object.fromEntries(signedNames.map((name) => [name, req.headers[name]]));
  const amzDate = req.headers['x-amz-date'];
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const signer = new SignatureV4({
    service: 'dynamodb',
    region,
    credentials: { accessKeyId: ENV.AWS_ACCESS_KEY_ID, secretAccessKey: ENV.AWS_SECRET_ACCESS_KEY, sessionToken: ENV.AWS_SESSION_TOKEN },
    sha256: NodeSha256,
    applyChecksum: false, // DynamoDB does not use x-amz-content-sha256; smithy adds it by default
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname: '127.0.0.1', port, path: req.url, query: {}, headers, body: req.body },
    { signingDate },
  );
  assert.equal(/SignedHeaders=([^,]+)/.exec(signed.headers.authorization)[1], signedNames.join(';'), 'both sign the same headers');
  return { ours: /Signature=([0-9a-f]{64})/.exec(auth)[1], theirs: /Signature=([0-9a-f]{64})/.exec(signed.headers.authorization)[1], signedNames, auth };
}

describe('SigV4 on the wire', () => {
  for (const [label, claims] of [['consume (UpdateItem)', {}], ['resume (GetItem)', { range: true }], ['another home region', { r: 'eu-west-1' }]]) {
    it(`${label}: an independent signer agrees with the Authorization header as received`, async () => {
      const { range, ...extra } = claims;
      const token = mint(bundle.mod, bundle.config, { p: '/f', exp: Math.floor(Date.now() / 1000) + 600, n: 2, ...extra });
      const handler = bundle.mod.createHandler({ env: ENV });
      received = null;
      await handler(viewerEvent({ path: '/f', query: `t=${token}`, headers: { 'user-agent': 'sig', ...(range ? { range: 'bytes=10-' } : {}) } }));
      assert.ok(received, 'the store was called');
      const region = extra.r ?? 'us-east-1';
      const { ours, theirs, signedNames, auth } = await independentSignature(received, region);
      assert.match(auth, new RegExp(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\\d{8}/${region}/dynamodb/aws4_request, `));
      for (const name of ['host', 'x-amz-date', 'x-amz-target', 'x-amz-security-token']) assert.ok(signedNames.includes(name), `${name} is signed`);
      assert.equal(received.headers['x-amz-security-token'], ENV.AWS_SESSION_TOKEN);
      assert.equal(ours, theirs);
    });
  }

  it('a changed body no longer verifies (the comparison can fail)', async () => {
    const { ours, theirs } = await independentSignature({ ...received, body: received.body.replace('"TableName"', '"TableName" ') }, 'us-east-1');
    assert.notEqual(ours, theirs);
  });
});
