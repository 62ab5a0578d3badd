// CloudFront viewer-request events <-> the core's JSON shapes.
//
// Only moves fields between formats; every decision is the core's. Formats as
// AWS documents them ("Lambda@Edge event structure" and "Generate HTTP
// responses in request triggers", CloudFront Developer Guide): header maps keyed
// by lowercase name, each a list of {key, value}; a generated response has
// `status` as a string.

/** Largest generated viewer-request response (headers + body), bytes. */
export const MAX_GENERATED_RESPONSE_BYTES = 40 * 1024;

/** Header that names the reason code of a generated response, for logs and tools. */
export const REASON_HEADER = 'x-oncelink-reason';

const STATUS_TEXT = {
  200: 'OK',
  303: 'See Other',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  410: 'Gone',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/**
 * The viewer-request record of a CloudFront event: `{ config, request }`.
 * Throws a one-line error if the event is not of that shape.
 */
export function viewerRecord(event) {
  const cf = event?.Records?.[0]?.cf;
  if (!cf || typeof cf !== 'object' || !cf.request || typeof cf.request !== 'object') {
    throw new Error('event is not a CloudFront viewer-request event (no Records[0].cf.request)');
  }
  return { config: cf.config ?? {}, request: cf.request };
}

/** Largest form body the core reads (request.rs `MAX_FORM_BYTES`), bytes. */
export const MAX_FORM_BYTES = 4096;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A body the core is told it cannot read (edge/src/decide.rs `Unreadable`): it answers 400 `bad_form`. */
const unreadable = (why) => ({ unreadable: why });

/**
 * The core's Body for a CloudFront request body (the trigger's "include body"
 * option): `{ inputTruncated, action, encoding: 'base64'|'text', data }`,
 * given when the core asks (`need_body`). An absent body (the option is off,
 * or the viewer sent none) is the empty form `{ read: '' }`; a truncated,
 * undecodable, non-UTF-8 or too long one is `{ unreadable: why }`, never a
 * shortened or repaired text: a cut or patched password must not be checked
 * as if it were the one sent.
 */
export function coreBody(cfBody) {
  if (cfBody === undefined || cfBody === null) return { read: '' };
  if (typeof cfBody !== 'object') return unreadable('bad_encoding');
  if (cfBody.inputTruncated === true) return unreadable('truncated');
  const data = cfBody.data ?? '';
  if (typeof data !== 'string') return unreadable('bad_encoding');
  let text;
  if (cfBody.encoding === 'text') {
    text = data;
  } else if (cfBody.encoding !== 'base64' && cfBody.encoding !== undefined) {
    return unreadable('bad_encoding');
  } else {
    // CloudFront's default encoding is base64. Buffer.from skips characters
    // outside the alphabet, so check the text is canonical base64 first.
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) return unreadable('bad_encoding');
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length > MAX_FORM_BYTES) return unreadable('too_large');
    try {
      text = utf8.decode(bytes);
    } catch {
      return unreadable('not_utf8');
    }
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_FORM_BYTES) return unreadable('too_large');
  return { read: text };
}

/**
 * The core's Request JSON for a CloudFront request: the raw uri as path, the
 * querystring as received, headers flattened to lowercase name -> values
 * joined with ", ", the client address. A POST's body is given only when the
 * core asks for it (`coreBody`).
 */
export function toCoreRequest(cfRequest) {
  const headers = {};
  for (const [name, entries] of Object.entries(cfRequest.headers ?? {})) {
    if (!Array.isArray(entries)) continue;
    const values = entries.map((e) => String(e?.value ?? ''));
    const lower = name.toLowerCase();
    headers[lower] = lower in headers ? `${headers[lower]}, ${values.join(', ')}` : values.join(', ');
  }
  return {
    method: String(cfRequest.method ?? ''),
    path: String(cfRequest.uri ?? ''),
    query: String(cfRequest.querystring ?? ''),
    headers,
    ip: String(cfRequest.clientIp ?? ''),
  };
}

/** `content-type` -> `Content-Type`: the `key` CloudFront sends on the wire. */
export function canonicalHeaderName(name) {
  return name
    .split('-')
    .map((part) => (part ? part[0].toUpperCase() + part.slice(1) : part))
    .join('-');
}

/**
 * The CloudFront request to send on, for a `forward` step: the querystring the
 * core computed (token removed), its headers set and removed. Mutates and
 * returns `cfRequest`, as Lambda@Edge expects.
 */
export function applyForward(cfRequest, step) {
  cfRequest.querystring = step.query;
  cfRequest.headers = cfRequest.headers ?? {};
  for (const name of step.remove_headers ?? []) {
    delete cfRequest.headers[name.toLowerCase()];
  }
  for (const [name, value] of step.set_headers ?? []) {
    const lower = name.toLowerCase();
    cfRequest.headers[lower] = [{ key: canonicalHeaderName(lower), value }];
  }
  return cfRequest;
}

/** Adds one header to a CloudFront header map (lowercase key, list of {key, value}). */
function addHeader(headers, name, value) {
  const lower = name.toLowerCase();
  (headers[lower] ??= []).push({ key: canonicalHeaderName(lower), value });
}

/**
 * The generated CloudFront response for a `respond` step (status, reason,
 * headers as [name, value] pairs, body).
 */
export function toCloudFrontResponse(step) {
  const headers = {};
  for (const [name, value] of step.headers ?? []) addHeader(headers, name, value);
  addHeader(headers, REASON_HEADER, step.reason);
  return {
    status: String(step.status),
    statusDescription: STATUS_TEXT[step.status] ?? 'Error',
    headers,
    bodyEncoding: 'text',
    body: step.body ?? '',
  };
}

/** Size in bytes of a generated response as CloudFront counts it (headers + body). */
export function generatedResponseBytes(response) {
  let size = Buffer.byteLength(response.body ?? '', 'utf8');
  for (const entries of Object.values(response.headers ?? {})) {
    for (const { key, value } of entries) size += Buffer.byteLength(`${key}: ${value}\r\n`, 'utf8');
  }
  return size;
}

/**
 * The last-resort answer when anything throws (a broken event, a wasm trap, a
 * bug): 503 `store_unavailable` with Retry-After, never an allow. Built here
 * without the core, because the core may be what failed.
 */
export function fallbackUnavailable() {
  const body = JSON.stringify({
    error: 'store_unavailable',
    message: 'The service is temporarily unavailable. Try again shortly.',
  });
  return toCloudFrontResponse({
    status: 503,
    reason: 'store_unavailable',
    headers: [
      ['content-type', 'application/json'],
      ['cache-control', 'no-store'],
      ['x-content-type-options', 'nosniff'],
      ['retry-after', '2'],
    ],
    body,
  });
}
