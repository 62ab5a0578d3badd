// The IAM permissions a deploy needs, generated from the plan so the list in
// docs/deploy.md cannot drift from what `npm run deploy` does:
//
//   node scripts/deploy/permissions.mjs            the list, as docs/deploy.md shows it
//   node scripts/deploy/permissions.mjs --policy   an IAM policy document with that list
//   node scripts/deploy/permissions.mjs --smoke    what `npm run smoke:aws` needs
//
// Two sources, both read from the plan: every AWS CLI call deploySteps() makes
// in every edge mode (CLI_ACTIONS: the API operations each CLI command calls),
// and every resource type in the templates those calls deploy, which
// CloudFormation creates, updates, tags and deletes with the caller's
// credentials (RESOURCE_ACTIONS: the operations for the properties the
// templates set, from the resource types' documentation). Account-level
// prerequisites the review found are in it too: iam:CreateServiceLinkedRole
// (the first Lambda@Edge association in an account creates the replicator's
// service-linked role; CloudFront Developer Guide, "Set up IAM permissions and
// roles for Lambda@Edge"), and KMS use for the encrypted artifacts bucket.
// An unknown CLI command or resource type throws: the tests then fail.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkOptions, deploySteps, EDGE_MODES, parseArgs } from './plan.mjs';

/** API actions each AWS CLI command of the plan calls, keyed `service command`. */
export const CLI_ACTIONS = {
  // GetCallerIdentity needs no permission.
  'sts get-caller-identity': [],
  // `cloudformation deploy`: a change set, waited for and executed; --tags
  // are stack tags, which CloudFormation also puts on every resource.
  'cloudformation deploy': [
    'cloudformation:CreateChangeSet', 'cloudformation:DescribeChangeSet', 'cloudformation:ExecuteChangeSet',
    'cloudformation:DescribeStacks', 'cloudformation:DescribeStackEvents', 'cloudformation:GetTemplateSummary',
    'cloudformation:TagResource',
  ],
  'cloudformation describe-stacks': ['cloudformation:DescribeStacks'],
  // --webhook-secret-parameter: the parameter's type only (no --with-decryption, so no kms:Decrypt).
  'ssm get-parameter': ['ssm:GetParameter'],
  // With --server-side-encryption aws:kms also kms:GenerateDataKey (stepActions).
  's3api put-object': ['s3:PutObject'],
  'lambda get-function-configuration': ['lambda:GetFunctionConfiguration'],
  'cloudfront wait distribution-deployed': ['cloudfront:GetDistribution'],
  // npm run smoke:aws (scripts/smoke-aws/plan.mjs): the test file and the test links' records.
  's3api delete-object': ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  'dynamodb delete-item': ['dynamodb:DeleteItem'],
};

/** API actions CloudFormation calls for each resource type the templates hold. */
export const RESOURCE_ACTIONS = {
  'AWS::S3::Bucket': [
    's3:CreateBucket', 's3:DeleteBucket', 's3:ListBucket', 's3:GetBucketLocation', 's3:PutBucketPublicAccessBlock',
    's3:GetBucketPublicAccessBlock', 's3:PutBucketOwnershipControls', 's3:GetBucketOwnershipControls',
    's3:PutEncryptionConfiguration', 's3:GetEncryptionConfiguration', 's3:PutBucketVersioning', 's3:GetBucketVersioning',
    's3:PutLifecycleConfiguration', 's3:GetLifecycleConfiguration', 's3:PutBucketTagging', 's3:GetBucketTagging',
  ],
  'AWS::S3::BucketPolicy': ['s3:PutBucketPolicy', 's3:GetBucketPolicy', 's3:DeleteBucketPolicy'],
  'AWS::IAM::Role': [
    'iam:CreateRole', 'iam:GetRole', 'iam:DeleteRole', 'iam:UpdateRole', 'iam:UpdateRoleDescription',
    'iam:UpdateAssumeRolePolicy', 'iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy',
    'iam:ListRolePolicies', 'iam:ListAttachedRolePolicies', 'iam:TagRole', 'iam:UntagRole', 'iam:ListRoleTags',
  ],
  'AWS::IAM::RolePolicy': ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy'],
  'AWS::Logs::LogGroup': [
    'logs:CreateLogGroup', 'logs:DeleteLogGroup', 'logs:DescribeLogGroups', 'logs:PutRetentionPolicy',
    'logs:DeleteRetentionPolicy', 'logs:TagResource', 'logs:UntagResource', 'logs:ListTagsForResource',
  ],
  // The code is read from the KMS-encrypted artifacts bucket with the caller's rights.
  'AWS::Lambda::Function': [
    'lambda:CreateFunction', 'lambda:GetFunction', 'lambda:GetFunctionConfiguration', 'lambda:UpdateFunctionCode',
    'lambda:UpdateFunctionConfiguration', 'lambda:TagResource', 'lambda:UntagResource', 'lambda:ListTags',
    'iam:PassRole', 's3:GetObject', 's3:GetObjectVersion', 'kms:Decrypt',
    // The events Lambda's reserved concurrency.
    'lambda:PutFunctionConcurrency', 'lambda:DeleteFunctionConcurrency',
  ],
  'AWS::Lambda::Version': ['lambda:PublishVersion', 'lambda:GetFunctionConfiguration', 'lambda:ListVersionsByFunction'],
  // A Lambda@Edge association replicates the version; the first one in an
  // account creates the replicator's service-linked role.
  'AWS::CloudFront::Distribution': [
    'cloudfront:CreateDistribution', 'cloudfront:UpdateDistribution', 'cloudfront:GetDistribution',
    'cloudfront:GetDistributionConfig', 'cloudfront:DeleteDistribution', 'cloudfront:TagResource',
    'cloudfront:UntagResource', 'cloudfront:ListTagsForResource',
    'lambda:GetFunction', 'lambda:EnableReplication*', 'lambda:DisableReplication*', 'iam:CreateServiceLinkedRole',
  ],
  'AWS::CloudFront::OriginAccessControl': [
    'cloudfront:CreateOriginAccessControl', 'cloudfront:GetOriginAccessControl', 'cloudfront:UpdateOriginAccessControl',
    'cloudfront:DeleteOriginAccessControl',
  ],
  'AWS::CloudFront::CachePolicy': [
    'cloudfront:CreateCachePolicy', 'cloudfront:GetCachePolicy', 'cloudfront:UpdateCachePolicy', 'cloudfront:DeleteCachePolicy',
  ],
  'AWS::CloudFront::OriginRequestPolicy': [
    'cloudfront:CreateOriginRequestPolicy', 'cloudfront:GetOriginRequestPolicy', 'cloudfront:UpdateOriginRequestPolicy',
    'cloudfront:DeleteOriginRequestPolicy',
  ],
  'AWS::CloudFront::ResponseHeadersPolicy': [
    'cloudfront:CreateResponseHeadersPolicy', 'cloudfront:GetResponseHeadersPolicy',
    'cloudfront:UpdateResponseHeadersPolicy', 'cloudfront:DeleteResponseHeadersPolicy',
  ],
  'AWS::CloudFront::Function': [
    'cloudfront:CreateFunction', 'cloudfront:DescribeFunction', 'cloudfront:GetFunction', 'cloudfront:UpdateFunction',
    'cloudfront:PublishFunction', 'cloudfront:DeleteFunction',
  ],
  // CloudFront reads the import file with the caller's rights ("Create a key
  // value store"): s3:GetObject and s3:GetBucketLocation, and the bucket's KMS key.
  'AWS::CloudFront::KeyValueStore': [
    'cloudfront:CreateKeyValueStore', 'cloudfront:DescribeKeyValueStore', 'cloudfront:UpdateKeyValueStore',
    'cloudfront:DeleteKeyValueStore', 's3:GetObject', 's3:GetBucketLocation', 'kms:Decrypt',
  ],
  // The optional rate-limit web ACL (WafRateLimit); wafv2:GetWebACL is also
  // what CloudFront checks when a distribution is given a web ACL (WebAclArn).
  'AWS::WAFv2::WebACL': [
    'wafv2:CreateWebACL', 'wafv2:GetWebACL', 'wafv2:UpdateWebACL', 'wafv2:DeleteWebACL', 'wafv2:ListWebACLs',
    'wafv2:TagResource', 'wafv2:UntagResource', 'wafv2:ListTagsForResource',
  ],
  // Link events (token-table.yaml with Events=true): the retry and dead-letter
  // queues, and the two mappings that feed the events Lambda.
  'AWS::SQS::Queue': [
    'sqs:CreateQueue', 'sqs:DeleteQueue', 'sqs:GetQueueAttributes', 'sqs:SetQueueAttributes', 'sqs:GetQueueUrl',
    'sqs:TagQueue', 'sqs:UntagQueue', 'sqs:ListQueueTags',
  ],
  'AWS::Lambda::EventSourceMapping': [
    'lambda:CreateEventSourceMapping', 'lambda:GetEventSourceMapping', 'lambda:UpdateEventSourceMapping',
    'lambda:DeleteEventSourceMapping', 'lambda:ListEventSourceMappings',
  ],
  'AWS::DynamoDB::Table': [
    'dynamodb:CreateTable', 'dynamodb:DescribeTable', 'dynamodb:UpdateTable', 'dynamodb:DeleteTable',
    'dynamodb:UpdateTimeToLive', 'dynamodb:DescribeTimeToLive', 'dynamodb:UpdateContinuousBackups',
    'dynamodb:DescribeContinuousBackups', 'dynamodb:TagResource', 'dynamodb:UntagResource', 'dynamodb:ListTagsOfResource',
  ],
};

/** `service command` of one plan step (its AWS CLI arguments). */
export function commandOf(step) {
  const [service, command, sub] = step.args;
  return service === 'cloudfront' && command === 'wait' ? `${service} ${command} ${sub}` : `${service} ${command}`;
}

/** The actions one plan step calls itself; throws for a command this file does not know. */
export function stepActions(step) {
  const actions = CLI_ACTIONS[commandOf(step)];
  if (!actions) throw new Error(`plan step "${step.id}" calls "aws ${commandOf(step)}", which permissions.mjs does not know`);
  // S3 asks KMS for a data key with the caller's rights.
  return step.args.includes('aws:kms') ? [...actions, 'kms:GenerateDataKey'] : actions;
}

/** Resource types of a template, from its text (two-space resource names, four-space Type). */
export function resourceTypes(templateText) {
  return [...templateText.matchAll(/^ {4}Type: (AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)\s*$/gm)].map((m) => m[1]);
}

/** The actions CloudFormation calls for the resource types of a template; throws for an unknown type. */
export function templateActions(templateText, name = 'template') {
  return resourceTypes(templateText).flatMap((type) => {
    const actions = RESOURCE_ACTIONS[type];
    if (!actions) throw new Error(`${name} has ${type}, which permissions.mjs does not know`);
    return actions;
  });
}

/** The deployments the list covers: every edge mode, page mode, both origins, several regions. */
export function coveredDeployments() {
  const base = ['--stack', 'sample', '--keys', 'keys.json', '--extra-regions', 'us-west-2'];
  return [
    ...EDGE_MODES.map((mode) => [...base, '--edge-mode', mode]),
    [...base, '--page-mode', '--origin', 'custom', '--origin-domain', 'files.example.com', '--grant-keys', 'grant.json'],
    [...base, '--events', '--webhook-url', 'https://hooks.example.com/oncelink', '--webhook-secret-parameter', '/oncelink/webhook-secret'],
  ].map((argv) => checkOptions(parseArgs(argv)));
}

/**
 * Every action a deploy needs: the plan's own calls and the resources of the
 * templates they deploy, over coveredDeployments(). `templates` maps the
 * template file a step names (--template-file) to its text.
 */
export function deployActions(templates) {
  const values = {
    sha256Hex: 'h', sha256Base64: 'b', keyStoreVersion: '0123456789abcdef', kvsSha256Base64: 'k',
    codeBucket: 'bucket', functionVersionArn: 'arn', distributionId: 'dist',
  };
  const files = {
    mainTemplate: 'main', tableTemplate: 'table', artifactsTemplate: 'artifacts', zip: 'zip', kvsImport: 'kvs',
  };
  const actions = new Set();
  for (const opts of coveredDeployments()) {
    for (const step of deploySteps(opts, values, files)) {
      for (const a of stepActions(step)) actions.add(a);
      const at = step.args.indexOf('--template-file');
      if (at >= 0) {
        const name = step.args[at + 1];
        if (!(name in templates)) throw new Error(`no template text for ${name}`);
        for (const a of templateActions(templates[name], name)) actions.add(a);
      }
    }
  }
  return [...actions].sort();
}

/** What `npm run smoke:aws` calls, over every edge mode (it deploys nothing). */
export async function smokeActions() {
  const plan = await import('../smoke-aws/plan.mjs');
  const actions = new Set();
  for (const edgeMode of EDGE_MODES) {
    const opts = plan.checkOptions({ stack: 'sample', dryRun: true, edgeMode, ttfb: true });
    const facts = plan.dryRunFacts(opts);
    const run = plan.smokePlan(opts, facts, { runId: 'r', ids: (name) => name });
    for (const step of [plan.describeStack(opts), ...run.setup, ...run.cleanup]) {
      for (const a of stepActions(step)) actions.add(a);
    }
  }
  return [...actions].sort();
}

/** The list grouped by service, one markdown line each, as docs/deploy.md shows it. */
export function markdownList(actions) {
  const byService = new Map();
  for (const a of actions) {
    const [service, name] = a.split(':');
    if (!byService.has(service)) byService.set(service, []);
    byService.get(service).push(name);
  }
  return [...byService].map(([service, names]) => `- \`${service}\`: ${names.map((n) => `\`${n}\``).join(', ')}`).join('\n');
}

/** An IAM policy document allowing the list (tighten Resource once the ARNs exist). */
export function policyDocument(actions) {
  return { Version: '2012-10-17', Statement: [{ Sid: 'OncelinkDeploy', Effect: 'Allow', Action: actions, Resource: '*' }] };
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The checked-in templates, keyed as deployActions names them. */
export function checkedInTemplates() {
  const read = (f) => readFileSync(join(root, 'infra/cloudformation', f), 'utf8');
  return { main: read('oncelink.yaml'), table: read('token-table.yaml'), artifacts: read('artifacts.yaml') };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const actions = deployActions(checkedInTemplates());
  if (process.argv.includes('--smoke')) console.log(markdownList(await smokeActions()));
  else if (process.argv.includes('--policy')) console.log(JSON.stringify(policyDocument(actions), null, 2));
  else console.log(markdownList(actions));
}
