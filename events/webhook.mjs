// Standard Webhooks (https://www.standardwebhooks.com) signing and one
// delivery attempt, with node:crypto and fetch. docs/events.md, "Webhooks".

import { createHmac } from 'node:crypto';

/** The secret's key bytes: base64 after `whsec_`. Throws on anything else. */
export function secretKey(secret) {
  const text = String(secret).trim();
  if (!text.startsWith('whsec_')) throw new Error('the webhook secret must start with whsec_');
  const key = Buffer.from(text.slice(6), 'base64');
  if (key.length < 16) throw new Error('the webhook secret is too short (at least 16 bytes of key)');
  return key;
}

/** `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`. */
export function sign(key, id, timestamp, body) {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/**
 * POSTs `body` to `url` signed with `key` under `id`, within `timeoutMs`.
 * Resolves { ok, status?, error? }; never rejects. Any 2xx is delivered.
 */
export async function deliver({ url, key, id, body, nowMs, fetch = globalThis.fetch, timeoutMs }) {
  const timestamp = String(Math.floor(nowMs() / 1000));
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': sign(key, id, timestamp, body),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
    });
    await response.arrayBuffer().catch(() => null);
    return response.status >= 200 && response.status < 300 ? { ok: true, status: response.status } : { ok: false, status: response.status };
  } catch (err) {
    return { ok: false, error: err?.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : 'transport error' };
  }
}
