# The oncelink token table for ONE home region (the region of the provider this
# module is given). One table per region on purpose: a global table does not make
# a conditional write atomic across replicas. Mirrors
# infra/cloudformation/token-table.yaml.

data "aws_region" "current" {}

resource "aws_dynamodb_table" "tokens" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key; records hold hashed ids and counters, no secrets.
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  table_class                 = "STANDARD"
  hash_key                    = "id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  # The attribute edge/src/dynamodb writes (docs/dynamodb.md).
  ttl {
    attribute_name = "expire_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  # Link events: every write's images, for the events Lambda (events.tf).
  stream_enabled   = var.events
  stream_view_type = var.events ? "NEW_AND_OLD_IMAGES" : null

  tags = merge(var.tags, { app = "oncelink" })

  lifecycle {
    # Like DeletionPolicy: Retain in the template: the table is what keeps a
    # used link used. Remove this only to delete the table on purpose.
    prevent_destroy = true
  }
}
