// Signed calls to AWS's JSON protocols (DynamoDB, SQS, SSM) for the events
// Lambda: SigV4 by @smithy/signature-v4 (bundled, pinned), node:crypto for
// the hashes, fetch with a timeout. Nothing else: the requests' meaning is
// in lambda.mjs.

import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** The JSON protocol of each service: content type, target prefix, endpoint prefix, signing name. */
const PROTOCOLS = {
  dynamodb: ['application/x-amz-json-1.0', 'DynamoDB_20120810', 'dynamodb', 'dynamodb'],
  // Read by the tests (and tools) only: the Lambda gets its records from the event source mapping.
  streams: ['application/x-amz-json-1.0', 'DynamoDBStreams_20120810', 'streams.dynamodb', 'dynamodb'],
  sqs: ['application/x-amz-json-1.0', 'AmazonSQS', 'sqs', 'sqs'],
  ssm: ['application/x-amz-json-1.1', 'AmazonSSM', 'ssm', 'ssm'],
};

class Sha256 {
  constructor(secret) {
    this.hash = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data) {
    this.hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

/** A call failed: `status` (HTTP, or 0 for transport) and AWS's error type only. */
export class AwsError extends Error {
  constructor(service, action, status, type) {
    super(`${service} ${action}: ${status ? `HTTP ${status}` : 'no answer'}${type ? ` ${type}` : ''}`);
    this.status = status;
    this.type = type;
  }
}

/**
 * aws(service, action, input) -> parsed JSON answer; throws AwsError.
 * env: { AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN?, AWS_ENDPOINT_URL? }
 */
export function awsClient(env, { fetch = globalThis.fetch, timeoutMs = 5000 } = {}) {
  const region = env.AWS_REGION;
  const credentials = {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
  return async function aws(service, action, input) {
    const [contentType, prefix, host, signingName] = PROTOCOLS[service];
    const url = new URL(env.AWS_ENDPOINT_URL ?? `https://${host}.${region}.amazonaws.com`);
    const body = JSON.stringify(input);
    const signer = new SignatureV4({ service: signingName, region, credentials, sha256: Sha256 });
    const signed = await signer.sign({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': contentType, 'x-amz-target': `${prefix}.${action}` },
      body,
    });
    const headers = { ...signed.headers };
    delete headers.host;
    let response;
    try {
      response = await fetch(url.href, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw new AwsError(service, action, 0, null);
    }
    const text = await response.text();
    if (response.status !== 200) {
      let type = null;
      try {
        type = String(JSON.parse(text).__type ?? '').split('#').pop().slice(0, 80) || null;
      } catch {
        // Not JSON: the status says enough.
      }
      throw new AwsError(service, action, response.status, type);
    }
    return text === '' ? {} : JSON.parse(text);
  };
}
