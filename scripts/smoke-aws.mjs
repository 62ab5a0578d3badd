#!/usr/bin/env node
// Smoke test of a deployed oncelink stack, run once after the first deploy:
//
//   npm run smoke:aws -- --stack NAME --keys FILE [--region R] [--ttfb] [--dry-run]   (--help)
//
// The plan (scripts/smoke-aws/plan.mjs) is pure; this file performs it. AWS
// calls go through the AWS CLI with the caller's credentials, as
// `npm run deploy` does (no AWS SDK); links are minted by the npm package's
// wasm (sdk/js, edge/js/test/support/mint.mjs) with the key file; downloads are
// plain HTTPS requests (node:https) to the distribution. Tokens and keys are
// never printed. The test file and the links' token records are deleted at
// the end, also when a check failed.

import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  checkOptions, clientHeaders, describeStack, dryRunFacts, FILE_BYTES, forge, judge, LINK_TTL_S, parseArgs,
  REASON_HEADER, renderCommand, renderRequest, smokePlan, stackFacts, USAGE,
} from './smoke-aws/plan.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function aws(step, { capture = true } = {}) {
  console.log(`# ${step.why}\n${renderCommand(step.args)}`);
  const run = spawnSync('aws', step.args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run the AWS CLI: ${run.error.code === 'ENOENT' ? 'aws is not on PATH' : run.error.message}`);
  if (run.status !== 0) throw new Error(`aws ${step.args.slice(0, 2).join(' ')} failed (exit ${run.status}) at step "${step.id}"`);
  return run.stdout;
}

/** One HTTPS GET: status, reason header, sha256 of the body, ms to the first byte. */
function get(url, headers) {
  return new Promise((resolveGet, reject) => {
    const started = process.hrtime.bigint();
    const req = httpsRequest(url, { method: 'GET', headers }, (res) => {
      const ttfbMs = Number(process.hrtime.bigint() - started) / 1e6;
      const hash = createHash('sha256');
      res.on('data', (chunk) => hash.update(chunk));
      res.on('end', () => resolveGet({
        status: res.statusCode,
        reason: res.headers[REASON_HEADER] ?? null,
        sha256: hash.digest('hex'),
        ttfbMs,
      }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function main() {
  const raw = parseArgs(process.argv.slice(2));
  if (raw.help) {
    console.log(USAGE);
    return 0;
  }
  const opts = checkOptions(raw);
  const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const ids = () => randomBytes(16).toString('base64url');

  if (opts.dryRun) {
    const facts = dryRunFacts(opts);
    const plan = smokePlan(opts, facts, { runId, ids });
    const stack = describeStack(opts);
    console.log(`# smoke:aws dry run for stack ${opts.stack} (edge mode ${facts.edgeMode} assumed; a real run reads it)`);
    for (const step of [stack, ...plan.setup]) console.log(`\n# ${step.why}\n${renderCommand(step.args)}`);
    console.log(`\n# mint ${plan.links.length} links for ${plan.path} with the key file (${plan.links.map((l) => l.name).join(', ')})`);
    for (const r of plan.requests) console.log(`\n# ${r.name}\n${renderRequest(facts, plan, r)}`);
    for (const step of plan.cleanup) console.log(`\n# ${step.why}\n${renderCommand(step.args)}`);
    console.log(`\n# dry run: ${1 + plan.setup.length + plan.cleanup.length} AWS CLI calls and ${plan.requests.length} HTTPS requests shown, nothing sent`);
    return 0;
  }

  const keys = JSON.parse(readFileSync(opts.keysFile, 'utf8'));
  // The npm package's wasm mints (the edge's own module cannot: edge/wasm/Cargo.toml).
  const { mintClaims } = await import(pathToFileURL(join(root, 'edge/js/test/support/mint.mjs')).href);

  const facts = stackFacts(JSON.parse(aws(describeStack(opts))));
  const plan = smokePlan(opts, facts, { runId, ids });
  const file = randomBytes(FILE_BYTES);
  const expected = { whole: sha256(file), head: sha256(file.subarray(0, plan.split)), tail: sha256(file.subarray(plan.split)) };
  const dir = mkdtempSync(join(tmpdir(), 'oncelink-smoke-'));
  let versionId = null;
  const results = [];
  try {
    for (const step of plan.setup) {
      const path = join(dir, 'file.bin');
      writeFileSync(path, file);
      const args = step.args.map((a) => (a === '<test file>' ? path : a));
      versionId = JSON.parse(aws({ ...step, args }) || '{}').VersionId ?? null;
    }
    const exp = Math.floor(Date.now() / 1000) + LINK_TTL_S;
    const tokens = Object.fromEntries(plan.links.map((l) => [l.name, mintClaims(keys, { ...l.claims, exp })]));
    for (const r of plan.requests) {
      const token = r.forge ? forge(tokens[r.link]) : tokens[r.link];
      const got = await get(`${facts.baseUrl}${plan.path}?t=${token}`, clientHeaders(r.client, r.headers));
      const problems = judge(r, got, r.expect.body && !opts.path ? expected[r.expect.body] : null);
      results.push({ r, got, problems });
      console.log(`${problems.length ? 'FAIL' : 'ok  '} ${r.name}: ${got.status} ${got.reason ?? ''} (${got.ttfbMs.toFixed(0)} ms to first byte)${problems.length ? ` - ${problems.join('; ')}` : ''}`);
    }
  } finally {
    for (const step of plan.cleanup) {
      const args = step.args.map((a) => (a === '<VersionId>' ? versionId ?? 'null' : a));
      try {
        aws({ ...step, args }, { capture: true });
      } catch (err) {
        console.error(`smoke:aws: clean-up: ${err.message}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const ttfb = results.filter(({ r }) => r.expect.ttfb);
  console.log(`\nsmoke:aws report for ${opts.stack} (${facts.edgeMode}, ${facts.baseUrl})`);
  for (const { r, got, problems } of results) {
    console.log(`  ${problems.length ? 'FAIL' : 'ok  '}  ${String(got.status).padEnd(4)} ${(got.reason ?? '').padEnd(14)} ${r.name}`);
  }
  if (ttfb.length) {
    console.log('  time to first byte (ms), per home region:');
    for (const { r, got } of ttfb) console.log(`    ${r.name}: ${got.ttfbMs.toFixed(0)}`);
  }
  const failed = results.filter((x) => x.problems.length).length;
  console.log(`smoke:aws: ${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`smoke:aws: ${err.message}`);
    process.exit(2);
  },
);
