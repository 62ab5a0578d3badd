# Link events (docs/events.md, "On AWS"), only with var.events: the table's
# stream feeds an events Lambda that keeps the audit trail and delivers signed
# webhooks, failed deliveries waiting in an SQS retry queue, what needs a
# person in a dead-letter queue. Mirrors infra/cloudformation/token-table.yaml.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

locals {
  events  = var.events ? 1 : 0
  secret  = var.events && var.webhook_secret_parameter != "" ? 1 : 0
  account = data.aws_caller_identity.current.account_id
}

resource "aws_dynamodb_table" "events" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS managed key; events hold link ids, refs and coarse client labels, never a token, key or address.
  count                       = local.events
  name                        = "${var.table_name}-events"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  range_key                   = "seq"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "seq"
    type = "N"
  }

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

  tags = merge(var.tags, { app = "oncelink" })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_sqs_queue" "events_dlq" {
  count                     = local.events
  name                      = "${var.table_name}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = merge(var.tags, { app = "oncelink" })
}

resource "aws_sqs_queue" "events_retry" {
  count                      = local.events
  name                       = "${var.table_name}-events-retry"
  message_retention_seconds  = 345600
  visibility_timeout_seconds = 360
  sqs_managed_sse_enabled    = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.events_dlq[0].arn
    maxReceiveCount     = 5
  })
  tags = merge(var.tags, { app = "oncelink" })
}

resource "aws_cloudwatch_log_group" "events" {
  #checkov:skip=CKV_AWS_158:Log lines hold webhook ids, receiver origins and error types, no payloads or secrets; the service key suffices.
  #checkov:skip=CKV_AWS_338:90 days of delivery logs is the retention the audit trail itself keeps by default.
  count             = local.events
  name              = "/aws/lambda/${var.table_name}-events"
  retention_in_days = 90
}

data "aws_iam_policy_document" "events_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "events" {
  count = local.events
  statement {
    sid       = "ReadTheTokenStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [aws_dynamodb_table.tokens.stream_arn]
  }
  statement {
    sid       = "ListTheTokenStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["${aws_dynamodb_table.tokens.arn}/stream/*"]
  }
  statement {
    sid       = "KeepTheAuditTrail"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.events[0].arn]
  }
  statement {
    sid       = "QueueDeliveries"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:SendMessage"]
    resources = [aws_sqs_queue.events_retry[0].arn]
  }
  statement {
    sid       = "GiveUpDeliveries"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq[0].arn]
  }
  statement {
    sid       = "WriteItsLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.events[0].arn}:*"]
  }
  dynamic "statement" {
    for_each = local.secret == 1 ? [1] : []
    content {
      sid       = "ReadTheWebhookSecret"
      actions   = ["ssm:GetParameter"]
      resources = ["arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:${local.account}:parameter${var.webhook_secret_parameter}"]
    }
  }
  dynamic "statement" {
    for_each = local.secret == 1 ? [1] : []
    content {
      sid       = "DecryptItThroughSsmOnly"
      actions   = ["kms:Decrypt"]
      resources = ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.name}:${local.account}:key/*"]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["ssm.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "events" {
  count              = local.events
  name_prefix        = "oncelink-events-"
  assume_role_policy = data.aws_iam_policy_document.events_assume.json
  tags               = merge(var.tags, { app = "oncelink" })
}

resource "aws_iam_role_policy" "events" {
  count  = local.events
  name   = "link-events"
  role   = aws_iam_role.events[0].id
  policy = data.aws_iam_policy_document.events[0].json
}

resource "aws_lambda_function" "events" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by its two event source mappings, whose failures go to the dead-letter queue; a function DLQ applies to asynchronous invocations only.
  #checkov:skip=CKV_AWS_117:Delivers webhooks to receivers on the internet; a VPC would need a NAT gateway and adds nothing here.
  #checkov:skip=CKV_AWS_173:The environment holds names, URLs and a parameter name; the webhook secret is read from SSM Parameter Store at run time.
  #checkov:skip=CKV_AWS_272:The zip is built and hashed by npm run build:events; code signing is not set up for this project.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not used by this project.
  count                          = local.events
  function_name                  = "${var.table_name}-events"
  description                    = "oncelink link events - token table stream to audit trail and signed webhooks (docs/events.md)"
  runtime                        = "nodejs22.x"
  handler                        = "index.handler"
  architectures                  = ["arm64"]
  memory_size                    = 256
  timeout                        = 60
  reserved_concurrent_executions = 10
  role                           = aws_iam_role.events[0].arn
  filename                       = var.events_zip
  source_code_hash               = filebase64sha256(var.events_zip)

  environment {
    variables = {
      ONCELINK_EVENTS_TABLE             = aws_dynamodb_table.events[0].name
      ONCELINK_WEBHOOK_URLS             = join(" ", var.webhook_urls)
      ONCELINK_WEBHOOK_SECRET_PARAMETER = var.webhook_secret_parameter
      ONCELINK_RETRY_QUEUE_URL          = aws_sqs_queue.events_retry[0].url
      ONCELINK_DEAD_LETTER_QUEUE_URL    = aws_sqs_queue.events_dlq[0].url
      ONCELINK_RETENTION_DAYS           = tostring(var.event_retention_days)
    }
  }

  tags       = merge(var.tags, { app = "oncelink" })
  depends_on = [aws_cloudwatch_log_group.events, aws_iam_role_policy.events]

  lifecycle {
    precondition {
      condition     = var.events_zip != ""
      error_message = "events needs events_zip (npm run build:events -> dist/events.zip)."
    }
    precondition {
      condition     = length(var.webhook_urls) == 0 || var.webhook_secret_parameter != ""
      error_message = "webhook_urls needs webhook_secret_parameter (an SSM SecureString)."
    }
  }
}

# The stream: retried from the failed record, split on errors, then to the
# dead-letter queue. Deliveries never fail a batch (they go to the retry
# queue); only an audit write or an enqueue that fails does.
resource "aws_lambda_event_source_mapping" "events_stream" {
  count                              = local.events
  function_name                      = aws_lambda_function.events[0].arn
  event_source_arn                   = aws_dynamodb_table.tokens.stream_arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = 100
  maximum_batching_window_in_seconds = 1
  maximum_retry_attempts             = 20
  maximum_record_age_in_seconds      = 86400
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.events_dlq[0].arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "events_retry" {
  count                   = local.events
  function_name           = aws_lambda_function.events[0].arn
  event_source_arn        = aws_sqs_queue.events_retry[0].arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
}
