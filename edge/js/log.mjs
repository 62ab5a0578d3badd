// One JSON line per decision. Fields are chosen, never copied from the
// request: no token, signature, key or fingerprint can reach a log line.

let sink = (line) => console.log(line);

/** Replaces where log lines go (tests, the local emulator). Returns the previous sink. */
export function setLogSink(fn) {
  const previous = sink;
  sink = fn;
  return previous;
}

/**
 * Writes the decision line:
 * { msg: "oncelink.decision", request_id, outcome: "allow"|"answer"|"deny", allow, used, reason, status,
 *   id_hash, store_ms, attempts, remembered?, store_error?, error? }
 * `remembered: true` marks a refusal answered from the container's memory of
 * revoked and used-up links without a store call (remembered.mjs); count them
 * with CloudWatch Logs Insights: `filter remembered | stats count(*)`.
 */
export function logDecision(fields) {
  const line = {
    msg: 'oncelink.decision',
    request_id: fields.requestId ?? null,
    outcome: fields.outcome,
    allow: fields.allow ?? null,
    used: fields.used ?? null,
    reason: fields.reason ?? null,
    status: fields.status,
    id_hash: fields.idHash ?? null,
    store_ms: fields.storeMs ?? null,
    attempts: fields.attempts ?? 0,
  };
  if (fields.remembered) line.remembered = true;
  if (fields.storeError) line.store_error = fields.storeError;
  if (fields.error) line.error = fields.error;
  try {
    sink(JSON.stringify(line));
  } catch {
    // A failing sink must not turn a decision into an exception.
  }
}
