output "table_name" {
  description = "Token table name."
  value       = aws_dynamodb_table.tokens.name
}

output "table_arn" {
  description = "Token table ARN."
  value       = aws_dynamodb_table.tokens.arn
}

output "region" {
  description = "The home region this table serves."
  value       = data.aws_region.current.name
}

output "audit_table_name" {
  description = "The audit trail (oncelink audit --store dynamodb:REGION --table TABLE ID reads it); null without events."
  value       = var.events ? aws_dynamodb_table.events[0].name : null
}

output "events_dead_letter_queue_url" {
  description = "Deliveries given up and stream batches not processed; watch its depth. Null without events."
  value       = var.events ? aws_sqs_queue.events_dlq[0].url : null
}
