// Benchmark baseline: the stateless checks of the validator hand-written in
// JavaScript with node:crypto, for a cost comparison with the wasm core. It
// is NOT the product: it covers what the benchmark tokens exercise (query
// token, HMAC-SHA256, claims, time, exact and prefix paths, use limit,
// fingerprint) and refuses what it does not implement (ip claims).

// node:crypto as the handler takes Node's modules (edge/js/builtin.mjs): without
// the ESM facade, so the cold-start rows compare the work, not the import idiom.
const { createHash, createHmac, timingSafeEqual } = process.getBuiltinModule?.('node:crypto') ?? (await import('node:crypto'));

const MAX_TOKEN_LEN = 2048;
const B64URL = /^[A-Za-z0-9_-]*$/;

function b64decode(s) {
  if (!B64URL.test(s) || s.length % 4 === 1) return null;
  const bytes = Buffer.from(s, 'base64url');
  return bytes.toString('base64url') === s ? bytes : null; // canonical only
}

function decodePath(raw) {
  if (!raw.startsWith('/') || raw.includes('\\')) return null;
  let decoded;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return null;
  }
  const dotName = (s) => s.split(';')[0];
  if (decoded.includes('\0') || decoded.split('/').slice(1).some((s) => ['', '.', '..'].includes(dotName(s)))) return null;
  return decoded;
}

const deny = (reason, status = 403) => ({ step: 'respond', reason, status });

/** A validator for `config` ({keys, home_region, skew, grace, token_param}). */
export function createBaseline(config) {
  const keys = new Map(config.keys.keys.map((k) => [k.kid, Buffer.from(k.secret, 'base64url')]));
  const skew = config.skew ?? 30;
  const grace = config.grace ?? 600;
  const param = `${config.token_param ?? 't'}=`;
  return function decide(request, now) {
    if (request.method !== 'GET' && request.method !== 'HEAD') return deny('method_not_allowed', 405);
    const path = decodePath(request.path);
    if (path === null) return deny('bad_path');
    const pairs = request.query.split('&');
    const found = pairs.filter((p) => p.startsWith(param));
    if (found.length === 0 || found[0] === param) return deny('missing_token');
    if (found.length > 1) return deny('malformed');
    const token = found[0].slice(param.length);
    if (token.length > MAX_TOKEN_LEN) return deny('malformed');
    const parts = token.split('.');
    if (parts.length !== 4 || parts[0] !== 'ol1' || !/^[A-Za-z0-9_-]{1,32}$/.test(parts[1])) return deny('malformed');
    const claimsBytes = b64decode(parts[2]);
    const sig = b64decode(parts[3]);
    if (!claimsBytes || !sig || sig.length !== 32) return deny('malformed');
    const key = keys.get(parts[1]);
    if (!key) return deny('unknown_kid');
    const mac = createHmac('sha256', key).update(token.slice(0, token.length - parts[3].length - 1)).digest();
    if (!timingSafeEqual(mac, sig)) return deny('bad_signature');
    let claims;
    try {
      claims = JSON.parse(claimsBytes.toString('utf8'));
    } catch {
      return deny('malformed');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return deny('malformed');
    if (typeof claims.id !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(claims.id) || !Number.isInteger(claims.exp)) return deny('malformed');
    if (claims.ip !== undefined) return deny('malformed'); // not implemented in the baseline
    if (now >= claims.exp + skew) return deny('expired', 410);
    if (claims.nbf !== undefined && now < claims.nbf - skew) return deny('not_yet_valid');
    const covers = claims.p.endsWith('/*') ? path.startsWith(claims.p.slice(0, -1)) : path === claims.p;
    if (!covers) return deny('wrong_path');
    const forward = {
      query: pairs.filter((p) => !p.startsWith(param)).join('&'),
      id_hash: createHash('sha256').update('oncelink/v1/log\0').update(claims.id).digest('hex').slice(0, 16),
    };
    if (claims.n === undefined) return { step: 'forward', allow: 'unlimited', ...forward };
    if (request.method === 'HEAD') return { step: 'forward', allow: 'head', ...forward };
    const ua = request.headers['user-agent'] ?? '';
    const prefix = request.ip.split('.').slice(0, 3).join('.') + '.0';
    const fp = createHmac('sha256', key).update('oncelink/v1/fingerprint').update('\0').update(prefix).update('\0').update(path).update('\0').update(ua).digest().subarray(0, 16).toString('base64url');
    const g = claims.g ?? grace;
    const op = { kind: 'consume', id: claims.id, region: claims.r ?? config.home_region, n: claims.n, fp, now, resume_after: now - g, expire_at: claims.exp + skew + g + 3600 };
    return { step: 'need_store', pending: { op, forward } };
  };
}
