// The standing attack suite's harness: the real binaries (cargo-built
// `origin-shim` and `oncelink`), a raw HTTP client that sends paths exactly as
// given (no dot-segment normalisation), and a minter written from
// docs/token-v1.md alone, so an attack can sign claims no honest minter
// would (a `null` claim, say). Every wait is bounded.

import { execFile, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

// Where the cargo-built binaries are: one rule for every suite that runs them.
export { binDir, root } from '../../browser-tests/support/servers.mjs';
import { binDir } from '../../browser-tests/support/servers.mjs';

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 15_000;

/** A scratch directory, removed by the returned cleanup. */
export function scratch(t) {
  const dir = mkdtempSync(join(tmpdir(), 'oncelink-attack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `{ 'a/b.txt': 'text' }` under `dir`. */
export function writeFiles(dir, files) {
  for (const [rel, body] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  }
}

/** A key file with one random key (mode 0600); returns { path, kid, secret }. */
export function writeKeys(dir, kid = 'k1') {
  const secret = randomBytes(32).toString('base64url');
  const path = join(dir, 'keys.json');
  writeFileSync(path, JSON.stringify({ active: kid, keys: [{ kid, secret }] }), { mode: 0o600 });
  return { path, kid, secret };
}

/**
 * Signs `claimsText` (a JSON string, sent as is) as docs/token-v1.md says:
 * "ol1." kid "." b64url(claims) "." b64url(HMAC-SHA256(secret, first three parts)).
 */
export function signRaw(keys, claimsText) {
  const signed = `ol1.${keys.kid}.${Buffer.from(claimsText, 'utf8').toString('base64url')}`;
  const sig = createHmac('sha256', Buffer.from(keys.secret, 'base64url')).update(signed, 'ascii').digest('base64url');
  return `${signed}.${sig}`;
}

/** A fresh 22-character token id. */
export const newId = () => randomBytes(16).toString('base64url');

/** Unix seconds now. */
export const now = () => Math.floor(Date.now() / 1000);

/** Signs the claims object `claims` (id and exp filled in when absent). */
export function sign(keys, claims) {
  return signRaw(keys, JSON.stringify({ id: newId(), exp: now() + 3600, ...claims }));
}

/** Runs the `oncelink` CLI; resolves { code, stdout, stderr } (never rejects on a non-zero exit). */
export function cli(args, { input, cwd } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = execFile(join(binDir(), 'oncelink'), args, { timeout: 30_000, cwd, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolveRun({ code: err ? err.code : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

/**
 * Starts `origin-shim ARGS --listen 127.0.0.1:0` and waits for its
 * `listening on` line. Returns { base, port, admin(), stderr(), kill(signal),
 * exited }; admin() resolves to the --admin-listen base URL, when given.
 * Stopped when the test ends.
 */
export async function startShim(t, args) {
  const child = spawn(join(binDir(), 'origin-shim'), [...args, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-64_000);
  });
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const lines = createInterface({ input: child.stdout });
  // With --admin-listen, its line follows the first one.
  const admin = new Promise((ok) => {
    lines.on('line', (line) => {
      const m = /^admin listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
      if (m) ok(m[1]);
    });
  });
  let timer;
  const base = await new Promise((ok, fail) => {
    timer = setTimeout(() => fail(new Error(`origin-shim did not start: ${stderr}`)), START_TIMEOUT_MS);
    lines.on('line', (line) => {
      const m = /^listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
      if (m) ok(m[1]);
    });
    exited.then(({ code, signal }) => fail(new Error(`origin-shim exited (${code ?? signal}) before listening: ${stderr}`)));
  }).finally(() => clearTimeout(timer));
  child.stdout.resume();
  return { base, port: Number(new URL(base).port), admin: () => admin, stderr: () => stderr, kill: (s) => child.kill(s), exited };
}

/** Runs origin-shim to its exit (for start-up refusals); resolves { code, stderr }. */
export function runShimToExit(args) {
  return new Promise((ok, fail) => {
    execFile(join(binDir(), 'origin-shim'), [...args, '--listen', '127.0.0.1:0'], { timeout: 20_000, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') return fail(new Error(`origin-shim did not exit: ${err.message} ${stderr}`));
      ok({ code: err ? err.code : 0, stderr });
    });
  });
}

/**
 * One HTTP/1.1 request with the path sent byte for byte. opts: { method,
 * headers, body, localAddress }. Resolves { status, headers, body (Buffer),
 * text, reason } where `reason` is the JSON error code when there is one.
 */
export function send(base, path, opts = {}) {
  const url = new URL(base);
  return new Promise((ok, fail) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: opts.method ?? 'GET',
        path,
        headers: { 'user-agent': 'oncelink-attack/1', accept: 'application/json', ...opts.headers },
        localAddress: opts.localAddress,
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          let reason;
          try {
            reason = JSON.parse(text).error;
          } catch {
            reason = undefined;
          }
          ok({ status: res.statusCode, headers: res.headers, body, text, reason });
        });
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** The request target for `path` with token `token` (query parameter t). */
export const withToken = (path, token) => `${path}?t=${token}`;

/**
 * A plain HTTP upstream on a free port that records every request target it
 * receives and answers 200 with the path. Closed when the test ends.
 */
export async function recordingUpstream(t) {
  const seen = [];
  const headers = [];
  const server = createServer((req, res) => {
    seen.push(req.url);
    headers.push(req.headers);
    res.end(`upstream saw ${req.url}`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, headers };
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** origin-shim's --admin-listen /metrics text (the shim must be started with --admin-listen). */
export async function metricsText(shim) {
  const res = await send(await shim.admin(), '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.text}`);
  return res.text;
}

/**
 * origin-shim `serve --root` over `files`, with a fresh key file and a fresh
 * SQLite store in a scratch directory. Returns { dir, keys, db, shim }.
 */
export async function shimWithFiles(t, files, extra = []) {
  const dir = scratch(t);
  writeFiles(join(dir, 'files'), files);
  const keys = writeKeys(dir);
  const db = join(dir, 'uses.db');
  const shim = await startShim(t, ['serve', '--keys', keys.path, '--root', join(dir, 'files'), '--store', `sqlite:${db}`, '--create-store', ...extra]);
  return { dir, keys, db, shim };
}
