// The handler's fail-closed paths: a config the core refuses, a core answer
// the handler does not know, a forward for a POST, a generated response over
// CloudFront's 40 KB limit. The first runs on the real bundle; the others
// cannot come from the real core, so a stand-in Validator produces them.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createHandler } from '../engine.mjs';
import { setLogSink } from '../log.mjs';
import { buildAndImport, captureLogs, mint, testConfig, TEST_ENV } from './support/bundle.mjs';
import { isForward, reasonOf, viewerEvent } from './support/events.mjs';

let bundle;
before(async () => {
  bundle = await buildAndImport('engine', testConfig({ endpoint: 'http://127.0.0.1:9' }));
});

/** A handler over a stand-in core whose decide returns `step`. */
function withStep(step) {
  class Validator {
    decide() {
      return JSON.stringify(step);
    }
  }
  return createHandler({ wasm: { Validator }, config: { validator: {}, store: { table: 'tokens' } }, env: TEST_ENV });
}

async function logged(run) {
  const lines = [];
  const previous = setLogSink((l) => lines.push(JSON.parse(l)));
  try {
    return { result: await run(), lines };
  } finally {
    setLogSink(previous);
  }
}

describe('fail closed', () => {
  it('a config the core refuses answers every request 503 and says why in the log', async () => {
    const token = mint(bundle.mod, bundle.config, { p: '/f', exp: Math.floor(Date.now() / 1000) + 600 });
    const broken = bundle.mod.createHandler({ validator: { home_region: 'Not A Region' }, env: TEST_ENV });
    const logs = captureLogs(bundle.mod);
    const result = await broken(viewerEvent({ path: '/f', query: `t=${token}` }));
    logs.restore();
    assert.ok(!isForward(result));
    assert.equal(result.status, '503');
    assert.equal(reasonOf(result), 'store_unavailable');
    assert.match(logs.parsed()[0].error, /^setup: .*home_region/);
  });

  it('a core that keeps asking is a 503 after the bound, and asking for a file size here is a 503 at once', async () => {
    let asked = 0;
    class Validator {
      decide() {
        return JSON.stringify({ step: 'need_body', pending: {} });
      }
      give_body() {
        asked += 1;
        return JSON.stringify({ step: 'need_body', pending: {} });
      }
    }
    const handler = createHandler({ wasm: { Validator }, config: { validator: {}, store: { table: 'tokens' } }, env: TEST_ENV });
    const event = viewerEvent({ method: 'POST', path: '/f', query: 't=x', body: 'password=secret' });
    const { result, lines } = await logged(() => handler(event));
    assert.equal(result.status, '503');
    assert.equal(asked, 4, 'the handler answered the core four times (MAX_STEPS), then refused');
    assert.match(lines[0].error, /asked more often/);
    const size = await logged(() => withStep({ step: 'need_file_size', path: '/f', pending: {} })(viewerEvent({ path: '/f' })));
    assert.equal(size.result.status, '503');
    assert.match(size.lines[0].error, /file size/);
  });

  it('an unknown step from the core is a 503, not a forward', async () => {
    const { result, lines } = await logged(() => withStep({ step: 'allow_everything' })(viewerEvent({ path: '/f' })));
    assert.equal(result.status, '503');
    assert.match(lines[0].error, /unknown step/);
  });

  it('a forward for a POST (or any method but GET and HEAD) is a 503: the edge never forwards a POST', async () => {
    const forward = { step: 'forward', allow: 'counted', used: 1, query: '', set_headers: [], remove_headers: [], id_hash: '0123456789abcdef' };
    for (const method of ['POST', 'PUT', 'post']) {
      const event = viewerEvent({ method, path: '/f', query: 't=x', body: 'password=secret' });
      const { result, lines } = await logged(() => withStep(forward)(event));
      assert.ok(!isForward(result), `${method} must not reach the origin`);
      assert.equal(result.status, '503');
      assert.match(lines[0].error, /only GET and HEAD ever reach the origin/);
    }
    for (const method of ['GET', 'HEAD']) {
      const { result } = await logged(() => withStep(forward)(viewerEvent({ method, path: '/f', query: 't=x' })));
      assert.ok(isForward(result), `${method} is forwarded when the core says so`);
    }
  });

  it('a generated response over 40 KB is replaced by the small 503', async () => {
    const huge = { step: 'respond', status: 403, reason: 'bad_signature', headers: [['content-type', 'text/plain']], body: 'x'.repeat(41 * 1024) };
    const { result, lines } = await logged(() => withStep(huge)(viewerEvent({ path: '/f' })));
    assert.equal(result.status, '503');
    assert.ok(result.body.length < 1024);
    assert.match(lines[0].error, /40 KB/);
  });

  it('a core that throws is a 503', async () => {
    class Validator {
      decide() {
        throw new Error('unreachable: wasm trap');
      }
    }
    const handler = createHandler({ wasm: { Validator }, config: { validator: {}, store: { table: 'tokens' } }, env: TEST_ENV });
    const { result, lines } = await logged(() => handler(viewerEvent({ path: '/f' })));
    assert.equal(result.status, '503');
    assert.equal(result.headers['retry-after'][0].value, '2');
    assert.match(lines[0].error, /wasm trap/);
  });
});
