################################################################################
# Alarms: anything that means a deletion may not be archived
################################################################################

locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # Pipe metrics (AWS/EventBridge/Pipes, per PipeName): a failed execution, and a target (bus or
  # function) that refused a batch.
  pipe_alarms = var.create_alarms ? {
    execution_failed    = "ExecutionFailed"
    target_stage_failed = "TargetStageFailed"
  } : {}
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  count = var.create_alarms ? 1 : 0

  alarm_name        = "${local.name}-dead-letters"
  alarm_description = "Deletions of table ${var.table_name} that could not be archived wait in ${aws_sqs_queue.dead_letters.name}: read them, fix the cause, replay them."
  namespace         = "AWS/SQS"
  metric_name       = "ApproximateNumberOfMessagesVisible"
  dimensions        = { QueueName = aws_sqs_queue.dead_letters.name }

  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  count = var.create_alarms ? 1 : 0

  alarm_name        = "${local.name}-errors"
  alarm_description = "Function ${local.name} (table ${var.table_name}) failed invocations; its records are retried, then dead-lettered."
  namespace         = "AWS/Lambda"
  metric_name       = "Errors"
  dimensions        = { FunctionName = aws_lambda_function.this.function_name }

  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  count = var.create_alarms ? 1 : 0

  alarm_name        = "${local.name}-throttles"
  alarm_description = "Function ${local.name} (table ${var.table_name}) was throttled: raise reserved_concurrent_executions or lower the pipe's parallelization."
  namespace         = "AWS/Lambda"
  metric_name       = "Throttles"
  dimensions        = { FunctionName = aws_lambda_function.this.function_name }

  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "pipe" {
  for_each = local.pipe_alarms

  alarm_name        = "${local.name}-pipe-${replace(each.key, "_", "-")}"
  alarm_description = "Pipe ${local.name} (table ${var.table_name}): ${each.value}; records are retried, then dead-lettered."
  namespace         = "AWS/EventBridge/Pipes"
  metric_name       = each.value
  dimensions        = { PipeName = aws_pipes_pipe.this.name }

  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}

# bus delivery: the rule could not invoke the function (after its retries, events go to the queue).
resource "aws_cloudwatch_metric_alarm" "rule_failed_invocations" {
  count = var.create_alarms && local.bus ? 1 : 0

  alarm_name        = "${local.name}-rule-failed-invocations"
  alarm_description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not invoke function ${local.name} (table ${var.table_name})."
  namespace         = "AWS/Events"
  metric_name       = "FailedInvocations"
  dimensions        = { EventBusName = var.event_bus_name, RuleName = aws_cloudwatch_event_rule.this[0].name }

  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}
