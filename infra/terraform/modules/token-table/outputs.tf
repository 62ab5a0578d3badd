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
