// Per-container memory of refusals that cannot change: the exact answer the
// core gave after the store said a link is revoked, or used up for this
// client. A repeat is answered with that answer again, without the store
// write a consume costs (a leaked, used-up link would otherwise cost one
// conditional UpdateItem per request, billed by record size, and throttle its
// partition into 503s instead of 410s).
//
// Safe because those store states never go back (docs/dynamodb.md): a record
// is never un-revoked, `used` never falls, and with `used >= n` this client's
// last use never moves, so the core's answer for the same request shape only
// stays what it was:
// - revoked is refused first whatever the request (decide.rs judge), so it is
//   remembered per token id and answer format (html);
// - used up is refused unless the request is this client's resume inside the
//   grace window, so it is remembered per id, client fingerprint, operation
//   kind and format, and only for links without a lock limit (on a
//   deployment that locks password links, a locked used-up record answers
//   locked, not used_up, to a later request). A used-up record counts no
//   guess (docs/page-mode.md), so a throttled password link stays used up.
// The core still decides every first answer; this only replays it. Entries
// expire after `ttlMs` and the map holds at most `maxEntries` (oldest out).

/** Reasons whose store state never goes back (edge/src/error.rs codes). */
const FINAL_REASONS = new Set(['revoked', 'used_up']);

export class Remembered {
  constructor({ ttlMs, maxEntries }) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
    this.entries = new Map();
  }

  /** The keys a pending decision is remembered under, most general first. */
  static keys(pending) {
    const op = pending?.op;
    if (!op || typeof op.id !== 'string') return [];
    const format = pending.html ? 'html' : 'json';
    const keys = [`revoked ${op.id} ${format}`];
    if (pending.max_failures === undefined || pending.max_failures === null) {
      keys.push(`used_up ${op.id} ${op.fp} ${op.kind} ${format}`);
    }
    return keys;
  }

  /** The remembered `respond` step for this pending decision, or null. */
  recall(pending, nowMs) {
    if (this.ttlMs <= 0) return null;
    for (const key of Remembered.keys(pending)) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      if (entry.until <= nowMs) {
        this.entries.delete(key);
        continue;
      }
      return entry.step;
    }
    return null;
  }

  /** Remembers `step` (a `respond` the core gave after the store answered), if final. */
  remember(pending, step, nowMs) {
    if (this.ttlMs <= 0 || step?.step !== 'respond' || !FINAL_REASONS.has(step.reason)) return;
    const key = Remembered.keys(pending).find((k) => k.startsWith(`${step.reason} `));
    if (!key) return;
    this.entries.delete(key);
    this.entries.set(key, { step, until: nowMs + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value);
    }
  }

  get size() {
    return this.entries.size;
  }
}
