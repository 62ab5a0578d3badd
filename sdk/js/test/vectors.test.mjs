// The shared vectors through the installed package: the golden tokens of
// edge/vectors/format.json and every mint-able claim combination of
// sdk/vectors/mint.json (tokens from an independent minter).
import assert from 'node:assert/strict';
import test from 'node:test';
import { oncelink, readJson } from './support.mjs';

const NAMES = { p: 'path', n: 'uses', r: 'region', fn: 'filename', g: 'grace', m: 'mode' };
const optionsOf = (claims) => ({ ...Object.fromEntries(Object.entries(claims).map(([k, v]) => [NAMES[k] ?? k, v])), now: 0 });

test('minting the golden claims gives the golden tokens', () => {
  const doc = readJson('edge/vectors/format.json');
  for (const c of doc.mint) {
    assert.equal(oncelink.mint({ ...doc.keys, active: c.kid }, optionsOf(c.claims)), c.token, c.name);
  }
});

test('verifying the golden tokens gives their expected answers', () => {
  const doc = readJson('edge/vectors/format.json');
  for (const c of doc.verify) {
    const got = oncelink.verify(doc.keys, c.token, { now: 1767225600 });
    assert.equal(got.valid ? 'ok' : got.reason, c.expect, c.name);
  }
});

test('every mint-able claim combination mints its token or names the option', () => {
  const doc = readJson('sdk/vectors/mint.json');
  assert.ok(doc.cases.length >= 384);
  const keysText = JSON.stringify(doc.keys);
  for (const c of doc.cases) {
    if (c.token) {
      assert.equal(oncelink.mint(keysText, c.options), c.token, c.name);
      assert.deepEqual(oncelink.verify(doc.keys, c.token, { now: 1767225600 }), { valid: true, kid: 'sdk', claims: c.claims }, c.name);
      assert.deepEqual(oncelink.inspect(c.token).claims, c.claims, c.name);
    } else {
      assert.throws(() => oncelink.mint(doc.keys, c.options), (e) => {
        assert.ok(e instanceof oncelink.OncelinkError, c.name);
        assert.equal(e.reason, c.error.reason, c.name);
        assert.match(e.message, new RegExp(`option ${c.error.option}`), c.name);
        return true;
      });
    }
  }
});
