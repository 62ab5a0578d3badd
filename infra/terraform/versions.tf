terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70.0, < 6.0.0"
      # The default provider must be us-east-1 (Lambda@Edge, the ACM certificate);
      # aws.home is the home region, where the token table lives.
      configuration_aliases = [aws.home]
    }
  }
}
