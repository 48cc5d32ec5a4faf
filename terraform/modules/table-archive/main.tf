data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# The table exists already (the module archives it, it does not own it): its stream is the source.
data "aws_dynamodb_table" "this" {
  name = var.table_name
}

# Names and paths: from the variables only (tests/terraform evaluates this block with `terraform console`).
locals {
  bus = var.delivery == "bus"

  # <name_prefix>-<table>, made safe for every name it is used in: Lambda function names allow
  # neither '.' nor more than 64 characters, so such names get a hash of the table name instead.
  base_name = "${var.name_prefix}-${var.table_name}"
  safe_name = replace(local.base_name, ".", "-")
  name = (local.safe_name == local.base_name && length(local.base_name) <= 56
    ? local.base_name
  : "${substr(local.safe_name, 0, 47)}-${substr(sha1(var.table_name), 0, 8)}")

  # Where this table's objects go: <prefix>/<table>/ (archiver.archive.table_folder).
  folder = "${join("/", compact([var.prefix, var.table_name]))}/"

  # Both retention settings, null where the YAML leaves one out.
  retention = {
    transition_after_days = lookup(var.retention, "transition_after_days", null)
    expire_after_days     = lookup(var.retention, "expire_after_days", null)
  }

  tags = merge(var.tags, { "dynamo-archive:table" = var.table_name })
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region

  table_arn  = data.aws_dynamodb_table.this.arn
  stream_arn = data.aws_dynamodb_table.this.stream_arn
  bucket_arn = "arn:${local.partition}:s3:::${var.bucket_name}"
  bus_arn    = local.bus ? "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/${var.event_bus_name}" : null
  table_kms  = try(data.aws_dynamodb_table.this.server_side_encryption[0].kms_key_arn, "")
}

################################################################################
# Dead-letter queue: records the pipe, the rule or Lambda gave up on
################################################################################

resource "aws_sqs_queue" "dead_letters" {
  name                      = "${local.name}-dlq"
  message_retention_seconds = var.dead_letter_retention_seconds

  # SSE always: with the environment's KMS key when given, else SQS-managed keys.
  kms_master_key_id       = var.queue_kms_key_arn
  sqs_managed_sse_enabled = var.queue_kms_key_arn == null ? true : null

  tags = local.tags
}

data "aws_iam_policy_document" "dead_letters" {
  statement {
    sid       = "PipeAndFunctionSend"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.pipe.arn, aws_iam_role.function.arn]
    }
  }

  dynamic "statement" {
    for_each = local.bus ? [1] : []

    content {
      sid       = "RuleSends"
      actions   = ["sqs:SendMessage"]
      resources = [aws_sqs_queue.dead_letters.arn]

      principals {
        type        = "Service"
        identifiers = ["events.amazonaws.com"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:SourceArn"
        values   = [aws_cloudwatch_event_rule.this[0].arn]
      }
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dead_letters.arn]

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

resource "aws_sqs_queue_policy" "dead_letters" {
  queue_url = aws_sqs_queue.dead_letters.id
  policy    = data.aws_iam_policy_document.dead_letters.json
}

################################################################################
# Function
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = local.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls S3 and SQS APIs; a VPC would add NAT or endpoints and no isolation.
  #checkov:skip=CKV_AWS_272:The package is built reproducibly by scripts/build_lambda.py and pinned by source_code_hash; no signing profile exists.
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the on_failure destination (aws_lambda_function_event_invoke_config), pipe invocations to the pipe's dead-letter queue.
  function_name = local.name
  description   = substr("Archives the deleted items of DynamoDB table ${var.table_name} to s3://${var.bucket_name}/${local.folder}", 0, 256)
  role          = aws_iam_role.function.arn

  runtime       = "python3.13"
  architectures = [var.architecture]
  handler       = "adapters.lambda_handler.handler"
  memory_size   = var.memory_size
  timeout       = var.timeout

  filename         = var.lambda_package.path
  source_code_hash = var.lambda_package.sha256

  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn

  # Exactly the fields of adapters.settings.Settings (tests/terraform checks it).
  environment {
    variables = {
      ARCHIVER_BUCKET            = var.bucket_name
      ARCHIVER_PREFIX            = var.prefix
      ARCHIVER_DLQ_URL           = aws_sqs_queue.dead_letters.url
      ARCHIVER_TABLE             = var.table_name
      ARCHIVER_CAPTURE           = join(",", sort(var.capture))
      ARCHIVER_TTL_ATTRIBUTE     = var.ttl_attribute == null ? "" : var.ttl_attribute
      ARCHIVER_DROP_ATTRIBUTES   = join(",", sort(var.drop_attributes))
      ARCHIVER_LAYOUT            = "objects" # the table's `layout` once the module takes it (issue 14)
      ARCHIVER_KMS_KEY_ID        = var.kms_key_arn
      ARCHIVER_MAX_CONCURRENCY   = tostring(var.max_concurrency)
      ARCHIVER_LOG_LEVEL         = var.log_level
      ARCHIVER_METRICS_NAMESPACE = var.metrics_namespace
    }
  }

  # Text: the function writes its own JSON lines to stdout (adapters/logs.py); Lambda keeps them as is.
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  tags = local.tags

  depends_on = [aws_iam_role_policy.function]
}

################################################################################
# Pipe: the table's stream, filtered to the deletions it captures
################################################################################

# The stream filter: from the variables only (tests/terraform evaluates this block too).
locals {
  remove       = { eventName = ["REMOVE"] }
  ttl_identity = { type = ["Service"], principalId = ["dynamodb.amazonaws.com"] }

  # Filters are ORed; each one is an EventBridge pattern over the raw stream record. A field must be
  # present for a value or "anything-but" to match, so "no TTL identity" takes two filters: the
  # identity is absent (user deletions carry none) or names someone else.
  user_filters = [
    jsonencode(merge(local.remove, { userIdentity = { principalId = [{ exists = false }] } })),
    jsonencode(merge(local.remove, { userIdentity = { principalId = [{ "anything-but" = ["dynamodb.amazonaws.com"] }] } })),
  ]
  ttl_filters = concat(
    [jsonencode(merge(local.remove, { userIdentity = local.ttl_identity }))],
    # A TTL deletion replicated into another region of a global table carries no identity: let
    # REMOVEs of items holding the TTL attribute through, and the function decides by its value.
    var.ttl_attribute == null ? [] : [jsonencode(merge(local.remove, {
      userIdentity = { principalId = [{ exists = false }] }
      dynamodb     = { OldImage = { (var.ttl_attribute) = { N = [{ exists = true }] } } }
    }))],
  )
  filters = length(var.capture) == 2 ? [jsonencode(local.remove)] : (contains(var.capture, "ttl") ? local.ttl_filters : local.user_filters)

  # What the rule on the bus matches (bus delivery): the pipe sets source and detail-type.
  event_source      = "dynamo-archive"
  event_detail_type = "DynamoDB item removed"
}

resource "aws_pipes_pipe" "this" {
  name        = local.name
  description = substr("REMOVE records of DynamoDB table ${var.table_name} (${join(", ", sort(var.capture))}) to ${local.bus ? "bus ${var.event_bus_name}" : "function ${local.name}"}", 0, 512)
  role_arn    = aws_iam_role.pipe.arn
  source      = local.stream_arn
  target      = local.bus ? local.bus_arn : aws_lambda_function.this.arn

  source_parameters {
    dynamodb_stream_parameters {
      batch_size                         = var.batch_size
      maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
      starting_position                  = var.starting_position
      parallelization_factor             = var.parallelization_factor
      maximum_retry_attempts             = var.maximum_retry_attempts
      maximum_record_age_in_seconds      = var.maximum_record_age_in_seconds
      on_partial_batch_item_failure      = var.on_partial_batch_item_failure

      dead_letter_config {
        arn = aws_sqs_queue.dead_letters.arn
      }
    }

    filter_criteria {
      dynamic "filter" {
        for_each = local.filters

        content {
          pattern = filter.value
        }
      }
    }
  }

  target_parameters {
    dynamic "eventbridge_event_bus_parameters" {
      for_each = local.bus ? [1] : []

      # The event's envelope says what it is about: source, detail-type and resources are fields
      # of every EventBridge event (a pipe leaves resources empty unless told), so the rule can
      # match this table on them without reading inside the stream record.
      content {
        source      = local.event_source
        detail_type = local.event_detail_type
        resources   = [local.table_arn]
      }
    }

    dynamic "lambda_function_parameters" {
      for_each = local.bus ? [] : [1]

      content {
        # Synchronous, so the function's batchItemFailures reach the pipe (and its bisecting).
        invocation_type = "REQUEST_RESPONSE"
      }
    }
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = try(data.aws_dynamodb_table.this.stream_enabled, false) && contains(["OLD_IMAGE", "NEW_AND_OLD_IMAGES"], try(data.aws_dynamodb_table.this.stream_view_type, ""))
      error_message = "Table ${var.table_name} needs a stream with OLD_IMAGE or NEW_AND_OLD_IMAGES: the archive is the item's last image."
    }
  }

  depends_on = [aws_iam_role_policy.pipe, aws_sqs_queue_policy.dead_letters]
}

################################################################################
# bus delivery: rule on the environment's bus -> function (asynchronous)
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  count = local.bus ? 1 : 0

  name           = local.name
  description    = substr("REMOVE records of DynamoDB table ${var.table_name}, put on the bus by pipe ${local.name}", 0, 512)
  event_bus_name = var.event_bus_name
  state          = "ENABLED"

  # This table only, by the envelope's documented `resources`, which this table's pipe sets to the
  # table ARN (eventbridge_event_bus_parameters above). Not by the stream ARN: it changes whenever
  # the stream is turned off and on, and matching it meant a prefix on a field of the record.
  event_pattern = jsonencode({
    source        = [local.event_source]
    "detail-type" = [local.event_detail_type]
    resources     = [local.table_arn]
    detail = {
      eventName = ["REMOVE"]
    }
  })

  tags = local.tags
}

resource "aws_cloudwatch_event_target" "this" {
  count = local.bus ? 1 : 0

  rule           = aws_cloudwatch_event_rule.this[0].name
  event_bus_name = var.event_bus_name
  target_id      = "archive-function"
  arn            = aws_lambda_function.this.arn

  retry_policy {
    maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letters.arn
  }

  depends_on = [aws_lambda_permission.events, aws_sqs_queue_policy.dead_letters]
}

resource "aws_lambda_permission" "events" {
  count = local.bus ? 1 : 0

  statement_id   = "AllowArchiveRule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.this[0].arn
  source_account = local.account_id
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = local.bus ? 1 : 0

  function_name                = aws_lambda_function.this.function_name
  maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
  maximum_retry_attempts       = var.async_retry_attempts

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letters.arn
    }
  }
}
