// The AWS events path end to end with real parts: the Lambda@Edge bundle
// (store.events on) against a real moto server writes the events on the
// token items; moto's own DynamoDB stream (NEW_AND_OLD_IMAGES) feeds the
// events Lambda (events/lambda.mjs with its wasm), which keeps the audit
// trail in moto and POSTs to a real receiver (events/test/receiver.py) that
// checks every signature with Python's hmac. The receiver is down at first:
// every event arrives later through the retry queue (moto's SQS), under the
// webhook-id it was first tried with. Payloads are edge/vectors/events.json's.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildAndImport, root, TEST_ENV } from '../../edge/js/test/support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from '../../edge/js/test/support/events.mjs';
import { startMoto } from '../../edge/js/dev/moto.mjs';
import { awsClient } from '../aws.mjs';
import { createEventsHandler } from '../lambda.mjs';
import * as eventsWasm from '../pkg/oncelink_events_wasm.js';

eventsWasm.initSync({ module: readFileSync(join(root, 'events/pkg/oncelink_events_wasm_bg.wasm')) });

const TABLE = 'oncelink-events-test';
const AUDIT = `${TABLE}-events`;
const SLOW_STORE = { attempt_timeout_ms: 60000, budget_ms: 60000 };
const vectors = JSON.parse(readFileSync(join(root, 'edge/vectors/events.json'), 'utf8'));
const byName = Object.fromEntries(vectors.cases.map((c) => [c.name, c]));
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let moto;
let aws;
let bundle;
let receiver;
let streamArn;
let queues;

async function startReceiver() {
  const child = spawn('python3', [join(root, 'events/test/receiver.py'), SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('receiver exited')));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    url: `${base}/hook`,
    set: (up) => fetch(`${base}/control/${up ? 'up' : 'down'}`, { method: 'POST' }),
    attempts: async () => (await fetch(`${base}/attempts`)).json(),
    stop: () => child.kill('SIGTERM'),
  };
}

/** Every record moto's stream holds so far, oldest first, as Lambda gets them. */
async function streamRecords() {
  const { StreamDescription } = await aws('streams', 'DescribeStream', { StreamArn: streamArn });
  const records = [];
  for (const shard of StreamDescription.Shards) {
    let { ShardIterator } = await aws('streams', 'GetShardIterator', { StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' });
    for (;;) {
      const page = await aws('streams', 'GetRecords', { ShardIterator });
      records.push(...page.Records);
      if (page.Records.length === 0 || !page.NextShardIterator) break;
      ShardIterator = page.NextShardIterator;
    }
  }
  return records;
}

/** Runs the events Lambda on the retry queue until it is empty (as the SQS event source would, deleting what succeeded). */
async function drainRetries(handler, queueUrl = queues.retry) {
  for (let rounds = 0; rounds < 50; rounds++) {
    const { Messages = [] } = await aws('sqs', 'ReceiveMessage', { QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 });
    if (Messages.length === 0) return rounds;
    const out = await handler({ Records: Messages.map((m) => ({ eventSource: 'aws:sqs', messageId: m.MessageId, body: m.Body })) });
    const failed = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of Messages) if (!failed.has(m.MessageId)) await aws('sqs', 'DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle });
  }
  throw new Error('the retry queue did not drain in 50 rounds');
}

function eventsLambda(extra = {}) {
  const env = {
    AWS_REGION: 'us-east-1',
    ...TEST_ENV,
    AWS_ENDPOINT_URL: moto.endpoint,
    ONCELINK_EVENTS_TABLE: AUDIT,
    ONCELINK_WEBHOOK_URLS: receiver.url,
    ONCELINK_WEBHOOK_SECRET_PARAMETER: '/oncelink/webhook-secret',
    ONCELINK_RETRY_QUEUE_URL: queues.retry,
    ONCELINK_DEAD_LETTER_QUEUE_URL: queues.dlq,
    ONCELINK_RETRY_FIRST_S: '0',
    ONCELINK_WEBHOOK_TIMEOUT_MS: '5000',
    ...extra,
  };
  const logs = [];
  const handler = createEventsHandler({ wasm: eventsWasm, aws: awsClient(env, { timeoutMs: 60000 }), env, log: (l) => logs.push(l) });
  return { handler, logs };
}

/** The vector case's request as a viewer-request event. */
function caseEvent(c, extraHeaders = {}) {
  const r = c.request;
  return viewerEvent({ method: r.method, path: r.path, query: r.query.replace('{token}', c.token), headers: { ...r.headers, ...extraHeaders }, ip: r.ip });
}

before(async () => {
  moto = await startMoto();
  // moto answers one request at a time and slowly on a loaded machine: correctness, not latency, is under test.
  aws = awsClient({ AWS_REGION: 'us-east-1', ...TEST_ENV, AWS_ENDPOINT_URL: moto.endpoint }, { timeoutMs: 60000 });
  const created = await aws('dynamodb', 'CreateTable', {
    TableName: TABLE,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
  });
  streamArn = created.TableDescription.LatestStreamArn;
  await aws('dynamodb', 'CreateTable', {
    TableName: AUDIT,
    AttributeDefinitions: [
      { AttributeName: 'id', AttributeType: 'S' },
      { AttributeName: 'seq', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'id', KeyType: 'HASH' },
      { AttributeName: 'seq', KeyType: 'RANGE' },
    ],
    BillingMode: 'PAY_PER_REQUEST',
  });
  queues = {
    retry: (await aws('sqs', 'CreateQueue', { QueueName: 'oncelink-events-retry' })).QueueUrl,
    dlq: (await aws('sqs', 'CreateQueue', { QueueName: 'oncelink-events-dlq' })).QueueUrl,
  };
  await aws('ssm', 'PutParameter', { Name: '/oncelink/webhook-secret', Value: SECRET, Type: 'SecureString' });
  receiver = await startReceiver();
  const config = { validator: vectors.config, store: { table: TABLE, endpoint: moto.endpoint, events: true } };
  bundle = await buildAndImport('events', config);
});

after(async () => {
  receiver?.stop();
  await moto?.stop();
});

describe('link events on AWS', () => {
  it('every event of a link reaches a receiver that was down at first, signed, with the core payloads and one webhook-id each', async () => {
    const eventLines = [];
    const previous = bundle.mod.setEventLogSink((l) => eventLines.push(l));
    const c = byName.counted_use;
    const handler = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, nowMs: () => c.now * 1000 });
    const id = c.mint.claims.id;
    // One use counted before (by a host that writes no draft: no event for it).
    await aws('dynamodb', 'PutItem', { TableName: TABLE, Item: { id: { S: id }, used: { N: '1' }, n: { N: '3' } } });
    assert.ok(isForward(await handler(caseEvent(byName.counted_use))), 'the second use is counted');
    assert.ok(isForward(await handler(caseEvent(byName.last_use))), 'the third use is counted');
    assert.ok(isForward(await handler(caseEvent(byName.resumed))), 'the first client resumes');
    const refused = await handler(caseEvent(byName.refused_used_up));
    assert.equal(`${refused.status} ${reasonOf(refused)}`, '410 used_up');
    // The resume's write is not awaited by the handler: wait for it here.
    for (let i = 0; i < 100; i++) {
      const { Item } = await aws('dynamodb', 'GetItem', { TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true });
      if (Item.ev_count?.N === '2') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // `oncelink revoke`'s request (edge/src/dynamodb revoke_request).
    await aws('dynamodb', 'UpdateItem', { TableName: TABLE, Key: { id: { S: id } }, UpdateExpression: 'SET #r = :true', ExpressionAttributeNames: { '#r': 'revoked' }, ExpressionAttributeValues: { ':true': { BOOL: true } } });
    bundle.mod.setEventLogSink(previous);
    assert.deepEqual(eventLines, [], 'no event write failed or was capped');

    const lambda = eventsLambda();
    const out = await lambda.handler({ Records: await streamRecords() });
    assert.deepEqual(out, { batchItemFailures: [] });

    // The audit trail: five events, oldest first, the payloads the core's vectors give.
    const { Items } = await aws('dynamodb', 'Query', { TableName: AUDIT, KeyConditionExpression: 'id = :id', ExpressionAttributeValues: { ':id': { S: id } }, ConsistentRead: true });
    const bodies = Items.map((i) => JSON.parse(i.event.S));
    assert.deepEqual(bodies.slice(0, 4), ['counted_use', 'last_use', 'resumed', 'refused_used_up'].map((n) => byName[n].expect));
    assert.equal(bodies[4].type, 'link.revoked');
    assert.deepEqual(bodies[4].data, { id, ref: null, used: 3 });
    assert.deepEqual(Items.map((i) => Number(i.seq.N)), [2, 3, 4, 5, 6], 'per-link sequence numbers: used + ev_count + revoked');
    for (const item of Items) assert.ok(Number(item.expire_at.N) >= c.mint.claims.exp + 90 * 86400, 'kept 90 days past the link');

    // The receiver was down: each event was tried once, then queued.
    const whileDown = await receiver.attempts();
    assert.equal(whileDown.length, 5);
    assert.ok(whileDown.every((a) => a.answered === 503 && a.valid));
    await receiver.set(true);
    await drainRetries(lambda.handler);
    const attempts = await receiver.attempts();
    const delivered = attempts.filter((a) => a.answered === 204);
    assert.ok(attempts.every((a) => a.valid && a.content_type === 'application/json'), 'every signature checks out in Python');
    assert.deepEqual(delivered.map((a) => a.id).sort(), whileDown.map((a) => a.id).sort(), 'the same webhook-id on the retry');
    assert.deepEqual(delivered.map((a) => a.id).sort(), Items.map((i) => i.webhook_id.S).sort(), 'the audit keeps the delivered ids');
    for (const a of delivered) {
      const kept = Items.find((i) => i.webhook_id.S === a.id);
      assert.equal(a.body, kept.event.S, 'the delivered bytes are the kept bytes');
    }
    assert.ok(lambda.logs.some((l) => l.msg === 'oncelink.webhook_retry'));

    // `oncelink audit` (the real binary, stores/dynamodb) reads the same trail with the same ids.
    const cli = join(root, 'target/debug/oncelink');
    assert.ok(existsSync(cli), 'target/debug/oncelink is missing: cargo build -p oncelink');
    const audit = spawnSync(cli, ['audit', '--store', `dynamodb:us-east-1@${moto.endpoint}`, '--table', TABLE, id, '--json'], { env: { ...process.env, ...TEST_ENV }, encoding: 'utf8' });
    assert.equal(audit.status, 0, audit.stderr);
    const trail = JSON.parse(audit.stdout);
    assert.deepEqual(trail.events.map((e) => e.webhook_id), Items.map((i) => i.webhook_id.S));
    assert.deepEqual(trail.events.map((e) => e.event), bodies);
  });

  it('a refusal whose event write fails is still the same refusal, and the failure is logged', async () => {
    const c = byName.refused_used_up;
    const id = c.mint.claims.id;
    const failing = async (url, init) => {
      if (String(init.body).includes('"ev_last"')) throw new Error('connection reset');
      const { keepAliveFetch } = await import('../../edge/js/transport.mjs');
      return keepAliveFetch(url, init);
    };
    const handler = bundle.mod.createHandler({ env: TEST_ENV, store: { ...SLOW_STORE, remember_ttl_ms: 0 }, nowMs: () => c.now * 1000, fetch: failing });
    const lines = [];
    const previous = bundle.mod.setEventLogSink((l) => lines.push(JSON.parse(l)));
    try {
      await aws('dynamodb', 'PutItem', { TableName: TABLE, Item: { id: { S: id }, used: { N: '3' }, n: { N: '3' } } });
      const refused = await handler(caseEvent(c));
      assert.equal(`${refused.status} ${reasonOf(refused)}`, '410 used_up');
    } finally {
      bundle.mod.setEventLogSink(previous);
    }
    assert.deepEqual(lines.map((l) => [l.msg, l.result, l.type]), [['oncelink.event_write', 'failed', 'link.refused']]);
  });

  it('a resume is answered without waiting for its event write', { timeout: 60000 }, async () => {
    const c = byName.resumed;
    const id = c.mint.claims.id;
    // The resume's event write never answers and ignores its abort: an awaited write would never return.
    const stuck = async (url, init) => {
      if (String(init.body).includes('"ev_last"')) return new Promise(() => {});
      const { keepAliveFetch } = await import('../../edge/js/transport.mjs');
      return keepAliveFetch(url, init);
    };
    const handler = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, nowMs: () => c.now * 1000, fetch: stuck });
    const first = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, nowMs: () => c.now * 1000 });
    await aws('dynamodb', 'DeleteItem', { TableName: TABLE, Key: { id: { S: id } } });
    assert.ok(isForward(await first(caseEvent(byName.counted_use))));
    assert.ok(isForward(await handler(caseEvent(c))), 'the resume is forwarded');
  });

  it('past the per-link cap an event is dropped, logged, and the refusal stands', async () => {
    const c = byName.refused_used_up;
    const id = c.mint.claims.id;
    const handler = bundle.mod.createHandler({ env: TEST_ENV, store: { ...SLOW_STORE, remember_ttl_ms: 0 }, nowMs: () => c.now * 1000 });
    await aws('dynamodb', 'PutItem', { TableName: TABLE, Item: { id: { S: id }, used: { N: '3' }, n: { N: '3' }, ev_count: { N: '999' } } });
    const lines = [];
    const previous = bundle.mod.setEventLogSink((l) => lines.push(JSON.parse(l)));
    try {
      for (let i = 0; i < 2; i++) assert.equal(reasonOf(await handler(caseEvent(c))), 'used_up');
    } finally {
      bundle.mod.setEventLogSink(previous);
    }
    const { Item } = await aws('dynamodb', 'GetItem', { TableName: TABLE, Key: { id: { S: id } }, ConsistentRead: true });
    assert.equal(Item.ev_count.N, '1000', 'the first write counted, the second refused by its condition');
    assert.deepEqual(lines.map((l) => l.result), ['capped']);
  });

  it('a delivery older than the give-up age goes to the dead-letter queue', async () => {
    await receiver.set(false);
    const lambda = eventsLambda({ ONCELINK_GIVE_UP_AFTER_S: '0' });
    const message = { url: receiver.url, webhook_id: 'msg_AAAAAAAAAAAAAAAAAAAAAA', body: '{"type":"link.used"}', at: 1767225600 };
    const out = await lambda.handler({ Records: [{ eventSource: 'aws:sqs', messageId: 'm1', body: JSON.stringify({ ...message, attempts: 3 }) }] });
    assert.deepEqual(out, { batchItemFailures: [] });
    const { Messages = [] } = await aws('sqs', 'ReceiveMessage', { QueueUrl: queues.dlq, MaxNumberOfMessages: 10 });
    assert.deepEqual(Messages.map((m) => JSON.parse(m.Body)), [{ ...message, attempts: 3 }]);
    assert.ok(lambda.logs.some((l) => l.msg === 'oncelink.webhook_gave_up'));
  });
});
