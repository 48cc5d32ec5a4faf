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
  description = "ARN of the EventBridge pipe reading the table's stream (bus, direct), else null."
  value       = one(aws_pipes_pipe.this[*].arn)
}

output "pipe_name" {
  description = "Name of the EventBridge pipe (dimension PipeName of its AWS/EventBridge/Pipes metrics; bus, direct), else null."
  value       = one(aws_pipes_pipe.this[*].name)
}

output "pipe_role_arn" {
  description = "ARN of the pipe's role (bus, direct), else null."
  value       = one(aws_iam_role.pipe[*].arn)
}

output "event_source_mapping_uuid" {
  description = "UUID of the Lambda event source mapping reading the table's stream (stream delivery), else null."
  value       = one(aws_lambda_event_source_mapping.this[*].uuid)
}

output "event_source_mapping_arn" {
  description = "ARN of the Lambda event source mapping reading the table's stream (stream delivery), else null."
  value       = one(aws_lambda_event_source_mapping.this[*].arn)
}

output "stream_reader_role_arn" {
  description = "ARN of the role that reads the table's stream: the pipe's (bus, direct) or the function's (stream). A table encrypted with a customer-managed KMS key must let this role kms:Decrypt in the key policy."
  value       = local.pipe ? aws_iam_role.pipe[0].arn : aws_iam_role.function.arn
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (ARCHIVER_DLQ_URL)."
  value       = aws_sqs_queue.dead_letters.url
}

output "dead_letter_queue_name" {
  description = "Name of the dead-letter queue (dimension QueueName of its AWS/SQS metrics)."
  value       = aws_sqs_queue.dead_letters.name
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dead_letters.arn
}

output "event_rule_arn" {
  description = "ARN of the rule on the bus (bus delivery), else null."
  value       = one(aws_cloudwatch_event_rule.this[*].arn)
}

output "event_rule_name" {
  description = "Name of the rule on the bus (bus delivery), else null."
  value       = one(aws_cloudwatch_event_rule.this[*].name)
}

output "alarm_names" {
  description = "Names of the table's CloudWatch alarms, keyed by signal (dead-letters, archive-lag, errors, ...); empty without create_alarms."
  value       = { for signal, alarm in aws_cloudwatch_metric_alarm.this : signal => alarm.alarm_name }
}

output "monitoring" {
  description = "What the environment's dashboard shows of this table (its metrics' namespaces and dimensions, the lag alarm's threshold), for archive-environment's dashboard_tables input."
  value = {
    region                         = local.region
    delivery                       = var.delivery
    layout                         = var.layout
    metrics_namespace              = var.metrics_namespace
    function_name                  = aws_lambda_function.this.function_name
    pipe_name                      = one(aws_pipes_pipe.this[*].name)
    dead_letter_queue_names        = [aws_sqs_queue.dead_letters.name]
    event_bus_name                 = local.bus ? var.event_bus_name : null
    rule_name                      = one(aws_cloudwatch_event_rule.this[*].name)
    archive_lag_alarm_threshold_ms = var.archive_lag_alarm_threshold_ms
  }
}

output "archive_folder" {
  description = "Common prefix of every archive object of the table: <prefix>/<table>/."
  value       = local.folder
}

output "lifecycle_rule" {
  description = "The table's part of the bucket's lifecycle configuration, for archive-environment's tables input."
  value = {
    folder    = local.folder
    layout    = var.layout
    retention = local.retention
  }
}

output "stream_filters" {
  description = "The filter patterns (JSON) of the pipe or mapping, ORed: what of the stream reaches the function."
  value       = local.filters
}
