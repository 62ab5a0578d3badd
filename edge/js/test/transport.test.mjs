// The store transport keeps its connection across invocations: a real HTTP
// server on 127.0.0.1 counts the TCP connections it accepts. And it is loaded
// at the first store call: a fresh process running the built bundle loads
// node:http and node:https only when a request needs the store.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { keepAliveFetch } from '../transport.mjs';
import { buildAndImport, mint, testConfig, TEST_ENV } from './support/bundle.mjs';

const execFileAsync = promisify(execFile);

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

describe('the transport at cold start', () => {
  it('is not loaded by a refused, expired or time-only first request, and is by the first store call', async () => {
    // Nothing listens on port 9: the store call fails fast and is answered 503.
    const { mod, built, config } = await buildAndImport('transport-cold', testConfig({ endpoint: 'http://127.0.0.1:9' }));
    const now = Math.floor(Date.now() / 1000);
    const valid = mint(mod, config, { p: '/f', exp: now + 600, n: 1 });
    const requests = [
      ['forged', valid.slice(0, -2) + (valid.endsWith('AA') ? 'BA' : 'AA')],
      ['expired', mint(mod, config, { p: '/f', exp: now - 600 })],
      ['time-only', mint(mod, config, { p: '/f', exp: now + 600 })],
      ['n=1', valid],
    ];
    // A fresh process: this test's own process has loaded node:http already.
    // fs's streams are what an ESM import of node:fs loads (its facade reads
    // the lazy ReadStream export); the bundle takes node:fs without it
    // (edge/js/builtin.mjs). Read before anything else is imported.
    const script = `
      const m = await import(${JSON.stringify(pathToFileURL(join(built.outDir, 'index.mjs')).href)});
      const fsStreams = process.moduleLoadList.includes('NativeModule internal/fs/streams');
      const { viewerEvent } = await import(${JSON.stringify(new URL('./support/events.mjs', import.meta.url).href)});
      m.setLogSink(() => {});
      const loaded = () => process.moduleLoadList.filter((name) => /^NativeModule (https?|_http_\\w+)$/.test(name));
      const seen = [];
      for (const [name, token] of ${JSON.stringify(requests)}) {
        const r = await m.handler(viewerEvent({ path: '/f', query: 't=' + token }));
        seen.push([name, r.status ?? 'forward', loaded().length > 0]);
      }
      // The probe's own check: an ES module import of node:fs does load them
      // (were Node to rename the module, the test above could not fail).
      await import('node:fs');
      const probeSees = process.moduleLoadList.includes('NativeModule internal/fs/streams');
      console.log(JSON.stringify({ fsStreams, probeSees, seen }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...TEST_ENV } });
    const { fsStreams, probeSees, seen } = JSON.parse(out.trim().split('\n').at(-1));
    assert.equal(probeSees, true, "an ESM import of node:fs no longer loads 'internal/fs/streams': this Node names it otherwise");
    assert.equal(fsStreams, false, "loading the bundle loaded fs's streams: is node:fs imported as an ES module?");
    assert.deepEqual(seen, [
      ['forged', '403', false],
      ['expired', '410', false],
      ['time-only', 'forward', false],
      ['n=1', '503', true],
    ]);
  });

  it('still loads on a Node without process.getBuiltinModule (the dynamic import)', async () => {
    const script = `
      delete process.getBuiltinModule;
      const { builtin } = await import(${JSON.stringify(new URL('../builtin.mjs', import.meta.url).href)});
      const { keepAliveFetch } = await import(${JSON.stringify(new URL('../transport.mjs', import.meta.url).href)});
      const fs = await builtin('node:fs', () => import('node:fs'));
      const r = await keepAliveFetch(${JSON.stringify(url)}, { method: 'POST', body: 'x' });
      console.log(JSON.stringify({ readFileSync: typeof fs.readFileSync, status: r.status, body: JSON.parse(await r.text()).body }));`;
    // Not execFileSync: the server answering it runs in this process.
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(stdout.trim()), { readFileSync: 'function', status: 200, body: 'x' });
  });
});
