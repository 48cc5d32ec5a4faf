output "bucket_name" {
  description = "Name of the archive bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the archive bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key of the archive (bucket, log groups, dead-letter queues)."
  value       = aws_kms_key.this.arn
}

output "kms_key_alias" {
  description = "Alias of the archive's KMS key."
  value       = aws_kms_alias.this.name
}

output "event_bus_name" {
  description = "Name of the environment's EventBridge bus that pipes of `bus` tables deliver to."
  value       = aws_cloudwatch_event_bus.this.name
}

output "event_bus_arn" {
  description = "ARN of the environment's EventBridge bus."
  value       = aws_cloudwatch_event_bus.this.arn
}

output "lifecycle_rule_ids" {
  description = "IDs of the lifecycle rules of the archive bucket (two per table with a transition, else one)."
  value       = [for r in local.lifecycle_rules : r.id]
}

output "dashboard_name" {
  description = "Name of the environment's CloudWatch dashboard, or null when none is created."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "dashboard_arn" {
  description = "ARN of the environment's CloudWatch dashboard, or null when none is created."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_arn)
}

output "reader_check_function_name" {
  description = "Name of the function that writes ReaderRunning for every pipe and event source mapping of the archive every 5 minutes (the tables' reader-stopped alarms read it)."
  value       = aws_lambda_function.reader_check.function_name
}
