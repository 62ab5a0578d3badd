// The request handler, independent of how the wasm and the config got here
// (the bundle entry, handler.mjs, wires those in). It runs on viewer-request,
// or on origin-request in the prefilter edge mode (docs/cloudfront-functions.md):
// both events carry the same request object (origin-request adds `origin`,
// which is returned untouched), and a generated response has the same shape;
// the 40 KB viewer-request limit on it is kept for both (origin-request allows more).
//
// CloudFront event -> core request -> decide -> [store call -> resume] ->
// the forwarded request or the generated response. All policy is in the core;
// this file maps shapes, performs I/O and logs. Any exception becomes a 503
// `store_unavailable`: the edge never fails open.

import {
  applyForward,
  fallbackUnavailable,
  generatedResponseBytes,
  MAX_GENERATED_RESPONSE_BYTES,
  toCloudFrontResponse,
  toCoreRequest,
  viewerRecord,
} from './cloudfront.mjs';
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
/** Store calls one decision may make: a password guess makes two (guard, attempt). */
const MAX_STORE_CALLS = 2;

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
      if (step.step === 'need_store') {
        const { pending } = step;
        idHash = pending?.id_hash ?? null;
        const recalled = remembered.recall(pending, io.nowMs());
        if (recalled) {
          step = recalled;
          fromMemory = true;
        } else {
          // The core may ask again after a reply (a password guess: the
          // guard read, then the attempt); the host only loops, within one
          // store budget for the whole decision.
          const deadlineMs = io.nowMs() + settings.budgetMs;
          const creds = credentialsFrom(env);
          store = { latencyMs: 0, attempts: 0, error: null };
          for (let calls = 0; step.step === 'need_store'; calls += 1) {
            if (calls === MAX_STORE_CALLS) throw new Error('core asked the store more often than a decision needs');
            const call = await performStore(step.op, { wasm, settings, creds, ...io, deadlineMs });
            store = { latencyMs: store.latencyMs + call.latencyMs, attempts: store.attempts + call.attempts, error: call.error ?? store.error };
            step = JSON.parse(validator.resume(JSON.stringify(step.pending), JSON.stringify(call.reply)));
          }
          remembered.remember(pending, step, io.nowMs());
        }
      }
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


function oneLine(err) {
  return String(err?.message ?? err).replace(/\s+/g, ' ').slice(0, 300);
}
