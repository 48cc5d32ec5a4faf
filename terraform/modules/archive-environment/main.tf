data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  bus_name = "${var.name_prefix}-${var.environment}"

  # What the key's service statements are limited to: the table module names every function,
  # log group and rule <name_prefix>-<table> (so both modules must be given the same name_prefix).
  function_log_groups = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"
  archive_rules       = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.bus_name}/${var.name_prefix}-*"
  # The table module's pipe roles: <name_prefix>-<table>-pipe.
  pipe_roles = "arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*-pipe"
}

################################################################################
# KMS key: archive objects, the functions' log groups and dead-letter queues
################################################################################

resource "aws_kms_key" "this" {
  description             = "dynamo-archive ${var.environment}: archive bucket, function logs and dead-letter queues"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days

  # Written inline (not an aws_iam_policy_document) because a key policy's Resource is always "*":
  # it means "this key".
  # parliament-ignore RESOURCE_STAR in AccountAdministersThroughIAM: a key policy's Resource "*" is this key.
  # parliament-ignore RESOURCE_STAR in CloudWatchLogsForArchiveFunctions: a key policy's Resource "*" is this key.
  # parliament-ignore RESOURCE_STAR in EventBridgeDeadLettersForArchiveRules: a key policy's Resource "*" is this key.
  # parliament-ignore MISMATCHED_TYPE in CloudWatchLogsForArchiveFunctions: the CloudWatch Logs encryption guide matches kms:EncryptionContext:aws:logs:arn with an ARN operator; the value is a log group ARN.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # IAM policies of this account decide who uses the key (the functions' roles get only
        # GenerateDataKey through S3, and GenerateDataKey/Decrypt through SQS).
        Sid       = "AccountAdministersThroughIAM"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # Encrypted log groups: CloudWatch Logs uses the key for this project's function log groups
        # only (/aws/lambda/<name_prefix>-*, the table module's names), not any log group of the account.
        # No kms:Describe* (AWS's example has it): DescribeKey carries no encryption context, so under
        # this condition it never matched anyway (the offline IAM lint says so).
        Sid       = "CloudWatchLogsForArchiveFunctions"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = local.function_log_groups
          }
        }
      },
      {
        # A rule's dead-letter queue is encrypted with this key and EventBridge itself (not a role)
        # sends the message: only for this project's rules on this environment's bus (named
        # <name_prefix>-<table> by the table module), each of which dead-letters to its own queue.
        Sid       = "EventBridgeDeadLettersForArchiveRules"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = local.archive_rules }
        }
      },
    ]
  })

  tags = var.tags

  # The key of every archive object: deleting it makes the archive unreadable.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}-${var.environment}"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Archive bucket
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication is a per-organisation DR decision; the archive is versioned and can be replicated by the caller.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events; the archive is read on demand (list/restore).
  bucket = var.bucket_name

  # No object_lock_enabled here: changing it replaces the bucket. Object Lock is turned on by
  # aws_s3_bucket_object_lock_configuration below, which works on an existing bucket too.

  tags = var.tags

  # The archive itself. Emptying and deleting it is a deliberate act outside Terraform.
  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    # The bucket key cuts KMS requests (and cost) to one per bucket key period, not one per object.
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
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

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  # Put the policy after the public access block, so S3 judges it with the block in place.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# WORM: every new archive object is locked for object_lock.days. Turning it on later does not
# replace the bucket (S3 enables Object Lock on an existing versioned bucket); it cannot be turned off.
resource "aws_s3_bucket_object_lock_configuration" "this" {
  count = var.object_lock == null ? 0 : 1

  bucket              = aws_s3_bucket.this.id
  object_lock_enabled = "Enabled"

  rule {
    default_retention {
      mode = var.object_lock.mode
      days = var.object_lock.days
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count = var.access_log_bucket == null ? 0 : 1

  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "${var.access_log_prefix}${var.bucket_name}/"
}

################################################################################
# Lifecycle: one configuration for the bucket, one or two rules per table
################################################################################

locals {
  # Per table: an "expire" rule (always: noncurrent versions, plus expiry of
  # current versions when expire_after_days is set) and, when transition_after_days is set, a
  # "transition" rule, limited to objects above 128 KiB for the objects layout (smaller ones cost
  # more in STANDARD_IA, which bills 128 KiB at least); a compact table's files hold a batch each,
  # so all of them move.
  # Rule IDs are at most 255 characters: a long table name is cut and given a hash of the whole.
  rule_ids = { for table in keys(var.tables) : table => length(table) <= 200 ? table : "${substr(table, 0, 191)}-${substr(sha1(table), 0, 8)}" }
  lifecycle_rules = flatten([
    for table, t in var.tables : concat(
      [{
        id                = "${local.rule_ids[table]}-expire"
        folder            = t.folder
        expire_after_days = t.retention.expire_after_days
      }],
      t.retention.transition_after_days == null ? [] : [{
        id                    = "${local.rule_ids[table]}-transition"
        folder                = t.folder
        transition_after_days = t.retention.transition_after_days
        small_objects_stay    = t.layout == "objects"
      }],
    )
  ])
  expire_rules     = [for r in local.lifecycle_rules : r if endswith(r.id, "-expire")]
  transition_rules = [for r in local.lifecycle_rules : r if endswith(r.id, "-transition")]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = length(var.tables) == 0 ? 0 : 1

  bucket = aws_s3_bucket.this.id

  # Bucket-wide: an unfinished multipart upload is never an archive object.
  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  dynamic "rule" {
    for_each = local.expire_rules

    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.folder
      }

      dynamic "expiration" {
        for_each = rule.value.expire_after_days == null ? [] : [rule.value.expire_after_days]

        content {
          days = expiration.value
        }
      }

      noncurrent_version_expiration {
        noncurrent_days = var.noncurrent_version_expiration_days
      }
    }
  }

  dynamic "rule" {
    for_each = local.transition_rules

    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.small_objects_stay ? null : rule.value.folder

        dynamic "and" {
          for_each = rule.value.small_objects_stay ? [rule.value.folder] : []

          content {
            prefix                   = and.value
            object_size_greater_than = 131072 # 128 KiB: below it STANDARD_IA bills 128 KiB anyway
          }
        }
      }

      transition {
        days          = rule.value.transition_after_days
        storage_class = "STANDARD_IA"
      }
    }
  }

  # Versioning must be on before noncurrent-version rules mean anything.
  depends_on = [aws_s3_bucket_versioning.this]
}

################################################################################
# Event bus: the pipes of "bus" tables put REMOVE records here; each table's rule picks its own
################################################################################

resource "aws_cloudwatch_event_bus" "this" {
  name = local.bus_name

  tags = var.tags
}

# Only the archive's pipes may put the events the table rules archive (source dynamo-archive): any
# other principal of the account with events:PutEvents on this bus would otherwise have its
# made-up deletions written into the archive. Other events stay open to whoever IAM lets in.
data "aws_iam_policy_document" "bus" {
  statement {
    sid       = "OnlyArchivePipesPutArchiveEvents"
    effect    = "Deny"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "events:source"
      values   = ["dynamo-archive"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:PrincipalArn"
      values   = [local.pipe_roles]
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "this" {
  event_bus_name = aws_cloudwatch_event_bus.this.name
  policy         = data.aws_iam_policy_document.bus.json
}
