output "database_name" {
  description = "Glue database of the archive's tables (archiver query --engine athena derives the same name)."
  value       = aws_glue_catalog_database.this.name
}

output "workgroup_name" {
  description = "Athena workgroup to run archive queries in: engine v3, results location and encryption enforced, bytes scanned capped."
  value       = aws_athena_workgroup.this.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.this.arn
}

output "glue_tables" {
  description = "Per archived table: its Glue table name, layout and S3 location."
  value = {
    for name, t in local.tables : name => {
      glue_table = aws_glue_catalog_table.deletions[name].name
      layout     = t.layout
      location   = local.locations[name]
    }
  }
}

output "results_bucket_name" {
  description = "Bucket that receives query results (SSE-KMS, expired after results.expire_after_days)."
  value       = aws_s3_bucket.results.id
}

output "results_location" {
  description = "s3:// location of query results, enforced by the workgroup."
  value       = "s3://${aws_s3_bucket.results.id}/${var.results.prefix}"
}

output "bytes_scanned_cutoff_per_query" {
  description = "Bytes one query may scan before the workgroup cancels it."
  value       = var.bytes_scanned_cutoff_per_query
}

output "querier_policy_json" {
  description = "Least-privilege IAM policy for whoever runs archive queries: this workgroup's query actions, read-only Glue on the archive's database and tables, s3:GetObject and ListBucket under the archived tables' folders, results read/write, and the keys through S3."
  value       = data.aws_iam_policy_document.querier.json
}

output "querier_policy_arn" {
  description = "ARN of the customer-managed policy made from querier_policy_json, or null when create_querier_policy is false."
  value       = one(aws_iam_policy.querier[*].arn)
}
