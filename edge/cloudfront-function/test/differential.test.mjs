// Differential test: thousands of generated requests, many of them hostile
// (tampered tokens, non-canonical base64, claims JSON that serde_json refuses
// and JSON.parse would accept, odd CIDRs and addresses, path tricks, header
// games, page-mode claims m and pw that break their rules, POSTs with form
// bodies, pass parameters, unfurler User-Agents), decided by the Rust core
// built to wasm and by the CloudFront Function. For every one the function
// must do exactly what test/vectors.mjs says it must do with the core's step:
// same reason code, status, headers and body on denials; the same forwarded
// query and headers for time-limited links; the request unchanged (prefilter)
// or `needs_consume` (only) for use-limited and page-mode links.
// The generator is seeded, so a failure names a case that can be replayed.

import test from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { loadCore } from './core.mjs';
import { loadFor, expectationFor, loadDecideVectors, claimsOf } from './vectors.mjs';
import { eventFor, outcomeOf, queryOf, flatHeaders } from './runtime.mjs';

// Bounded; ONCELINK_DIFF_CASES and ONCELINK_DIFF_SEED explore further by hand.
const CASES_PER_MODE = Number(process.env.ONCELINK_DIFF_CASES ?? 3000);
const SEED = Number(process.env.ONCELINK_DIFF_SEED ?? 0x0ce11);
const NOW = 1767225600;
const base = loadDecideVectors().config;
const SECRETS = Object.fromEntries(base.keys.keys.map((k) => [k.kid, k.secret]));

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(r) {
  const pick = (list) => list[Math.floor(r() * list.length)];
  const chance = (p) => r() < p;
  // About a third of the cases are hostile: they get the malformations, scaled
  // up, so that the rest stay valid long enough to reach the later checks.
  let hostile = false;
  // About a fifth are friendly instead: a valid token for its path, so that
  // most of them reach what the core decides after the stateless checks
  // (modes, pages, passes, passwords, previews, the store).
  let friendly = false;
  const bad = (p) => hostile && r() < p * 3;
  const str = (s) => JSON.stringify(s);
  const space = () => (bad(0.15) ? pick([' ', '\n', '\t', '\r', '  ', '\f', '\u00a0']) : '');

  const PATHS = ['/files/report.pdf', '/files/*', '/*', '/files/a b.pdf', '/files/caf\u00e9.pdf', '/dir/', '/a*',
    '/\ud83d\ude00/x.bin', '/files/%41.pdf', '/files/report.pdf/', '/files/a;b.pdf'];
  const BAD_PATHS = ['a/b', '/a//b', '/a/../b', '/a/./b', '/a\\b', '/a\u0000b', '/files/\u0085x', '/x/*/y', '//*', '',
    '/a/..;/b', '/a/.;x/*', '/a/;x'];
  const CIDRS = ['203.0.113.0/24', '203.0.113.7', '203.0.113.7/32', '203.0.113.1/24', '0.0.0.0/0', '203.0.113.7/255',
    '203.0.113.7/256', '203.000.113.7', '203.0.113', '2001:db8::/32', '2001:db8::1', '2001:DB8::/32', '2001:db8::1/64',
    '::/0', '::ffff:203.0.113.0/120', '::ffff:203.0.113.7', '1:2:3:4:5:6:7::', '1::2::3', '2001:db8:0:0:0:0:0:0/32',
    '::1.2.3.4', '2001:db8::/129', '00002001:db8::/32', 'fe80::1%eth0', ' 203.0.113.7', '203.0.113.0/+8', '203.0.113.0/08',
    '64:ff9b::203.0.113.7', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', ''];
  const NAMES = ['Q3 report.pdf', 'caf\u00e9.txt', 'say "hi".txt', '100%.txt', "it's (1).txt", 'a*b~c!.txt',
    'x\ud83d\ude00y.bin', '', 'a/b.txt', 'a\\b.txt', 'tab\there.txt', 'del\u007f.txt', 'nel\u0085.txt',
    'x'.repeat(255), 'x'.repeat(256), '\ud83d\ude00'.repeat(255), '\ud83d\ude00'.repeat(256), '#$&+^`|.txt', 'a=b;c.txt'];
  const ADDRESSES = ['203.0.113.7', '203.0.114.7', '2001:db8::1', '2001:db9::1', '::ffff:203.0.113.7', '::ffff:cb00:7107',
    '198.51.100.7', 'garbage', '', '203.0.113.07', '2001:0db8:0000:0000:0000:0000:0000:0001', '::1', '0.0.0.0'];

  function friendlyClaims() {
    const p = pick(['/files/report.pdf', '/files/*', '/*']);
    const fields = [['id', str(pick(['AAAAAAAAAAAAAAAAAAAAAA', 'q1w2e3r4t5y6u7i8o9p0aZ']))], ['p', str(p)], ['exp', String(NOW + 3600)]];
    const n = chance(0.6) ? pick(['1', '3']) : undefined;
    if (n) fields.push(['n', n]);
    if (chance(0.6)) fields.push(['m', pick(['"page"', '"page"', '"direct"'])]);
    if (n && chance(0.4)) fields.push(['pw', str(createHmac('sha256', 'pw').update(String(r())).digest('base64url'))]);
    if (chance(0.3)) fields.push(['fn', str(pick(NAMES.slice(0, 7)))]);
    if (n && chance(0.2)) fields.push(['b', 'true']);
    const text = `{${fields.map(([k, v]) => `${str(k)}:${v}`).join(',')}}`;
    return { bytes: Buffer.from(text, 'utf8'), p, cidr: undefined, n, parsed: JSON.parse(text) };
  }

  function claimsJson() {
    if (friendly) return friendlyClaims();
    const fields = [];
    const id = bad(0.1) ? pick(['x'.repeat(15), 'x'.repeat(65), 'has space xxxxxxxxxxx', 'dots.are.not.ok.here'])
      : pick(['AAAAAAAAAAAAAAAAAAAAAA', 'q1w2e3r4t5y6u7i8o9p0aZ', 'x'.repeat(16), 'x'.repeat(64), '-_-_-_-_-_-_-_-_']);
    fields.push(['id', bad(0.03) ? 'null' : str(id)]);
    const p = chance(0.85) ? pick(PATHS) : pick(BAD_PATHS);
    let pText = str(p);
    if (bad(0.1)) pText = pText.replaceAll('/', '\\/');
    if (bad(0.03)) pText = pText.replace(/"$/, '\\ud800"');
    if (bad(0.03)) pText = pText.replace(/"$/, '\\ud83d\\ude00"');
    if (bad(0.03)) pText = pText.replace(/"$/, '\u0001"');
    fields.push(['p', bad(0.02) ? 'null' : pText]);
    const exp = NOW + (chance(0.6) ? 3600 : pick([-100, -31, -30, -29, 0, 1, 3600, 10 ** 9]));
    fields.push(['exp', bad(0.12)
      ? pick(['1e10', `${exp}.0`, '-1', '-0', `0${exp}`, '9223372036854775807', '9223372036854775808',
        '99999999999999999999', `"${exp}"`, 'null', 'true', '[1]'])
      : String(exp)]);
    let n;
    if (chance(0.5)) {
      const nbf = bad(0.1) ? pick(['null', '-5', String(exp), String(exp + 1), '9007199254740993', '1.5'])
        : String(NOW + pick([-100, 29, 30, 31, 100]));
      fields.push(['nbf', nbf]);
    }
    if (chance(0.4)) {
      n = pick(['1', '3', '1000000', '1000001', '0', '-1', '4294967296', '1.0', 'null', '01']);
      fields.push(['n', n]);
    }
    if (chance(0.2)) fields.push(['r', pick(['"eu-west-1"', '"EU"', '""', str('r'.repeat(33)), 'null', '5'])]);
    let cidr;
    if (chance(0.35)) {
      cidr = pick(CIDRS);
      fields.push(['ip', bad(0.03) ? 'null' : str(cidr)]);
    }
    if (chance(0.3)) {
      const name = pick(NAMES);
      fields.push(['fn', bad(0.03) ? `"${name}\u0002"` : str(name)]);
    }
    if (chance(0.2)) fields.push(['g', pick(['0', '600', '86400', '86401', 'null', '-1'])]);
    // Page mode (docs/page-mode.md): m is "page" or "direct"; pw is 43
    // characters of canonical base64url, needs n, and m must not be direct.
    if (chance(0.3)) {
      fields.push(['m', bad(0.3) ? pick(['"Page"', '""', '1', 'null', '"\\u0070age"', '"page "', '["page"]', '"preview"'])
        : pick(['"page"', '"page"', '"direct"'])]);
    }
    if (chance(0.2)) {
      const pw = createHmac('sha256', 'pw').update(String(r())).digest('base64url');
      fields.push(['pw', bad(0.3) ? pick([str(pw.slice(0, 42)), str(`${pw}A`), str(`${pw.slice(0, 42)}${pick(['B', 'R', 'f', '_'])}`),
        str(`${pw}=`), str(`+${pw.slice(1)}`), 'null', '7', str(pw.toUpperCase()), '""'])
        : str(pw)]);
    }
    // b (bound to the first downloader): the literal true, only with n.
    if (chance(0.15)) {
      fields.push(['b', bad(0.4) ? pick(['false', '1', '"true"', 'null', 'True', 'tru', '[true]', 'true1']) : 'true']);
    }
    if (bad(0.04)) fields.push([pick(['id', 'exp', 'p', 'n', 'fn']), pick(['1', '"x"', 'null'])]);
    if (bad(0.04)) fields.splice(Math.floor(r() * fields.length), 1);
    for (let i = fields.length - 1; i > 0; i--) {
      if (chance(0.3)) {
        const j = Math.floor(r() * (i + 1));
        [fields[i], fields[j]] = [fields[j], fields[i]];
      }
    }
    const key = (k) => (bad(0.04) ? `"\\u00${k.charCodeAt(0).toString(16)}${k.slice(1)}"` : str(k));
    let text = `{${fields.map(([k, v]) => `${space()}${key(k)}${space()}:${space()}${v}${space()}`).join(',')}}`;
    if (bad(0.03)) text = `${pick([' ', '\n'])}${text}`;
    if (bad(0.05)) text += pick([' ', '\n', 'x', ',', '}', '\t\r\n']);
    if (bad(0.02)) text = `[${text}]`;
    if (bad(0.02)) text = text.replace('}', ',}');
    let bytes = Buffer.from(text, 'utf8');
    if (bad(0.04)) {
      const bad = pick([[0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]]);
      const at = bytes.indexOf(0x22, 2) + 1;
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(bad), bytes.subarray(at)]);
    }
    return { bytes, p, cidr, n, parsed: claimsOf(`x.x.${bytes.toString('base64url')}`) };
  }

  function token() {
    const claims = claimsJson();
    const kid = friendly || chance(0.9) ? pick(['k1', 'k2']) : pick(['k3', 'bad!kid', 'k'.repeat(33), 'K2']);
    const secret = bad(0.05) ? SECRETS.k1 : SECRETS[kid] ?? SECRETS.k2;
    let body = claims.bytes.toString('base64url');
    if (bad(0.03) && body.length % 4 >= 2) body = body.slice(0, -1) + pick(['B', 'R', 'f', '_', 'I', 'Y', 'o', '4']);
    const signed = `ol1.${kid}.${body}`;
    let sig = createHmac('sha256', Buffer.from(secret, 'base64url')).update(signed).digest('base64url');
    if (bad(0.04)) sig = sig.slice(0, -1) + pick(['A', 'B', 'R', 'Q']);
    if (bad(0.03)) sig = pick([`${sig}=`, sig.slice(1), `${sig}A`, sig.replace(/[A-Z]/, '+')]);
    let t = `${signed}.${sig}`;
    if (bad(0.02)) t = pick([t.replace('ol1.', 'OL1.'), `${t}.x`, t.replace(`.${sig}`, ''), `${t}${'A'.repeat(2050)}`]);
    return { token: t, claims };
  }

  function pathFor(p) {
    const raw = !p ? '/files/report.pdf' : p.endsWith('/*') ? `${p.slice(0, -1)}${pick(['x.pdf', 'deep/y', ''])}` : p;
    const encoded = raw.startsWith('/') ? raw.split('/').map((s) => {
      try {
        return encodeURIComponent(s);
      } catch {
        return s;
      }
    }).join('/') : `/${raw}`;
    if (chance(0.8)) return encoded;
    if (chance(0.3) && raw.startsWith('/')) return raw; // unencoded, as some clients send it
    return pick([encoded.replace(/%[0-9A-F]{2}/, (m) => m.toLowerCase()),
      '/other.pdf', '/files/%2e%2e/x', '/files/a%', '/files/%zz', '/%C3', '/files//x', '/files/x%2Fy',
      '/files/%252e%252e/x', `${encoded}%00`, '/files/..;/x', '/files/%2e%2e;/x', '/files/..%3bx/y', '/files/..;x=1/y',
      '/files/.;/x', '/files/;x/y', '/files/a;b.pdf', '/files/a%3Bb.pdf', '/files/..%253b/x']);
  }

  return function nextCase() {
    hostile = chance(0.35);
    friendly = !hostile && chance(0.3);
    const config = {
      ...base,
      skew: pick([30, 30, 0, 3600]),
      token_param: pick(['t', 't', 't', 'link']),
      origin: pick(['s3', 's3', 'header']),
    };
    if (chance(0.1)) config.pass_param = pick(['pass', 'ticket']);
    const { token: t, claims } = token();
    const param = bad(0.05) ? pick(['T', 'tt', config.token_param === 't' ? 'link' : 't']) : config.token_param;
    let query = chance(0.7) ? `${param}=${t}` : pick([
      `a=1&${param}=${t}&b`, `${param}=${t}&${param}=${t}`, '', `${param}=`, param,
      `${param}=${t}&response-content-disposition=inline`, `x=%20y&${param}=${t}&z=`,
    ]);
    if (chance(0.2)) {
      // A pass: genuine-looking but never valid here (the function never checks one).
      const pass = pick([`pass=${NOW + 60}.AAAAAAAAAAAAAAAAAAAAAA`, 'pass=', 'pass', `pass=${NOW - 5}.x`, 'ticket=1', 'pass=1&pass=2']);
      query = pick([`${query}&${pass}`, `${pass}&${query}`]);
    }
    const headers = { 'user-agent': chance(0.85) ? 'Mozilla/5.0 (X11; Linux x86_64) Example/1.0'
      : pick(['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'facebookexternalhit/1.1', 'WhatsApp/2.23.20.0',
        'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)', 'TelegramBot (like TwitterBot)', 'curl/8.5.0']) };
    if (chance(0.3)) headers.accept = pick(['text/html,*/*;q=0.8', 'TEXT/HTML', 'application/json', '*/*']);
    if (chance(0.08) || query === '') {
      headers.authorization = pick([`Oncelink ${t}`, ` oncelink  ${t} `, `ONCELINK ${t}\u0085`, 'Bearer x', 'Oncelink',
        `Oncelink\t${t}`, `Oncelink ${t} extra`, `Oncelink\u00a0${t}`, `\ufeffOncelink ${t}`]);
    }
    if (chance(0.15)) headers[pick(['sec-purpose', 'purpose', 'x-purpose', 'x-moz'])] = pick(['prefetch', 'Prefetch;prerender', 'preview', 'none']);
    if (chance(0.1)) headers['x-oncelink-disposition'] = 'inline';
    if (chance(0.1)) headers.range = pick(['bytes=0-', 'bytes=100-']);
    if (chance(0.15)) headers['sec-fetch-site'] = pick(['cross-site', ' Cross-Site ', 'same-origin', 'none']);
    let ip = pick(ADDRESSES);
    if (claims.cidr && chance(0.5)) ip = claims.cidr.replace(/\/.*$/, '').replace(/::$/, '::5');
    const now = NOW + (friendly || chance(0.7) ? 0 : pick([-35, 3600 - 31, 3600 - 30, 3600 + 29, 3600 + 30, 10 ** 9 + 5000]));
    const method = chance(0.7) ? 'GET' : pick(['HEAD', 'HEAD', 'POST', 'POST', 'POST', 'POST', 'get', 'PUT', 'post']);
    const request = { method, path: pathFor(claims.p), query, headers, ip };
    // The body the core is given if it asks (need_body): text, or unreadable.
    let body = { read: '' };
    if (method === 'POST' && chance(0.8)) {
      body = pick([{ read: '' }, { read: 'password=hunter2' }, { read: 'password=' }, { read: 'a=1&password=%E2%82%AC' },
        { read: 'password=%zz' }, { read: 'x'.repeat(4097) }, { unreadable: 'truncated' }, { unreadable: 'too_large' }]);
      if (chance(0.5)) headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    return { config, request, body, now, claims: claims.parsed };
  }
}

const normalizeQuery = (query) => query.split('&').filter((p) => p !== '').map((p) => p.replace(/=$/, '')).join('&');

for (const mode of ['only', 'prefilter']) {
  test(`generated requests: the function agrees with the wasm core (mode ${mode})`, async () => {
    const core = await loadCore();
    const next = generator(random(SEED + (mode === 'only' ? 0 : 1)));
    const validators = new Map();
    const functions = new Map();
    const seen = new Map();
    for (let i = 0; i < CASES_PER_MODE; i++) {
      const { config, request, body, now, claims } = next();
      const key = JSON.stringify(config);
      if (!validators.has(key)) {
        validators.set(key, new core.Validator(key));
        functions.set(key, loadFor(mode, config));
      }
      const validator = validators.get(key);
      let step = JSON.parse(validator.decide(JSON.stringify(request), now));
      if (step.step === 'need_body') step = JSON.parse(validator.give_body(JSON.stringify(step.pending), JSON.stringify(body)));
      const event = eventFor(request);
      const result = outcomeOf(await functions.get(key).run(structuredClone(event), now));
      const want = expectationFor({ name: `case ${i}`, expect: step }, mode, claims);
      const label = `case ${i} (seed ${SEED}, mode ${mode}): ${JSON.stringify({ config: { ...config, keys: '...' }, request, now })}\ncore: ${JSON.stringify(step)}\nfunction: ${JSON.stringify(result)}`;
      const outcome = want.deny ?? (want.pass ? 'pass' : 'forward');
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      if (step.step !== 'forward' || step.allow !== 'unlimited') {
        const core = step.step === 'respond' ? step.reason : step.step === 'need_store' ? `need_store ${step.pending.op.kind}` : `forward ${step.allow}`;
        if (want.deny === undefined || want.deny === 'needs_consume') seen.set(`core ${core}`, (seen.get(`core ${core}`) ?? 0) + 1);
      }
      if (request.method === 'POST' && outcome === 'method_not_allowed' && claims !== null) {
        seen.set('POST refused in direct mode', (seen.get('POST refused in direct mode') ?? 0) + 1);
      }
      if (want.deny !== undefined) {
        assert.deepEqual([result.kind, result.reason, result.status], ['respond', want.deny, want.status], label);
        if (want.deny === step.reason) {
          assert.deepEqual(Object.entries(result.headers), step.headers, label);
          assert.equal(result.body, step.body, label);
        }
      } else if (want.pass) {
        assert.deepEqual(result.request, event.request, label);
      } else {
        assert.equal(result.kind, 'request', label);
        assert.equal(result.request.uri, step.path, label);
        assert.equal(normalizeQuery(queryOf(result.request.querystring)), normalizeQuery(step.query), label);
        const expected = flatHeaders(event.request.headers);
        for (const name of step.remove_headers) delete expected[name];
        for (const [name, value] of step.set_headers) expected[name] = value;
        assert.deepEqual(flatHeaders(result.request.headers), expected, label);
      }
    }
    // The generator must reach every outcome, or the test proves little.
    const reached = [...seen.keys()];
    const needed = ['malformed', 'unknown_kid', 'bad_signature', 'bad_path', 'wrong_path', 'ip_mismatch', 'expired',
      'not_yet_valid', 'method_not_allowed', 'missing_token', mode === 'only' ? 'needs_consume' : 'pass',
      mode === 'only' ? 'forward' : 'pass', 'POST refused in direct mode',
      // What the core decides for the links the function hands on: page mode, previews, prefetches, the store.
      'core page', 'core preview', 'core prefetch_refused', 'core pass_issued', 'core pass_invalid', 'core bad_form',
      'core password_required', 'core cross_site', 'core need_store consume', 'core need_store read', 'core need_store guard',
      'core forward head'];
    if (process.env.ONCELINK_DIFF_CASES) console.log(mode, JSON.stringify(Object.fromEntries(seen)));
    for (const outcome of needed) {
      assert.ok(reached.includes(outcome), `the generator never reached ${outcome}: ${JSON.stringify(Object.fromEntries(seen))}`);
    }
  });
}
