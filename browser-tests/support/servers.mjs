// The two deployments under test, each started on 127.0.0.1 with a random
// port and stopped again, with bounded waits:
//   - origin-shim `serve --root` with a SQLite store (cargo-built binary);
//   - the local Lambda@Edge emulator (scripts/dev-edge.mjs) running the real
//     bundle, its moto-backed DynamoDB and a local origin directory.
// Links are minted with the `oncelink` CLI, as a user would.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** Where tests write screenshots and scratch files (gitignored). */
export const outDir = join(root, 'browser-tests', 'out');

/** How long a server may take to say it is listening. */
const START_TIMEOUT_MS = 60_000;
/** How long a stopped server may take to exit before it is killed. */
const STOP_TIMEOUT_MS = 10_000;

/**
 * The directory holding the cargo-built `oncelink` and `origin-shim`:
 * $ONCELINK_BIN_DIR, else $CARGO_TARGET_DIR/debug, else target/debug.
 */
export function binDir() {
  const dir = process.env.ONCELINK_BIN_DIR ?? join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug');
  for (const name of ['oncelink', 'origin-shim']) {
    if (!existsSync(join(dir, name))) {
      throw new Error(`${join(dir, name)} is missing: run 'cargo build -p origin-shim -p oncelink' (or set ONCELINK_BIN_DIR)`);
    }
  }
  return dir;
}

/** A fresh scratch directory under browser-tests/out/. */
export function scratch(name) {
  mkdirSync(outDir, { recursive: true });
  return mkdtempSync(join(outDir, `${name}-`));
}

/** Runs the `oncelink` CLI and returns its stdout (bounded: 30 s). */
export function oncelink(args, input) {
  return execFileSync(join(binDir(), 'oncelink'), args, { input, timeout: 30_000, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Writes a fresh key file (`oncelink keygen`) into `dir`; returns its path. */
export function keygen(dir) {
  const path = join(dir, 'keys.json');
  writeFileSync(path, oncelink(['keygen']), { mode: 0o600 });
  return path;
}

/**
 * Mints a link with the CLI. opts: { keys, base, path, uses?, ttl?, filename?,
 * mode?: 'page'|'direct', password? }. Returns { url, token, claims }.
 */
export function mint({ keys, base, path, uses, ttl = '10m', filename, mode, password }) {
  const args = ['mint', '--keys', keys, '--path', path, '--ttl', ttl, '--base-url', base, '--json'];
  if (uses !== undefined) args.push('--uses', String(uses));
  if (filename !== undefined) args.push('--filename', filename);
  if (mode !== undefined) args.push('--mode', mode);
  if (password !== undefined) args.push('--password-stdin');
  const out = JSON.parse(oncelink(args, password === undefined ? undefined : `${password}\n`));
  if (typeof out.url !== 'string') throw new Error(`oncelink mint --json printed no url: ${JSON.stringify(out)}`);
  return out;
}

/**
 * Spawns a server and waits (bounded) for the stdout line `ready` matches;
 * its first group is the base URL. Returns { base, child, stop() }.
 */
export async function spawnServer(name, command, args, ready, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((r) => child.once('exit', r));
  const lines = createInterface({ input: child.stdout });
  let timer;
  try {
    const base = await new Promise((resolveBase, reject) => {
      timer = setTimeout(() => reject(new Error(`${name} did not start in ${START_TIMEOUT_MS / 1000} s: ${stderr}`)), START_TIMEOUT_MS);
      lines.on('line', (line) => {
        const m = ready.exec(line);
        if (m) resolveBase(m[1]);
      });
      child.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before listening: ${stderr}`)));
      child.once('error', reject);
    });
    // Keep draining stdout so a chatty server never blocks on a full pipe.
    child.stdout.resume();
    return {
      base,
      child,
      stderr: () => stderr,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const done = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await Promise.race([exited, sleep(STOP_TIMEOUT_MS)]);
        }
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A deployment in a fresh scratch directory: `files` written under
 * DIR/files, a fresh key file, then `launch({ dir, files, keys })` starts its
 * server (resolving to spawnServer's result). Returns { name, base, keys,
 * stop() }; stopping (or a failed start) removes the directory.
 */
async function deployment(name, files, launch) {
  const dir = scratch(name);
  try {
    const filesDir = join(dir, 'files');
    writeFiles(filesDir, files);
    const keys = keygen(dir);
    const server = await launch({ dir, files: filesDir, keys });
    return {
      name,
      base: server.base,
      keys,
      async stop() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** origin-shim `serve --root FILES --store sqlite:DB` (see deployment). */
export function startOriginShim(files) {
  return deployment('origin-shim', files, ({ dir, files: siteRoot, keys }) =>
    spawnServer(
      'origin-shim',
      join(binDir(), 'origin-shim'),
      ['serve', '--keys', keys, '--root', siteRoot, '--store', `sqlite:${join(dir, 'oncelink.db')}`, '--create-store', '--listen', '127.0.0.1:0'],
      /^listening on (http:\/\/127\.0\.0\.1:\d+)$/,
    ),
  );
}

/**
 * The Lambda@Edge emulator: the real bundle (scripts/build-bundle.mjs) baked
 * with the fresh key file, run by scripts/dev-edge.mjs with --moto (moto on a
 * free port, table created) and --origin-dir FILES. Needs edge/pkg from
 * scripts/build-wasm.sh.
 */
export function startLambdaEdge(files) {
  return deployment('lambda-edge', files, async ({ dir, files: origin, keys }) => {
    const { buildBundle } = await import('../../scripts/build-bundle.mjs');
    const bundle = join(dir, 'bundle');
    const config = {
      validator: { keys: JSON.parse(readFileSync(keys, 'utf8')), home_region: 'us-east-1', origin: 'header' },
      store: { table: 'oncelink-browser' },
    };
    await buildBundle({ config, outDir: bundle, zipPath: join(dir, 'bundle.zip'), quiet: true });
    return spawnServer(
      'dev-edge',
      process.execPath,
      [join(root, 'scripts', 'dev-edge.mjs'), '--port', '0', '--bundle', join(bundle, 'index.mjs'), '--origin-dir', origin, '--moto'],
      /^dev-edge: listening on (http:\/\/127\.0\.0\.1:\d+)$/,
      { cwd: root },
    );
  });
}

/** Writes { 'a/b.bin': Buffer } under `dir`. */
function writeFiles(dir, files) {
  for (const [rel, bytes] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
  }
}
