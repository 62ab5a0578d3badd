// The store transport keeps its connection across invocations: a real HTTP
// server on 127.0.0.1 counts the TCP connections it accepts.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { keepAliveFetch } from '../transport.mjs';

let server;
let url;
let connections = 0;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] ?? null }));
    });
  });
  // Like DynamoDB, the server sends no Keep-Alive hint and keeps idle connections.
  server.keepAliveTimeout = 0;
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}/`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('keepAliveFetch', () => {
  it('sends the method, headers and body and returns status and text', async () => {
    const r = await keepAliveFetch(url, { method: 'POST', headers: [['x-amz-target', 'x']], body: '{"a":1}' });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(await r.text()), { method: 'POST', body: '{"a":1}', length: '7' });
  });

  it('reuses one connection for calls seconds apart (global fetch closes it after 4 s idle)', async () => {
    await (await keepAliveFetch(url, { method: 'POST', body: '{}' })).text();
    const open = connections;
    // Longer than undici's 4 s idle close, as between two invocations of a quiet function.
    await sleep(4500);
    await (await keepAliveFetch(url, { method: 'POST', body: '{}' })).text();
    assert.equal(connections, open, 'the second call opened a new connection');
  });

  it('rejects when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(keepAliveFetch(url, { method: 'POST', body: '{}', signal: controller.signal }));
  });
});
