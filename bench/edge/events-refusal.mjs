// Illustration only (docs/events.md, "On AWS", Latency): the added time of a
// refused request when link events are on, through the real bundle against
// moto on this machine. moto is a serialised Python server; the figures say
// how many round trips a refusal makes, not what DynamoDB takes.
//
//   node bench/edge/events-refusal.mjs [ROUNDS]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildAndImport, root, TEST_ENV } from '../../edge/js/test/support/bundle.mjs';
import { viewerEvent } from '../../edge/js/test/support/events.mjs';
import { createTable, startMoto } from '../../edge/js/dev/moto.mjs';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';

const rounds = Number(process.argv[2] ?? 200);
const vectors = JSON.parse(readFileSync(join(root, 'edge/vectors/events.json'), 'utf8'));
const c = vectors.cases.find((x) => x.name === 'refused_used_up');
const moto = await startMoto();
try {
  await createTable(moto.client, 'bench-tokens');
  await moto.client.send(new PutItemCommand({ TableName: 'bench-tokens', Item: { id: { S: c.mint.claims.id }, used: { N: '3' }, n: { N: '3' } } }));
  const event = () => viewerEvent({ path: c.request.path, query: c.request.query.replace('{token}', c.token), headers: c.request.headers, ip: c.request.ip });
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const events of [false, true, false, true]) {
    const bundle = await buildAndImport(`bench-events-${events}`, { validator: vectors.config, store: { table: 'bench-tokens', endpoint: moto.endpoint, events, remember_ttl_ms: 0 } });
    bundle.mod.setLogSink(() => {});
    const handler = bundle.mod.createHandler({ env: TEST_ENV, nowMs: () => c.now * 1000, store: { attempt_timeout_ms: 60000, budget_ms: 60000, remember_ttl_ms: 0 } });
    for (let i = 0; i < 20; i++) await handler(event()); // warm up
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const t = process.hrtime.bigint();
      const r = await handler(event());
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status !== '410') throw new Error(`expected 410, got ${r.status}`);
    }
    console.log(`events ${events ? 'on ' : 'off'}: ${rounds} refusals (used_up, no memory), median ${median(times).toFixed(2)} ms, p90 ${times[Math.floor(rounds * 0.9)].toFixed(2)} ms`);
  }
} finally {
  await moto.stop();
}
