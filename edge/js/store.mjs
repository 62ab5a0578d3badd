// Performs the store operation a `need_store` step describes: the DynamoDB
// request is built and signed in Rust (`dynamodb_request`), the reply is read
// in Rust (`dynamodb_interpret`); this module only moves bytes, with a timeout
// per attempt and retries with full-jitter backoff inside a total budget.
//
// Whatever happens, the result is a StoreReply for `resume`: when the budget
// runs out or the reply is not usable, `{"reply":"unavailable"}` (a 503),
// never an allow.

/**
 * The defaults are argued from the farthest a replica may be from its table:
 * Lambda@Edge runs in the region nearest the viewer's edge, the table sits in
 * one home region, and the longest published round trips between AWS regions
 * are about 330 ms (Singapore or Sydney to Sao Paulo, Frankfurt to Singapore;
 * public inter-region ping tables). A cold container's first call opens the
 * connection: TCP (1 round trip), TLS 1.2 (2), the request (1), so
 * COLD_ROUND_TRIPS at FARTHEST_RTT_MS plus CPU_MARGIN_MS for DNS, the TLS
 * handshake on a 128 MB replica's CPU share, and DynamoDB's own time.
 */
export const FARTHEST_RTT_MS = 330;
export const COLD_ROUND_TRIPS = 4;
export const CPU_MARGIN_MS = 400;
/** Per attempt: one cold call at the farthest distance (1720 ms) fits. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 1800;
/**
 * In total: two such attempts and the largest pause between them; leaves 1 s
 * of the 5 s viewer-request limit for the decision and the response.
 */
export const DEFAULT_BUDGET_MS = 4000;
/** The Lambda@Edge viewer-request limit (and origin-request's, for the function's Timeout: 5). */
export const LAMBDA_TIMEOUT_MS = 5000;
/** First backoff ceiling and the largest one (full jitter: sleep a random time below the ceiling). */
export const BACKOFF_BASE_MS = 25;
export const BACKOFF_CAP_MS = 400;
/** Largest budget a deployable bundle may bake in: the viewer-request limit is 5 s. */
export const MAX_DEPLOY_BUDGET_MS = 4500;
/** Largest budget at all (local runs and tests against a slow emulator may go past the Lambda limit). */
export const MAX_LOCAL_BUDGET_MS = 60000;
/** An attempt is not started with less than this much budget left. */
export const MIN_ATTEMPT_MS = 50;
/** Most attempts per decision, whatever the budget. */
export const MAX_ATTEMPTS = 5;

/** Remembered refusals (remembered.mjs): how long one is kept, and how many at most per container. */
export const DEFAULT_REMEMBER_TTL_MS = 60_000;
export const MAX_REMEMBER_TTL_MS = 600_000;
export const DEFAULT_REMEMBER_MAX = 1000;
export const MAX_REMEMBER_MAX = 100_000;

const UNAVAILABLE = Object.freeze({ reply: 'unavailable' });

/**
 * Store settings from the baked config, with defaults and bounds checked.
 * Throws a one-line error for an unusable one.
 */
export function storeSettings(store) {
  if (!store || typeof store.table !== 'string' || store.table === '') {
    throw new Error('store.table must be a non-empty string');
  }
  const attempt = store.attempt_timeout_ms ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  const budget = store.budget_ms ?? DEFAULT_BUDGET_MS;
  for (const [name, v] of [['attempt_timeout_ms', attempt], ['budget_ms', budget]]) {
    if (!Number.isInteger(v) || v < MIN_ATTEMPT_MS || v > MAX_LOCAL_BUDGET_MS) {
      throw new Error(`store.${name} must be an integer from ${MIN_ATTEMPT_MS} to ${MAX_LOCAL_BUDGET_MS}`);
    }
  }
  if (attempt > budget) throw new Error('store.attempt_timeout_ms must not be more than store.budget_ms');
  const rememberTtlMs = store.remember_ttl_ms ?? DEFAULT_REMEMBER_TTL_MS;
  const rememberMax = store.remember_max ?? DEFAULT_REMEMBER_MAX;
  if (!Number.isInteger(rememberTtlMs) || rememberTtlMs < 0 || rememberTtlMs > MAX_REMEMBER_TTL_MS) {
    throw new Error(`store.remember_ttl_ms must be an integer from 0 (off) to ${MAX_REMEMBER_TTL_MS}`);
  }
  if (!Number.isInteger(rememberMax) || rememberMax < 1 || rememberMax > MAX_REMEMBER_MAX) {
    throw new Error(`store.remember_max must be an integer from 1 to ${MAX_REMEMBER_MAX}`);
  }
  if (store.events !== undefined && typeof store.events !== 'boolean') {
    throw new Error('store.events must be true or false');
  }
  const target = { table: store.table };
  if (store.endpoint !== undefined) target.endpoint = store.endpoint;
  return {
    target,
    targetJson: JSON.stringify(target),
    attemptTimeoutMs: attempt,
    budgetMs: budget,
    rememberTtlMs,
    rememberMax,
    events: store.events === true,
  };
}

/** Credentials from Lambda's reserved variables, as the signer takes them; null if absent. */
export function credentialsFrom(env) {
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) return null;
  const creds = { access_key_id: id, secret_access_key: secret };
  if (env.AWS_SESSION_TOKEN) creds.session_token = env.AWS_SESSION_TOKEN;
  return creds;
}

/**
 * Runs `op` against the store.
 *
 * deps: { wasm: {dynamodb_request, dynamodb_interpret}, settings (storeSettings),
 *         creds, fetch, nowMs(), random(), sleep(ms), after?(ms, fn) -> cancel(),
 *         deadlineMs?, event? }
 * `event` (a consume only): its drafted `link.used` (JSON), written by the
 * consume itself for the table's stream (events.mjs).
 * `deadlineMs` ends the budget (default: now + settings.budgetMs); a decision
 * that asks the store twice (a password guess) passes one deadline to both.
 * `after` arms an attempt's timeout (default: setTimeout), replaceable so a
 * simulated clock can run the timeouts too.
 * Returns { reply, attempts, latencyMs, error } where `reply` is StoreReply JSON
 * (an object) and `error` a short text (never a body, a key or a signature).
 */
export async function performStore(op, deps) {
  const { wasm, settings, creds, nowMs, random, sleep } = deps;
  const fetchImpl = deps.fetch;
  const after = deps.after ?? realTimer;
  const started = nowMs();
  const deadline = deps.deadlineMs ?? started + settings.budgetMs;
  const opJson = JSON.stringify(op);
  const done = (reply, attempts, error) => ({ reply, attempts, latencyMs: nowMs() - started, error });
  if (!creds) return done(UNAVAILABLE, 0, 'no AWS credentials in the environment');
  const credsJson = JSON.stringify(creds);

  let attempts = 0;
  let lastError = 'no attempt fit in the budget';
  while (attempts < MAX_ATTEMPTS) {
    const timeout = Math.min(settings.attemptTimeoutMs, deadline - nowMs());
    if (timeout < MIN_ATTEMPT_MS) break;
    attempts += 1;
    const request = JSON.parse(
      deps.event && op.kind === 'consume'
        ? wasm.dynamodb_consume_request(opJson, deps.event, settings.targetJson, credsJson, nowMs() / 1000)
        : wasm.dynamodb_request(opJson, settings.targetJson, credsJson, nowMs() / 1000),
    );
    const outcome = await attempt(fetchImpl, after, request, timeout);
    if (outcome.status !== undefined) {
      const verdict = JSON.parse(wasm.dynamodb_interpret(opJson, outcome.status, outcome.body));
      if (!verdict.retryable) {
        return done(verdict.reply ?? UNAVAILABLE, attempts, verdict.error ?? null);
      }
      lastError = verdict.error ?? `retryable answer (HTTP ${outcome.status})`;
    } else {
      lastError = outcome.error;
    }
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempts - 1));
    const pause = Math.floor(random() * ceiling);
    if (nowMs() + pause + MIN_ATTEMPT_MS > deadline) break;
    await sleep(pause);
  }
  return done(UNAVAILABLE, attempts, lastError);
}

/**
 * One HTTP exchange with a timeout that covers connecting, the headers and
 * the body. Returns {status, body} or {error}.
 */
async function attempt(fetchImpl, after, request, timeoutMs) {
  const controller = new AbortController();
  const cancel = after(timeoutMs, () => controller.abort());
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers.filter(([name]) => !SET_BY_FETCH.has(name.toLowerCase())),
      body: request.body,
      signal: controller.signal,
    });
    const body = await response.text();
    return { status: response.status, body };
  } catch (err) {
    if (controller.signal.aborted) return { error: `timed out after ${timeoutMs} ms` };
    return { error: `transport: ${oneLine(err)}` };
  } finally {
    cancel();
  }
}

function realTimer(ms, fn) {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}

/** Headers fetch derives from the URL and body itself (and refuses to take from us). */
const SET_BY_FETCH = new Set(['host', 'content-length']);

function oneLine(err) {
  const cause = err?.cause?.code ?? err?.cause?.message;
  const text = `${err?.message ?? err}${cause ? ` (${cause})` : ''}`;
  return text.replace(/\s+/g, ' ').slice(0, 200);
}
