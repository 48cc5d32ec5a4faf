################################################################################
# Alarms: anything that means a deletion may not be archived, or not in time
################################################################################

locals {
  alarm_actions = var.alarm_topic_arn == null ? [] : [var.alarm_topic_arn]

  # One alarm per signal. By default a signal is "Sum greater than 0 in 5 minutes": any of these
  # means a deletion is waiting for a person (dead letters), being retried (errors, throttles, pipe
  # and rule failures) or lost unless replayed from the stream (a dead letter that could not be
  # sent: the queue's depth cannot show what never reached it). A signal overrides the defaults it
  # needs (the lag alarm: p99 against a threshold). After the merge every spec has the same
  # attributes and types (dimensions as map(string)), so the filter below stays a map.
  alarm_defaults = { statistic = "Sum", extended_statistic = null, threshold = 0, bus_only = false }
  alarm_signals = {
    dead-letters = {
      description = "Deletions of table ${var.table_name} that could not be archived wait in ${aws_sqs_queue.dead_letters.name}: read them, fix the cause, replay them."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = tomap({ QueueName = aws_sqs_queue.dead_letters.name })
    }
    # The function's own metric (Embedded Metric Format, adapters): milliseconds from the deletion
    # to its archived object, one value per record, so percentiles hold.
    archive-lag = {
      description        = "Table ${var.table_name}: p99 of the archive lag (deletion to archived object) above ${var.archive_lag_alarm_threshold_ms} ms over 5 minutes; the pipe or function ${local.name} is falling behind or retrying."
      namespace          = var.metrics_namespace
      metric             = "ArchiveLag"
      statistic          = null
      extended_statistic = "p99"
      threshold          = var.archive_lag_alarm_threshold_ms
      dimensions         = tomap({ Table = var.table_name })
    }
    errors = {
      description = "Function ${local.name} (table ${var.table_name}) failed invocations; its records are retried, then dead-lettered."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = tomap({ FunctionName = aws_lambda_function.this.function_name })
    }
    throttles = {
      description = "Function ${local.name} (table ${var.table_name}) was throttled: raise the account's concurrency quota or the function's reservation (reserved_concurrent_executions), or lower the pipe's parallelization."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = tomap({ FunctionName = aws_lambda_function.this.function_name })
    }
    # Pipe metrics (per PipeName): a failed execution, a target (bus or function) that refused a
    # batch, an execution cut at the 5-minute cap, an execution throttled.
    pipe-execution-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionFailed"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
    }
    pipe-target-stage-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): TargetStageFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "TargetStageFailed"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
    }
    pipe-execution-timeout = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionTimeout, an execution ran into the 5-minute cap; the batch is retried, then dead-lettered. Lower batch_size or the function's work per batch."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionTimeout"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
    }
    pipe-execution-throttled = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionThrottled; the stream is read late, the archive lags behind."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionThrottled"
      dimensions  = tomap({ PipeName = aws_pipes_pipe.this.name })
    }
    # bus delivery: the rule could not invoke the function (after its retries, events go to the queue).
    rule-failed-invocations = {
      description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not invoke function ${local.name} (table ${var.table_name})."
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = tomap({ EventBusName = coalesce(var.event_bus_name, "-"), RuleName = try(aws_cloudwatch_event_rule.this[0].name, "-") })
      bus_only    = true
    }
    # bus delivery: a dead letter that never reached the queue (its policy, its key, its size).
    rule-dead-letter-failed = {
      description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not send an event to ${aws_sqs_queue.dead_letters.name} (InvocationsFailedToBeSentToDlq): that deletion is in no queue; replay it from the stream within 24 hours."
      namespace   = "AWS/Events"
      metric      = "InvocationsFailedToBeSentToDlq"
      dimensions  = tomap({ EventBusName = coalesce(var.event_bus_name, "-"), RuleName = try(aws_cloudwatch_event_rule.this[0].name, "-") })
      bus_only    = true
    }
    destination-delivery-failures = {
      description = "Lambda could not send a failed asynchronous invocation of function ${local.name} (table ${var.table_name}) to ${aws_sqs_queue.dead_letters.name} (DestinationDeliveryFailures): that deletion is in no queue; replay it from the stream within 24 hours."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      dimensions  = tomap({ FunctionName = aws_lambda_function.this.function_name })
      bus_only    = true
    }
  }
  alarm_specs = { for name, signal in local.alarm_signals : name => merge(local.alarm_defaults, signal) }
  alarms      = { for name, spec in local.alarm_specs : name => spec if var.create_alarms && (local.bus || !spec.bus_only) }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name        = "${local.name}-${each.key}"
  alarm_description = each.value.description
  namespace         = each.value.namespace
  metric_name       = each.value.metric
  dimensions        = each.value.dimensions

  statistic           = each.value.statistic
  extended_statistic  = each.value.extended_statistic
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}
