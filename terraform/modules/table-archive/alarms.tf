################################################################################
# Alarms: anything that means a deletion may not be archived
################################################################################

locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # One alarm per signal, all "greater than 0 in 5 minutes": any of these means a deletion is
  # waiting for a person (dead letters) or being retried (errors, throttles, pipe and rule failures).
  # Every spec has the same type (dimensions as map(string)), so the filter below stays a map.
  alarm_specs = {
    dead-letters = {
      description = "Deletions of table ${var.table_name} that could not be archived wait in ${aws_sqs_queue.dead_letters.name}: read them, fix the cause, replay them."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = tomap({ QueueName = aws_sqs_queue.dead_letters.name })
      bus_only    = false
    }
    errors = {
      description = "Function ${local.name} (table ${var.table_name}) failed invocations; its records are retried, then dead-lettered."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = tomap({ FunctionName = aws_lambda_function.this.function_name })
      bus_only    = false
    }
    throttles = {
      description = "Function ${local.name} (table ${var.table_name}) was throttled: raise the account's concurrency quota or the function's reservation (reserved_concurrent_executions), or lower the pipe's parallelization."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      statistic   = "Sum"
      dimensions  = tomap({ FunctionName = aws_lambda_function.this.function_name })
      bus_only    = false
    }
    # Pipe metrics (per PipeName): a failed execution, and a target (bus or function) that refused a batch.
    pipe-execution-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionFailed"
      statistic   = "Sum"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
      bus_only    = false
    }
    pipe-target-stage-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): TargetStageFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "TargetStageFailed"
      statistic   = "Sum"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
      bus_only    = false
    }
    # bus delivery: the rule could not invoke the function (after its retries, events go to the queue).
    rule-failed-invocations = {
      description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not invoke function ${local.name} (table ${var.table_name})."
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      statistic   = "Sum"
      dimensions  = tomap({ EventBusName = coalesce(var.event_bus_name, "-"), RuleName = try(aws_cloudwatch_event_rule.this[0].name, "-") })
      bus_only    = true
    }
  }
  alarms = { for name, spec in local.alarm_specs : name => spec if var.create_alarms && (local.bus || !spec.bus_only) }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${local.name}-${each.key}"
  alarm_description = each.value.description
  namespace         = each.value.namespace
  metric_name       = each.value.metric
  dimensions        = each.value.dimensions

  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}
