// The request handler, independent of how the wasm and the config got here
// (the bundle entry, handler.mjs, wires those in). It runs on viewer-request,
// or on origin-request in the prefilter edge mode (docs/cloudfront-functions.md):
// both events carry the same request object (origin-request adds `origin`,
// which is returned untouched), and a generated response has the same shape;
// the 40 KB viewer-request limit on it is kept for both (origin-request allows more).
//
// CloudFront event -> core request -> decide -> [answer what the core asks:
// the body (from the event), the store (DynamoDB)] -> the forwarded request or
// the generated response. All policy is in the core;
// this file maps shapes, performs I/O and logs. Any exception becomes a 503
// `store_unavailable`: the edge never fails open.

import {
  applyForward,
  coreBody,
  fallbackUnavailable,
  generatedResponseBytes,
  MAX_GENERATED_RESPONSE_BYTES,
  toCloudFrontResponse,
  toCoreRequest,
  viewerRecord,
} from './cloudfront.mjs';
import { draftOf, eventNote, writeNote } from './events.mjs';
import { logDecision } from './log.mjs';
import { Remembered } from './remembered.mjs';
import { credentialsFrom, performStore, storeSettings } from './store.mjs';
import { keepAliveFetch } from './transport.mjs';

/**
 * Methods the edge ever lets through to the origin. A POST (the download
 * page's button) is always answered at the edge; if the core ever said
 * `forward` for anything else, the handler answers 503 instead (fail closed).
 */
const FORWARDABLE_METHODS = Object.freeze(['GET', 'HEAD']);
/**
 * Asks one decision may make (edge/src/decide.rs `MAX_STEPS`): the body, the
 * file's size, a password guess's guard and attempt. A core asking more is
 * answered 503.
 */
const MAX_STEPS = 4;

/**
 * Builds `handler(event)`.
 *
 * options:
 *   wasm:   { Validator, dynamodb_request, dynamodb_interpret } (the initialised wasm module)
 *   config: { validator: <ConfigFile>, store: { table, endpoint?, attempt_timeout_ms?, budget_ms?,
 *             remember_ttl_ms?, remember_max? } }
 *   env:    where credentials are read, per invocation (default process.env)
 *   fetch, nowMs, random, sleep, after: I/O and clock, replaceable for tests and benchmarks
 *           (fetch defaults to the keep-alive transport, transport.mjs)
 *
 * A configuration the core refuses does not throw here: every request is then
 * answered 503 and the reason is logged, so a bad deploy fails closed.
 */
export function createHandler(options) {
  const { wasm, config } = options;
  const env = options.env ?? process.env;
  const io = {
    fetch: options.fetch ?? keepAliveFetch,
    nowMs: options.nowMs ?? Date.now,
    random: options.random ?? Math.random,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  };
  if (options.after) io.after = options.after;
  let validator = null;
  let settings = null;
  let remembered = null;
  let setupError = null;
  try {
    validator = new wasm.Validator(JSON.stringify(config.validator));
    settings = storeSettings(config.store);
    remembered = new Remembered({ ttlMs: settings.rememberTtlMs, maxEntries: settings.rememberMax });
  } catch (err) {
    setupError = `setup: ${oneLine(err)}`;
  }

  return async function handler(event) {
    let requestId = null;
    let idHash = null;
    let store = null;
    try {
      const record = viewerRecord(event);
      requestId = record.config.requestId ?? null;
      if (setupError) throw new Error(setupError);
      const request = toCoreRequest(record.request);
      const nowSeconds = Math.floor(io.nowMs() / 1000);
      let step = JSON.parse(validator.decide(JSON.stringify(request), nowSeconds));
      let fromMemory = false;
      let first = null;
      let deadlineMs = 0;
      let creds = null;
      // The host only answers what the core asks, a bounded number of times.
      for (let asks = 0; step.step.startsWith('need_'); asks += 1) {
        if (asks === MAX_STEPS) throw new Error('core asked more often than a decision needs');
        const { pending } = step;
        if (step.step === 'need_body') {
          // The body CloudFront included ("include body" on the trigger), or none.
          const body = coreBody(record.request.body);
          step = JSON.parse(validator.give_body(JSON.stringify(pending), JSON.stringify(body)));
        } else if (step.step === 'need_file_size') {
          // Asked only under ask_file_size, a setting for hosts that serve
          // files (origin-shim); the origin here is S3 or an HTTP server.
          throw new Error('core asked for a file size; ask_file_size is not for Lambda@Edge');
        } else if (step.step === 'need_store') {
          idHash = pending?.id_hash ?? null;
          if (first === null) {
            const recalled = remembered.recall(pending, io.nowMs());
            if (recalled) {
              step = recalled;
              fromMemory = true;
              break;
            }
            // One store budget for the whole decision (a guess: guard, then attempt).
            first = pending;
            deadlineMs = io.nowMs() + settings.budgetMs;
            creds = credentialsFrom(env);
            store = { latencyMs: 0, attempts: 0, error: null };
          }
          const event = settings.events && pending.op.kind === 'consume' ? draftOf(validator, request, nowSeconds) : undefined;
          const call = await performStore(pending.op, { wasm, settings, creds, ...io, deadlineMs, event });
          store = { latencyMs: store.latencyMs + call.latencyMs, attempts: store.attempts + call.attempts, error: call.error ?? store.error };
          step = JSON.parse(validator.resume(JSON.stringify(pending), JSON.stringify(call.reply)));
        } else {
          throw new Error(`core returned an unknown step ${JSON.stringify(step.step).slice(0, 40)}`);
        }
      }
      if (first !== null) remembered.remember(first, step, io.nowMs());
      if (settings.events && !fromMemory) await recordEvent(validator, request, step, nowSeconds, { wasm, settings, env, io, requestId });
      const common = {
        requestId,
        storeMs: store?.latencyMs,
        attempts: store?.attempts,
        storeError: store?.error,
        remembered: fromMemory,
      };
      if (step.step === 'forward') {
        if (!FORWARDABLE_METHODS.includes(request.method)) {
          throw new Error(`core forwarded a ${request.method.slice(0, 16)} request; only GET and HEAD ever reach the origin`);
        }
        logDecision({ ...common, outcome: 'allow', allow: step.allow, used: step.used, status: 200, idHash: step.id_hash });
        return applyForward(record.request, step);
      }
      if (step.step === 'respond') {
        const response = toCloudFrontResponse(step);
        if (generatedResponseBytes(response) > MAX_GENERATED_RESPONSE_BYTES) {
          throw new Error('generated response is over the 40 KB viewer-request limit');
        }
        // A page, a preview or page mode's 303 is the edge answering, not refusing.
        const outcome = step.status < 400 ? 'answer' : 'deny';
        logDecision({ ...common, outcome, reason: step.reason, status: step.status, idHash });
        return response;
      }
      throw new Error(`core returned an unknown step ${JSON.stringify(step.step)}`);
    } catch (err) {
      logDecision({
        requestId,
        outcome: 'deny',
        reason: 'store_unavailable',
        status: 503,
        idHash,
        storeMs: store?.latencyMs,
        attempts: store?.attempts,
        storeError: store?.error,
        error: oneLine(err),
      });
      return fallbackUnavailable();
    }
  };
}

/**
 * Link events (events.mjs): a refusal's note is written before the refusal
 * is answered (one more round trip, refusals only); a resume's is started
 * and not awaited. A counted use's was written by its consume. Never throws.
 */
async function recordEvent(validator, request, step, nowSeconds, { wasm, settings, env, io, requestId }) {
  try {
    const outcome = step.step === 'forward' ? (step.allow === 'resumed' ? 'resumed' : null) : step.status >= 400 ? { refused: step.reason } : null;
    if (outcome === null) return;
    const note = eventNote(validator, JSON.stringify(request), outcome, nowSeconds);
    if (note === null) return;
    const writing = writeNote(note, { wasm, settings, creds: credentialsFrom(env), ...io }, requestId);
    if (outcome !== 'resumed') await writing;
  } catch {
    // An event never changes the answer.
  }
}

function oneLine(err) {
  return String(err?.message ?? err).replace(/\s+/g, ' ').slice(0, 300);
}
