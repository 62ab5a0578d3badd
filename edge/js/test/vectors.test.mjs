// The shared decision vectors (edge/vectors/decide.json) end to end through
// the bundled handler: each case becomes a CloudFront event; respond steps are
// checked on the generated response, forward steps on the returned request
// and the decision log line. A case is walked as the vectors nest it: each
// body a need_body step is given is sent in the event as CloudFront's "include
// body" option does (base64, or cut: `inputTruncated`), the handler giving it
// when the core asks; cases of hosts that serve files (ask_file_size) must be
// refused 503 here. For need_store steps, a tiny local HTTP stand-in
// for DynamoDB checks the request the handler sent (operation, key,
// fingerprint attribute, region in the signature scope) and answers with the
// DynamoDB encoding of each vector reply; a reply that leads to another store
// step (a password guess's guard, then its attempt) is followed by each of
// its `then` replies, the stand-in answering the two requests in turn. (The
// store's semantics are tested against moto in moto.test.mjs and
// page-mode.test.mjs; this stand-in only replays vector replies.)

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildAndImport, captureLogs, root, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from './support/events.mjs';

const vectors = JSON.parse(readFileSync(join(root, 'edge/vectors/decide.json'), 'utf8'));
const TABLE = 'oncelink-vectors';
const DDB = 'com.amazonaws.dynamodb.v20120810#';

/** Subset match: every expected key present and equal, recursively; arrays and scalars exactly. */
function assertSubset(actual, expected, where) {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${where}: expected an object`);
    for (const [k, v] of Object.entries(expected)) assertSubset(actual[k], v, `${where}.${k}`);
  } else {
    assert.deepEqual(actual, expected, where);
  }
}

/** The DynamoDB operation each store kind is (docs/dynamodb.md, docs/page-mode.md). */
const OPERATION = { consume: 'UpdateItem', attempt: 'UpdateItem', resume: 'GetItem', read: 'GetItem', guard: 'GetItem' };

/**
 * The DynamoDB answer (status, JSON body) that means `reply` for `op` (its
 * kind, fingerprint, limits), or null when DynamoDB cannot express it (a
 * `counted` answer to a read, a `guarded` one to anything but a guard, or
 * anything else to a guard).
 */
/** The attribute of `fp`'s slot (its first two characters; docs/stores.md). */
const slotOf = (fp) => `s_${fp.slice(0, 2)}`;
/** A slot holding `fp`'s use at `t`. */
const slotValue = (fp, t) => ({ M: { f: { S: fp }, t: { N: String(t) } } });

function encodeReply(op, id, reply) {
  const { kind, fp } = op;
  assert.ok(kind in OPERATION, `unknown store kind ${kind}`);
  if (reply.reply === 'unavailable') {
    return [400, { __type: `${DDB}ValidationException`, message: 'stand-in: unavailable' }];
  }
  // A guard is a GetItem: whatever it finds is read as `guarded`.
  if ((reply.reply === 'guarded') !== (kind === 'guard')) return null;
  if (reply.reply === 'guarded') {
    const item = { id: { S: id }, used: { N: String(reply.used) }, failures: { N: String(reply.failures) } };
    if (reply.revoked) item.revoked = { BOOL: true };
    if (reply.version > 0) item.tv = { N: String(reply.version) };
    if (reply.throttle !== '') item.th = { S: reply.throttle };
    return [200, { Item: item }];
  }
  if (reply.reply === 'counted') {
    if (kind === 'attempt') {
      return [200, { Attributes: { id: { S: id }, used: { N: String(reply.used) }, tv: { N: String(op.version + 1) }, th: { S: op.throttle } } }];
    }
    if (kind !== 'consume') return null;
    return [200, { Attributes: { used: { N: String(reply.used) }, [slotOf(fp)]: slotValue(fp, 1) } }];
  }
  const failures = reply.failures ?? 0;
  const lastUse = reply.last_use ?? null;
  const absent = reply.used === 0 && !reply.revoked && lastUse === null && failures === 0 && reply.bound === undefined;
  const item = { id: { S: id }, used: { N: String(reply.used) } };
  if (reply.revoked) item.revoked = { BOOL: true };
  if (lastUse !== null) item[slotOf(fp)] = slotValue(fp, lastUse);
  if (failures > 0) item.failures = { N: String(failures) };
  if (reply.bound !== undefined) item.bound = { S: reply.bound };
  if (kind === 'consume') {
    return [400, { __type: `${DDB}ConditionalCheckFailedException`, message: 'The conditional request failed', Item: item }];
  }
  if (kind === 'attempt') {
    // Not counted: the condition refused it (a spent link, or a version
    // another guess moved on), ALL_OLD unchanged.
    return [400, { __type: `${DDB}ConditionalCheckFailedException`, message: 'The conditional request failed', Item: item }];
  }
  return [200, absent ? {} : { Item: item }];
}

let standIn;
let bundle;
let logs;

before(async () => {
  const state = { answers: [], received: [] };
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    state.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    const [status, body] = state.answers.shift() ?? [400, { __type: `${DDB}ValidationException` }];
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(body));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  standIn = { state, server, endpoint: `http://127.0.0.1:${server.address().port}` };
  bundle = await buildAndImport('vectors', { validator: vectors.config, store: { table: TABLE, endpoint: standIn.endpoint } });
  logs = captureLogs(bundle.mod);
});

after(async () => {
  logs?.restore();
  standIn?.server.closeAllConnections();
  await new Promise((r) => standIn?.server.close(r) ?? r());
});

/** The CloudFront event body that the handler reads as the core Body `body` (edge/js/cloudfront.mjs coreBody). */
function cloudFrontBody(body) {
  if (body === undefined) return undefined;
  const b64 = (bytes) => ({ inputTruncated: false, action: 'read-only', encoding: 'base64', data: Buffer.from(bytes).toString('base64') });
  if ('read' in body) return b64(Buffer.from(body.read, 'utf8'));
  return {
    too_large: b64(Buffer.from('x'.repeat(4097))),
    truncated: { ...b64(Buffer.from('password=abc')), inputTruncated: true },
    not_utf8: b64(Buffer.from([0x70, 0x3d, 0xff, 0xfe])),
    bad_encoding: { inputTruncated: false, action: 'read-only', encoding: 'gzip', data: 'x' },
  }[body.unreadable];
}

function eventFor(c, body) {
  const fill = (s) => s.replaceAll('{token}', c.token ?? '{token}').replaceAll('{pass}', c.pass ?? '{pass}');
  const headers = Object.fromEntries(Object.entries(c.request.headers ?? {}).map(([k, v]) => [k, fill(v)]));
  return viewerEvent({ method: c.request.method, path: c.request.path, query: fill(c.request.query ?? ''), headers, ip: c.request.ip ?? '', body: cloudFrontBody(body) });
}

/**
 * The paths through a case, as the vectors nest them: the body given (if
 * asked), the store ops with the reply each got, and the final step expected
 * (null: a store step given no reply, which the handler must answer 503).
 */
function paths(c) {
  const out = [];
  const walk = (expect, replies, acc) => {
    if (expect.step === 'need_body') {
      for (const r of replies) walk(r.expect, r.then ?? [], { ...acc, body: r.body });
    } else if (expect.step === 'need_store') {
      if (replies.length === 0) out.push({ ...acc, stores: [...acc.stores, { op: expect.pending.op }], expect: null });
      for (const r of replies) walk(r.expect, r.then ?? [], { ...acc, stores: [...acc.stores, { op: expect.pending.op, reply: r.reply }] });
    } else {
      out.push({ ...acc, expect });
    }
  };
  walk(c.expect, c.replies ?? [], { body: undefined, stores: [] });
  return out;
}

/** Runs a case once, the stand-in giving `answers` in turn; returns the handler's result, its log line and the event's original request. */
async function run(c, answers, body) {
  standIn.state.answers = [...answers];
  standIn.state.received = [];
  const handler = bundle.mod.createHandler({
    validator: { ...vectors.config, ...(c.config ?? {}) },
    env: TEST_ENV,
    nowMs: () => c.now * 1000,
    random: () => 0,
  });
  const event = eventFor(c, body);
  const original = structuredClone(event.Records[0].cf.request);
  const before = logs.lines.length;
  const result = await handler(event);
  const lines = logs.parsed().slice(before);
  assert.equal(lines.length, 1, 'one log line per decision');
  return { result, log: lines[0], original };
}

/** Checks a final step (respond or forward) against the handler's CloudFront output. */
function assertFinal(expect, { result, log, original }, where) {
  if (expect.step === 'respond') {
    assert.ok(!isForward(result), `${where}: expected a generated response`);
    const flat = { step: 'respond', status: Number(result.status), reason: reasonOf(result), body: result.body };
    flat.headers = Object.entries(result.headers)
      .filter(([name]) => name !== 'x-oncelink-reason')
      .flatMap(([name, entries]) => entries.map((e) => [name, e.value]));
    assert.equal(typeof result.status, 'string');
    assertSubset(flat, expect, where);
    return;
  }
  assert.equal(expect.step, 'forward', `${where}: unexpected expected step`);
  assert.ok(isForward(result), `${where}: expected a forward, got ${result.status} ${reasonOf(result)}`);
  const before = Object.fromEntries(Object.entries(original.headers).map(([k, v]) => [k, v.map((e) => e.value).join(', ')]));
  const after = Object.fromEntries(Object.entries(result.headers).map(([k, v]) => [k, v.map((e) => e.value).join(', ')]));
  const set = Object.entries(after).filter(([k, v]) => before[k] !== v);
  const removed = Object.keys(before).filter((k) => !(k in after));
  const flat = { step: 'forward', allow: log.allow, used: log.used, path: result.uri, query: result.querystring, id_hash: log.id_hash };
  assertSubset(flat, Object.fromEntries(Object.entries(expect).filter(([k]) => !['set_headers', 'remove_headers'].includes(k))), where);
  if (expect.set_headers) {
    assert.deepEqual(set.map(([k, v]) => [k, v]).sort(), expect.set_headers.map(([k, v]) => [k.toLowerCase(), v]).sort(), `${where}.set_headers`);
  }
  if (expect.remove_headers) {
    const setNames = new Set((expect.set_headers ?? []).map(([k]) => k.toLowerCase()));
    assert.deepEqual(removed.sort(), expect.remove_headers.filter((k) => !setNames.has(k)).sort(), `${where}.remove_headers`);
  }
}

/**
 * Checks the DynamoDB request the handler sent for a need_store case. A case
 * may leave the op's `id` and `region` out (page-mode cases do): they are the
 * minted token's id and its region (`r`, else the home region).
 */
function assertStoreRequest(c, where, expected, index = 0, count = 1) {
  const claims = c.mint?.claims ?? {};
  const config = { ...vectors.config, ...(c.config ?? {}) };
  const op = { id: claims.id, region: claims.r ?? config.home_region, ...expected };
  assert.equal(typeof op.id, 'string', `${where}: the case names no token id`);
  const received = standIn.state.received;
  assert.equal(received.length, count, `${where}: exactly ${count} store request(s)`);
  const { headers, body } = received[index];
  assert.equal(headers['x-amz-target'], `DynamoDB_20120810.${OPERATION[op.kind]}`, `${where}: operation`);
  assert.match(headers.authorization, new RegExp(`/${op.region}/dynamodb/aws4_request`), `${where}: region scope`);
  const doc = JSON.parse(body);
  assert.equal(doc.TableName, TABLE);
  assert.deepEqual(doc.Key, { id: { S: op.id } }, `${where}: key`);
  const names = Object.values(doc.ExpressionAttributeNames ?? {});
  // A number, or the time in a consume's slot map.
  const values = Object.values(doc.ExpressionAttributeValues ?? {}).map((v) => v.N ?? v.M?.t?.N);
  if (!['attempt', 'guard'].includes(op.kind)) assert.ok(names.includes(slotOf(op.fp)), `${where}: slot attribute`);
  if (op.kind === 'consume') {
    assert.deepEqual(doc.ExpressionAttributeValues[':slot'], slotValue(op.fp, op.now), `${where}: slot value`);
  }
  if (op.kind === 'consume') {
    for (const n of [op.n, op.now, op.resume_after, op.expire_at].filter((v) => v !== undefined)) {
      assert.ok(values.includes(String(n)), `${where}: value ${n}`);
    }
    assert.equal(doc.ReturnValuesOnConditionCheckFailure, 'ALL_OLD');
  } else if (op.kind === 'attempt') {
    assert.ok(names.includes('failures') && names.includes('th') && names.includes('tv'), `${where}: failures and throttle attributes`);
    assert.deepEqual(doc.ExpressionAttributeValues[':miss'], { N: String(op.miss) }, `${where}: miss`);
    assert.deepEqual(doc.ExpressionAttributeValues[':th'], { S: op.throttle }, `${where}: the throttle state written`);
    assert.deepEqual(doc.ExpressionAttributeValues[':next'], { N: String(op.version + 1) }, `${where}: the next version`);
    assert.equal(doc.ReturnValuesOnConditionCheckFailure, 'ALL_OLD');
  } else {
    assert.equal(doc.ConsistentRead, true);
  }
  if (op.bind !== undefined && op.bind !== null) {
    // A bound link: the binding is read, and a consume writes it under its condition.
    assert.ok(names.includes('bound'), `${where}: bound attribute`);
    if (op.kind === 'consume') {
      assert.deepEqual(doc.ExpressionAttributeValues[':b'], { S: op.bind }, `${where}: the binding`);
      assert.match(doc.ConditionExpression, /attribute_not_exists\(#b\) OR #b = :b/, `${where}: binding condition`);
    }
  } else {
    assert.ok(!names.includes('bound'), `${where}: an unbound link's request names no binding`);
  }
  if (op.max_failures !== undefined && op.max_failures !== null) {
    assert.ok(['consume', 'attempt'].includes(op.kind), `${where}: max_failures only on a consume or an attempt`);
    assert.ok(names.includes('failures') && values.includes(String(op.max_failures)), `${where}: lock condition`);
  }
}

describe('shared decision vectors through the bundled handler', () => {
  let skipped = 0;
  let replayed = 0;
  for (const c of vectors.cases) {
    it(c.name, async () => {
      if (c.config?.ask_file_size) {
        // A host that serves files answers need_file_size; this one serves none.
        const outcome = await run(c, [], paths(c)[0]?.body);
        assert.equal(outcome.result.status, '503');
        assert.match(outcome.log.error ?? '', /file size/);
        return;
      }
      const id = c.mint?.claims?.id;
      for (const [i, path] of paths(c).entries()) {
        const where = `${c.name} path ${i} ${JSON.stringify({ body: path.body, replies: path.stores.map((s) => s.reply) })}`.slice(0, 400);
        const answers = path.stores.filter((s) => s.reply !== undefined).map((s) => encodeReply(s.op, s.op.id ?? id, s.reply));
        if (answers.includes(null)) {
          skipped += 1;
          continue;
        }
        const outcome = await run(c, answers, path.body);
        for (const [k, s] of path.stores.entries()) assertStoreRequest(c, where, s.op, k, path.stores.length);
        if (path.expect === null) {
          // No reply given: a store failure is a 503.
          assert.equal(outcome.result.status, '503');
          continue;
        }
        if (path.stores.length > 0) {
          replayed += 1;
        } else {
          assert.equal(outcome.log.attempts, 0);
        }
        assertFinal(path.expect, outcome, where);
      }
    });
  }
  it('skipped only replies DynamoDB cannot express, and few of them', (t) => {
    // encodeReply returns null only for a `counted` reply to a read, resume
    // or attempt (the core must answer it 503; DynamoDB cannot send it).
    assert.ok(replayed > 40, `${replayed} replies replayed`);
    assert.ok(skipped * 10 < replayed, `${skipped} of ${replayed + skipped} replies skipped`);
    t.diagnostic(`${replayed} store replies replayed, ${skipped} skipped`);
  });
});
