// The events Lambda (docs/events.md, "On AWS"), independent of how its wasm
// and environment got here (index.mjs wires those in). Two triggers:
//
// - the token table's DynamoDB stream (NEW_AND_OLD_IMAGES): each record is
//   read into its events by the core (wasm `stream_events`: the same
//   payloads every host builds), each event is kept in the audit table, then
//   POSTed signed to every receiver once; a failed delivery goes to the
//   retry queue, so a dead receiver never holds up the stream's shard;
// - the retry queue (SQS): one delivery attempt per message; on failure the
//   message is sent again with a doubled delay (SQS allows at most 15 min),
//   until the event is older than the give-up age, then to the dead-letter
//   queue. The same `webhook-id` on every attempt.
//
// A stream record whose audit write or retry enqueue fails is reported as
// the batch's failure (ReportBatchItemFailures): the event source mapping
// retries from it (at least once; the receivers de-duplicate on
// webhook-id), and after its retries sends it to its on-failure queue.

import { deliver, secretKey } from './webhook.mjs';

/** SQS's largest message delay. */
export const SQS_MAX_DELAY_S = 900;
/** How long the decrypted secret is kept in a warm container. */
export const SECRET_TTL_MS = 300_000;

/** Settings from the environment; throws one line for an unusable one. */
export function eventsSettings(env) {
  const int = (name, fallback, min, max) => {
    const raw = env[name];
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer from ${min} to ${max}`);
    return v;
  };
  const table = env.ONCELINK_EVENTS_TABLE;
  if (!table) throw new Error('ONCELINK_EVENTS_TABLE must name the audit table');
  const urls = (env.ONCELINK_WEBHOOK_URLS ?? '').split(/[\s,]+/).filter(Boolean);
  for (const u of urls) {
    if (!/^https?:\/\/[^\s]+$/.test(u)) throw new Error('ONCELINK_WEBHOOK_URLS must be http(s) URLs');
  }
  if (urls.length > 0 && !env.ONCELINK_WEBHOOK_SECRET_PARAMETER) {
    throw new Error('ONCELINK_WEBHOOK_SECRET_PARAMETER must name the SSM SecureString holding the whsec_ secret');
  }
  if (urls.length > 0 && (!env.ONCELINK_RETRY_QUEUE_URL || !env.ONCELINK_DEAD_LETTER_QUEUE_URL)) {
    throw new Error('ONCELINK_RETRY_QUEUE_URL and ONCELINK_DEAD_LETTER_QUEUE_URL must be set with webhooks');
  }
  const retryMaxS = int('ONCELINK_RETRY_MAX_S', SQS_MAX_DELAY_S, 0, SQS_MAX_DELAY_S);
  return {
    table,
    urls,
    secretParameter: env.ONCELINK_WEBHOOK_SECRET_PARAMETER ?? null,
    retryQueueUrl: env.ONCELINK_RETRY_QUEUE_URL ?? null,
    deadLetterQueueUrl: env.ONCELINK_DEAD_LETTER_QUEUE_URL ?? null,
    retentionS: int('ONCELINK_RETENTION_DAYS', 90, 1, 3650) * 86_400,
    timeoutMs: int('ONCELINK_WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    retryFirstS: int('ONCELINK_RETRY_FIRST_S', 5, 0, retryMaxS),
    retryMaxS,
    giveUpAfterS: int('ONCELINK_GIVE_UP_AFTER_S', 86_400, 0, 14 * 86_400),
  };
}

/** The delay before attempt `attempts + 1`: first, doubling, at most max. */
export function backoffS(settings, attempts) {
  return Math.min(settings.retryMaxS, settings.retryFirstS * 2 ** Math.min(attempts - 1, 20));
}

/**
 * Builds `handler(event)`.
 * options: { wasm: { stream_events }, aws: (service, action, input) -> Promise<answer>,
 *            env, fetch?, nowMs?, log?(object) }
 */
export function createEventsHandler({ wasm, aws, env, fetch = globalThis.fetch, nowMs = Date.now, log = defaultLog }) {
  const settings = eventsSettings(env);
  let secret = null;

  async function key() {
    if (secret === null || nowMs() - secret.at > SECRET_TTL_MS) {
      const out = await aws('ssm', 'GetParameter', { Name: settings.secretParameter, WithDecryption: true });
      secret = { key: secretKey(out?.Parameter?.Value ?? ''), at: nowMs() };
    }
    return secret.key;
  }

  const keep = (e) =>
    aws('dynamodb', 'PutItem', {
      TableName: settings.table,
      Item: {
        id: { S: e.id },
        seq: { N: String(e.seq) },
        at: { N: String(e.at) },
        expire_at: { N: String(e.keep_until) },
        webhook_id: { S: e.webhook_id },
        event: { S: e.body },
      },
    });

  const enqueue = (message, attempts, queueUrl = settings.retryQueueUrl) =>
    aws('sqs', 'SendMessage', {
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ ...message, attempts }),
      ...(queueUrl === settings.retryQueueUrl ? { DelaySeconds: backoffS(settings, attempts) } : {}),
    });

  const attempt = async (message) =>
    deliver({ url: message.url, key: await key(), id: message.webhook_id, body: message.body, nowMs, fetch, timeoutMs: settings.timeoutMs });

  /** Sends one record's events to every receiver; failures go to the retry queue. */
  async function send(events) {
    await Promise.all(
      settings.urls.map(async (url) => {
        let down = false;
        for (const e of events) {
          const message = { url, webhook_id: e.webhook_id, body: e.body, at: e.at };
          // One failure per receiver and record is enough to know it is down: queue the rest untried.
          const result = down ? { ok: false, error: 'receiver failed earlier in this record' } : await attempt(message);
          if (result.ok) continue;
          down = true;
          log({ msg: 'oncelink.webhook_retry', receiver: shown(url), webhook_id: e.webhook_id, attempts: 1, status: result.status ?? null, error: result.error ?? null });
          await enqueue(message, 1);
        }
      }),
    );
  }

  async function streamBatch(records) {
    for (const record of records) {
      let events;
      try {
        events = JSON.parse(wasm.stream_events(JSON.stringify(record), settings.retentionS));
      } catch (err) {
        // Retrying a record of another shape cannot help: log it and go on.
        log({ msg: 'oncelink.stream_record_skipped', error: String(err?.message ?? err).slice(0, 200) });
        continue;
      }
      try {
        for (const e of events) await keep(e);
        if (settings.urls.length > 0 && events.length > 0) await send(events);
      } catch (err) {
        log({ msg: 'oncelink.stream_record_failed', error: String(err?.message ?? err).slice(0, 200) });
        // The mapping retries from this record (the ones before it are done).
        return { batchItemFailures: [{ itemIdentifier: record.dynamodb?.SequenceNumber }] };
      }
    }
    return { batchItemFailures: [] };
  }

  async function retryBatch(records) {
    const failures = [];
    await Promise.all(
      records.map(async (record) => {
        try {
          const { attempts, ...message } = JSON.parse(record.body);
          const result = await attempt(message);
          if (result.ok) return;
          const status = result.status ?? null;
          if (Math.floor(nowMs() / 1000) - message.at >= settings.giveUpAfterS) {
            log({ msg: 'oncelink.webhook_gave_up', receiver: shown(message.url), webhook_id: message.webhook_id, attempts, status });
            await enqueue(message, attempts, settings.deadLetterQueueUrl);
            return;
          }
          log({ msg: 'oncelink.webhook_retry', receiver: shown(message.url), webhook_id: message.webhook_id, attempts: attempts + 1, status, error: result.error ?? null });
          await enqueue(message, attempts + 1);
        } catch (err) {
          log({ msg: 'oncelink.webhook_retry_failed', error: String(err?.message ?? err).slice(0, 200) });
          failures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures: failures };
  }

  return async function handler(event) {
    const records = Array.isArray(event?.Records) ? event.Records : [];
    if (records[0]?.eventSource === 'aws:sqs') return retryBatch(records);
    return streamBatch(records);
  };
}

/** A receiver as logged: scheme, host and port only (a path may hold a token). */
function shown(url) {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}

function defaultLog(fields) {
  console.log(JSON.stringify(fields));
}
