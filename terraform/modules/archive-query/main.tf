data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# Names and paths: from the variables only (tests/terraform evaluates this block with `terraform
# console`, and compares the names with adapters/aws/athena_sql.py, which derives the same ones).
locals {
  # Athena wants lower-case database and table names of a-z 0-9 _.
  database_name  = replace(lower("${var.name_prefix}_${var.environment}"), "-", "_")
  workgroup_name = "${var.name_prefix}-${var.environment}"

  # A table name that is already a-z 0-9 _ (and not too long) is kept; any other is made safe and
  # given 8 hex of its sha1, so orders-dev and orders_dev never share a Glue table.
  glue_stems = {
    for name in keys(var.tables) : name => (
      can(regex("^[a-z0-9_]{1,200}$", name)) ? name : "${substr(replace(lower(name), "/[^a-z0-9_]/", "_"), 0, 200)}_${substr(sha1(name), 0, 8)}"
    )
  }

  tables = {
    for name, t in var.tables : name => {
      layout     = t.layout
      folder     = "${join("/", compact([t.prefix, name]))}/" # archiver.archive.table_folder
      glue_table = "${local.glue_stems[name]}_${t.layout}"
    }
  }

  # objects: the table folder itself, read whole (an object's version is in "$path"). compact: the
  # batch files under compact/, one Hive-style folder per hour of deletion.
  locations = {
    for name, t in local.tables : name => "s3://${var.bucket_name}/${t.folder}${t.layout == "compact" ? "compact/" : ""}"
  }

  # The one column of every Glue table: an archive line, whole (see the table resource below).
  body_column = {
    name    = "body"
    type    = "string"
    comment = "One archived deletion as JSON: the archive body (archiver/archive.py), plus version in compact lines"
  }

  # The hour folders of a compact table: compact/dt=YYYY-MM-DD/hh=HH/.
  hour_partitions = [
    { name = "dt", type = "string", comment = "UTC day of the deletions in the folder, YYYY-MM-DD (projected)" },
    { name = "hh", type = "int", comment = "UTC hour of the deletions in the folder, 0 to 23 (projected, folder hh=00 to hh=23)" },
  ]

  glue_tables = {
    for name, t in local.tables : name => {
      name           = t.glue_table
      location       = local.locations[name]
      partition_keys = t.layout == "compact" ? local.hour_partitions : []
      parameters = merge(
        {
          EXTERNAL                = "TRUE"
          "dynamo-archive:table"  = name
          "dynamo-archive:layout" = t.layout
        },
        t.layout == "compact" ? {
          # Partition projection: Athena computes the hour folders from these instead of asking
          # Glue, so a new hour needs no partition registered; a window on dt/hh reads only its folders.
          "projection.enabled"          = "true"
          "projection.dt.type"          = "date"
          "projection.dt.format"        = "yyyy-MM-dd"
          "projection.dt.range"         = "${var.compact_first_day},NOW"
          "projection.dt.interval"      = "1"
          "projection.dt.interval.unit" = "DAYS"
          "projection.hh.type"          = "integer"
          "projection.hh.range"         = "0,23"
          "projection.hh.digits"        = "2"
          "storage.location.template"   = "${local.locations[name]}dt=$${dt}/hh=$${hh}/"
        } : {},
      )
    }
  }

  results_bucket_name = coalesce(var.results.bucket_name, "${replace(substr(var.bucket_name, 0, 49), "/[.-]+$/", "")}-query-results")
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  bucket_arn          = "arn:${local.partition}:s3:::${var.bucket_name}"
  results_kms_key_arn = coalesce(var.results.kms_key_arn, var.kms_key_arn)

  # What the querier's policy (iam.tf) names.
  database_arn = "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.database_name}"
  catalog_arn  = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  table_arns   = [for t in values(local.tables) : "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.database_name}/${t.glue_table}"]
  folders      = sort([for t in values(local.tables) : t.folder])
}

################################################################################
# Glue catalog: one database per environment, one table per archived table
################################################################################

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "dynamo-archive ${var.environment}: one table per archived DynamoDB table; query them through `archiver query --engine athena` (the deletions relation, deduplicated)."

  tags = var.tags
}

# Each line of an archive file (an objects body, or a line of a compact batch) is read as ONE
# string column, `body`, with LazySimpleSerDe; the query engine takes its fields apart with
# json_extract / json_extract_scalar. Why not a JSON SerDe: the Hive JSON SerDe refuses a nested
# value (the image) in a string column; the OpenX JSON SerDe maps it, but AWS documents
# non-deterministic results for it and it folds key case; neither is needed when the line stays
# whole. The field delimiter \u0001 never occurs in the line: JSON escapes every control character
# inside strings, and the archiver writes one body per line, so the column is always the whole line.
resource "aws_glue_catalog_table" "deletions" {
  for_each = local.glue_tables

  name          = each.value.name
  database_name = aws_glue_catalog_database.this.name
  description   = "Archived deletions of DynamoDB table ${each.key} (${local.tables[each.key].layout} layout), one JSON body per row; query the deduplicated deletions relation with archiver query --engine athena."
  table_type    = "EXTERNAL_TABLE"
  parameters    = each.value.parameters

  dynamic "partition_keys" {
    for_each = each.value.partition_keys

    content {
      name    = partition_keys.value.name
      type    = partition_keys.value.type
      comment = partition_keys.value.comment
    }
  }

  storage_descriptor {
    location      = each.value.location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    compressed    = local.tables[each.key].layout == "compact" # .jsonl.gz: gzip is read by its extension

    ser_de_info {
      name                  = "one-json-line"
      serialization_library = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"

      parameters = {
        "field.delim"          = "\u0001"
        "serialization.format" = "\u0001"
      }
    }

    columns {
      name    = local.body_column.name
      type    = local.body_column.type
      comment = local.body_column.comment
    }
  }
}

################################################################################
# Query results: a bucket of their own, encrypted, expired
################################################################################

# A bucket of its own rather than a prefix of the archive bucket: queriers must write results, and
# the archive bucket is write-once for the functions only (and may hold Object Lock, which would
# keep every result file for its retention); results are disposable copies with a short expiry.
resource "aws_s3_bucket" "results" {
  #checkov:skip=CKV_AWS_144:Query results are disposable copies that expire within days; replicating them to another region keeps nothing worth recovering.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events of query results; Athena writes them and the querier reads them back.
  #checkov:skip=CKV_AWS_18:Who ran which query is in CloudTrail (athena:StartQueryExecution) and the workgroup's query history; access logs of transient result files add nothing.
  bucket        = local.results_bucket_name
  force_destroy = var.results.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket = aws_s3_bucket.results.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "results" {
  bucket = aws_s3_bucket.results.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.results_kms_key_arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    id     = "expire-query-results"
    status = "Enabled"

    filter {}

    expiration {
      days = var.results.expire_after_days
    }

    # Versioning is on (an overwritten result is kept for a day); nothing needs it for longer.
    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.results]
}

data "aws_iam_policy_document" "results_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.results.arn,
      "${aws_s3_bucket.results.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  bucket = aws_s3_bucket.results.id
  policy = data.aws_iam_policy_document.results_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.results]
}

################################################################################
# Workgroup: engine v3, results location and encryption enforced, bytes scanned capped
################################################################################

resource "aws_athena_workgroup" "this" {
  name        = local.workgroup_name
  description = "dynamo-archive ${var.environment}: archiver query --engine athena; at most ${var.bytes_scanned_cutoff_per_query} bytes scanned per query."
  state       = "ENABLED"

  configuration {
    # Clients cannot point results elsewhere, drop their encryption or lift the cutoff.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${aws_s3_bucket.results.id}/${var.results.prefix}"
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = local.results_kms_key_arn
      }
    }
  }

  tags = var.tags
}
