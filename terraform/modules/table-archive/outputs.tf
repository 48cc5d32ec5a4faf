output "function_name" {
  description = "Name of the archiving function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the archiving function."
  value       = aws_lambda_function.this.arn
}

output "function_role_arn" {
  description = "ARN of the function's role (s3:PutObject under archive_folder only)."
  value       = aws_iam_role.function.arn
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.function.name
}

output "pipe_arn" {
  description = "ARN of the EventBridge pipe reading the table's stream."
  value       = aws_pipes_pipe.this.arn
}

output "pipe_role_arn" {
  description = "ARN of the pipe's role."
  value       = aws_iam_role.pipe.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (ARCHIVER_DLQ_URL)."
  value       = aws_sqs_queue.dead_letters.url
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.arn
}

output "event_rule_arn" {
  description = "ARN of the rule on the bus (bus delivery), else null."
  value       = one(aws_cloudwatch_event_rule.this[*].arn)
}

output "archive_folder" {
  description = "Common prefix of every archive object of the table: <prefix>/<table>/."
  value       = local.folder
}

output "lifecycle_rule" {
  description = "The table's part of the bucket's lifecycle configuration, for archive-environment's tables input."
  value = {
    folder    = local.folder
    retention = local.retention
  }
}

output "stream_filters" {
  description = "The pipe's filter patterns (JSON), ORed: what of the stream reaches the function."
  value       = local.filters
}
