output "distribution_id" {
  description = "CloudFront distribution id."
  value       = aws_cloudfront_distribution.files.id
}

output "distribution_domain_name" {
  description = "CloudFront domain name of the distribution."
  value       = aws_cloudfront_distribution.files.domain_name
}

output "base_url" {
  description = "Base URL for links."
  value       = local.base_url
}

output "files_bucket_name" {
  description = "Private bucket to upload files to (s3 origin only)."
  value       = local.s3 ? aws_s3_bucket.files[0].id : null
}

output "table_name" {
  description = "Token table name (one per home region, same name)."
  value       = module.home_table.table_name
}

output "table_regions" {
  description = "Regions holding a token table (home region first)."
  value       = local.table_regions
}

output "function_version_arn" {
  description = "The numbered Lambda@Edge version (viewer-request, or origin-request with edge_mode = prefilter); null with function-only."
  value       = local.lambda ? aws_lambda_function.edge[0].qualified_arn : null
}

output "viewer_function_arn" {
  description = "The CloudFront Function on viewer-request (function-only, prefilter)."
  value       = local.function ? aws_cloudfront_function.viewer[0].arn : null
}

output "edge_mode" {
  description = "Which edge tier checks links."
  value       = var.edge_mode
}

output "mint_command" {
  description = "Mint a single-use link for /example.pdf (upload the file first)."
  value       = "oncelink mint --keys keys.json --path /example.pdf ${local.lambda ? "--uses 1 " : ""}--ttl 1h --base-url ${local.base_url}"
}

output "function_name" {
  description = "The Lambda@Edge function's name (a new one each time it is created; kept on destroy, see docs/deploy.md Tear-down)."
  value       = local.lambda ? aws_lambda_function.edge[0].function_name : null
}

output "rate_limit_web_acl_arn" {
  description = "The AWS WAF web ACL with the per-IP rate-based rule (waf_rate_limit), or null."
  value       = var.waf_rate_limit > 0 ? aws_wafv2_web_acl.rate_limit[0].arn : null
}
