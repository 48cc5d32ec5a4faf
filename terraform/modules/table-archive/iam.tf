################################################################################
# Reading this table's stream: granted to whichever role reads it, the pipe's (bus, direct) or the
# function's (stream: its event source mapping reads with the function's role)
################################################################################

data "aws_iam_policy_document" "stream_read" {
  statement {
    sid = "ReadThisTablesStream"
    actions = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
    ]
    resources = [local.stream_arn]
  }

  # ListStreams supports no resource-level permission (IAM evaluates it against "*"); it returns
  # stream ARNs only, never records.
  statement {
    sid       = "ListStreams"
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }

  # A table encrypted with a customer key: stream records are decrypted through DynamoDB (the key's
  # policy must also let the reading role use it: output stream_reader_role_arn).
  dynamic "statement" {
    for_each = local.table_kms == "" ? [] : [local.table_kms]

    content {
      sid       = "DecryptStreamRecords"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }
}

################################################################################
# Function role: write this table's objects, nothing else of the bucket (and, with stream
# delivery, read the table's stream for its event source mapping)
################################################################################

data "aws_iam_policy_document" "function_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  name                 = "${local.name}-fn"
  description          = "dynamo-archive function of table ${var.table_name}: puts its archive objects, sends its dead letters, writes its logs."
  assume_role_policy   = data.aws_iam_policy_document.function_trust.json
  max_session_duration = 3600

  tags = local.tags
}

data "aws_iam_policy_document" "function" {
  # stream delivery: the event source mapping reads the stream with the function's role.
  source_policy_documents = local.stream ? [data.aws_iam_policy_document.stream_read.json] : []

  # Put only: the archive is write-once from here (no GetObject, no DeleteObject), and only under
  # this table's folder.
  statement {
    sid       = "PutThisTablesArchiveObjects"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arn}/${local.folder}*"]
  }

  # SSE-KMS of the archive objects, and only through S3. A single PutObject needs only a data key
  # (S3 encrypts with it); kms:Encrypt is never called, and kms:Decrypt would be needed only for
  # multipart uploads, which an item of at most 400 KB never takes.
  statement {
    sid       = "EncryptArchiveObjects"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }

  # A KMS-encrypted queue needs both, and only through SQS.
  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]

    content {
      sid       = "EncryptDeadLetters"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function.arn}:*"]
  }

  # Active and PassThrough tracing both send segments; X-Ray's write actions have no
  # resource-level permissions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "function" {
  name   = "archive"
  role   = aws_iam_role.function.id
  policy = data.aws_iam_policy_document.function.json
}

################################################################################
# Pipe role (bus, direct): read this table's stream, deliver to the bus or the function, dead-letter
################################################################################

data "aws_iam_policy_document" "pipe_trust" {
  count = local.pipe ? 1 : 0

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["pipes.amazonaws.com"]
    }

    # Only this account's pipe of this name may use the role (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:pipes:${local.region}:${local.account_id}:pipe/${local.name}"]
    }
  }
}

resource "aws_iam_role" "pipe" {
  count = local.pipe ? 1 : 0

  name                 = "${local.name}-pipe"
  description          = "dynamo-archive pipe of table ${var.table_name}: reads its stream, delivers REMOVE records, sends its dead letters."
  assume_role_policy   = data.aws_iam_policy_document.pipe_trust[0].json
  max_session_duration = 3600

  tags = local.tags
}

data "aws_iam_policy_document" "pipe" {
  count = local.pipe ? 1 : 0

  source_policy_documents = [data.aws_iam_policy_document.stream_read.json]

  dynamic "statement" {
    for_each = local.bus ? [local.bus_arn] : []

    content {
      sid       = "PutEventsOnTheBus"
      actions   = ["events:PutEvents"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.bus ? [] : [aws_lambda_function.this.arn]

    content {
      sid       = "InvokeTheFunction"
      actions   = ["lambda:InvokeFunction"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letters.arn]
  }

  dynamic "statement" {
    for_each = var.queue_kms_key_arn == null ? [] : [var.queue_kms_key_arn]

    content {
      sid       = "EncryptDeadLetters"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "pipe" {
  count = local.pipe ? 1 : 0

  name   = "archive-pipe"
  role   = aws_iam_role.pipe[0].id
  policy = data.aws_iam_policy_document.pipe[0].json
}
