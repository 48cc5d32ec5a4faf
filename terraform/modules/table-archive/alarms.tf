################################################################################
# Alarms: anything that means a deletion may not be archived, or not in time
################################################################################

locals {
  alarm_actions = [var.alarm_topic_arn]

  # One alarm per signal. By default a signal is "Sum greater than 0 in 5 minutes", missing data
  # not breaching: any of these means a deletion is waiting for a person (dead letters), being
  # retried (errors, throttles, pipe, rule and record failures) or lost unless replayed from the
  # stream (a dead letter that could not be sent: the queue's depth cannot show what never reached
  # it). A signal overrides the defaults it needs (the lag alarm: p99 against a threshold; the
  # reader alarm: missing data is the signal) and names the deliveries it applies to. After the
  # merge every spec has the same attributes and types (dimensions as map(string)), so the filter
  # below stays a map.
  alarm_defaults = {
    statistic           = "Sum"
    extended_statistic  = null
    threshold           = 0
    comparison          = "GreaterThanThreshold"
    treat_missing_data  = "notBreaching"
    evaluation_periods  = 1
    datapoints_to_alarm = 1
    deliveries          = ["bus", "direct", "stream"]
  }
  pipe_deliveries = ["bus", "direct"]
  # The pipe's metrics are per PipeName; the pipe is named like everything else of the table.
  pipe_dimensions     = tomap({ PipeName = local.name })
  function_dimensions = tomap({ FunctionName = aws_lambda_function.this.function_name })
  alarm_signals = {
    dead-letters = {
      description = "Deletions of table ${var.table_name} that could not be archived wait in ${aws_sqs_queue.dead_letters.name}: read them, fix the cause, replay them (archiver redrive)."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = tomap({ QueueName = aws_sqs_queue.dead_letters.name })
    }
    # The function's own metric (Embedded Metric Format, adapters): milliseconds from the deletion
    # to its archived object, one value per record, so percentiles hold.
    archive-lag = {
      description        = "Table ${var.table_name}: p99 of the archive lag (deletion to archived object) above ${var.archive_lag_alarm_threshold_ms} ms over 5 minutes; the reader or function ${local.name} is falling behind or retrying."
      namespace          = var.metrics_namespace
      metric             = "ArchiveLag"
      statistic          = null
      extended_statistic = "p99"
      threshold          = var.archive_lag_alarm_threshold_ms
      dimensions         = tomap({ Table = var.table_name })
    }
    # A pipe or mapping that is stopped, disabled or gone publishes nothing, and neither does a quiet
    # table: archive-environment's reader check writes ReaderRunning (1 running, 0 not) for every
    # reader every 5 minutes, so here missing data is the alarm. Two of three periods: one late
    # check does not page.
    reader-stopped = {
      description         = "The stream reader of table ${var.table_name} (${local.pipe ? "pipe" : "event source mapping of function"} ${local.name}) is not running, or archive-environment's reader check has not reported it for 10 minutes: deletions wait in the stream, which keeps them 24 hours. Start it (aws pipes start-pipe / aws lambda update-event-source-mapping --enabled) or re-apply."
      namespace           = var.metrics_namespace
      metric              = "ReaderRunning"
      statistic           = "Minimum"
      threshold           = 1
      comparison          = "LessThanThreshold"
      treat_missing_data  = "breaching"
      evaluation_periods  = 3
      datapoints_to_alarm = 2
      dimensions          = tomap({ Reader = local.name })
    }
    errors = {
      description = "Function ${local.name} (table ${var.table_name}) failed invocations; its records are retried, then dead-lettered."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = local.function_dimensions
    }
    throttles = {
      description = "Function ${local.name} (table ${var.table_name}) was throttled: raise the account's concurrency quota or the function's reservation (reserved_concurrent_executions), or lower parallelization_factor."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = local.function_dimensions
    }
    # A batch delivery (direct, stream) answers a failed record in batchItemFailures: the invocation
    # succeeds, so Errors never moves. The function counts such records itself (EMF Failed).
    failed-records = {
      description = "Function ${local.name} reported records of table ${var.table_name} as failed (metric Failed); they are retried, then dead-lettered."
      namespace   = var.metrics_namespace
      metric      = "Failed"
      dimensions  = tomap({ Table = var.table_name })
      deliveries  = ["direct", "stream"]
    }
    # Pipe metrics (per PipeName): a failed execution, one that failed for part of its batch (a
    # record in batchItemFailures, an entry the bus refused), a target that refused a batch, an
    # execution cut at the 5-minute cap, an execution throttled.
    pipe-execution-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionFailed"
      dimensions  = local.pipe_dimensions
      deliveries  = local.pipe_deliveries
    }
    pipe-execution-partially-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionPartiallyFailed; part of a batch failed (a record in batchItemFailures, an entry the bus refused) and is retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionPartiallyFailed"
      dimensions  = local.pipe_dimensions
      deliveries  = local.pipe_deliveries
    }
    pipe-target-stage-failed = {
      description = "Pipe ${local.name} (table ${var.table_name}): TargetStageFailed; records are retried, then dead-lettered."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "TargetStageFailed"
      dimensions  = local.pipe_dimensions
      deliveries  = local.pipe_deliveries
    }
    pipe-execution-timeout = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionTimeout, an execution ran into the 5-minute cap; the batch is retried, then dead-lettered. Lower batch.size or the function's work per batch."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionTimeout"
      dimensions  = local.pipe_dimensions
      deliveries  = local.pipe_deliveries
    }
    pipe-execution-throttled = {
      description = "Pipe ${local.name} (table ${var.table_name}): ExecutionThrottled; the stream is read late, the archive lags behind."
      namespace   = "AWS/EventBridge/Pipes"
      metric      = "ExecutionThrottled"
      dimensions  = local.pipe_dimensions
      deliveries  = local.pipe_deliveries
    }
    # stream delivery: how old the last record of each batch was when the mapping invoked the
    # function; beyond the lag budget the mapping is falling behind the stream's 24 hours.
    iterator-age = {
      description = "Event source mapping of function ${local.name} (table ${var.table_name}): IteratorAge above ${var.archive_lag_alarm_threshold_ms} ms; the mapping is falling behind the stream, which keeps records 24 hours."
      namespace   = "AWS/Lambda"
      metric      = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.archive_lag_alarm_threshold_ms
      dimensions  = local.function_dimensions
      deliveries  = ["stream"]
    }
    # bus delivery: the rule could not invoke the function (after its retries, events go to the queue).
    rule-failed-invocations = {
      description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not invoke function ${local.name} (table ${var.table_name})."
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = tomap({ EventBusName = coalesce(var.event_bus_name, "-"), RuleName = try(aws_cloudwatch_event_rule.this[0].name, "-") })
      deliveries  = ["bus"]
    }
    # bus delivery: a dead letter that never reached the queue (its policy, its key, its size).
    rule-dead-letter-failed = {
      description = "Rule ${local.name} on bus ${coalesce(var.event_bus_name, "-")} could not send an event to ${aws_sqs_queue.dead_letters.name} (InvocationsFailedToBeSentToDlq): that deletion is in no queue; replay it from the stream within 24 hours."
      namespace   = "AWS/Events"
      metric      = "InvocationsFailedToBeSentToDlq"
      dimensions  = tomap({ EventBusName = coalesce(var.event_bus_name, "-"), RuleName = try(aws_cloudwatch_event_rule.this[0].name, "-") })
      deliveries  = ["bus"]
    }
    # Lambda could not send an on-failure record to the queue: a failed asynchronous invocation
    # (bus) or a mapping's discarded batch (stream).
    destination-delivery-failures = {
      description = "Lambda could not send a failed invocation or discarded batch of function ${local.name} (table ${var.table_name}) to ${aws_sqs_queue.dead_letters.name} (DestinationDeliveryFailures): that deletion is in no queue; replay it from the stream within 24 hours."
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      dimensions  = local.function_dimensions
      deliveries  = ["bus", "stream"]
    }
  }
  alarm_specs = { for name, signal in local.alarm_signals : name => merge(local.alarm_defaults, signal) }
  alarms      = { for name, spec in local.alarm_specs : name => spec if var.create_alarms && contains(spec.deliveries, var.delivery) }
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
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  comparison_operator = each.value.comparison
  threshold           = each.value.threshold
  treat_missing_data  = each.value.treat_missing_data

  alarm_actions = local.alarm_actions
  ok_actions    = local.alarm_actions

  tags = local.tags
}
