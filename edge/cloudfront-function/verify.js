// oncelink token verifier for CloudFront Functions (runtime cloudfront-js-2.0).
//
// A second implementation of the stateless checks of the Rust core
// (edge/src/decide.rs `check`), in the same order and with the same reason
// codes, for a runtime that has no WebAssembly and no network. It is held to
// the core by running the shared vectors and a differential test against the
// wasm build (edge/cloudfront-function/test/). See docs/cloudfront-functions.md.
//
// Two modes, chosen at build time (CONFIG.mode):
// - "only": the function is the whole edge for time-limited direct-mode links
//   (no `n`): it strips the token and lets the request go to the cache. A
//   token with `n`, or a link in page mode (docs/page-mode.md), is refused
//   with `needs_consume`, because nothing here can count a use or show a page.
// - "prefilter": in front of the Lambda@Edge handler (origin-request). Bad
//   tokens are refused here; every valid one goes on unchanged, token included,
//   for the Lambda to decide again (count, preview, page, pass, password).
//
// Keys come from the KeyValueStore: key = kid, value = the base64url secret.
// Restrictions of the runtime this file keeps to (the lint in
// test/runtime-features.test.mjs checks them): no for-of, no destructuring, no
// spread, no classes, no optional chaining, no template literals, `async`
// only on the top-level handler, and only documented built-in methods.
import cf from 'cloudfront';

const crypto = require('crypto');

// Everything but the handler lives in this closure, so the minifier can
// shorten its names (CloudFront only looks for a top-level `handler`).
const oncelink = (() => {
  // Replaced by build.mjs from the deployment configuration.
  const CONFIG = { kvs: 'KVS_ID', mode: 'only', skew: 30, param: 't', pass: 'pass', origin: 's3' };
  const kvs = cf.kvs(CONFIG.kvs);
  const MAX_TOKEN_BYTES = 2048;
  const TOKEN_SHAPE = /^ol1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const HEX_DIGITS = '0123456789ABCDEF';
  // Latest exp/nbf (claims.rs MAX_TIME, 9999-12-31T23:59:59Z).
  const MAX_TIME = '253402300799';
  // Unicode White_Space, which Rust's str::trim removes (JS trim differs on U+0085 and U+FEFF).
  const WHITE_SPACE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+';
  const RUST_TRIM = new RegExp('^' + WHITE_SPACE + '|' + WHITE_SPACE + '$', 'g');
  // Rust char::is_control (general category Cc).
  const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

  // Reason code -> [HTTP status, message]; statuses and messages as edge/src/error.rs.
  // `needs_consume` is this tier's own: a use-limited token on a function-only behavior.
  const REASONS = {
    missing_token: [403, 'This address needs a download link.'],
    malformed: [403, 'This link is damaged or incomplete.'],
    unknown_kid: [403, 'This link was signed with a key this server does not know.'],
    bad_signature: [403, 'This link is not valid.'],
    bad_path: [403, 'The requested path is not valid.'],
    wrong_path: [403, 'This link is not valid for this file.'],
    ip_mismatch: [403, 'This link cannot be used from your network.'],
    not_yet_valid: [403, 'This link is not valid yet.'],
    method_not_allowed: [405, 'Only GET and HEAD are allowed.'],
    expired: [410, 'This link has expired.'],
    needs_consume: [403, 'This link has a use limit and cannot be served here.']
  };
  const STATUS_TEXT = { 403: 'Forbidden', 405: 'Method Not Allowed', 410: 'Gone' };

  // Claim name -> value kind: s = string, i = non-negative integer, t = the
  // literal true (b: false is refused by the claim rules, so never read). No
  // claim may be null: a signed "n":null is malformed, not an unlimited link.
  const CLAIM_KINDS = {
    id: 's', p: 's', exp: 'i', nbf: 'i', n: 'i', r: 's', ip: 's', fn: 's', g: 'i', m: 's', pw: 's', b: 't', ref: 's', lk: 'i'
  };
  const JSON_SPACE = /[ \t\n\r]*/y;
  const JSON_STRING = /"((?:[^"\\\u0000-\u001f]|\\(?:["\\\/bfnrt]|u[0-9a-fA-F]{4}))*)"/y;
  const JSON_ESCAPE = /\\(?:u([0-9a-fA-F]{4})|(.))/g;
  const JSON_UNESCAPE = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  // Only plain non-negative integers can pass: serde_json refuses a fraction or
  // exponent for an integer field, and a negative exp/nbf/n/g fails the claim rules.
  const JSON_UINT = /(?:0|[1-9][0-9]*)(?![-+.eE0-9])/y;

  const OCTET = '(0|[1-9][0-9]{0,2})';
  const IPV4 = new RegExp('^' + [OCTET, OCTET, OCTET, OCTET].join('\\.') + '$');
  const IPV4_IN_V6 = new RegExp([OCTET, OCTET, OCTET, OCTET].join('\\.') + '(?![0-9])', 'y');
  const HEX_GROUP = /[0-9a-fA-F]{1,4}/y;

  // Method, path, token lookup and token shape: a reason code, or the token's parts.
  function parseRequest(request) {
    if (!['GET', 'HEAD', 'POST'].includes(request.method)) {
      return 'method_not_allowed';
    }
    if (decodePath(request.uri) === null) {
      return 'bad_path';
    }
    const found = findToken(request);
    if (typeof found === 'string') {
      return found;
    }
    // A token that fits the shape is ASCII, so its length is its size in bytes.
    const parts = found.token.length > MAX_TOKEN_BYTES ? null : TOKEN_SHAPE.exec(found.token);
    if (parts === null || !isCanonical(parts[2]) || !isCanonical(parts[3])) {
      return 'malformed';
    }
    return { kid: parts[1], claims: parts[2], sig: parts[3], fromHeader: found.fromHeader };
  }

  // MAC, claims, time, path grant, address, then what this mode does with the token.
  function verify(event, token, secret, now) {
    const request = event.request;
    const mac = crypto.createHmac('sha256', Buffer.from(String(secret), 'base64url'))
      .update('ol1.' + token.kid + '.' + token.claims)
      .digest();
    const sig = Buffer.from(token.sig, 'base64url');
    let diff = mac.length ^ sig.length;
    for (let i = 0; i < 32; i++) {
      diff |= mac[i] ^ sig[i];
    }
    if (diff !== 0) {
      return 'bad_signature';
    }
    const bytes = Buffer.from(token.claims, 'base64url');
    const text = bytes.toString('utf8');
    const claims = Buffer.from(text, 'utf8').equals(bytes) ? parseClaims(text) : null;
    const checked = claims === null ? null : checkClaims(claims);
    if (checked === null) {
      return 'malformed';
    }
    if (now >= toNumber(claims.exp) + CONFIG.skew) {
      return 'expired';
    }
    if ('nbf' in claims && now < toNumber(claims.nbf) - CONFIG.skew) {
      return 'not_yet_valid';
    }
    const path = decodePath(request.uri);
    if (checked.prefix ? !path.startsWith(checked.path) : path !== checked.path) {
      return 'wrong_path';
    }
    if (checked.cidr !== null && !cidrContains(checked.cidr, parseIp((event.viewer || {}).ip))) {
      return 'ip_mismatch';
    }
    // A link in page mode (m: "page", or a pw link) and a link with a use
    // limit are the Lambda's: pages, passes, passwords, counts, and the
    // unfurler previews and prefetch refusals of use-limited links (which
    // depend on a User-Agent list this function does not carry). A POST to a
    // link in direct mode is refused as the core refuses it.
    const page = claims.m === 'page' || 'pw' in claims;
    if (request.method === 'POST' && !page) {
      return 'method_not_allowed';
    }
    if (CONFIG.mode === 'prefilter') {
      return request;
    }
    return 'n' in claims || page ? 'needs_consume' : forward(request, claims, token.fromHeader);
  }

  // The token from the query parameter or `Authorization: Oncelink <token>`;
  // more than one is `malformed`, none (or an empty one) is `missing_token`.
  function findToken(request) {
    let token = '';
    let count = 0;
    let fromHeader = false;
    const param = own(request.querystring, CONFIG.param);
    if (param !== undefined) {
      count = param.multiValue ? param.multiValue.length : 1;
      token = param.value;
    }
    const auth = header(request.headers, 'authorization');
    if (auth !== undefined) {
      const words = auth.replace(RUST_TRIM, '');
      const space = words.indexOf(' ');
      if (/^oncelink$/i.test(space < 0 ? words : words.slice(0, space))) {
        count += 1;
        token = space < 0 ? '' : words.slice(space + 1).replace(RUST_TRIM, '');
        fromHeader = true;
      }
    }
    if (count === 0 || (count === 1 && token === '')) {
      return 'missing_token';
    }
    return count > 1 ? 'malformed' : { token: token, fromHeader: fromHeader };
  }

  // A time-limited token on a function-only behavior: what decide.rs `forward_for`
  // sends on, with the token and any pass out of the query (and so out of the
  // cache key).
  function forward(request, claims, fromHeader) {
    const headers = request.headers;
    delete request.querystring[CONFIG.param];
    delete request.querystring[CONFIG.pass];
    Object.keys(headers).forEach((name) => {
      if (name.startsWith('x-oncelink-')) {
        delete headers[name];
      }
    });
    if (fromHeader) {
      delete headers.authorization;
    }
    if (CONFIG.origin !== 'header') {
      // S3 honours response-* overrides on signed requests: only the edge sets them.
      Object.keys(request.querystring).forEach((name) => {
        // Byte-wise %XX decoding, as the core does: any spelling counts.
        const decoded = name.replace(/%([0-9a-fA-F]{2})/g, (m, hex) => String.fromCharCode(parseInt(hex, 16)));
        if (decoded.toLowerCase().startsWith('response-')) {
          delete request.querystring[name];
        }
      });
    }
    if ('fn' in claims) {
      const value = attachment(claims.fn);
      if (CONFIG.origin === 'header') {
        headers['x-oncelink-disposition'] = { value: value };
      } else {
        request.querystring['response-content-disposition'] = { value: queryValue(value) };
      }
    }
    return request;
  }

  function deny(reason, html) {
    const entry = REASONS[reason];
    const status = entry[0];
    const headers = {
      'content-type': { value: html ? 'text/html; charset=utf-8' : 'application/json' },
      'cache-control': { value: 'no-store' },
      'referrer-policy': { value: 'no-referrer' },
      'x-content-type-options': { value: 'nosniff' },
      'x-robots-tag': { value: 'noindex' },
      'content-security-policy': { value: "default-src 'none'; style-src 'unsafe-inline'" }
    };
    if (status === 405) {
      headers.allow = { value: 'GET, HEAD' };
    }
    const title = status === 410 ? 'Link no longer available' : 'Link not valid';
    const body = html
      ? '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
        '<meta name="viewport" content="width=device-width,initial-scale=1"><title>' + title + '</title>' +
        '<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}' +
        'code{color:#555}</style></head><body><h1>' + title + '</h1><p>' + entry[1] + '</p><p><code>' +
        status + ' \u00b7 ' + reason + '</code></p></body></html>'
      : JSON.stringify({ error: reason, message: entry[1] });
    return {
      statusCode: status,
      statusDescription: STATUS_TEXT[status],
      headers: headers,
      body: { encoding: 'text', data: body }
    };
  }

  // ---- request helpers

  function own(object, key) {
    return object && Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
  }

  // A header's value; repeated headers are joined with ", " as the core's hosts do.
  function header(headers, name) {
    const entry = own(headers, name);
    if (entry === undefined) {
      return undefined;
    }
    return entry.multiValue ? entry.multiValue.map((v) => v.value).join(', ') : entry.value;
  }

  // Denials are HTML for clients that accept text/html, JSON otherwise.
  function wantsHtml(request) {
    return /text\/html/i.test(header(request.headers, 'accept') || '');
  }

  // ---- paths (edge/src/path.rs): percent-decoded once, valid UTF-8, then the rules

  function decodePath(raw) {
    let path;
    if (String(raw).charAt(0) !== '/') {
      return null;
    }
    try {
      path = decodeURIComponent(String(raw));
    } catch (e) {
      return null;
    }
    return isClean(path) ? path : null;
  }

  function isClean(path) {
    if (path.charAt(0) !== '/' || CONTROL.test(path) || path.indexOf('\\') >= 0) {
      return false;
    }
    // A segment is judged by its part before the first ';' (what Tomcat, Jetty
    // and Spring resolve once they drop path parameters): not empty, '.' or '..'.
    const segments = path.slice(1).split('/');
    return segments.every((s, i) => {
      const name = s.split(';')[0];
      return s === '' ? i === segments.length - 1 : name !== '' && name !== '.' && name !== '..';
    });
  }

  // ---- token encoding

  // Canonical unpadded base64url (the alphabet is already checked): no impossible
  // length and no non-zero trailing bits.
  function isCanonical(text) {
    const rest = text.length % 4;
    if (rest === 1) {
      return false;
    }
    return rest === 0 || (B64URL.indexOf(text.charAt(text.length - 1)) & (rest === 2 ? 15 : 3)) === 0;
  }

  // ---- claims (edge/src/claims.rs)

  // A strict JSON reader with serde_json's rules for the claims object: no
  // duplicate or unknown keys, required keys present, strings without raw
  // control characters or lone surrogates, integers written as integers.
  // Integers are kept as their digit strings. Returns null for anything else,
  // a claim whose value is null included. `'name' in claims` says whether a
  // claim is set (no claim name is on Object.prototype).
  function parseClaims(text) {
    const claims = {};
    const seen = {};
    let at = skipSpace(text, 1);
    if (text.charAt(0) !== '{') {
      return null;
    }
    if (text.charAt(at) === '}') {
      return null;
    }
    for (;;) {
      const key = readString(text, at);
      if (key === null) {
        return null;
      }
      const kind = own(CLAIM_KINDS, key.value);
      if (kind === undefined || own(seen, key.value) !== undefined) {
        return null;
      }
      seen[key.value] = true;
      at = skipSpace(text, key.end);
      if (text.charAt(at) !== ':') {
        return null;
      }
      at = skipSpace(text, at + 1);
      if (kind === 's') {
        const value = readString(text, at);
        if (value === null) {
          return null;
        }
        claims[key.value] = value.value;
        at = value.end;
      } else if (kind === 't') {
        if (!text.startsWith('true', at)) {
          return null;
        }
        claims[key.value] = 'true';
        at += 4;
      } else {
        JSON_UINT.lastIndex = at;
        const digits = JSON_UINT.exec(text);
        if (digits === null) {
          return null;
        }
        claims[key.value] = digits[0];
        at = JSON_UINT.lastIndex;
      }
      at = skipSpace(text, at);
      if (text.charAt(at) === '}') {
        const complete = 'id' in claims && 'p' in claims && 'exp' in claims;
        return complete && skipSpace(text, at + 1) === text.length ? claims : null;
      }
      if (text.charAt(at) !== ',') {
        return null;
      }
      at = skipSpace(text, at + 1);
    }
  }

  function skipSpace(text, at) {
    JSON_SPACE.lastIndex = at;
    JSON_SPACE.exec(text);
    return JSON_SPACE.lastIndex;
  }

  function readString(text, at) {
    JSON_STRING.lastIndex = at;
    const match = JSON_STRING.exec(text);
    if (match === null) {
      return null;
    }
    // Surrogates can only come from \u escapes (the text is valid UTF-8): a
    // high one must be followed at once by an escaped low one, and the pair
    // becomes one code point. Done on the escapes, not with a regex over
    // surrogates, which a PCRE-based engine may refuse to compile.
    let high = -1;
    let highEnd = -1;
    let lone = false;
    const value = match[1].replace(JSON_ESCAPE, (all, hex, ch, offset) => {
      const code = hex ? parseInt(hex, 16) : -1;
      const isLow = code >= 0xdc00 && code <= 0xdfff;
      if (high >= 0 ? offset !== highEnd || !isLow : isLow) {
        lone = true;
      }
      if (code >= 0xd800 && code <= 0xdbff) {
        high = code;
        highEnd = offset + 6;
        return '';
      }
      const pair = high >= 0 ? 0x10000 + ((high - 0xd800) << 10) + (code - 0xdc00) : -1;
      high = -1;
      return pair >= 0 ? String.fromCodePoint(pair) : hex ? String.fromCharCode(code) : JSON_UNESCAPE[ch];
    });
    return lone || high >= 0 ? null : { value: value, end: JSON_STRING.lastIndex };
  }

  // The claim rules; returns the parsed grant and CIDR, or null.
  function checkClaims(c) {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(c.id)) {
      return null;
    }
    const prefix = c.p.endsWith('/*');
    const path = prefix ? c.p.slice(0, -1) : c.p;
    if (!isClean(path)) {
      return null;
    }
    if (!fitsIn(c.exp, MAX_TIME) || ('nbf' in c && (!fitsIn(c.nbf, MAX_TIME) || !isLess(c.nbf, c.exp)))) {
      return null;
    }
    if ('n' in c && (c.n.length > 7 || Number(c.n) < 1 || Number(c.n) > 1000000)) {
      return null;
    }
    if ('r' in c && !/^[a-z0-9-]{1,32}$/.test(c.r)) {
      return null;
    }
    const cidr = 'ip' in c ? parseCidr(c.ip) : null;
    if ('ip' in c && cidr === null) {
      return null;
    }
    if ('fn' in c && !(isText(c.fn, 255) && !/[\/\\]/.test(c.fn))) {
      return null;
    }
    if ('g' in c && (c.g.length > 5 || Number(c.g) > 86400 || !('n' in c))) {
      return null;
    }
    if ('m' in c && c.m !== 'page' && c.m !== 'direct') {
      return null;
    }
    // pw: an HMAC-SHA256 in canonical base64url; only with n, never in direct mode.
    if ('pw' in c && (!/^[A-Za-z0-9_-]{43}$/.test(c.pw) || !isCanonical(c.pw) || !('n' in c) || c.m === 'direct')) {
      return null;
    }
    // b: bound to the first downloader; only with n (so never this tier's).
    if ('b' in c && !('n' in c)) {
      return null;
    }
    if ('ref' in c && !isText(c.ref, 64)) {
      return null;
    }
    // lk: a hard lock after lk wrong passwords; 1 to 100, only with pw.
    if ('lk' in c && (c.lk < 1 || c.lk > 100 || !('pw' in c))) {
      return null;
    }
    return { prefix: prefix, path: path, cidr: cidr };
  }

  // 1 to `max` code points (Rust chars, counted from the UTF-8 bytes so that
  // the count does not depend on how the engine stores strings), no control
  // character: the rule of `fn` (which also refuses slashes) and `ref`.
  function isText(text, max) {
    const bytes = Buffer.from(text, 'utf8');
    let chars = 0;
    for (let i = 0; i < bytes.length; i++) {
      if ((bytes[i] & 0xc0) !== 0x80) {
        chars += 1;
      }
    }
    return chars > 0 && chars <= max && !CONTROL.test(text);
  }

  // Digit strings without leading zeros compare by length, then text.
  function isLess(a, b) {
    return a.length !== b.length ? a.length < b.length : a < b;
  }

  function fitsIn(a, max) {
    return !isLess(max, a);
  }

  // Exact below 2^53; anything longer than 15 digits is far past any `now`.
  function toNumber(digits) {
    return digits.length > 15 ? Infinity : Number(digits);
  }

  // ---- Content-Disposition (edge/src/disposition.rs)

  function attachment(name) {
    // One character per code point: printable ASCII but " % \ kept, else "_".
    const bytes = Buffer.from(name, 'utf8');
    let fallback = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if ((b & 0xc0) !== 0x80) {
        fallback += b >= 0x20 && b <= 0x7e && b !== 0x22 && b !== 0x25 && b !== 0x5c ? String.fromCharCode(b) : '_';
      }
    }
    const encoded = encodeURIComponent(name)
      .replace(/[*'()]/g, percent)
      .replace(/%(23|24|26|2B|5E|60|7C)/g, (all, hex) => String.fromCharCode(parseInt(hex, 16)));
    return 'attachment; filename="' + fallback + '"; filename*=UTF-8\'\'' + encoded;
  }

  function queryValue(value) {
    return encodeURIComponent(value).replace(/[!'()*]/g, percent);
  }

  function percent(ch) {
    const code = ch.codePointAt(0);
    return '%' + HEX_DIGITS.charAt(code >> 4) + HEX_DIGITS.charAt(code & 15);
  }

  // ---- addresses (edge/src/cidr.rs and Rust's std::net parser), as byte arrays

  function parseCidr(text) {
    const slash = text.indexOf('/');
    let bits = -1;
    if (slash >= 0) {
      const len = text.slice(slash + 1);
      if (!/^[0-9]{1,3}$/.test(len) || Number(len) > 255) {
        return null;
      }
      bits = Number(len);
    }
    const network = parseIp(slash >= 0 ? text.slice(0, slash) : text);
    if (network === null) {
      return null;
    }
    const max = network.length * 8;
    if (bits === -1) {
      bits = max;
    }
    if (bits > max || mask(network, bits).join('.') !== network.join('.')) {
      return null;
    }
    return { network: network, bits: bits };
  }

  function cidrContains(cidr, client) {
    if (client === null) {
      return false;
    }
    let address = client;
    const mapped = client.length === 16 && client.slice(0, 10).every((b) => b === 0) &&
      client[10] === 255 && client[11] === 255;
    if (mapped) {
      address = client.slice(12);
    }
    return address.length === cidr.network.length && mask(address, cidr.bits).join('.') === cidr.network.join('.');
  }

  function mask(bytes, bits) {
    return bytes.map((b, i) => {
      const keep = bits - i * 8;
      return keep >= 8 ? b : keep <= 0 ? 0 : b & (0xff00 >> keep) & 0xff;
    });
  }

  function parseIp(text) {
    if (typeof text !== 'string') {
      return null;
    }
    const v4 = IPV4.exec(text);
    if (v4 !== null) {
      const octets = v4.slice(1).map(Number);
      return octets.every((o) => o < 256) ? octets : null;
    }
    return parseIpv6(text);
  }

  // std::net's IPv6 grammar: up to 8 groups, one "::" standing for at least one
  // zero group, an embedded IPv4 only as the last two groups.
  function parseIpv6(text) {
    let at = 0;
    function groups(out, limit) {
      for (let i = 0; i < limit; i++) {
        let p = at;
        if (i > 0) {
          if (text.charAt(p) !== ':') {
            return { count: i, v4: false };
          }
          p += 1;
        }
        if (i < limit - 1) {
          IPV4_IN_V6.lastIndex = p;
          const v4 = IPV4_IN_V6.exec(text);
          if (v4 !== null && v4.slice(1).every((o) => Number(o) < 256)) {
            v4.slice(1).forEach((o) => out.push(Number(o)));
            at = IPV4_IN_V6.lastIndex;
            return { count: i + 2, v4: true };
          }
        }
        HEX_GROUP.lastIndex = p;
        const group = HEX_GROUP.exec(text);
        if (group === null) {
          return { count: i, v4: false };
        }
        const value = parseInt(group[0], 16);
        out.push(value >> 8, value & 0xff);
        at = HEX_GROUP.lastIndex;
      }
      return { count: limit, v4: false };
    }
    const head = [];
    const first = groups(head, 8);
    let bytes = head;
    if (first.count < 8) {
      if (first.v4 || text.substr(at, 2) !== '::') {
        return null;
      }
      at += 2;
      const tail = [];
      groups(tail, 8 - (first.count + 1));
      bytes = head.concat(new Array(16 - head.length - tail.length).fill(0), tail);
    }
    return at === text.length ? bytes : null;
  }

  // The checks before the key: a response, or a step holding the key read
  // (for the handler to call and await) and `finish`, which takes the secret
  // (null when the KeyValueStore has none) and gives the function's result.
  return (event) => {
    const html = wantsHtml(event.request);
    const token = parseRequest(event.request);
    if (typeof token === 'string') {
      return deny(token, html);
    }
    return {
      secret: () => kvs.get(token.kid),
      finish: (secret) => {
        const outcome = secret === null ? 'unknown_kid' : verify(event, token, secret, Math.floor(Date.now() / 1000));
        return typeof outcome === 'string' ? deny(outcome, html) : outcome;
      }
    };
  };
})();

async function handler(event) {
  const step = oncelink(event);
  if (step.finish === undefined) {
    return step;
  }
  let secret = null;
  try {
    secret = await step.secret();
  } catch (e) {
    // A kid the store does not have (or a failing store): unknown_kid, failing closed.
  }
  return step.finish(secret);
}
