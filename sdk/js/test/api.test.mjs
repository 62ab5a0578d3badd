// The wrapper's own promises: keys as text or object, the clock and the
// randomness taken from the host, links with the edge's path encoding,
// and every refusal an OncelinkError with a stable reason and no secret.
import assert from 'node:assert/strict';
import test from 'node:test';
import { oncelink } from './support.mjs';

const { mint, link, verify, inspect, keygen, OncelinkError } = oncelink;
const keys = keygen();
const secret = JSON.parse(keys).keys[0].secret;

const refusal = (fn, reason, pattern) =>
  assert.throws(fn, (e) => {
    assert.ok(e instanceof OncelinkError);
    assert.equal(e.reason, reason);
    if (pattern) assert.match(e.message, pattern);
    assert.ok(!e.message.includes(secret), e.message);
    return true;
  });

test('keygen draws a fresh 32-byte key each call, with the kid asked for', () => {
  const a = JSON.parse(keygen());
  const b = JSON.parse(keygen({ kid: 'k7' }));
  assert.equal(a.active, 'k1');
  assert.equal(b.active, 'k7');
  assert.notEqual(a.keys[0].secret, b.keys[0].secret);
  assert.equal(Buffer.from(a.keys[0].secret, 'base64url').length, 32);
  refusal(() => keygen({ kid: 'bad kid' }), 'bad_option', /kid/);
});

test('a minted token verifies now, for its path, with keys as text or object', () => {
  const token = mint(keys, { path: '/a b/ü.pdf', uses: 2, ttl: '1h' });
  const now = Date.now() / 1000;
  const got = verify(JSON.parse(keys), token);
  assert.equal(got.valid, true);
  assert.equal(got.claims.n, 2);
  assert.ok(Math.abs(got.claims.exp - (now + 3600)) < 5);
  assert.deepEqual(verify(keys, token, { path: '/other' }), { valid: false, reason: 'wrong_path', message: 'This link is not valid for this file.' });
  assert.equal(verify(keys, token, { now: now + 7200 }).reason, 'expired');
  assert.equal(verify(keygen(), token).reason, 'bad_signature');
  assert.notEqual(mint(keys, { path: '/x' }), mint(keys, { path: '/x' }), 'two mints draw two ids');
});

test('link percent-encodes the path once, as the edge decodes it, and verify reads the link', () => {
  const token = mint(keys, { path: '/q3 résumé#1?.pdf' });
  const url = link('https://d.example/', '/q3 résumé#1?.pdf', token);
  assert.equal(url, `https://d.example/q3%20r%C3%A9sum%C3%A9%231%3F.pdf?t=${token}`);
  assert.equal(verify(keys, url).valid, true);
  assert.equal(verify(keys, url.replace('%231', '%232')).reason, 'wrong_path');
  assert.equal(link('https://d.example', '/dir/*', 'T', { param: 'k' }), 'https://d.example/dir/?k=T');
  refusal(() => link('ftp://d.example', '/a', token), 'bad_url');
});

test('inspect reads a token or link without the keys', () => {
  const token = mint(keys, { path: '/a', filename: 'a.pdf', id: 'inspect-me-000000' });
  assert.deepEqual(inspect(link('https://d.example', '/a', token)), {
    verified: false,
    kid: 'k1',
    claims: inspect(token).claims,
  });
  assert.equal(inspect(token).claims.id, 'inspect-me-000000');
  refusal(() => inspect('ol1.nope'), 'malformed');
  refusal(() => inspect('https://d.example/a?x=1'), 'missing_token');
});

test('unknown options are refused by name, including those of later issues', () => {
  refusal(() => mint(keys, { path: '/a', usses: 1 }), 'unknown_option', /"usses"/);
  assert.equal(inspect(mint(keys, { path: '/a', ref: 'order-1' })).claims.ref, 'order-1', 'ref is a claim now');
  refusal(() => mint(keys, { path: '/a', ref: 'r'.repeat(65) }), 'bad_option', /option ref/);
  refusal(() => verify(keys, 'x', { pth: '/a' }), 'unknown_option', /"pth"/);
  refusal(() => link('https://d.example', '/a', 'T', { parm: 'x' }), 'unknown_option');
  refusal(() => keygen({ kidd: 'x' }), 'unknown_option');
});

test('a claim out of range or a bad path is an error naming the option, never a token', () => {
  refusal(() => mint(keys, { path: '/a', uses: 1_000_001 }), 'bad_option', /option uses/);
  refusal(() => mint(keys, { path: '/a/../etc/passwd' }), 'bad_option', /option path/);
  refusal(() => mint(keys, { path: 'relative' }), 'bad_option', /option path/);
  refusal(() => mint(keys, {}), 'bad_option', /option path/);
  refusal(() => mint(keys, { path: '/a', ttl: '1h', exp: 4102444800 }), 'bad_option', /ttl and exp/);
  refusal(() => mint(keys, { path: '/a', grace: 10 }), 'bad_option', /option grace/);
  refusal(() => mint(keys, { path: '/a', password: 'pw' }), 'bad_option', /option password/);
  refusal(() => mint(keys, { path: '/a', uses: 1, password: 'pw', mode: 'direct' }), 'bad_option', /option password/);
  refusal(() => mint(keys, { path: '/a', ip: '10.0.0.1/8' }), 'bad_option', /option ip/);
  refusal(() => mint(keys, { path: '/a', mode: 'fast' }), 'bad_option', /option mode/);
  refusal(() => mint(keys, { path: '/a', bind: true }), 'bad_option', /option bind/);
  refusal(() => mint(keys, { path: '/a', uses: 1, bind: 'ip' }), 'bad_option', /option bind/);
  refusal(() => mint(keys, 'not options'), 'bad_option');
});

test('a key file without its active key, or not a key file, is refused without quoting it', () => {
  const file = JSON.parse(keys);
  refusal(() => mint({ ...file, active: 'k9' }, { path: '/a' }), 'bad_keys', /"k9"/);
  refusal(() => mint(`${keys}x`, { path: '/a' }), 'bad_keys');
  refusal(() => mint({ active: 'k1', keys: secret }, { path: '/a' }), 'bad_keys');
  refusal(() => mint({ ...file, extra: secret }, { path: '/a' }), 'bad_keys');
  refusal(() => mint(42, { path: '/a' }), 'bad_keys');
  refusal(() => verify(`{"active":"k1","keys":[{"kid":"k1","secret":"${secret}!"}]}`, 'x'), 'bad_keys');
});
