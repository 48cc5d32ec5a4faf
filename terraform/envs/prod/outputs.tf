output "bucket_name" {
  description = "The archive bucket."
  value       = module.environment.bucket_name
}

output "kms_key_arn" {
  description = "The archive's KMS key."
  value       = module.environment.kms_key_arn
}

output "event_bus_name" {
  description = "The EventBridge bus the pipes of bus tables deliver to."
  value       = module.environment.event_bus_name
}

output "function_names" {
  description = "Archiving function per table."
  value       = { for name, table in module.table_archive : name => table.function_name }
}

output "dead_letter_queue_urls" {
  description = "Dead-letter queue per table: deletions that could not be archived."
  value       = { for name, table in module.table_archive : name => table.dead_letter_queue_url }
}

output "pipe_arns" {
  description = "EventBridge pipe per table of delivery bus or direct."
  value       = { for name, table in module.table_archive : name => table.pipe_arn if table.pipe_arn != null }
}

output "event_source_mapping_uuids" {
  description = "Lambda event source mapping per table of delivery stream."
  value       = { for name, table in module.table_archive : name => table.event_source_mapping_uuid if table.event_source_mapping_uuid != null }
}

output "stream_reader_role_arns" {
  description = "Per table, the role that reads its stream: a table encrypted with a customer-managed KMS key must let it kms:Decrypt in the key policy."
  value       = { for name, table in module.table_archive : name => table.stream_reader_role_arn }
}

output "archive_folders" {
  description = "Where each table's objects are: s3://<bucket>/<folder>."
  value       = { for name, table in module.table_archive : name => table.archive_folder }
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment: per table, records, lag, dead letters, function and pipe failures."
  value       = module.environment.dashboard_name
}

output "query_workgroup_name" {
  description = "Athena workgroup of archiver query --engine athena."
  value       = module.query.workgroup_name
}

output "query_database_name" {
  description = "Glue database holding one table per archived table."
  value       = module.query.database_name
}

output "query_results_location" {
  description = "Where Athena writes query results (encrypted, expired)."
  value       = module.query.results_location
}

output "querier_policy_arn" {
  description = "IAM policy to attach to whoever runs archive queries."
  value       = module.query.querier_policy_arn
}
