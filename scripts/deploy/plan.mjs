// The deploy plan: command-line arguments in, checked settings, the bundle
// config, the template parameters and the AWS CLI calls out. Pure: no AWS, no
// files written, so `--dry-run` and the tests see exactly what a deploy runs.

import { DEFAULT_BUDGET_MS as DEFAULT_STORE_BUDGET_MS, MAX_DEPLOY_BUDGET_MS as MAX_STORE_BUDGET_MS } from '../../edge/js/store.mjs';

/** Lambda@Edge functions (and so the main stack) live in this region. */
export const EDGE_REGION = 'us-east-1';

const REGION_RE = /^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/;
// The function name is `${stack}-viewer-request` (at most 64 characters).
const STACK_RE = /^[a-zA-Z][a-zA-Z0-9-]{0,39}$/;
const SHA256_HEX_RE = /^[0-9a-f]{64}$/;
const CERT_RE = /^arn:aws[a-zA-Z-]*:acm:us-east-1:[0-9]{12}:certificate\/.+$/;
const HOST_RE = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$/;
// An origin as the core's cors::check_origin takes it (edge/src/cors.rs): scheme://host[:port], lowercase.
const CORS_ORIGIN_RE = /^https?:\/\/(?!:)[a-z0-9.:[\]-]+(?<!:)$/;
/** Most origins the core takes in cors_origins (edge/src/cors.rs MAX_ORIGINS). */
export const MAX_CORS_ORIGINS = 32;

/** Edge tiers (the template's EdgeMode), see docs/cloudfront-functions.md. */
export const EDGE_MODES = ['lambda', 'function-only', 'prefilter'];
/** build.mjs --mode for each function mode. */
export const FUNCTION_BUILD_MODE = { 'function-only': 'only', prefilter: 'prefilter' };
/** The quoted placeholder in oncelink.yaml's FunctionCode that the deploy replaces with the built code. */
export const FUNCTION_CODE_PLACEHOLDER =
  '"ONCELINK_FUNCTION_CODE: run npm run deploy, which inlines the built function here (KeyValueStore ${OncelinkKvsId})"';
/** Webhook receivers and the secret's SSM name, as token-table.yaml's AllowedPatterns take them. */
const WEBHOOK_URL_RE = /^https?:\/\/[^\s]+$/;
const SSM_NAME_RE = /^(\/[a-zA-Z0-9_.-]+)+$/;
/** Most webhook receivers a deploy takes (each is one POST per event from the events Lambda). */
export const MAX_WEBHOOK_URLS = 8;
/** Largest template `cloudformation deploy` takes without an S3 bucket for it (bytes). */
export const MAX_TEMPLATE_BODY_BYTES = 51200;


export const USAGE = `usage: npm run deploy -- --stack NAME --keys FILE [options]

  --stack NAME              deployment name (1-40 of [a-zA-Z0-9-], starts with a letter)
  --keys FILE               key file (oncelink keygen); baked into the bundle
  --dry-run                 print every AWS CLI call and the template parameters; change nothing
  --edge-mode MODE          lambda (default): Lambda@Edge on viewer-request, every link kind;
                            function-only: the CloudFront Function alone, time-limited links
                            only, caching on; prefilter: the function on viewer-request and the
                            Lambda@Edge consume on origin-request, caching off
  --home-region REGION      token table region for tokens without r (default ${EDGE_REGION})
  --extra-regions R1,R2     more home regions tokens may name with r (a table in each)
  --table NAME              token table name (default NAME-tokens)
  --origin s3|custom        private S3 bucket (default) or origin-shim as a custom origin
  --origin-domain HOST      custom origin's DNS name (with --origin custom)
  --grant-keys FILE         grant key file (oncelink keygen; NOT the signing keys) for the
                            x-oncelink-grant header the edge adds; origin-shim origin
                            --grant-keys gets the same file (with --origin custom)
  --domain NAME             custom domain for the distribution (needs --certificate-arn)
  --certificate-arn ARN     ACM certificate in us-east-1 for --domain
  --page-mode               allow POST and pass the body to the edge (page mode: links
                            minted with --mode page or a password; docs/page-mode.md)
  --default-mode MODE       direct (default) or page: how links without a mode open
                            (page needs --page-mode)
  --price-class CLASS       PriceClass_100 (default), PriceClass_200 or PriceClass_All
  --cors-origin ORIGIN      let a web app on ORIGIN (https://app.example.com) read answers with
                            fetch(); repeat for more (at most ${MAX_CORS_ORIGINS}). Baked into the bundle
                            (validator.cors_origins) and set as the template's CorsOrigins
                            (response headers policy, OPTIONS allowed); --edge-mode lambda only
  --web-acl-arn ARN         AWS WAF web ACL (CLOUDFRONT scope) of your own to attach
  --waf-rate-limit N        create and attach a web ACL that answers 429 to an IP sending
                            more than N requests per window (10 or more; billed by AWS WAF,
                            infra/README.md); not with --web-acl-arn
  --waf-rate-limit-window S the window N counts over: 60, 120, 300 (default) or 600 seconds
  --no-deletion-protection  create token tables without DynamoDB deletion protection
  --store-attempt-ms MS     DynamoDB time per attempt baked into the bundle (default 1800:
                            a cold call at the longest inter-region round trips; edge/js/store.mjs)
  --store-budget-ms MS      DynamoDB time in all, retries included (default 4000; at most 4500,
                            the viewer-request limit is 5 s)
  --events                  link events (docs/events.md): in every home region the table's
                            stream, the events Lambda, the audit trail (oncelink audit) and
                            its queues; the bundle writes each use's event. Not with
                            --edge-mode function-only
  --webhook-url URL         POST each event, signed, to URL (http or https); repeat for more
                            (at most ${MAX_WEBHOOK_URLS}); needs --events and --webhook-secret-parameter
  --webhook-secret-parameter NAME
                            SSM SecureString holding the webhook secret (oncelink webhook
                            secret), the same name in every home region: /oncelink/webhook-secret
  --event-retention-days N  days the audit trail keeps an event past its link's expiry
                            (1 to 3650, default 90; needs --events)
  --events-bundle ZIP       deploy this prebuilt events zip (npm run build:events) instead of
                            building one
  --bundle ZIP              deploy this prebuilt bundle instead of building one
  --expect-sha256 HEX       refuse to deploy unless the bundle has this sha256 (the tested one)`;

const VALUE_FLAGS = new Set([
  '--stack', '--keys', '--home-region', '--extra-regions', '--table', '--origin', '--origin-domain',
  '--grant-keys', '--domain', '--certificate-arn', '--price-class', '--web-acl-arn',
  '--waf-rate-limit', '--waf-rate-limit-window',
  '--bundle', '--expect-sha256', '--edge-mode', '--default-mode', '--store-attempt-ms', '--store-budget-ms',
  '--webhook-secret-parameter', '--event-retention-days', '--events-bundle',
]);
const BOOL_FLAGS = new Set(['--dry-run', '--page-mode', '--no-deletion-protection', '--events', '--help']);
// Flags that may be given more than once: their values are collected in order.
const REPEAT_FLAGS = new Set(['--cors-origin', '--webhook-url']);

/** Parses argv (without node and script) into raw options; throws a one-line error. */
export function parseArgs(argv) {
  return parseFlags(argv, VALUE_FLAGS, BOOL_FLAGS, REPEAT_FLAGS);
}

/**
 * Parses argv (without node and script) into raw options, `--some-flag` as
 * `someFlag`, with the value and boolean flags given; a repeatable flag's
 * values are collected in an array. Throws a one-line error. Shared by npm
 * run deploy and npm run smoke:aws.
 */
export function parseFlags(argv, valueFlags, boolFlags, repeatFlags = new Set()) {
  const raw = {};
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) {
      value = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const key = flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
    if (boolFlags.has(flag)) {
      if (value !== undefined) throw new Error(`${flag} takes no value`);
      raw[key] = true;
    } else if (repeatFlags.has(flag)) {
      if (value === undefined) value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
      (raw[key] ??= []).push(value);
    } else if (valueFlags.has(flag)) {
      if (value === undefined) value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value`);
      if (key in raw) throw new Error(`${flag} given twice`);
      raw[key] = value;
    } else {
      throw new Error(`unknown argument ${JSON.stringify(flag)} (see --help)`);
    }
  }
  return raw;
}

/** Checks raw options and fills defaults; throws a one-line error. */
export function checkOptions(raw) {
  if (!raw.stack) throw new Error('--stack NAME is required');
  if (!STACK_RE.test(raw.stack)) throw new Error(`--stack ${JSON.stringify(raw.stack)}: use 1 to 40 of [a-zA-Z0-9-], starting with a letter`);
  if (!raw.keys) throw new Error('--keys FILE is required');
  const homeRegion = raw.homeRegion ?? EDGE_REGION;
  if (!REGION_RE.test(homeRegion)) throw new Error(`--home-region ${JSON.stringify(homeRegion)} is not a region name`);
  const extraRegions = raw.extraRegions ? raw.extraRegions.split(',').map((r) => r.trim()) : [];
  for (const r of extraRegions) {
    if (!REGION_RE.test(r)) throw new Error(`--extra-regions: ${JSON.stringify(r)} is not a region name`);
  }
  const regions = [homeRegion, ...extraRegions];
  if (new Set(regions).size !== regions.length) throw new Error('--extra-regions repeats a region (or the home region)');
  const table = raw.table ?? `${raw.stack}-tokens`;
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(table)) throw new Error(`--table ${JSON.stringify(table)}: use 3 to 255 of [a-zA-Z0-9_.-]`);
  const origin = raw.origin ?? 's3';
  if (origin !== 's3' && origin !== 'custom') throw new Error('--origin must be s3 or custom');
  if (origin === 'custom') {
    if (!raw.originDomain) throw new Error('--origin custom needs --origin-domain HOST');
    if (!HOST_RE.test(raw.originDomain)) throw new Error(`--origin-domain ${JSON.stringify(raw.originDomain)} is not a DNS name`);
    if (!raw.grantKeys) throw new Error('--origin custom needs --grant-keys FILE (the guarded origin refuses requests without a grant)');
  } else if (raw.originDomain || raw.grantKeys) {
    throw new Error('--origin-domain and --grant-keys need --origin custom');
  }
  if (raw.domain && !raw.certificateArn) throw new Error('--domain needs --certificate-arn (an ACM certificate in us-east-1)');
  if (raw.certificateArn && !raw.domain) throw new Error('--certificate-arn needs --domain');
  if (raw.domain && !HOST_RE.test(raw.domain)) throw new Error(`--domain ${JSON.stringify(raw.domain)} is not a DNS name`);
  if (raw.certificateArn && !CERT_RE.test(raw.certificateArn)) {
    throw new Error('--certificate-arn must be an ACM certificate ARN in us-east-1');
  }
  const priceClass = raw.priceClass ?? 'PriceClass_100';
  if (!['PriceClass_100', 'PriceClass_200', 'PriceClass_All'].includes(priceClass)) {
    throw new Error('--price-class must be PriceClass_100, PriceClass_200 or PriceClass_All');
  }
  if (raw.expectSha256 !== undefined && !SHA256_HEX_RE.test(raw.expectSha256)) {
    throw new Error('--expect-sha256 must be 64 lowercase hex digits');
  }
  const edgeMode = raw.edgeMode ?? 'lambda';
  if (!EDGE_MODES.includes(edgeMode)) throw new Error(`--edge-mode must be one of ${EDGE_MODES.join(', ')}`);
  if (edgeMode !== 'lambda' && raw.pageMode) {
    throw new Error(`--page-mode needs --edge-mode lambda (page mode behind the ${edgeMode} function is not built)`);
  }
  const storeTimes = {};
  for (const [flag, key, field] of [['--store-attempt-ms', 'storeAttemptMs', 'attempt_timeout_ms'], ['--store-budget-ms', 'storeBudgetMs', 'budget_ms']]) {
    if (raw[key] === undefined) continue;
    if (!/^[0-9]{2,5}$/.test(raw[key]) || Number(raw[key]) < 50 || Number(raw[key]) > MAX_STORE_BUDGET_MS) {
      throw new Error(`${flag} must be a number of milliseconds from 50 to ${MAX_STORE_BUDGET_MS} (the viewer-request limit is 5 s)`);
    }
    storeTimes[field] = Number(raw[key]);
  }
  if (storeTimes.attempt_timeout_ms > (storeTimes.budget_ms ?? DEFAULT_STORE_BUDGET_MS)) {
    throw new Error('--store-attempt-ms must not be more than the store budget (--store-budget-ms, default 4000)');
  }
  if ((storeTimes.attempt_timeout_ms !== undefined || storeTimes.budget_ms !== undefined) && edgeMode === 'function-only') {
    throw new Error('--store-attempt-ms and --store-budget-ms need a Lambda@Edge bundle (not --edge-mode function-only)');
  }
  const wafRateLimit = raw.wafRateLimit ?? '0';
  if (!/^(0|[1-9][0-9]{1,9})$/.test(wafRateLimit) || Number(wafRateLimit) > 2_000_000_000) {
    throw new Error('--waf-rate-limit must be a number of requests from 10 to 2000000000 (AWS WAF\'s lowest limit is 10)');
  }
  const wafRateLimitWindow = raw.wafRateLimitWindow ?? '300';
  if (!['60', '120', '300', '600'].includes(wafRateLimitWindow)) {
    throw new Error('--waf-rate-limit-window must be 60, 120, 300 or 600 seconds');
  }
  if (wafRateLimit !== '0' && raw.webAclArn) {
    throw new Error('--waf-rate-limit and --web-acl-arn exclude each other (a distribution has one web ACL): add a rate-based rule to your own web ACL instead');
  }
  const defaultMode = raw.defaultMode ?? 'direct';
  if (defaultMode !== 'direct' && defaultMode !== 'page') throw new Error('--default-mode must be direct or page');
  if (defaultMode === 'page' && !raw.pageMode) {
    throw new Error('--default-mode page needs --page-mode (the download page posts to the edge)');
  }
  const corsOrigins = raw.corsOrigin ?? [];
  for (const o of corsOrigins) {
    if (o.length > 253 || !CORS_ORIGIN_RE.test(o)) {
      throw new Error(`--cors-origin ${JSON.stringify(o)} is not an origin: scheme://host[:port], lowercase, nothing after (https://app.example.com)`);
    }
  }
  if (new Set(corsOrigins).size !== corsOrigins.length) throw new Error('--cors-origin repeats an origin');
  if (corsOrigins.length > MAX_CORS_ORIGINS) throw new Error(`--cors-origin is given more than ${MAX_CORS_ORIGINS} times (the edge takes at most ${MAX_CORS_ORIGINS} origins)`);
  if (corsOrigins.length > 0 && edgeMode !== 'lambda') {
    throw new Error(`--cors-origin needs --edge-mode lambda (the CloudFront Function writes no CORS headers and answers no preflight)`);
  }
  if (edgeMode === 'function-only') {
    if (origin === 'custom') {
      throw new Error('--edge-mode function-only cannot issue the origin grant a custom origin needs: use --origin s3, or --edge-mode prefilter');
    }
    if (raw.bundle || raw.expectSha256) throw new Error('--edge-mode function-only deploys no Lambda@Edge bundle: drop --bundle and --expect-sha256');
  }
  const events = checkEvents(raw, edgeMode);
  return {
    stack: raw.stack,
    keysFile: raw.keys,
    dryRun: Boolean(raw.dryRun),
    homeRegion,
    extraRegions,
    table,
    origin,
    originDomain: raw.originDomain ?? '',
    grantKeysFile: raw.grantKeys ?? null,
    domain: raw.domain ?? '',
    certificateArn: raw.certificateArn ?? '',
    pageMode: Boolean(raw.pageMode),
    defaultMode,
    priceClass,
    webAclArn: raw.webAclArn ?? '',
    wafRateLimit,
    wafRateLimitWindow,
    deletionProtection: !raw.noDeletionProtection,
    bundle: raw.bundle ?? null,
    expectSha256: raw.expectSha256 ?? null,
    edgeMode,
    storeTimes,
    corsOrigins,
    ...events,
  };
}

/** The events options (docs/events.md, "On AWS"); throws a one-line error. */
function checkEvents(raw, edgeMode) {
  const events = Boolean(raw.events);
  const webhookUrls = raw.webhookUrl ?? [];
  const needsEvents = ['--webhook-url', '--webhook-secret-parameter', '--event-retention-days', '--events-bundle']
    .filter((flag) => raw[flag.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] !== undefined);
  if (!events && needsEvents.length) throw new Error(`${needsEvents[0]} needs --events`);
  if (events && edgeMode === 'function-only') {
    throw new Error('--events needs a Lambda@Edge consume (--edge-mode lambda or prefilter): function-only links are never used up, so they make no events');
  }
  for (const url of webhookUrls) {
    if (url.length > 2048 || !WEBHOOK_URL_RE.test(url)) throw new Error(`--webhook-url ${JSON.stringify(url)} is not an http(s) URL`);
  }
  if (new Set(webhookUrls).size !== webhookUrls.length) throw new Error('--webhook-url repeats a URL');
  if (webhookUrls.length > MAX_WEBHOOK_URLS) throw new Error(`--webhook-url is given more than ${MAX_WEBHOOK_URLS} times`);
  const secret = raw.webhookSecretParameter ?? '';
  if (secret && !SSM_NAME_RE.test(secret)) {
    throw new Error(`--webhook-secret-parameter ${JSON.stringify(secret)} is not an SSM parameter name: /oncelink/webhook-secret`);
  }
  if (webhookUrls.length && !secret) throw new Error('--webhook-url needs --webhook-secret-parameter (an SSM SecureString holding the webhook secret)');
  if (secret && !webhookUrls.length) throw new Error('--webhook-secret-parameter needs --webhook-url (with no receiver there is nothing to sign)');
  const retention = raw.eventRetentionDays ?? '90';
  if (!/^[1-9][0-9]{0,3}$/.test(retention) || Number(retention) > 3650) {
    throw new Error('--event-retention-days must be a number of days from 1 to 3650');
  }
  return { events, webhookUrls, webhookSecretParameter: secret, eventRetentionDays: retention, eventsBundle: raw.eventsBundle ?? null };
}

/** Whether a deployment runs the Lambda@Edge consume (lambda, prefilter). */
export const usesLambda = (opts) => opts.edgeMode !== 'function-only';
/** Whether a deployment runs the CloudFront Function (function-only, prefilter). */
export const usesFunction = (opts) => opts.edgeMode !== 'lambda';

/** S3 key of a KeyValueStore import file in the artifacts bucket (oncelink.yaml reads it from there). */
export function keyStoreKey(version) {
  return `cloudfront-kvs/${version}.json`;
}

/** KeyStoreVersion: the first 16 hex digits of the import file's sha256. */
export function keyStoreVersion(importSha256Hex) {
  return importSha256Hex.slice(0, 16);
}

/**
 * oncelink.yaml with the built CloudFront Function inlined in place of its
 * placeholder, as a YAML double-quoted scalar (JSON string escapes are YAML
 * escapes). The build is ASCII; anything YAML would not take verbatim is refused.
 */
export function renderTemplate(template, code) {
  const at = template.split(FUNCTION_CODE_PLACEHOLDER).length - 1;
  if (at !== 1) throw new Error(`oncelink.yaml must hold the function code placeholder exactly once (found ${at})`);
  if (!/^[\x20-\x7e\t\n]*$/.test(code)) throw new Error('the built function has characters outside printable ASCII');
  if (code.split('${').length - 1 !== 1 || !code.includes('${OncelinkKvsId}')) {
    throw new Error('the built function must contain the ${OncelinkKvsId} placeholder and no other ${');
  }
  const rendered = template.replace(FUNCTION_CODE_PLACEHOLDER, () => JSON.stringify(code));
  const bytes = Buffer.byteLength(rendered, 'utf8');
  if (bytes > MAX_TEMPLATE_BODY_BYTES) {
    throw new Error(`the template with the function inlined is ${bytes} bytes; cloudformation deploy takes ${MAX_TEMPLATE_BODY_BYTES} without an S3 bucket`);
  }
  return rendered;
}

/** Checks a parsed key file the way a deploy needs it (the build checks it fully). */
export function checkKeyFile(keys) {
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) throw new Error('key file must be a JSON object');
  if (!Array.isArray(keys.keys) || keys.keys.length === 0) throw new Error('key file has no keys');
  for (const k of keys.keys) {
    if (!k || typeof k.kid !== 'string' || typeof k.secret !== 'string' || k.secret === '') {
      throw new Error('every key needs a "kid" and a "secret"');
    }
  }
  if (typeof keys.active !== 'string' || !keys.keys.some((k) => k.kid === keys.active)) {
    throw new Error('key file\'s "active" must name one of its keys');
  }
}

/** Grant keys must not share a secret with the signing keys: the origin holds them and must not be able to mint links. */
export function checkGrantKeysApart(keys, grantKeys) {
  const signing = new Set(keys.keys.map((k) => k.secret));
  if (grantKeys.keys.some((k) => signing.has(k.secret))) {
    throw new Error('the grant keys reuse a signing key: make separate ones (oncelink keygen), so the origin cannot mint links');
  }
}

/** The config baked into the bundle (scripts/build-bundle.mjs --config). */
export function bundleConfig(opts, keys, grantKeys = null) {
  const validator = { keys, home_region: opts.homeRegion, origin: opts.origin === 's3' ? 's3' : 'header' };
  if (grantKeys) validator.grant_keys = grantKeys;
  if (opts.defaultMode === 'page') validator.default_mode = 'page';
  // One list for both: the edge's own answers (baked here) and the files the
  // distribution forwards (the template's CorsOrigins, mainParameters).
  if (opts.corsOrigins?.length) validator.cors_origins = opts.corsOrigins;
  const store = { table: opts.table, ...(opts.storeTimes ?? {}) };
  if (opts.events) store.events = true;
  return { validator, store };
}

/** Stack names. */
export function stackNames(opts) {
  return { main: opts.stack, artifacts: `${opts.stack}-artifacts`, tokens: `${opts.stack}-tokens` };
}

/** S3 key of a bundle: one per content, so a new bundle is a new code location. */
export function codeKey(sha256Hex) {
  return `lambda-edge/${sha256Hex}.zip`;
}

/** Parameters of infra/cloudformation/oncelink.yaml. */
export function mainParameters(opts, { codeBucket, sha256Hex, sha256Base64, keyStoreVersion: kvsVersion }) {
  const lambda = usesLambda(opts);
  return {
    EdgeMode: opts.edgeMode,
    CodeBucket: codeBucket,
    CodeKey: lambda ? codeKey(sha256Hex) : '',
    BundleCodeSha256: lambda ? sha256Base64 : '',
    KeyStoreVersion: usesFunction(opts) ? kvsVersion : '',
    TableName: opts.table,
    HomeRegion: opts.homeRegion,
    AdditionalHomeRegions: opts.extraRegions.join(','),
    OriginType: opts.origin,
    CustomOriginDomainName: opts.originDomain,
    DomainName: opts.domain,
    CertificateArn: opts.certificateArn,
    EnablePageMode: String(opts.pageMode),
    PriceClass: opts.priceClass,
    WebAclArn: opts.webAclArn,
    WafRateLimit: opts.wafRateLimit,
    WafRateLimitWindowSec: opts.wafRateLimitWindow,
    CorsOrigins: (opts.corsOrigins ?? []).join(','),
  };
}

/** S3 key of an events Lambda zip: one per content, so a new zip is new code for CloudFormation. */
export function eventsCodeKey(sha256Hex) {
  return `events/${sha256Hex}.zip`;
}

/**
 * The bucket holding the events zip in `region`: Lambda takes code only from a
 * bucket in the function's region, so each home region other than the edge's
 * gets its own artifacts stack. A dry run shows placeholders.
 */
export function eventsBucket(values, region) {
  if (region === EDGE_REGION) return values.codeBucket;
  return values.eventsBuckets?.[region] ?? `<artifacts-bucket-${region}>`;
}

/**
 * Parameters of infra/cloudformation/token-table.yaml in `region`. The events
 * ones are passed off too, so a deploy without --events turns them off.
 */
export function tableParameters(opts, values = {}, region = opts.homeRegion) {
  const on = Boolean(opts.events);
  return {
    TableName: opts.table,
    DeletionProtection: String(opts.deletionProtection),
    Events: String(on),
    EventsCodeBucket: on ? eventsBucket(values, region) : '',
    EventsCodeKey: on ? eventsCodeKey(values.eventsSha256Hex ?? '<events-sha256-hex>') : '',
    WebhookUrls: on ? opts.webhookUrls.join(' ') : '',
    WebhookSecretParameter: on ? opts.webhookSecretParameter : '',
    EventRetentionDays: on ? opts.eventRetentionDays : '90',
  };
}

/**
 * `--parameter-overrides` arguments. Every parameter is passed, empty ones too:
 * `cloudformation deploy` keeps the previous value of a parameter left out, so a
 * deploy without --domain would otherwise keep an old domain.
 */
export function overrides(params) {
  return Object.entries(params).map(([k, v]) => `${k}=${v}`);
}

/**
 * The AWS CLI calls of a deploy, in order. `values` carries what earlier calls
 * return (account, codeBucket, outputs); in a dry run they are placeholders.
 * Each step: { id, why, region, args, capture? }.
 */
export function deploySteps(opts, values, files) {
  const names = stackNames(opts);
  const steps = [];
  steps.push({
    id: 'whoami', why: 'the account to deploy into',
    args: ['sts', 'get-caller-identity', '--query', 'Account', '--output', 'text'],
  });
  steps.push({
    id: 'artifacts', why: 'private bucket for bundle zips (they hold the keys)',
    args: ['cloudformation', 'deploy', '--region', EDGE_REGION, '--stack-name', names.artifacts,
      '--template-file', files.artifactsTemplate, '--no-fail-on-empty-changeset', '--tags', 'app=oncelink'],
  });
  steps.push({
    id: 'codeBucket', why: 'the artifacts bucket name',
    args: ['cloudformation', 'describe-stacks', '--region', EDGE_REGION, '--stack-name', names.artifacts,
      '--query', "Stacks[0].Outputs[?OutputKey=='BucketName'].OutputValue", '--output', 'text'],
  });
  // function-only never consumes: no token tables, no bundle.
  for (const region of usesLambda(opts) ? [opts.homeRegion, ...opts.extraRegions] : []) {
    if (opts.events && region !== EDGE_REGION) {
      steps.push({
        id: `artifacts:${region}`, why: `private bucket in ${region} for the events Lambda's zip (Lambda reads code from its own region)`,
        args: ['cloudformation', 'deploy', '--region', region, '--stack-name', names.artifacts,
          '--template-file', files.artifactsTemplate, '--no-fail-on-empty-changeset', '--tags', 'app=oncelink'],
      });
      steps.push({
        id: `codeBucket:${region}`, why: `the artifacts bucket name in ${region}`,
        args: ['cloudformation', 'describe-stacks', '--region', region, '--stack-name', names.artifacts,
          '--query', "Stacks[0].Outputs[?OutputKey=='BucketName'].OutputValue", '--output', 'text'],
      });
    }
    if (opts.webhookSecretParameter) {
      steps.push({
        id: `secret:${region}`, why: `the webhook secret exists in ${region} as a SecureString (its value is not read)`,
        args: ['ssm', 'get-parameter', '--region', region, '--name', opts.webhookSecretParameter,
          '--query', 'Parameter.Type', '--output', 'text'],
      });
    }
    if (opts.events) {
      steps.push({
        id: `uploadEvents:${region}`, why: `upload the events Lambda's zip to ${region}; S3 checks its sha256`,
        args: ['s3api', 'put-object', '--region', region, '--bucket', eventsBucket(values, region),
          '--key', eventsCodeKey(values.eventsSha256Hex), '--body', files.eventsZip,
          '--checksum-algorithm', 'SHA256', '--checksum-sha256', values.eventsSha256Base64,
          '--server-side-encryption', 'aws:kms'],
      });
    }
    steps.push({
      id: `table:${region}`, why: opts.events ? `token table, its stream and the events Lambda in home region ${region}` : `token table in home region ${region}`,
      args: ['cloudformation', 'deploy', '--region', region, '--stack-name', names.tokens,
        // Always: the template holds the events Lambda's role (created only with
        // Events), and CloudFormation asks for the capability by the template.
        '--template-file', files.tableTemplate, '--capabilities', 'CAPABILITY_IAM',
        '--no-fail-on-empty-changeset', '--tags', 'app=oncelink',
        '--parameter-overrides', ...overrides(tableParameters(opts, values, region))],
    });
  }
  if (usesFunction(opts)) {
    steps.push({
      id: 'uploadKeys', why: 'upload the KeyValueStore import file (it holds the signing keys: private bucket, KMS); S3 checks its sha256',
      args: ['s3api', 'put-object', '--region', EDGE_REGION, '--bucket', values.codeBucket,
        '--key', keyStoreKey(values.keyStoreVersion), '--body', files.kvsImport,
        '--checksum-algorithm', 'SHA256', '--checksum-sha256', values.kvsSha256Base64,
        '--server-side-encryption', 'aws:kms'],
    });
  }
  if (usesLambda(opts)) steps.push({
    id: 'upload', why: 'upload the bundle; S3 checks its sha256',
    args: ['s3api', 'put-object', '--region', EDGE_REGION, '--bucket', values.codeBucket,
      '--key', codeKey(values.sha256Hex), '--body', files.zip,
      '--checksum-algorithm', 'SHA256', '--checksum-sha256', values.sha256Base64,
      '--server-side-encryption', 'aws:kms'],
  });
  steps.push({
    id: 'main',
    why: {
      lambda: 'CloudFront, the function and its new numbered version (waits for the stack)',
      'function-only': 'CloudFront, the KeyValueStore and the CloudFront Function (waits for the stack)',
      prefilter: 'CloudFront, the KeyValueStore, the CloudFront Function, the Lambda@Edge function and its new numbered version (waits for the stack)',
    }[opts.edgeMode],
    args: ['cloudformation', 'deploy', '--region', EDGE_REGION, '--stack-name', names.main,
      '--template-file', files.mainTemplate, '--capabilities', 'CAPABILITY_IAM',
      '--no-fail-on-empty-changeset', '--tags', 'app=oncelink',
      '--parameter-overrides', ...overrides(mainParameters(opts, values))],
  });
  steps.push({
    id: 'outputs', why: 'stack outputs',
    args: ['cloudformation', 'describe-stacks', '--region', EDGE_REGION, '--stack-name', names.main,
      '--query', 'Stacks[0].Outputs', '--output', 'json'],
  });
  if (usesLambda(opts)) steps.push({
    id: 'codeCheck', why: 'the published version runs exactly this bundle',
    args: ['lambda', 'get-function-configuration', '--region', EDGE_REGION,
      '--function-name', values.functionVersionArn, '--query', 'CodeSha256', '--output', 'text'],
  });
  steps.push({
    id: 'wait', why: 'wait until the new version is live on every edge location',
    args: ['cloudfront', 'wait', 'distribution-deployed', '--id', values.distributionId],
  });
  return steps;
}

/** A shell-safe rendering of a command. */
export function renderCommand(args) {
  return ['aws', ...args]
    .map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
