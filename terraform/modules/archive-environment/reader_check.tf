################################################################################
# Reader check: every 5 minutes, is each table's pipe or event source mapping running?
################################################################################

# A stopped, auto-disabled, failed or deleted reader publishes no metric at all (Pipes and
# mappings count what they deliver, and deliver nothing then), exactly like a quiet table, so no
# alarm on their own metrics can tell the two apart. This function lists the readers named
# <name_prefix>-* (ListPipes, ListEventSourceMappings) and writes ReaderRunning (1 or 0) per reader
# as EMF (adapters/reader_check.py); each table module's reader-stopped alarm treats missing data
# as breaching, so a stopped reader, a deleted one, and a failing check all reach someone.
locals {
  reader_check_name = "${var.name_prefix}-${var.environment}-reader-check"
}

resource "aws_cloudwatch_log_group" "reader_check" {
  name              = "/aws/lambda/${local.reader_check_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = var.tags
}

data "aws_iam_policy_document" "reader_check_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "reader_check" {
  name                 = local.reader_check_name
  description          = "dynamo-archive ${var.environment}: lists the archive's pipes and event source mappings, writes its logs."
  assume_role_policy   = data.aws_iam_policy_document.reader_check_trust.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "reader_check" {
  # Both list calls support no resource-level permission; they return names and states, no data.
  statement {
    sid       = "ListReaders"
    actions   = ["pipes:ListPipes", "lambda:ListEventSourceMappings"]
    resources = ["*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.reader_check.arn}:*"]
  }
}

resource "aws_iam_role_policy" "reader_check" {
  name   = "reader-check"
  role   = aws_iam_role.reader_check.id
  policy = data.aws_iam_policy_document.reader_check.json
}

resource "aws_lambda_function" "reader_check" {
  #checkov:skip=CKV_AWS_117:The check only calls the Pipes and Lambda list APIs; a VPC would add NAT or endpoints and no isolation.
  #checkov:skip=CKV_AWS_272:The package is built reproducibly by scripts/build_lambda.py and pinned by source_code_hash; no signing profile exists.
  #checkov:skip=CKV_AWS_116:A failed scheduled run needs no dead-letter queue: the next run is 5 minutes later, and missing readings raise every table's reader-stopped alarm.
  #checkov:skip=CKV_AWS_115:At most one run every 5 minutes; reserving concurrency would only take it from the archiving functions.
  function_name = local.reader_check_name
  description   = "Writes ReaderRunning for every pipe and event source mapping named ${var.name_prefix}-* (the reader-stopped alarms read it)."
  role          = aws_iam_role.reader_check.arn

  runtime       = "python3.13"
  architectures = [var.architecture]
  handler       = "adapters.reader_check.handler"
  memory_size   = 128
  timeout       = 60

  filename         = var.lambda_package.path
  source_code_hash = var.lambda_package.sha256
  kms_key_arn      = aws_kms_key.this.arn

  environment {
    variables = {
      ARCHIVER_READER_PREFIX     = "${var.name_prefix}-"
      ARCHIVER_METRICS_NAMESPACE = var.metrics_namespace
    }
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.reader_check.name
  }

  tracing_config {
    mode = "PassThrough"
  }

  tags = var.tags

  lifecycle {
    # The table module names its functions <name_prefix>-<table>: a table named
    # <environment>-reader-check would take this function's name.
    precondition {
      condition     = !contains([for t in values(var.dashboard_tables) : t.function_name], local.reader_check_name)
      error_message = "A table's function is named ${local.reader_check_name}, the reader check's name: rename that table's archive (name_prefix) or the environment."
    }

    # The check writes ReaderRunning in this namespace; a table's reader-stopped alarm reads its own.
    precondition {
      condition     = alltrue([for t in values(var.dashboard_tables) : t.metrics_namespace == var.metrics_namespace])
      error_message = "Every table module must have this module's metrics_namespace (${var.metrics_namespace}), or its reader-stopped alarm reads a metric nobody writes."
    }
  }

  depends_on = [aws_iam_role_policy.reader_check]
}

# The default bus's scheduler: no role, no bus of ours involved.
resource "aws_cloudwatch_event_rule" "reader_check" {
  name                = local.reader_check_name
  description         = "Runs ${local.reader_check_name} every 5 minutes."
  schedule_expression = "rate(5 minutes)"
  state               = "ENABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "reader_check" {
  rule      = aws_cloudwatch_event_rule.reader_check.name
  target_id = "reader-check"
  arn       = aws_lambda_function.reader_check.arn

  depends_on = [aws_lambda_permission.reader_check]
}

resource "aws_lambda_permission" "reader_check" {
  statement_id   = "AllowSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.reader_check.function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.reader_check.arn
  source_account = local.account_id
}
