################################################################################
# Dashboard: one row per table, left to right the way a deletion goes wrong
################################################################################

# From the variables only (tests/terraform evaluates this block with `terraform console`).
locals {
  dashboard_name = "${var.name_prefix}-${var.environment}"

  # Per table, the graphs of its row. Every graph plots one-minute points; `extra` holds what only
  # some graphs have (the lag alarm's threshold line).
  dashboard_graphs = {
    for table, t in var.dashboard_tables : table => concat(
      [
        {
          title   = "${table}: records per minute"
          stat    = "Sum"
          metrics = [for metric in ["Archived", "DeadLettered", "Failed", "Skipped"] : [t.metrics_namespace, metric, "Table", table]]
          extra   = {}
        },
        {
          title = "${table}: archive lag (ms)"
          stat  = "p99"
          metrics = [
            [t.metrics_namespace, "ArchiveLag", "Table", table, { stat = "p50", label = "p50" }],
            [t.metrics_namespace, "ArchiveLag", "Table", table, { stat = "p99", label = "p99" }],
          ]
          extra = { annotations = { horizontal = [{ label = "archive-lag alarm (p99)", value = t.archive_lag_alarm_threshold_ms }] } }
        },
        {
          title   = "${table}: dead letters waiting"
          stat    = "Maximum"
          metrics = [for queue in t.dead_letter_queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue]]
          extra   = {}
        },
        {
          title   = "${table}: function errors and throttles"
          stat    = "Sum"
          metrics = [for metric in ["Errors", "Throttles"] : ["AWS/Lambda", metric, "FunctionName", t.function_name]]
          extra   = {}
        },
      ],
      # The reader: a pipe's failures (bus, direct) or a mapping's lateness (stream), each with the
      # reader check's ReaderRunning (1 running, 0 stopped, nothing: the check is not reporting).
      t.delivery == "stream" ? [
        {
          title = "${table}: stream mapping"
          stat  = "Maximum"
          metrics = [
            ["AWS/Lambda", "IteratorAge", "FunctionName", t.function_name, { label = "IteratorAge (ms)" }],
            ["AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", t.function_name, { stat = "Sum", yAxis = "right" }],
            [t.metrics_namespace, "ReaderRunning", "Reader", t.function_name, { stat = "Minimum", yAxis = "right" }],
          ]
          extra = {}
        },
      ] : [],
      t.delivery == "stream" ? [] : [
        {
          title = "${table}: pipe failures"
          stat  = "Sum"
          metrics = concat(
            [for metric in ["ExecutionFailed", "ExecutionPartiallyFailed", "TargetStageFailed", "ExecutionTimeout", "ExecutionThrottled"] : ["AWS/EventBridge/Pipes", metric, "PipeName", t.pipe_name]],
            [[t.metrics_namespace, "ReaderRunning", "Reader", t.pipe_name, { stat = "Minimum", yAxis = "right" }]],
          )
          extra = {}
        },
      ],
      # bus delivery: the rule's failures and the dead letters that never reached the queue.
      t.delivery == "bus" ? [
        {
          title = "${table}: bus delivery failures"
          stat  = "Sum"
          metrics = [
            ["AWS/Events", "FailedInvocations", "EventBusName", t.event_bus_name, "RuleName", t.rule_name],
            ["AWS/Events", "InvocationsFailedToBeSentToDlq", "EventBusName", t.event_bus_name, "RuleName", t.rule_name],
            ["AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", t.function_name],
          ]
          extra = {}
        },
      ] : [],
    )
  }

  # Each table takes 7 grid rows: a one-row header, then its graphs, 4 columns wide each (of 24).
  dashboard_widgets = flatten([
    for row, table in keys(var.dashboard_tables) : concat(
      [{
        type   = "text"
        x      = 0
        y      = row * 7
        width  = 24
        height = 1
        properties = {
          markdown = "### ${table} · ${var.dashboard_tables[table].delivery} delivery · ${var.dashboard_tables[table].layout} layout · function `${var.dashboard_tables[table].function_name}` · ${var.dashboard_tables[table].delivery == "stream" ? "event source mapping on the stream" : "pipe `${var.dashboard_tables[table].pipe_name}`"}"
        }
      }],
      [for column, graph in local.dashboard_graphs[table] : {
        type   = "metric"
        x      = column * 4
        y      = row * 7 + 1
        width  = 4
        height = 6
        properties = merge({
          title   = graph.title
          region  = var.dashboard_tables[table].region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = graph.stat
          metrics = graph.metrics
        }, graph.extra)
      }],
    )
  ])

  dashboard_body = jsonencode({
    start          = "-PT6H"
    periodOverride = "inherit"
    widgets        = local.dashboard_widgets
  })
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard && length(var.dashboard_tables) > 0 ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = local.dashboard_body
}
