# Example: time-limited links served by the CloudFront Function alone
# (edge_mode = "function-only": no Lambda@Edge, caching on). Build the two
# inputs from the key file first (docs/cloudfront-functions.md):
#
#   node edge/cloudfront-function/build.mjs --mode only --out dist/cloudfront-function/oncelink-only.js
#   node edge/cloudfront-function/kvs-import.mjs --keys keys.json --out dist/kvs-import.json
#   cd infra/terraform/examples/function-only && terraform init && terraform apply
#
# The import file holds the signing keys, and Terraform copies them into its
# state: keep both private. For use-limited links use edge_mode = "prefilter"
# (also give bundle_zip, as in examples/basic).

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 6.0.0"
    }
  }
}

provider "aws" {
  region = "us-east-1"
}

provider "aws" {
  alias  = "home"
  region = "us-east-1"
}

module "oncelink" {
  source = "../.."
  providers = {
    aws      = aws
    aws.home = aws.home
  }

  name               = "oncelink-links"
  edge_mode          = "function-only"
  function_code_file = "${path.root}/../../../../dist/cloudfront-function/oncelink-only.js"
  kvs_import_file    = "${path.root}/../../../../dist/kvs-import.json"
}

output "mint_command" {
  value = module.oncelink.mint_command
}
