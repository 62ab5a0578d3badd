// CloudFront viewer-request events for tests, shaped like the AWS
// documentation's sample (edge/fixtures/cloudfront/viewer-request.json).

let counter = 0;

/**
 * The `body` of an event as CloudFront's "include body" option sends it:
 * base64 of the bytes, `inputTruncated` when CloudFront cut it.
 */
export function includeBody(text, { truncated = false } = {}) {
  return { inputTruncated: truncated, action: 'read-only', encoding: 'base64', data: Buffer.from(text, 'utf8').toString('base64') };
}

/**
 * An event for a request given as the core sees it:
 * { method, path, query, headers: {name: value}, ip, body }, where `body` is
 * form text (sent as "include body" base64) or an event body object as is.
 */
export function viewerEvent({ method = 'GET', path = '/', query = '', headers = {}, ip = '203.0.113.178', body }) {
  const cfHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    (cfHeaders[name.toLowerCase()] ??= []).push({ key: name, value });
  }
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'viewer-request',
            requestId: `test-${process.pid}-${counter++}`,
          },
          request: {
            clientIp: ip,
            headers: cfHeaders,
            method,
            querystring: query,
            uri: path,
            ...(body === undefined ? {} : { body: typeof body === 'string' ? includeBody(body) : body }),
          },
        },
      },
    ],
  };
}

/** The reason code of a generated response (its x-oncelink-reason header), or null for a forward. */
export function reasonOf(result) {
  return result?.headers?.['x-oncelink-reason']?.[0]?.value ?? null;
}

/** Whether the handler let the request through (it returned a request, not a response). */
export function isForward(result) {
  return result && typeof result.uri === 'string' && result.status === undefined;
}
