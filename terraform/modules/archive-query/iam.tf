################################################################################
# Queriers: run queries in this workgroup over these tables, read the archive, nothing else
################################################################################

# Athena runs a query with the caller's own permissions: it reads Glue and the archive objects,
# and writes the results, as the caller. So this one document is all a querier needs.
data "aws_iam_policy_document" "querier" {
  statement {
    sid = "RunQueriesInTheArchiveWorkgroup"
    actions = [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StopQueryExecution",
      "athena:GetWorkGroup",
    ]
    resources = [aws_athena_workgroup.this.arn]
  }

  # Read-only, and only the archive's database and tables (GetPartition(s) answer nothing for a
  # projected table, but Athena may still ask).
  statement {
    sid = "ReadTheArchiveCatalog"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:GetPartition",
      "glue:GetPartitions",
    ]
    resources = concat([local.catalog_arn, local.database_arn], local.table_arns)
  }

  # Listing: only under the archived tables' folders (not the dead letters of other tables' roots,
  # nor anything else the bucket may hold).
  dynamic "statement" {
    for_each = length(local.folders) == 0 ? [] : [local.folders]

    content {
      sid       = "ListTheArchivedTablesFolders"
      actions   = ["s3:ListBucket"]
      resources = [local.bucket_arn]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [for folder in statement.value : "${folder}*"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(local.folders) == 0 ? [] : [local.folders]

    content {
      sid       = "ReadTheArchivedTablesObjects"
      actions   = ["s3:GetObject"]
      resources = [for folder in statement.value : "${local.bucket_arn}/${folder}*"]
    }
  }

  statement {
    sid       = "LocateTheBuckets"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.bucket_arn, aws_s3_bucket.results.arn]
  }

  statement {
    sid = "WriteAndReadQueryResults"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.results.arn}/${var.results.prefix}*"]
  }

  statement {
    sid       = "ListQueryResults"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.results.arn]
  }

  # Archive objects are SSE-KMS: decrypting them, through S3 only.
  statement {
    sid       = "DecryptArchiveObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  # Results are written SSE-KMS (the workgroup enforces it) and read back: a data key and
  # decryption, through S3 only.
  statement {
    sid       = "EncryptQueryResults"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [local.results_kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "querier" {
  count = var.create_querier_policy ? 1 : 0

  name        = "${local.workgroup_name}-query"
  description = "Run archiver query --engine athena in workgroup ${local.workgroup_name}: read the archive's Glue tables and objects, write and read query results."
  policy      = data.aws_iam_policy_document.querier.json

  tags = var.tags
}
