# Example: oncelink with a private S3 bucket, home region eu-west-1, and a
# second home region us-west-2 (tokens minted with `--region us-west-2`).
#
#   node scripts/build-bundle.mjs --config deploy-config.json   # see docs/deploy.md
#   cd infra/terraform/examples/basic && terraform init && terraform apply

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 6.0.0"
    }
  }
}

# Lambda@Edge and CloudFront certificates live in us-east-1.
provider "aws" {
  region = "us-east-1"
}

# The home region: where tokens without an `r` claim are counted.
provider "aws" {
  alias  = "home"
  region = "eu-west-1"
}

# One provider per additional home region.
provider "aws" {
  alias  = "us_west_2"
  region = "us-west-2"
}

variable "bundle_sha256" {
  description = "sha256 of the bundle the tests ran against (CI passes it)."
  type        = string
  default     = ""
}

module "oncelink" {
  source = "../.."
  providers = {
    aws      = aws
    aws.home = aws.home
  }

  name                    = "oncelink-demo"
  bundle_zip              = "${path.root}/../../../../dist/lambda-edge.zip"
  bundle_sha256           = var.bundle_sha256
  additional_home_regions = ["us-west-2"]
}

# The token table in the additional home region: same name, its own region.
module "table_us_west_2" {
  source     = "../../modules/token-table"
  providers  = { aws = aws.us_west_2 }
  table_name = module.oncelink.table_name
}

output "mint_command" {
  value = module.oncelink.mint_command
}

output "files_bucket" {
  value = module.oncelink.files_bucket_name
}
