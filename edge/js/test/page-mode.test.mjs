// Page mode (docs/page-mode.md) through the bundled handler against a real
// DynamoDB-compatible store (moto, started here on 127.0.0.1): the download
// page, the POST that CloudFront's "include body" option hands over as
// base64, the 303 with a pass, the GET with the pass that consumes exactly
// once, wrong passwords throttled per client network and per link (and
// counted to a lock where the deployment asks for one), and a body
// CloudFront truncated.
// Every generated answer is checked against the 40 KB viewer-request limit.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generatedResponseBytes, MAX_FORM_BYTES, MAX_GENERATED_RESPONSE_BYTES } from '../cloudfront.mjs';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createTable, readRecord, startMoto } from '../dev/moto.mjs';
import { buildAndImport, captureLogs, mint, testConfig, TEST_ENV } from './support/bundle.mjs';
import { includeBody, isForward, reasonOf, viewerEvent } from './support/events.mjs';

const TABLE = 'oncelink-page-test';
const PATH = '/files/report.pdf';
const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36';

let moto;
let bundle;
let handler;
/** A deployment that locks password links after 5 wrong passwords. */
let locking;
let logs;
/** Every generated response of this file, for the size check at the end. */
const generated = [];

before(async () => {
  moto = await startMoto();
  await createTable(moto.client, TABLE);
  bundle = await buildAndImport('page', testConfig({ table: TABLE, endpoint: moto.endpoint }));
  handler = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE });
  locking = bundle.mod.createHandler({ env: TEST_ENV, store: SLOW_STORE, validator: { max_password_failures: 5 } });
  logs = captureLogs(bundle.mod);
});

after(async () => {
  logs?.restore();
  await moto?.stop();
});

const SLOW_STORE = { attempt_timeout_ms: 30000, budget_ms: 30000 };
const nowS = () => Math.floor(Date.now() / 1000);

/** A fresh link: { id, token }; `claims` may carry `password` (the wasm mint turns it into `pw`). */
function link(claims) {
  const id = randomBytes(16).toString('base64url');
  return { id, token: mint(bundle.mod, bundle.config, { id, p: PATH, exp: nowS() + 3600, ...claims }) };
}

/** One browser on its own network (198.51.n.0/24): its address and User-Agent make its fingerprint. */
function client(n, through = handler) {
  const ip = `198.51.${n}.20`;
  const send = async (method, query, extra = {}) => {
    const { body, headers } = extra;
    const result = await through(
      viewerEvent({ method, path: PATH, query, headers: { 'user-agent': `${BROWSER_UA} client/${n}`, accept: HTML, ...headers }, ip, body }),
    );
    if (!isForward(result)) generated.push(result);
    return result;
  };
  return {
    get: (query, headers) => send('GET', query, { headers }),
    post: (query, body, headers) => send('POST', query, { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } }),
  };
}

const header = (result, name) => result.headers?.[name]?.[0]?.value;

/** The pass query of a 303's Location, checked to point at the same link. */
function passQuery(result, token) {
  assert.equal(result.status, '303');
  assert.equal(result.statusDescription, 'See Other');
  assert.equal(reasonOf(result), 'pass_issued');
  const location = header(result, 'location');
  assert.ok(location, 'a 303 has a Location');
  const url = new URL(location, 'https://d111111abcdef8.cloudfront.net');
  assert.equal(url.pathname, PATH, 'the 303 goes back to the same path');
  assert.equal(url.searchParams.get('t'), token, 'with the same token');
  assert.match(url.searchParams.get('pass') ?? '', /^[1-9][0-9]*\.[A-Za-z0-9_-]{22}$/, 'and a pass exp.mac');
  return url.search.slice(1);
}

describe('page mode through the bundled handler against moto', () => {
  it('GET shows the page, POST answers 303 with a pass, the GET with the pass consumes exactly once', async () => {
    const { id, token } = link({ n: 1, m: 'page', fn: 'Q3 report.pdf' });
    const alice = client(1);
    const bob = client(2);

    for (let i = 0; i < 3; i++) {
      const page = await alice.get(`t=${token}`);
      assert.equal(page.status, '200', 'the page');
      assert.equal(reasonOf(page), 'page');
      assert.match(header(page, 'content-type'), /^text\/html/);
      assert.ok(page.body.includes('Q3 report.pdf'), 'the page names the file');
      assert.match(page.body, /<form method="post"/);
    }
    const record = await readRecord(moto.client, TABLE, id);
    assert.ok(record === undefined || (record.used?.N ?? '0') === '0', 'looking at the page uses nothing');

    const redirect = await alice.post(`t=${token}`, '');
    const query = passQuery(redirect, token);
    assert.equal((await readRecord(moto.client, TABLE, id))?.used?.N, undefined, 'the POST itself uses nothing');

    const stolen = await bob.get(query);
    assert.equal(stolen.status, '403', 'a pass copied to another client is refused');
    assert.equal(reasonOf(stolen), 'pass_invalid');

    const download = await alice.get(query);
    assert.ok(isForward(download), `the GET with the pass is forwarded (got ${download.status} ${reasonOf(download)})`);
    const forwarded = new URLSearchParams(download.querystring);
    assert.equal(forwarded.get('pass'), null, 'the pass never reaches the origin');
    assert.equal(forwarded.get('t'), null, 'nor the token');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'one use counted');

    const again = await alice.get(query);
    assert.ok(isForward(again), 'the same client inside grace resumes');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'a resume counts nothing');

    const outcomes = logs.parsed().slice(-7).map((l) => `${l.outcome} ${l.reason ?? l.allow}`);
    assert.deepEqual(outcomes, ['answer page', 'answer page', 'answer page', 'answer pass_issued', 'deny pass_invalid', 'allow counted', 'allow resumed']);

    const gone = await bob.get(`t=${token}`);
    assert.equal(gone.status, '410', 'another visitor now sees the 410 page');
    assert.equal(reasonOf(gone), 'used_up');
    assert.equal((await readRecord(moto.client, TABLE, id)).used.N, '1', 'exactly one use in the end');
    const [pageLine, goneLine] = [logs.parsed().at(-8), logs.parsed().at(-1)];
    assert.equal(`${pageLine.reason} ${goneLine.reason}`, 'page used_up');
    assert.match(pageLine.id_hash ?? '', /^[0-9a-f]{16}$/, 'a page answered after a store read names its link');
    assert.equal(goneLine.id_hash, pageLine.id_hash, 'the 410 after the read names the same link');
  });

  it('a deployment that locks: five wrong passwords lock a link, and then even the right one gets 410 locked', async () => {
    const password = 'sésame ouvre-toi';
    const { id, token } = link({ n: 1, fn: 'plan.bin', password });
    const mallory = client(3, locking);

    const page = await mallory.get(`t=${token}`);
    assert.equal(page.status, '200');
    assert.match(page.body, /name="password"/, 'the page asks for the password');

    const empty = await mallory.post(`t=${token}`, 'password=');
    assert.equal(empty.status, '403');
    assert.equal(reasonOf(empty), 'password_required');

    let earlyQuery = null;
    for (let attempt = 1; attempt <= 5; attempt++) {
      if (attempt === 5) {
        // A pass got with the right password just before the lock.
        earlyQuery = passQuery(await mallory.post(`t=${token}`, new URLSearchParams({ password }).toString()), token);
      }
      const wrong = await mallory.post(`t=${token}`, `password=guess${attempt}`);
      const failures = Number((await readRecord(moto.client, TABLE, id)).failures.N);
      assert.equal(failures, attempt, `attempt ${attempt} is counted in the store`);
      if (attempt < 5) {
        assert.equal(wrong.status, '403', `attempt ${attempt}`);
        assert.equal(reasonOf(wrong), 'wrong_password');
        assert.ok(wrong.body.includes(`${5 - attempt} attempt`), `attempt ${attempt}: the page says ${5 - attempt} left`);
      } else {
        assert.equal(wrong.status, '410', 'the fifth wrong password locks the link');
        assert.equal(reasonOf(wrong), 'locked');
      }
    }

    const rightAfterLock = await mallory.post(`t=${token}`, new URLSearchParams({ password }).toString());
    assert.equal(rightAfterLock.status, '410', 'after the lock the right password gets the same answer as a wrong one');
    assert.equal(reasonOf(rightAfterLock), 'locked');
    const query = earlyQuery;
    const refused = await mallory.get(query);
    assert.equal(refused.status, '410', 'a locked link counts no use, even with a pass issued before the lock');
    assert.equal(reasonOf(refused), 'locked');
    const lockedPage = await client(4, locking).get(`t=${token}`);
    assert.equal(lockedPage.status, '410');
    assert.equal(reasonOf(lockedPage), 'locked');
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.failures.N, '5');
    assert.equal(record.used?.N ?? '0', '0', 'no use was ever counted');
    const secrets = [password, encodeURIComponent(password), 'guess1', token.split('.')[3], new URLSearchParams(query).get('pass')];
    for (const line of logs.lines) for (const secret of secrets) assert.ok(!line.includes(secret), 'a log line holds a password, signature or pass');
  });

  it('on a locked, used-up or revoked link a right guess writes nothing and is answered exactly like a wrong one', async () => {
    const password = 'right-one';
    const links = { locked: link({ n: 1, password }), used_up: link({ n: 1, password }), revoked: link({ n: 1, password }) };
    const frank = client(9, locking);
    for (let i = 0; i < 5; i++) await frank.post(`t=${links.locked.token}`, 'password=wrong');
    const right = await client(10).post(`t=${links.used_up.token}`, `password=${password}`);
    assert.ok(isForward(await client(10).get(passQuery(right, links.used_up.token))), 'the one use downloads');
    await moto.client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { id: { S: links.revoked.id } },
        UpdateExpression: 'SET revoked = :t',
        ExpressionAttributeValues: { ':t': { BOOL: true } },
      }),
    );
    const whole = (r) => JSON.stringify({ status: r.status, headers: r.headers, body: r.body });
    for (const [what, { id, token }] of Object.entries(links)) {
      const before = await readRecord(moto.client, TABLE, id);
      const rightGuess = await frank.post(`t=${token}`, `password=${password}`);
      assert.deepEqual(await readRecord(moto.client, TABLE, id), before, `${what}: the right guess wrote to the store`);
      const wrongGuess = await frank.post(`t=${token}`, 'password=wrong');
      assert.deepEqual(await readRecord(moto.client, TABLE, id), before, `${what}: the wrong guess wrote to the store`);
      assert.equal(rightGuess.status, '410', what);
      assert.equal(reasonOf(rightGuess), what);
      assert.equal(whole(rightGuess), whole(wrongGuess), `${what}: the answers differ`);
    }
  });

  it('fifty wrong passwords from one network: it waits, the link lives, and the right password from another network downloads', async () => {
    const password = 'right-one';
    const { id, token } = link({ n: 1, password });
    const mallory = client(20);
    const answers = [];
    for (let i = 0; i < 50; i++) answers.push(reasonOf(await mallory.post(`t=${token}`, `password=guess${i}`)));
    assert.deepEqual(answers.slice(0, 5), Array(5).fill('wrong_password'), 'five free guesses');
    assert.deepEqual(answers.slice(5), Array(45).fill('too_many_attempts'), 'then the network waits');
    const waiting = await mallory.post(`t=${token}`, `password=${password}`);
    assert.equal(waiting.status, '429', 'the right password from the waiting network is not even compared');
    assert.match(header(waiting, 'retry-after'), /^[1-9][0-9]*$/);
    assert.match(waiting.body, /Try again in [0-9]+ s, after [0-9-]+ [0-9:]+ UTC/, 'the page says when');
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.failures.N, '5', 'only the checked guesses are counted');
    assert.equal(record.tv.N, '5', 'one compare-and-set per checked guess');
    const alice = client(21);
    const download = await alice.get(passQuery(await alice.post(`t=${token}`, `password=${password}`), token));
    assert.ok(isForward(download), `forwarded (got ${download.status} ${reasonOf(download)})`);
  });

  it('fifty parallel wrong passwords from one network never get past its five free guesses', async () => {
    const { id, token } = link({ n: 1, password: 'secret' });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client(22).post(`t=${token}`, `password=guess${i}`, { 'user-agent': `guesser/${i}` })),
    );
    const wrong = answers.filter((a) => reasonOf(a) === 'wrong_password').length;
    const waited = answers.filter((a) => reasonOf(a) === 'too_many_attempts').length;
    assert.equal(wrong + waited, 50, answers.map((a) => `${a.status} ${reasonOf(a)}`).join(', '));
    assert.ok(wrong >= 1 && wrong <= 5, `${wrong} guesses were checked`);
    assert.equal((await readRecord(moto.client, TABLE, id)).failures.N, String(wrong), 'each checked guess counted once');
    let more = 0;
    while (reasonOf(await client(22).post(`t=${token}`, 'password=again')) === 'wrong_password') more += 1;
    assert.equal(wrong + more, 5, 'the free guesses, then the wait, whatever the race');
  });

  it('guesses from many networks reach the link ceiling: everyone waits, and after the window the right password works', async () => {
    let clockMs = Date.now();
    const short = bundle.mod.createHandler({
      env: TEST_ENV,
      store: SLOW_STORE,
      nowMs: () => clockMs,
      validator: { password_throttle: { link_ceiling: 6, window: 60 } },
    });
    const password = 'right-one';
    const { id, token } = link({ n: 1, password });
    for (let net = 30; net < 33; net++) {
      for (let i = 0; i < 2; i++) assert.equal(reasonOf(await client(net, short).post(`t=${token}`, 'password=wrong')), 'wrong_password');
    }
    for (const [net, guess] of [[40, password], [41, 'wrong'], [30, password]]) {
      const r = await client(net, short).post(`t=${token}`, `password=${guess}`);
      assert.equal(reasonOf(r), 'too_many_attempts', `network ${net}, ${guess}`);
    }
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.failures.N, '6');
    assert.equal(record.used?.N ?? '0', '0', 'guesses never use up or lock the link');
    clockMs += 61_000;
    const carol = client(40, short);
    const download = await carol.get(passQuery(await carol.post(`t=${token}`, `password=${password}`), token));
    assert.ok(isForward(download), `after the window: forwarded (got ${download.status} ${reasonOf(download)})`);
  });

  it('the right password (form-encoded UTF-8, sent base64) issues a pass that downloads', async () => {
    const password = 'sésame ouvre-toi';
    const { id, token } = link({ n: 2, fn: 'plan.bin', password });
    const carol = client(5);
    const wrong = await carol.post(`t=${token}`, 'password=nope');
    assert.equal(reasonOf(wrong), 'wrong_password');
    const right = await carol.post(`t=${token}`, `password=${encodeURIComponent(password)}`);
    const download = await carol.get(passQuery(right, token));
    assert.ok(isForward(download), `forwarded (got ${download.status} ${reasonOf(download)})`);
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.used.N, '1');
    assert.equal(record.failures.N, '1', 'the one wrong attempt stays counted');
  });

  it('a new password link with the right password first downloads exactly once (no failure counted)', async () => {
    const password = 'first-time-right';
    const { id, token } = link({ n: 1, fn: 'plan.bin', password });
    const erin = client(7);
    const right = await erin.post(`t=${token}`, `password=${password}`);
    assert.equal(right.status, '303', `the right password is answered 303 (got ${right.status} ${reasonOf(right)})`);
    const download = await erin.get(passQuery(right, token));
    assert.ok(isForward(download), `forwarded (got ${download.status} ${reasonOf(download)})`);
    const record = await readRecord(moto.client, TABLE, id);
    assert.equal(record.used.N, '1');
    assert.equal(record.failures?.N ?? '0', '0', 'no failure was ever counted');
    const again = await client(8).post(`t=${token}`, `password=${password}`);
    assert.equal(reasonOf(again), 'used_up', 'after its one use the right password gets the 410');
  });

  it('a body CloudFront truncated is 400 bad_form, whatever its first bytes say', async () => {
    const password = 'hunter2';
    const { id, token } = link({ n: 1, password });
    const dave = client(6);
    const cut = await dave.post(`t=${token}`, includeBody(`password=${password}`, { truncated: true }));
    assert.equal(cut.status, '400');
    assert.equal(cut.statusDescription, 'Bad Request');
    assert.equal(reasonOf(cut), 'bad_form');
    const long = await dave.post(`t=${token}`, `password=${'a'.repeat(MAX_FORM_BYTES)}`);
    assert.equal(reasonOf(long), 'bad_form', 'a body over 4 KiB is refused too');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined, 'an unread body counts no failure');
  });

  it('POST to a direct-mode link is 405 and never reaches the origin', async () => {
    const { id, token } = link({ n: 1 });
    const answer = await client(7).post(`t=${token}`, '');
    assert.equal(answer.status, '405');
    assert.equal(header(answer, 'allow'), 'GET, HEAD');
    assert.equal(await readRecord(moto.client, TABLE, id), undefined);
  });

  it('the largest pages stay far under 40 KB', async () => {
    // The longest file name, every character escaped in HTML, on a long path.
    const name = '<&"'.repeat(85);
    const { token } = link({ n: 3, m: 'page', fn: name });
    const erin = client(8);
    const page = await erin.get(`t=${token}&${'x'.repeat(512)}=1`);
    assert.equal(reasonOf(page), 'page');
    assert.ok(!page.body.includes(name), 'the name is escaped');
    const redirect = await erin.post(`t=${token}&${'x'.repeat(512)}=1`, '');
    assert.equal(reasonOf(redirect), 'pass_issued');
    const locked = link({ n: 1, password: 'x', fn: name });
    for (let i = 0; i < 5; i++) await client(8, locking).post(`t=${locked.token}`, 'password=y');
    assert.equal(reasonOf(generated.at(-1)), 'locked');
    const preview = await handler(viewerEvent({ path: PATH, query: `t=${link({ n: 1 }).token}`, headers: { 'user-agent': 'Slackbot-LinkExpanding 1.0', accept: HTML } }));
    assert.equal(reasonOf(preview), 'preview');
    generated.push(preview);
  });

  it('every generated answer above is in the documented shape and under the 40 KB limit', (t) => {
    const reasons = new Set(generated.map(reasonOf));
    for (const code of ['page', 'pass_issued', 'pass_invalid', 'used_up', 'password_required', 'wrong_password', 'locked', 'too_many_attempts', 'bad_form', 'preview']) {
      assert.ok(reasons.has(code), `a ${code} answer was produced and measured`);
    }
    let largest = 0;
    for (const response of generated) {
      assert.equal(typeof response.status, 'string');
      assert.notEqual(response.statusDescription, 'Error', `status ${response.status} has its text`);
      assert.equal(header(response, 'cache-control'), 'no-store', `${reasonOf(response)}: no-store`);
      const size = generatedResponseBytes(response);
      assert.ok(size < MAX_GENERATED_RESPONSE_BYTES, `${reasonOf(response)} is ${size} bytes`);
      largest = Math.max(largest, size);
    }
    assert.ok(largest < 16 * 1024, `the largest generated answer is ${largest} bytes`);
    t.diagnostic(`${generated.length} generated answers, largest ${largest} bytes (limit ${MAX_GENERATED_RESPONSE_BYTES})`);
  });
});
