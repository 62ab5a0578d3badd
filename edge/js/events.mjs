// Link events on AWS (docs/events.md, "On AWS"): what the handler writes on
// the token's item so the table's stream carries every event to the events
// Lambda (events/). The core builds the payloads and the requests; this
// module only decides nothing and moves bytes.
//
// - A counted use: the consume itself writes its drafted `link.used`
//   (store.mjs, `event` on the consume), in the same conditional write.
// - A refusal of a genuine link: one more UpdateItem after the decision
//   (`ev_last`, counted in `ev_count`, at most EVENT_CAP per link), awaited
//   with one attempt and a timeout; it never changes the answer: a failed or
//   capped write is logged, the refusal stands.
// - A resume: the same write, started and not awaited, so a permitted
//   download never waits for it (best effort: a container frozen before the
//   write leaves may lose it).

let sink = (line) => console.log(line);

/** Replaces where event-write lines go (tests). Returns the previous sink. */
export function setEventLogSink(fn) {
  const previous = sink;
  sink = fn;
  return previous;
}

/**
 * The event note (`{id, region, event, expire_at}`) of `outcome` for the
 * request, or null when it makes no event (the core decides which do).
 * outcome: 'draft' | 'resumed' | { refused: CODE }.
 */
export function eventNote(validator, requestJson, outcome, nowSeconds) {
  const note = validator.event(requestJson, JSON.stringify(outcome), nowSeconds);
  return note === '' ? null : JSON.parse(note);
}

/**
 * The drafted `link.used` (JSON) a consume of `request` writes, or undefined
 * (not a use-limited genuine link, or the core could not draft it: the use
 * is then counted without its event, never refused for it).
 */
export function draftOf(validator, request, nowSeconds) {
  try {
    return eventNote(validator, JSON.stringify(request), 'draft', nowSeconds)?.event;
  } catch {
    return undefined;
  }
}

/**
 * Writes `note` on its link's item: one attempt within `timeoutMs`.
 * Resolves to 'written', 'capped' (the link's EVENT_CAP was reached; the
 * event is dropped) or 'failed'; never rejects, and logs anything but 'written'.
 * deps: { wasm, settings, creds, fetch, nowMs, after? }
 */
export async function writeNote(note, deps, requestId = null) {
  const { wasm, settings, creds } = deps;
  const started = deps.nowMs();
  let result = 'failed';
  let error = null;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.attemptTimeoutMs);
  timer.unref?.();
  try {
    if (!creds) throw new Error('no AWS credentials in the environment');
    const call = JSON.parse(wasm.dynamodb_note_request(JSON.stringify(note), settings.targetJson, JSON.stringify(creds), deps.nowMs() / 1000));
    const response = await deps.fetch(call.url, {
      method: call.method,
      headers: call.headers.filter(([name]) => !['host', 'content-length'].includes(name.toLowerCase())),
      body: call.body,
      signal: controller.signal,
    });
    const body = await response.text();
    if (response.status === 200) result = 'written';
    else if (response.status === 400 && body.includes('ConditionalCheckFailed')) result = 'capped';
    else error = `dynamodb answered HTTP ${response.status}`;
  } catch (err) {
    error = controller.signal.aborted ? `timed out after ${settings.attemptTimeoutMs} ms` : String(err?.message ?? err).slice(0, 200);
  } finally {
    clearTimeout(timer);
  }
  if (result !== 'written') {
    const line = { msg: 'oncelink.event_write', request_id: requestId, result, type: typeOf(note), ms: deps.nowMs() - started };
    if (error) line.error = error.replace(/\s+/g, ' ');
    try {
      sink(JSON.stringify(line));
    } catch {
      // A failing sink changes nothing.
    }
  }
  return result;
}

function typeOf(note) {
  return /^\{"type":"([a-z.]+)"/.exec(note.event)?.[1] ?? null;
}
