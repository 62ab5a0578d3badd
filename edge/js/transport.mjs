// The HTTP transport for store calls: a fetch-shaped function over node:http
// and node:https with one keep-alive agent per module, so a warm container
// reuses its TLS connection to DynamoDB from one invocation to the next
// instead of paying DNS, TCP and TLS again (3 extra round trips; from a far
// edge region that is most of the cost). Node's global fetch (undici) closes
// an idle connection after 4 s on its own timer, shorter than the gaps between
// requests of a quiet deployment; an Agent with keepAlive keeps it until the
// server closes it or IDLE_CLOSE_MS passes. The AWS SDK for JavaScript does
// the same ("Reuse connections with keep-alive in Node.js", SDK v3 Developer
// Guide). Only moves bytes: the request is built and signed by the core.
//
// node:http and node:https are imported at the first store call, not when the
// handler loads: compiling them is about 8 ms of a fresh process (Node compiles
// its own modules on first use), which a forged, expired or time-only request
// never needs to pay (docs/performance.md, "Issue 18, fourth session: cold start and size"). Each is imported
// once and its agent made once, so the connection is still kept per module.

import { builtin } from './builtin.mjs';

/** An idle connection is closed after this long (below common 60 s server idle limits). */
export const IDLE_CLOSE_MS = 55_000;

/** protocol -> Promise<{ lib, agent }>, filled at its first request. */
const transports = new Map();

function transportFor(protocol) {
  let transport = transports.get(protocol);
  if (!transport) {
    const loading = protocol === 'https:' ? builtin('node:https', () => import('node:https')) : builtin('node:http', () => import('node:http'));
    transport = loading.then((lib) => ({
      lib,
      agent: new lib.Agent({ keepAlive: true, maxSockets: 16, timeout: IDLE_CLOSE_MS }),
    }));
    transports.set(protocol, transport);
  }
  return transport;
}

/**
 * fetch(url, { method, headers: [[name, value]...], body, signal }) ->
 * Promise<{ status, text() }>, the subset of fetch the store uses. Rejects on
 * a transport error or when `signal` aborts.
 */
export async function keepAliveFetch(url, init = {}) {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new Error(`unsupported protocol ${target.protocol}`);
  }
  const { lib, agent } = await transportFor(target.protocol);
  return new Promise((resolve, reject) => {
    const body = init.body === undefined || init.body === null ? null : Buffer.from(init.body);
    const headers = {};
    for (const [name, value] of init.headers ?? []) headers[name] = value;
    if (body) headers['content-length'] = String(body.length);
    const request = lib.request(target, { method: init.method ?? 'GET', headers, agent });
    const abort = () => request.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    request.on('error', (err) => {
      init.signal?.removeEventListener('abort', abort);
      reject(err);
    });
    if (init.signal) {
      if (init.signal.aborted) {
        abort();
        return;
      }
      init.signal.addEventListener('abort', abort, { once: true });
    }
    request.on('response', (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        init.signal?.removeEventListener('abort', abort);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode, text: async () => text });
      });
    });
    request.end(body ?? undefined);
  });
}
