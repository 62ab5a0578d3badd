# oncelink on CloudFront + Lambda@Edge, the same resources as
# infra/cloudformation/oncelink.yaml + token-table.yaml (infra/tests checks that
# the two stay in step). The default provider must be us-east-1; aws.home is the
# home region of the token table.

data "aws_region" "current" {}
data "aws_region" "home" {
  provider = aws.home
}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  s3            = var.origin_type == "s3"
  custom_domain = var.domain_name != "" && var.certificate_arn != ""
  table_name    = var.table_name != "" ? var.table_name : "${var.name}-tokens"
  # A new name each time the function is created (see terraform_data.edge_name).
  function_name = local.lambda ? "${var.name}-edge-${substr(replace(terraform_data.edge_name[0].id, "-", ""), 0, 12)}" : ""
  table_regions = concat([data.aws_region.home.name], var.additional_home_regions)
  account       = data.aws_caller_identity.current.account_id
  partition     = data.aws_partition.current.partition
  base_url      = local.custom_domain ? "https://${var.domain_name}" : "https://${aws_cloudfront_distribution.files.domain_name}"
  tags          = merge(var.tags, { app = "oncelink" })

  # Edge tiers, as the template's EdgeMode (docs/cloudfront-functions.md).
  lambda    = var.edge_mode != "function-only" # the Lambda@Edge consume runs
  function  = var.edge_mode != "lambda"        # the CloudFront Function runs
  prefilter = var.edge_mode == "prefilter"
  # CORS for the files (cors_origins; the bundle bakes the same list).
  cors = length(var.cors_origins) > 0
  # The managed CachingDisabled cache policy.
  caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  # kid -> secret from the KeyValueStore import file (kvs-import.mjs).
  kvs_entries = local.function ? { for e in jsondecode(file(var.kvs_import_file)).data : e.key => e.value } : {}
}

# ------------------------------------------------------------------ token table

module "home_table" {
  source              = "./modules/token-table"
  providers           = { aws = aws.home }
  table_name          = local.table_name
  deletion_protection = var.deletion_protection
  tags                = var.tags
}

# ------------------------------------------------------------------ files (s3)

resource "aws_s3_bucket" "files" {
  #checkov:skip=CKV_AWS_18:Server access logging needs a second bucket; every decision is logged by the edge function.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-deployment choice, not part of the base deployment.
  #checkov:skip=CKV_AWS_145:SSE-S3: Origin Access Control reads SSE-KMS objects only with extra key-policy wiring.
  #checkov:skip=CKV2_AWS_62:No consumer for event notifications in this deployment.
  count  = local.s3 ? 1 : 0
  bucket = "${lower(var.name)}-files-${local.account}"
  tags   = local.tags

  lifecycle {
    # The files are the user's data (DeletionPolicy: Retain in the template).
    prevent_destroy = true
  }
}

# Files sent with `oncelink send --bucket` (docs/sends.md, "On AWS"): each
# object under sends/ carries the tag oncelink-expire=<d>d, the smallest of 1,
# 7, 30, 90, 365 days that outlives its link, and is deleted after that many
# days (its old versions a day later) whatever else happens. Nothing outside
# sends/ is touched.
resource "aws_s3_bucket_lifecycle_configuration" "files" {
  count  = local.s3 ? 1 : 0
  bucket = aws_s3_bucket.files[0].id

  # The rules are written out, not a dynamic block: checkov (CKV_AWS_300)
  # does not see a static rule next to a dynamic one.
  # Bucket-wide: an upload abandoned for a week is no one's file.
  rule {
    id     = "oncelink-abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "oncelink-sends-expire-1d"
    status = "Enabled"
    filter {
      and {
        prefix = "sends/"
        tags   = { "oncelink-expire" = "1d" }
      }
    }
    expiration {
      days = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "oncelink-sends-expire-7d"
    status = "Enabled"
    filter {
      and {
        prefix = "sends/"
        tags   = { "oncelink-expire" = "7d" }
      }
    }
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "oncelink-sends-expire-30d"
    status = "Enabled"
    filter {
      and {
        prefix = "sends/"
        tags   = { "oncelink-expire" = "30d" }
      }
    }
    expiration {
      days = 30
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "oncelink-sends-expire-90d"
    status = "Enabled"
    filter {
      and {
        prefix = "sends/"
        tags   = { "oncelink-expire" = "90d" }
      }
    }
    expiration {
      days = 90
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "oncelink-sends-expire-365d"
    status = "Enabled"
    filter {
      and {
        prefix = "sends/"
        tags   = { "oncelink-expire" = "365d" }
      }
    }
    expiration {
      days = 365
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.files]
}

resource "aws_s3_bucket_public_access_block" "files" {
  count                   = local.s3 ? 1 : 0
  bucket                  = aws_s3_bucket.files[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "files" {
  count  = local.s3 ? 1 : 0
  bucket = aws_s3_bucket.files[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "files" {
  count  = local.s3 ? 1 : 0
  bucket = aws_s3_bucket.files[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "files" {
  count  = local.s3 ? 1 : 0
  bucket = aws_s3_bucket.files[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "files" {
  count = local.s3 ? 1 : 0

  statement {
    sid       = "AllowThisDistributionOnly"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.files[0].arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.files.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.files[0].arn, "${aws_s3_bucket.files[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "files" {
  count  = local.s3 ? 1 : 0
  bucket = aws_s3_bucket.files[0].id
  policy = data.aws_iam_policy_document.files[0].json

  depends_on = [aws_s3_bucket_public_access_block.files]
}

resource "aws_cloudfront_origin_access_control" "files" {
  count                             = local.s3 ? 1 : 0
  name                              = "${var.name}-files"
  description                       = "oncelink files bucket, signed requests only"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# --------------------------------------------------------------- edge function

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "edge" {
  count              = local.lambda ? 1 : 0
  name_prefix        = substr("${var.name}-edge-", 0, 38)
  description        = "oncelink Lambda@Edge viewer-request function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "consume" {
  statement {
    sid       = "ConsumeAndReadTokens"
    effect    = "Allow"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = ["arn:${local.partition}:dynamodb:*:${local.account}:table/${local.table_name}"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = local.table_regions
    }
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid     = "FunctionLogs"
    effect  = "Allow"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${local.partition}:logs:*:${local.account}:log-group:/aws/lambda/us-east-1.${local.function_name}",
      "arn:${local.partition}:logs:*:${local.account}:log-group:/aws/lambda/us-east-1.${local.function_name}:*",
      "arn:${local.partition}:logs:us-east-1:${local.account}:log-group:/aws/lambda/${local.function_name}",
      "arn:${local.partition}:logs:us-east-1:${local.account}:log-group:/aws/lambda/${local.function_name}:*",
    ]
  }
}

resource "aws_iam_role_policy" "consume" {
  count  = local.lambda ? 1 : 0
  name   = "consume-tokens"
  role   = aws_iam_role.edge[0].id
  policy = data.aws_iam_policy_document.consume.json
}

resource "aws_iam_role_policy" "logs" {
  count  = local.lambda ? 1 : 0
  name   = "write-logs"
  role   = aws_iam_role.edge[0].id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_cloudwatch_log_group" "edge" {
  #checkov:skip=CKV_AWS_158:Decision logs never hold a token, signature, key or raw fingerprint.
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default).
  count             = local.lambda ? 1 : 0
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

# A random id made when the Lambda function is (re)created: the function is
# kept on destroy (skip_destroy, below), so a fixed name would make the next
# apply of the same name, or edge_mode lambda -> function-only -> lambda, fail
# with "function already exists" while the kept function's replicas block its
# deletion for hours. Replaced together with the function, never on its own.
resource "terraform_data" "edge_name" {
  count = local.lambda ? 1 : 0
}

resource "aws_lambda_function" "edge" {
  #checkov:skip=CKV_AWS_115:Lambda@Edge does not support reserved concurrency.
  #checkov:skip=CKV_AWS_116:Lambda@Edge does not support dead-letter queues.
  #checkov:skip=CKV_AWS_117:Lambda@Edge does not support VPC configuration.
  #checkov:skip=CKV_AWS_50:Lambda@Edge does not support X-Ray active tracing.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile per account; the bundle is pinned by sha256 instead (bundle_sha256).
  count            = local.lambda ? 1 : 0
  function_name    = local.function_name
  description      = "oncelink validator (wasm); config and keys are baked into the bundle"
  role             = aws_iam_role.edge[0].arn
  runtime          = "nodejs22.x"
  handler          = "index.handler"
  memory_size      = 128
  timeout          = 5
  filename         = var.bundle_zip
  source_code_hash = filebase64sha256(var.bundle_zip)
  # A numbered version for every new bundle: CloudFront takes only versions.
  publish = true
  # Replicated Lambda@Edge functions cannot be deleted for hours after the
  # distribution is gone: destroy leaves the function (docs/deploy.md).
  skip_destroy = true
  tags         = local.tags

  lifecycle {
    precondition {
      condition     = data.aws_region.current.name == "us-east-1"
      error_message = "Lambda@Edge functions must be created in us-east-1: give this module a us-east-1 default provider."
    }
    precondition {
      condition     = var.bundle_zip != ""
      error_message = "edge_mode lambda and prefilter need bundle_zip (node scripts/build-bundle.mjs)."
    }
    precondition {
      condition     = var.bundle_sha256 == "" || filesha256(var.bundle_zip) == var.bundle_sha256
      error_message = "The bundle's sha256 differs from bundle_sha256 (the bundle the tests ran against): refusing to deploy it."
    }
  }

  depends_on = [aws_cloudwatch_log_group.edge, aws_iam_role_policy.logs]
}

# ------------------------------------------------- CloudFront Function tier

# Keys by kid for the CloudFront Function. CloudFormation imports them from
# the import file at creation; Terraform writes them one by one from the same
# file (kvs-import.mjs), so they are in the Terraform state: keep the state
# private and encrypted, as for any secret.
# One store for the deployment's life: key rotation writes and deletes keys
# through the KeyValueStore data API on this store, so edge locations still
# running the previous function code (which names the store by id) keep
# finding every key that is still in the file (unlike a store per key file).
resource "aws_cloudfront_key_value_store" "keys" {
  count   = local.function ? 1 : 0
  name    = "${var.name}-keys"
  comment = "oncelink signing keys by kid (CloudFront Function tier)"
}

resource "aws_cloudfrontkeyvaluestore_key" "keys" {
  for_each            = local.kvs_entries
  key_value_store_arn = aws_cloudfront_key_value_store.keys[0].arn
  key                 = each.key
  value               = sensitive(each.value)
}

# The function built by `node edge/cloudfront-function/build.mjs --mode
# only|prefilter` (function_code_file), with the KeyValueStore id put in place
# of the `${OncelinkKvsId}` placeholder the build leaves.
resource "aws_cloudfront_function" "viewer" {
  count                        = local.function ? 1 : 0
  name                         = "${var.name}-viewer-function"
  comment                      = "oncelink ${var.edge_mode} token check (edge/cloudfront-function)"
  runtime                      = "cloudfront-js-2.0"
  publish                      = true
  key_value_store_associations = [aws_cloudfront_key_value_store.keys[0].arn]
  code                         = replace(file(var.function_code_file), "$${OncelinkKvsId}", aws_cloudfront_key_value_store.keys[0].id)

  lifecycle {
    precondition {
      condition     = strcontains(file(var.function_code_file), "$${OncelinkKvsId}")
      error_message = "function_code_file must be a build of edge/cloudfront-function/build.mjs without --kvs-id (it leaves the KeyValueStore placeholder)."
    }
  }

  # The keys are in the store before the function that reads them goes live.
  depends_on = [aws_cloudfrontkeyvaluestore_key.keys]
}

# Prefilter: the Lambda@Edge consume on origin-request sees only what this
# policy forwards: every query string (the token, which the Lambda strips) and
# the headers the core reads. Never Host (S3 with Origin Access Control), never
# cookies, not Authorization (CloudFront refuses it in an origin request policy).
resource "aws_cloudfront_origin_request_policy" "prefilter" {
  count   = local.prefilter ? 1 : 0
  name    = "${var.name}-prefilter"
  comment = "Token query and the headers the oncelink core reads, for the origin-request consume"
  cookies_config {
    cookie_behavior = "none"
  }
  headers_config {
    header_behavior = "whitelist"
    headers {
      items = ["user-agent", "range", "accept", "sec-purpose", "purpose", "x-purpose", "x-moz"]
    }
  }
  query_strings_config {
    query_string_behavior = "all"
  }
}

# ------------------------------------------------------------------- CloudFront

# The token (and a page-mode pass) never reaches the cache key: the edge strips
# it, and only the file name it derives from a verified token is kept.
resource "aws_cloudfront_cache_policy" "files" {
  name        = "${var.name}-files"
  comment     = "Token out of the cache key; one cached object serves every authorized viewer"
  default_ttl = 86400
  min_ttl     = 0
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    # No compressed variants: a download is the origin's bytes (compress = false).
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = local.s3 ? "none" : "whitelist"
      dynamic "headers" {
        for_each = local.s3 ? [] : [1]
        content {
          items = ["x-oncelink-disposition"]
        }
      }
    }
    query_strings_config {
      query_string_behavior = local.s3 ? "whitelist" : "none"
      dynamic "query_strings" {
        for_each = local.s3 ? [1] : []
        content {
          items = ["response-content-disposition"]
        }
      }
    }
  }
}

resource "aws_cloudfront_origin_request_policy" "files" {
  name    = "${var.name}-files"
  comment = "Nothing from the viewer beyond the cache key reaches the origin; a custom origin also gets the edge's grant"
  cookies_config {
    cookie_behavior = "none"
  }
  # Headers the edge function adds reach the origin only when a policy names
  # them; the edge drops every viewer-sent x-oncelink-* header first.
  headers_config {
    header_behavior = local.s3 ? "none" : "whitelist"
    dynamic "headers" {
      for_each = local.s3 ? [] : [1]
      content {
        items = ["x-oncelink-grant"]
      }
    }
  }
  query_strings_config {
    query_string_behavior = "none"
  }
}

resource "aws_cloudfront_response_headers_policy" "files" {
  #checkov:skip=CKV_AWS_259:HSTS preload commits the whole domain (and its subdomains) to the browser preload list; only the domain owner may opt in.
  name    = "${var.name}-files"
  comment = "Downloads are private to the viewer and never leak the link through Referer"

  security_headers_config {
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      preload                    = false
      override                   = true
    }
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }
    content_security_policy {
      content_security_policy = "default-src 'none'; frame-ancestors 'none'; sandbox"
      override                = false
    }
  }

  # CORS (cors_origins), as the template's CorsConfig: the answer the edge
  # writes itself (edge/src/cors.rs), for the files it does not write. Added
  # after the cache to responses to CORS requests whose Origin is listed; the
  # origin never sees Origin, so it stays out of the cache key. origin_override:
  # this list is the one source of truth (infra/README.md, "CORS").
  dynamic "cors_config" {
    for_each = local.cors ? [1] : []
    content {
      access_control_allow_credentials = false
      access_control_allow_origins {
        items = var.cors_origins
      }
      access_control_allow_methods {
        items = ["GET", "HEAD", "POST"]
      }
      access_control_allow_headers {
        items = ["authorization", "range"]
      }
      access_control_expose_headers {
        items = ["x-oncelink-reason", "content-disposition"]
      }
      access_control_max_age_sec = 600
      origin_override            = true
    }
  }

  custom_headers_config {
    items {
      header   = "Cache-Control"
      value    = "private, no-store"
      override = true
    }
    items {
      header   = "X-Robots-Tag"
      value    = "noindex, nofollow"
      override = true
    }
    # The answer depends on Origin; override false keeps an answer's own Vary.
    dynamic "items" {
      for_each = local.cors ? [1] : []
      content {
        header   = "Vary"
        value    = "Origin"
        override = false
      }
    }
  }

  lifecycle {
    precondition {
      condition     = !local.cors || var.edge_mode == "lambda"
      error_message = "cors_origins needs edge_mode = lambda; the CloudFront Function writes no CORS headers and answers no preflight."
    }
  }
}

# ------------------------------------------------- rate limit (WAF, optional)
# Counts every viewer request per client IP before the edge function runs: a
# cheap backstop against floods from one address, not a per-link limit. The
# default provider is us-east-1, where CLOUDFRONT-scope web ACLs live.
resource "aws_wafv2_web_acl" "rate_limit" {
  #checkov:skip=CKV2_AWS_31:WAF logging needs a Firehose stream, log group or bucket named aws-waf-logs-*; metrics and sampled requests are on, and every decision is logged by the edge function.
  #checkov:skip=CKV_AWS_192:The Log4j managed rule group protects Java origins; the origin is S3 or origin-shim (Rust). Add it to a web ACL of your own (web_acl_arn) if you want it.
  count       = var.waf_rate_limit > 0 ? 1 : 0
  name        = "oncelink-${var.name}-rate-limit"
  description = "Per-IP rate limit in front of the oncelink distribution."
  scope       = "CLOUDFRONT"
  tags        = local.tags

  default_action {
    allow {}
  }

  rule {
    name     = "per-ip-rate-limit"
    priority = 0
    action {
      block {
        custom_response {
          response_code = 429
          response_header {
            name  = "retry-after"
            value = tostring(var.waf_rate_limit_window_sec)
          }
        }
      }
    }
    statement {
      rate_based_statement {
        aggregate_key_type    = "IP"
        limit                 = var.waf_rate_limit
        evaluation_window_sec = var.waf_rate_limit_window_sec
      }
    }
    visibility_config {
      sampled_requests_enabled   = true
      cloudwatch_metrics_enabled = true
      metric_name                = "oncelink-per-ip-rate-limit"
    }
  }

  visibility_config {
    sampled_requests_enabled   = true
    cloudwatch_metrics_enabled = true
    metric_name                = "oncelink-web-acl"
  }

  lifecycle {
    precondition {
      condition     = var.web_acl_arn == ""
      error_message = "Give web_acl_arn or waf_rate_limit, not both; to rate-limit with your own web ACL, add a rate-based rule to it."
    }
  }
}

resource "aws_cloudfront_distribution" "files" {
  #checkov:skip=CKV_AWS_174:TLSv1.2_2021 is set with domain_name; the default *.cloudfront.net certificate is fixed at TLSv1 by CloudFront.
  #checkov:skip=CKV_AWS_86:Standard logging needs a log bucket with ACLs; every decision is logged by the edge function.
  #checkov:skip=CKV_AWS_310:Origin failover needs a second origin holding the same files.
  #checkov:skip=CKV_AWS_374:Geo restriction is a per-deployment choice; links are authorized per token.
  #checkov:skip=CKV_AWS_305:No default root object: every path needs a token.
  #checkov:skip=CKV2_AWS_47:WAF is optional (web_acl_arn).
  enabled         = true
  comment         = "oncelink ${var.name}"
  http_version    = "http2and3"
  is_ipv6_enabled = true
  price_class     = var.price_class
  web_acl_id      = var.web_acl_arn != "" ? var.web_acl_arn : (var.waf_rate_limit > 0 ? aws_wafv2_web_acl.rate_limit[0].arn : null)
  aliases         = local.custom_domain ? [var.domain_name] : []
  tags            = local.tags

  dynamic "origin" {
    for_each = local.s3 ? [1] : []
    content {
      origin_id                = "files"
      domain_name              = aws_s3_bucket.files[0].bucket_regional_domain_name
      origin_access_control_id = aws_cloudfront_origin_access_control.files[0].id
    }
  }

  dynamic "origin" {
    for_each = local.s3 ? [] : [1]
    content {
      origin_id   = "files"
      domain_name = var.custom_origin_domain_name
      custom_origin_config {
        origin_protocol_policy   = "https-only"
        origin_ssl_protocols     = ["TLSv1.2"]
        http_port                = 80
        https_port               = 443
        origin_read_timeout      = 30
        origin_keepalive_timeout = 5
      }
      # No custom_header x-oncelink-grant: CloudFront would overwrite the
      # grant the edge function computed for the request.
    }
  }

  # Every behavior serves private files, so every behavior runs a check on
  # viewer-request (before the cache): the Lambda@Edge consume (lambda) or the
  # CloudFront Function (function-only, prefilter). In prefilter mode caching
  # is disabled and the consume runs on origin-request.
  default_cache_behavior {
    target_origin_id       = "files"
    viewer_protocol_policy = "https-only"
    # Off for counted downloads: CloudFront would compress text types of 1 KB
    # to 10 MB, a representation with its own Content-Length, so a Range
    # resume could refer to other bytes than the first request got.
    compress = false
    # OPTIONS with CORS on, for preflights the edge function answers; never
    # cached (cached_methods stays GET and HEAD).
    allowed_methods            = var.enable_page_mode ? ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"] : (local.cors ? ["GET", "HEAD", "OPTIONS"] : ["GET", "HEAD"])
    cached_methods             = ["GET", "HEAD"]
    cache_policy_id            = local.prefilter ? local.caching_disabled : aws_cloudfront_cache_policy.files.id
    origin_request_policy_id   = local.prefilter ? aws_cloudfront_origin_request_policy.prefilter[0].id : aws_cloudfront_origin_request_policy.files.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.files.id

    dynamic "function_association" {
      for_each = local.function ? [1] : []
      content {
        event_type   = "viewer-request"
        function_arn = aws_cloudfront_function.viewer[0].arn
      }
    }

    dynamic "lambda_function_association" {
      for_each = local.lambda ? [1] : []
      content {
        event_type   = local.prefilter ? "origin-request" : "viewer-request"
        lambda_arn   = aws_lambda_function.edge[0].qualified_arn
        include_body = var.enable_page_mode
      }
    }
  }

  # Never answer from a cached error: in prefilter mode CloudFront caches what
  # the origin-request Lambda generates, and keeps 400, 403, 405 and 503 for
  # the error-caching minimum TTL (10 s by default) whatever Cache-Control
  # says, under a key that is only the path. 0 s for every error status the
  # edge generates (410 with no-store is never cached and cannot be set).
  dynamic "custom_error_response" {
    for_each = [400, 403, 404, 405, 502, 503]
    content {
      error_code            = custom_error_response.value
      error_caching_min_ttl = 0
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = local.custom_domain ? false : true
    acm_certificate_arn            = local.custom_domain ? var.certificate_arn : null
    ssl_support_method             = local.custom_domain ? "sni-only" : null
    minimum_protocol_version       = local.custom_domain ? "TLSv1.2_2021" : "TLSv1"
  }

  lifecycle {
    precondition {
      condition     = local.s3 || var.custom_origin_domain_name != ""
      error_message = "origin_type = custom needs custom_origin_domain_name."
    }
    precondition {
      condition     = var.domain_name == "" || var.certificate_arn != ""
      error_message = "domain_name needs certificate_arn (an ACM certificate in us-east-1)."
    }
    precondition {
      condition     = var.edge_mode == "lambda" || !var.enable_page_mode
      error_message = "enable_page_mode needs edge_mode = lambda (page mode behind a CloudFront Function tier is not built)."
    }
    precondition {
      condition     = var.edge_mode != "function-only" || local.s3
      error_message = "edge_mode = function-only cannot issue the origin grant a custom origin needs: use origin_type = s3, or edge_mode = prefilter."
    }
  }
}
