variable "name" {
  description = "Deployment name: prefixes every resource (like the CloudFormation stack name)."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,39}$", var.name))
    error_message = "name must start with a letter and be at most 40 of [a-zA-Z0-9-] (the function name adds 16 characters)."
  }
}

variable "edge_mode" {
  description = "lambda: Lambda@Edge on viewer-request (every link kind). function-only: the CloudFront Function alone, time-limited links only, caching on, no Lambda. prefilter: the function on viewer-request, the Lambda@Edge consume on origin-request, caching off (docs/cloudfront-functions.md)."
  type        = string
  default     = "lambda"
  validation {
    condition     = contains(["lambda", "function-only", "prefilter"], var.edge_mode)
    error_message = "edge_mode must be lambda, function-only or prefilter."
  }
}

variable "bundle_zip" {
  description = "Path to the Lambda@Edge bundle zip built by `node scripts/build-bundle.mjs --config FILE` with this deployment's table name, home region and origin baked in. Empty with edge_mode = function-only."
  type        = string
  default     = ""
}

variable "function_code_file" {
  description = "Function modes: the CloudFront Function built by `node edge/cloudfront-function/build.mjs --mode only` (function-only) or `--mode prefilter`, without --kvs-id."
  type        = string
  default     = ""
}

variable "kvs_import_file" {
  description = "Function modes: the KeyValueStore import file from `node edge/cloudfront-function/kvs-import.mjs --keys keys.json --out FILE` (holds the signing keys; they end up in the Terraform state)."
  type        = string
  default     = ""
}

variable "bundle_sha256" {
  description = "Hex SHA-256 the bundle must have (the one the tests ran against). Terraform refuses to deploy a different bundle. Empty to skip the check."
  type        = string
  default     = ""
  validation {
    condition     = var.bundle_sha256 == "" || can(regex("^[0-9a-f]{64}$", var.bundle_sha256))
    error_message = "bundle_sha256 must be 64 lowercase hex digits or empty."
  }
}

variable "table_name" {
  description = "Token table name, the same in every home region; must equal store.table in the bundle config. Default: <name>-tokens."
  type        = string
  default     = ""
}

variable "additional_home_regions" {
  description = "Further regions tokens may name with `r`. Add a token-table module instance per region (see examples/basic) and list the regions here so the function may reach them."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "DynamoDB deletion protection on the home token table."
  type        = bool
  default     = true
}

variable "origin_type" {
  description = "s3: a private bucket read through Origin Access Control. custom: `origin-shim origin`, which serves only requests carrying the HMAC grant (x-oncelink-grant) the edge adds when the bundle has grant keys. Must match the bundle's validator.origin (s3 / header) and grant_keys."
  type        = string
  default     = "s3"
  validation {
    condition     = contains(["s3", "custom"], var.origin_type)
    error_message = "origin_type must be s3 or custom."
  }
}

variable "custom_origin_domain_name" {
  description = "With origin_type = custom: the origin's DNS name (HTTPS, TLS 1.2, port 443)."
  type        = string
  default     = ""
}

variable "domain_name" {
  description = "Optional custom domain for the distribution (needs certificate_arn)."
  type        = string
  default     = ""
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 covering domain_name."
  type        = string
  default     = ""
}

variable "enable_page_mode" {
  description = "Allow POST and pass the body to the edge function (page mode: download pages, passwords). The edge answers every POST itself. Off until page mode ships."
  type        = bool
  default     = false
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"
}

variable "web_acl_arn" {
  description = "Optional AWS WAF web ACL (scope CLOUDFRONT) ARN that you manage, attached as is. Give either this or waf_rate_limit, not both (a distribution has one web ACL)."
  type        = string
  default     = ""
}

variable "waf_rate_limit" {
  description = "0 (default): no web ACL is created. Otherwise create an AWS WAF web ACL (scope CLOUDFRONT, with the default us-east-1 provider) with one rate-based rule that answers 429 to a client IP sending more than this many requests in waf_rate_limit_window_sec, and attach it. Billed per web ACL, rule and request (infra/README.md)."
  type        = number
  default     = 0
  validation {
    condition     = var.waf_rate_limit == 0 || (var.waf_rate_limit >= 10 && var.waf_rate_limit <= 2000000000)
    error_message = "waf_rate_limit is 0 (off) or 10 to 2,000,000,000 requests per window (AWS WAF's lowest rate limit is 10)."
  }
}

variable "waf_rate_limit_window_sec" {
  description = "The window waf_rate_limit counts over, in seconds."
  type        = number
  default     = 300
  validation {
    condition     = contains([60, 120, 300, 600], var.waf_rate_limit_window_sec)
    error_message = "waf_rate_limit_window_sec is 60, 120, 300 or 600."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's us-east-1 log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
