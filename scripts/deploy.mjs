#!/usr/bin/env node
// Deploys oncelink to AWS with one command:
//
//   npm run deploy -- --stack NAME --keys FILE [--dry-run] [options]   (--help lists them)
//
// Builds the deterministic Lambda@Edge bundle with the config baked in (keys,
// table, home region, origin kind), deploys the artifacts bucket and a token
// table in every home region, uploads the bundle (S3 checks its sha256),
// deploys infra/cloudformation/oncelink.yaml (which publishes a new numbered
// function version pinned to that sha256), checks the published code, and
// waits until CloudFront runs it everywhere. `--dry-run` prints every AWS CLI
// call and the template parameters and changes nothing (no AWS CLI needed).
// The plan itself is in scripts/deploy/plan.mjs.
//
// `--edge-mode function-only|prefilter` also builds the CloudFront Function
// (edge/cloudfront-function/build.mjs, as `npm run build:cff` does) and the
// KeyValueStore import file (kvs-import.mjs), uploads the import file to the
// private artifacts bucket, and deploys a copy of oncelink.yaml with the
// function's code inlined (dist/deploy/<stack>/oncelink.yaml).

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FUNCTION_BUILD_MODE, USAGE, bundleConfig, checkGrantKeysApart, checkKeyFile, checkOptions, deploySteps,
  eventsCodeKey, keyStoreVersion, mainParameters, parseArgs, renderCommand, renderTemplate, stackNames,
  tableParameters, usesFunction, usesLambda,
} from './deploy/plan.mjs';
import { buildEvents } from './build-events.mjs';
import { buildFunction, MAX_BYTES } from '../edge/cloudfront-function/build.mjs';
import { kvsImport } from '../edge/cloudfront-function/kvs-import.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p) => relative(process.cwd(), p) || '.';

const FILES = {
  mainTemplate: join(root, 'infra/cloudformation/oncelink.yaml'),
  tableTemplate: join(root, 'infra/cloudformation/token-table.yaml'),
  artifactsTemplate: join(root, 'infra/cloudformation/artifacts.yaml'),
  builder: join(root, 'scripts/build-bundle.mjs'),
};

function readJson(path, what) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} ${path}: ${err.code ?? err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} ${path} is not valid JSON`);
  }
}

/** Builds the bundle with the deployment's config; returns the zip path, or null in a dry run without a builder. */
function buildBundle(opts, keys, grantKeys) {
  const outDir = join(root, 'dist', 'deploy', opts.stack, 'lambda-edge');
  const zip = `${outDir}.zip`;
  if (!existsSync(FILES.builder)) {
    const msg = `${rel(FILES.builder)} is missing: it builds the Lambda@Edge bundle (issue 3)`;
    if (!opts.dryRun) throw new Error(msg);
    console.log(`# NOTE: ${msg}; the dry run shows placeholders for the bundle hash`);
    return null;
  }
  // The config holds the signing keys: a private temporary file, removed after the build.
  const dir = mkdtempSync(join(tmpdir(), 'oncelink-deploy-'));
  const configPath = join(dir, 'config.json');
  try {
    writeFileSync(configPath, JSON.stringify(bundleConfig(opts, keys, grantKeys)), { mode: 0o600 });
    const run = spawnSync(process.execPath, [FILES.builder, '--config', configPath, '--out', outDir, '--zip', zip], {
      cwd: root,
      stdio: ['ignore', 2, 2],
    });
    if (run.error) throw new Error(`cannot run the bundle builder: ${run.error.message}`);
    if (run.status !== 0) throw new Error(`the bundle build failed (exit ${run.status}); see the lines above`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return zip;
}

/** The events Lambda's zip: the one given, or built (scripts/build-events.mjs) into dist/deploy/<stack>/. */
async function eventsZip(opts) {
  if (opts.eventsBundle) return resolve(opts.eventsBundle);
  const outDir = join(root, 'dist', 'deploy', opts.stack, 'events');
  try {
    return (await buildEvents({ outDir, zipPath: `${outDir}.zip`, quiet: true })).zipPath;
  } catch (err) {
    throw new Error(`the events Lambda build failed: ${err.message.split('\n')[0]}`);
  }
}

function digest(zipPath) {
  const bytes = readFileSync(zipPath);
  const hash = createHash('sha256').update(bytes).digest();
  return { size: bytes.length, sha256Hex: hash.toString('hex'), sha256Base64: hash.toString('base64') };
}

/**
 * Function modes: builds the CloudFront Function for the edge mode (with the
 * deployment's settings; keys never enter the code), writes the KeyValueStore
 * import file (it holds the keys: mode 0600, beside the bundle) and the
 * template with the code inlined. Returns what the plan needs.
 */
function buildFunctionTier(opts, keys, grantKeys) {
  const outDir = join(root, 'dist', 'deploy', opts.stack);
  mkdirSync(outDir, { recursive: true });
  let built;
  try {
    built = buildFunction({ mode: FUNCTION_BUILD_MODE[opts.edgeMode], config: bundleConfig(opts, keys, grantKeys).validator });
  } catch (err) {
    throw new Error(`the CloudFront Function build failed: ${err.message}`);
  }
  const importText = `${JSON.stringify(kvsImport(keys), null, 2)}\n`;
  const importPath = join(outDir, 'kvs-import.json');
  rmSync(importPath, { force: true });
  writeFileSync(importPath, importText, { mode: 0o600 });
  const importHash = createHash('sha256').update(importText).digest();
  const templatePath = join(outDir, 'oncelink.yaml');
  writeFileSync(templatePath, renderTemplate(readFileSync(FILES.mainTemplate, 'utf8'), built.code));
  return {
    functionBytes: built.bytes,
    importPath,
    templatePath,
    keyStoreVersion: keyStoreVersion(importHash.toString('hex')),
    kvsSha256Base64: importHash.toString('base64'),
  };
}

/** Runs one AWS CLI call; returns its trimmed stdout when `capture`. */
function aws(step, capture) {
  console.log(`\n# ${step.why}\n${renderCommand(step.args)}`);
  const run = spawnSync('aws', step.args, { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'], encoding: 'utf8' });
  if (run.error) throw new Error(`cannot run the AWS CLI: ${run.error.code === 'ENOENT' ? 'aws is not on PATH' : run.error.message}`);
  if (run.status !== 0) throw new Error(`aws ${step.args.slice(0, 2).join(' ')} failed (exit ${run.status}) at step "${step.id}"`);
  return capture ? run.stdout.trim() : '';
}

/** A key file as shown to a person: kids only. */
const kidsOf = (file) => ({ active: file.active, kids: file.keys.map((k) => k.kid) });

function printPlanHeader(opts, keys, grantKeys, bundle, values, tier) {
  const names = stackNames(opts);
  const config = bundleConfig(opts, keys, grantKeys);
  const shownValidator = { ...config.validator, keys: kidsOf(keys) };
  if (grantKeys) shownValidator.grant_keys = kidsOf(grantKeys);
  const shownConfig = { ...config, validator: shownValidator };
  const tables = usesLambda(opts)
    ? `token tables ${opts.table} in ${[opts.homeRegion, ...opts.extraRegions].join(', ')}`
    : 'no token tables (function-only links are never consumed)';
  console.log(`# oncelink deploy: stack ${names.main} (us-east-1), ${tables}`);
  console.log(`# edge mode: ${opts.edgeMode}`);
  if (usesLambda(opts)) {
    console.log(`# bundle: ${bundle.path} ${bundle.size === null ? '' : `(${bundle.size} bytes) `}sha256 ${bundle.sha256Hex}`);
  }
  console.log(`# bundle config (secrets not shown): ${JSON.stringify(shownConfig)}`);
  if (tier) {
    console.log(`# CloudFront Function (build.mjs --mode ${FUNCTION_BUILD_MODE[opts.edgeMode]}): ${tier.functionBytes} bytes of the ${MAX_BYTES}-byte limit, inlined into ${rel(tier.templatePath)}`);
    console.log(`# KeyValueStore import file (holds the keys, not shown): ${rel(tier.importPath)}, KeyStoreVersion ${tier.keyStoreVersion}, kids ${keys.keys.map((k) => k.kid).join(',')}`);
  }
  console.log(`# template parameters, ${rel(FILES.mainTemplate)} (stack ${names.main}):`);
  console.log(JSON.stringify(mainParameters(opts, values), null, 2));
  if (usesLambda(opts)) {
    const where = opts.events ? `, ${opts.homeRegion}; the others differ only in EventsCodeBucket, their region's artifacts bucket` : ', each home region';
    console.log(`# template parameters, ${rel(FILES.tableTemplate)} (stack ${names.tokens}${where}):`);
    console.log(JSON.stringify(tableParameters(opts, values, opts.homeRegion), null, 2));
  }
}

async function main() {
  const raw = parseArgs(process.argv.slice(2));
  if (raw.help) {
    console.log(USAGE);
    return;
  }
  const opts = checkOptions(raw);
  const keys = readJson(opts.keysFile, 'key file');
  try {
    checkKeyFile(keys);
  } catch (err) {
    throw new Error(`${opts.keysFile}: ${err.message}`);
  }
  let grantKeys = null;
  if (opts.grantKeysFile) {
    grantKeys = readJson(opts.grantKeysFile, 'grant key file');
    try {
      checkKeyFile(grantKeys);
    } catch (err) {
      throw new Error(`${opts.grantKeysFile}: ${err.message}`);
    }
    checkGrantKeysApart(keys, grantKeys);
  }

  // Before any build: a missing prebuilt file is a one-line error, not a wait.
  if (opts.eventsBundle && !existsSync(opts.eventsBundle)) throw new Error(`--events-bundle ${opts.eventsBundle} does not exist`);
  let zip = null;
  if (!usesLambda(opts)) {
    // function-only: no Lambda@Edge bundle.
  } else if (opts.bundle) {
    if (!existsSync(opts.bundle)) throw new Error(`--bundle ${opts.bundle} does not exist`);
    zip = resolve(opts.bundle);
  } else {
    zip = buildBundle(opts, keys, grantKeys);
  }
  const bundle = zip
    ? { path: rel(zip), ...digest(zip) }
    : { path: '<not built>', size: null, sha256Hex: '<sha256-hex>', sha256Base64: '<sha256-base64>' };
  if (opts.expectSha256 && bundle.sha256Hex !== opts.expectSha256) {
    throw new Error(`refusing to deploy: the bundle's sha256 ${bundle.sha256Hex} differs from the tested ${opts.expectSha256}`);
  }

  const tier = usesFunction(opts) ? buildFunctionTier(opts, keys, grantKeys) : null;
  const eventsPath = opts.events ? await eventsZip(opts) : null;
  const events = eventsPath ? { path: rel(eventsPath), ...digest(eventsPath) } : null;
  const files = { ...FILES, zip: zip ? rel(zip) : 'dist/deploy/<stack>/lambda-edge.zip' };
  for (const k of ['mainTemplate', 'tableTemplate', 'artifactsTemplate']) files[k] = rel(FILES[k]);
  if (tier) {
    files.mainTemplate = rel(tier.templatePath);
    files.kvsImport = rel(tier.importPath);
  }
  if (events) files.eventsZip = events.path;
  const values = {
    sha256Hex: bundle.sha256Hex,
    sha256Base64: bundle.sha256Base64,
    keyStoreVersion: tier?.keyStoreVersion ?? '',
    kvsSha256Base64: tier?.kvsSha256Base64 ?? '',
    codeBucket: '<artifacts-bucket>',
    functionVersionArn: '<FunctionVersionArn>',
    distributionId: '<DistributionId>',
    eventsSha256Hex: events?.sha256Hex,
    eventsSha256Base64: events?.sha256Base64,
    eventsBuckets: {},
  };
  printPlanHeader(opts, keys, grantKeys, bundle, values, tier);
  if (events) {
    const hooks = opts.webhookUrls.length ? `webhooks to ${opts.webhookUrls.join(' ')}, secret from SSM ${opts.webhookSecretParameter}` : 'no webhooks (the audit trail only)';
    console.log(`# events: ${events.path} (${events.size} bytes) sha256 ${events.sha256Hex}, as ${eventsCodeKey(events.sha256Hex)} in each home region; ${hooks}`);
  }

  if (opts.dryRun) {
    const steps = deploySteps(opts, values, files);
    for (const step of steps) console.log(`\n# ${step.why}\n${renderCommand(step.args)}`);
    console.log(`\n# dry run: ${steps.length} AWS CLI calls shown, nothing changed`);
    return;
  }

  const stepIds = deploySteps(opts, values, files).map((s) => s.id);
  const step = (id) => deploySteps(opts, values, files).find((s) => s.id === id);
  let outputs = {};
  for (const id of stepIds) {
    switch (id) {
      case 'whoami':
        console.log(`account ${aws(step(id), true)}`);
        break;
      case 'codeBucket':
        values.codeBucket = aws(step(id), true);
        if (!values.codeBucket || values.codeBucket === 'None') throw new Error('the artifacts stack has no BucketName output');
        break;
      case 'outputs': {
        const list = JSON.parse(aws(step(id), true) || '[]');
        outputs = Object.fromEntries(list.map((o) => [o.OutputKey, o.OutputValue]));
        values.functionVersionArn = outputs.FunctionVersionArn;
        values.distributionId = outputs.DistributionId;
        if (!values.distributionId) throw new Error('the stack outputs lack DistributionId');
        if (usesLambda(opts) && !values.functionVersionArn) throw new Error('the stack outputs lack FunctionVersionArn');
        if (usesFunction(opts) && !outputs.ViewerFunctionArn) throw new Error('the stack outputs lack ViewerFunctionArn');
        break;
      }
      case 'codeCheck': {
        const deployed = aws(step(id), true);
        if (deployed !== bundle.sha256Base64) {
          throw new Error(`the published version's CodeSha256 ${deployed} is not the bundle's ${bundle.sha256Base64}`);
        }
        break;
      }
      default:
        if (id.startsWith('secret:')) {
          const type = aws(step(id), true);
          if (type !== 'SecureString') {
            throw new Error(`${opts.webhookSecretParameter} in ${id.slice('secret:'.length)} is a ${type}, not a SecureString: see docs/events.md, "Turning it on"`);
          }
        } else if (id.startsWith('codeBucket:')) {
          const region = id.slice('codeBucket:'.length);
          values.eventsBuckets[region] = aws(step(id), true);
          if (!values.eventsBuckets[region] || values.eventsBuckets[region] === 'None') {
            throw new Error(`the artifacts stack in ${region} has no BucketName output`);
          }
        } else {
          aws(step(id), false);
        }
    }
  }
  console.log('\noncelink is deployed:');
  for (const key of ['EdgeMode', 'BaseUrl', 'DistributionId', 'FilesBucketName', 'TableName', 'TableRegions', 'FunctionVersionArn', 'ViewerFunctionArn', 'KeyValueStoreArn']) {
    if (outputs[key]) console.log(`  ${key}: ${outputs[key]}`);
  }
  if (outputs.MintCommand) console.log(`\nMint a link:\n  ${outputs.MintCommand}`);
}

main().catch((err) => {
  console.error(`deploy: ${err.message}`);
  process.exit(1);
});
