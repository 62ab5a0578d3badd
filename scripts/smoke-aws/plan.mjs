// The plan of `npm run smoke:aws`: which AWS CLI calls and which HTTPS requests
// a smoke test of a deployed stack makes, and what each must answer. Pure: no
// AWS, no network, no clock, so `--dry-run` and the tests see exactly what a
// real run sends (scripts/smoke-aws.mjs performs it).

import { parseFlags } from '../deploy/plan.mjs';

export const EDGE_REGION = 'us-east-1';
export const REASON_HEADER = 'x-oncelink-reason';
/** Bytes of the test file uploaded to an S3 origin, and where a Range resume starts in it. */
export const FILE_BYTES = 256 * 1024;
export const S3_RANGE_SPLIT = 64 * 1024;
/** A custom origin's file (--path) may be small: resume after its first byte. */
export const CUSTOM_RANGE_SPLIT = 1;
/** Lifetime of the links a run mints, seconds. */
export const LINK_TTL_S = 900;
const STACK_RE = /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/;
const REGION_RE = /^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/;
const EDGE_MODES = ['lambda', 'function-only', 'prefilter'];

export const USAGE = `usage: npm run smoke:aws -- --stack NAME --keys FILE [options]

Run this once after your first deploy (docs/deploy.md). Against the deployed
stack NAME, with your AWS CLI credentials: uploads a test file to the files
bucket, mints links with the key file you deployed with, downloads through the
distribution (a 2-use link: two clients served, the third gets 410; a forged
token 403; a Range resume; a page-mode link), prints a report, and deletes the
test file and the links' token records.

  --stack NAME        the stack npm run deploy created (us-east-1)
  --keys FILE         the key file the stack was deployed with (never printed)
  --region R          home region whose table the links use (token r claim;
                      default: the stack's home region)
  --ttfb              also time request to first byte in every home region
                      (a first, cold call and a second one)
  --path /PATH        a custom origin's existing file to download (origin-shim);
                      with an S3 origin the test file is uploaded instead
  --dry-run           print every AWS CLI call and HTTPS request it would make
                      (tokens shown as placeholders) and send nothing
  --edge-mode MODE    with --dry-run: the stack's edge mode to plan for
                      (lambda, function-only, prefilter; default lambda)
  --help              this text`;

const VALUE_FLAGS = new Set(['--stack', '--keys', '--region', '--path', '--edge-mode']);
const BOOL_FLAGS = new Set(['--dry-run', '--ttfb', '--help']);

/** argv (without node and script) -> raw options; throws a one-line error. */
export function parseArgs(argv) {
  return parseFlags(argv, VALUE_FLAGS, BOOL_FLAGS);
}

/** Checks raw options; throws a one-line error. */
export function checkOptions(raw) {
  if (!raw.stack) throw new Error('--stack NAME is required');
  if (!STACK_RE.test(raw.stack)) throw new Error(`--stack ${JSON.stringify(raw.stack)} is not a stack name of npm run deploy`);
  if (!raw.keys && !raw.dryRun) throw new Error('--keys FILE is required (the key file the stack was deployed with)');
  if (raw.region !== undefined && !REGION_RE.test(raw.region)) throw new Error(`--region ${JSON.stringify(raw.region)} is not a region name`);
  if (raw.path !== undefined && !/^\/[^?#\s]*$/.test(raw.path)) throw new Error('--path must be an absolute URL path without query');
  if (raw.edgeMode !== undefined && !raw.dryRun) throw new Error('--edge-mode is for --dry-run (a real run reads the mode from the stack)');
  if (raw.edgeMode !== undefined && !EDGE_MODES.includes(raw.edgeMode)) throw new Error(`--edge-mode must be one of ${EDGE_MODES.join(', ')}`);
  return {
    stack: raw.stack,
    keysFile: raw.keys ?? null,
    region: raw.region ?? null,
    path: raw.path ?? null,
    ttfb: Boolean(raw.ttfb),
    dryRun: Boolean(raw.dryRun),
    edgeMode: raw.edgeMode ?? 'lambda',
  };
}

/** The AWS CLI call that reads the stack (outputs and parameters). */
export function describeStack(opts) {
  return {
    id: 'stack', why: 'the stack outputs (domain, bucket, tables) and parameters (edge mode, page mode)',
    args: ['cloudformation', 'describe-stacks', '--region', EDGE_REGION, '--stack-name', opts.stack,
      '--query', 'Stacks[0]', '--output', 'json'],
  };
}

/** What a smoke run needs from describe-stacks' `Stacks[0]`; throws if the stack is not an oncelink stack. */
export function stackFacts(described) {
  const outputs = Object.fromEntries((described?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const params = Object.fromEntries((described?.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
  if (!outputs.BaseUrl || !outputs.EdgeMode) throw new Error('the stack has no BaseUrl or EdgeMode output: is it an oncelink stack?');
  return {
    baseUrl: outputs.BaseUrl.replace(/\/+$/, ''),
    edgeMode: outputs.EdgeMode,
    bucket: outputs.FilesBucketName ?? null,
    table: outputs.TableName ?? null,
    tableRegions: outputs.TableRegions ? outputs.TableRegions.split(',') : [],
    pageMode: params.EnablePageMode === 'true',
  };
}

/** Placeholder facts for a dry run (nothing is asked of AWS). */
export function dryRunFacts(opts) {
  const lambda = opts.edgeMode !== 'function-only';
  return {
    baseUrl: 'https://<DistributionDomainName>',
    edgeMode: opts.edgeMode,
    bucket: opts.path ? null : '<FilesBucketName>',
    table: lambda ? '<TableName>' : null,
    tableRegions: lambda ? [opts.region ?? '<HomeRegion>'] : [],
    pageMode: false,
  };
}

/**
 * The run: the test file, the links to mint (claims without id and exp), the
 * HTTPS requests in order with what each must answer, and the clean-up calls.
 * `runId` names this run's test object; `ids` gives each link its token id.
 */
export function smokePlan(opts, facts, { runId, ids }) {
  const consumes = facts.edgeMode !== 'function-only';
  const region = opts.region ?? facts.tableRegions[0] ?? null;
  if (consumes && opts.region && !facts.tableRegions.includes(opts.region)) {
    throw new Error(`--region ${opts.region} has no token table in this stack (${facts.tableRegions.join(', ')})`);
  }
  if (!facts.bucket && !opts.path) throw new Error('a custom origin has no bucket to upload to: give --path of a file the origin serves');
  const path = opts.path ?? `/oncelink-smoke/${runId}/file.bin`;
  const split = opts.path ? CUSTOM_RANGE_SPLIT : S3_RANGE_SPLIT;
  const withRegion = (claims, r = region) => (consumes && r ? { ...claims, r } : claims);
  const links = [];
  const link = (name, claims) => {
    const id = ids(name);
    links.push({ name, id, region: claims.r ?? null, claims: { id, p: path, ...claims } });
    return name;
  };
  const requests = [];
  const get = (name, linkName, client, expect, extra = {}) => requests.push({ name, link: linkName, client, method: 'GET', headers: extra.headers ?? {}, forge: Boolean(extra.forge), expect, part: extra.part ?? null });
  const whole = { body: opts.path ? null : 'whole' };

  if (consumes) {
    const two = link('two-uses', withRegion({ n: 2 }));
    get('2-use link, client 1', two, 1, { status: 200, ...whole });
    get('2-use link, client 2', two, 2, { status: 200, ...whole });
    get('2-use link, client 3', two, 3, { status: 410, reason: 'used_up' });
    get('forged token', two, 4, { status: 403, reason: 'bad_signature' }, { forge: true });
    const one = link('range', withRegion({ n: 1 }));
    get('Range start (counts the use)', one, 5, { status: 206, body: 'head' }, { headers: { range: `bytes=0-${split - 1}` }, part: 'head' });
    get('Range resume, same client', one, 5, { status: 206, body: 'tail' }, { headers: { range: `bytes=${split}-` }, part: 'tail' });
    get('Range resume, other client', one, 6, { status: 410, reason: 'used_up' }, { headers: { range: `bytes=${split}-` } });
    const page = link('page', withRegion({ n: 1, m: 'page' }));
    get('page-mode link shows its page', page, 7, { status: 200, reason: 'page' }, { headers: { accept: 'text/html' } });
    if (opts.ttfb) {
      for (const r of facts.tableRegions) {
        for (const round of ['first', 'second']) {
          const timed = link(`ttfb-${r}-${round}`, { n: 1, r });
          get(`time to first byte, ${r}, ${round} call`, timed, 8, { status: 200, ttfb: r });
        }
      }
    }
  } else {
    const timed = link('time-limited', {});
    get('time-limited link, client 1', timed, 1, { status: 200, ...whole });
    get('time-limited link, client 2', timed, 2, { status: 200, ...whole });
    get('forged token', timed, 4, { status: 403, reason: 'bad_signature' }, { forge: true });
    get('Range on a time-limited link', timed, 5, { status: 206, body: 'tail' }, { headers: { range: `bytes=${split}-` }, part: 'tail' });
    const counted = link('counted', { n: 1 });
    get('use-limited link is refused here', counted, 6, { status: 403, reason: 'needs_consume' });
  }

  const setup = [];
  const cleanup = [];
  if (!opts.path) {
    setup.push({
      id: 'upload', why: `upload a ${FILE_BYTES}-byte test file`,
      args: ['s3api', 'put-object', '--region', EDGE_REGION, '--bucket', facts.bucket, '--key', path.slice(1),
        '--body', '<test file>', '--output', 'json'],
    });
    cleanup.push({
      id: 'deleteObject', why: 'delete the test file (this version: the bucket is versioned)',
      args: ['s3api', 'delete-object', '--region', EDGE_REGION, '--bucket', facts.bucket, '--key', path.slice(1),
        '--version-id', '<VersionId>'],
    });
  }
  if (consumes) {
    for (const l of links) {
      cleanup.push({
        id: `deleteRecord:${l.name}`, why: `delete the token record of the ${l.name} link`,
        args: ['dynamodb', 'delete-item', '--region', l.region ?? region, '--table-name', facts.table,
          '--key', JSON.stringify({ id: { S: l.id } })],
      });
    }
  }
  return { path, split, links, setup, requests, cleanup };
}

/** Request headers of one client: its own User-Agent, so each is its own fingerprint. */
export function clientHeaders(client, headers = {}) {
  return { 'user-agent': `oncelink-smoke/1 client-${client}`, ...headers };
}

/** A token with its signature changed (the last character), so the MAC no longer verifies. */
export function forge(token) {
  const last = token.at(-1);
  return `${token.slice(0, -1)}${last === 'A' ? 'B' : 'A'}`;
}

/** A shell-safe rendering of an AWS CLI call. */
export function renderCommand(args) {
  return ['aws', ...args]
    .map((a) => (/^[A-Za-z0-9_@%+=:,./<>-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** One request as printed: the token never, only which link it is. */
export function renderRequest(facts, plan, request) {
  const headers = Object.entries(clientHeaders(request.client, request.headers)).map(([k, v]) => `-H '${k}: ${v}'`).join(' ');
  const token = `<${request.forge ? 'forged ' : ''}${request.link} token>`;
  const want = `${request.expect.status}${request.expect.reason ? ` ${request.expect.reason}` : ''}`;
  return `GET ${facts.baseUrl}${plan.path}?t=${token} ${headers}  -> expect ${want}`;
}

/** Whether a response meets a request's expectation; returns a list of problems (empty when it does). */
export function judge(request, got, expectedBody) {
  const problems = [];
  if (got.status !== request.expect.status) problems.push(`status ${got.status}, expected ${request.expect.status}`);
  if (request.expect.reason && got.reason !== request.expect.reason) {
    problems.push(`reason ${got.reason ?? 'none'}, expected ${request.expect.reason}`);
  }
  if (request.expect.body && expectedBody && got.sha256 !== expectedBody) problems.push('the bytes differ from the test file');
  return problems;
}
