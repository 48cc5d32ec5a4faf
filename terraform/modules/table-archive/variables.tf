################################################################################
# Per-table settings: exactly the fields of adapters.config.TableConfig (name -> table_name;
# key_schema is for local provisioning only, the table exists already in AWS).
# Environments pass `try(each.value.<field>, null)`; nullable = false turns null into the default.
################################################################################

variable "table_name" {
  description = "Name of the existing DynamoDB table to archive (the YAML's `name`); its stream must be on with OLD_IMAGE or NEW_AND_OLD_IMAGES."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name is a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -"
  }
}

variable "prefix" {
  description = "First part of this table's object keys: objects are <prefix>/<table>/<encoded key>/<version>.json (empty: <table>/...)."
  type        = string
  default     = "archive"
  nullable    = false

  validation {
    condition = var.prefix == "" || (
      length(var.prefix) <= 128 &&
      can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.prefix)) &&
      alltrue([for part in split("/", var.prefix) : !contains([".", ".."], part)])
    )
    error_message = "prefix is empty or at most 128 bytes of A-Z a-z 0-9 ! - _ . * ' ( ) in '/'-separated parts (no '.' or '..' part), without a leading or trailing '/'."
  }
}

variable "capture" {
  description = "Which deletions to archive: user deletions, TTL expiries, or both. The pipe filters the stream to these."
  type        = set(string)
  default     = ["user", "ttl"]
  nullable    = false

  validation {
    condition     = length(var.capture) > 0 && length(setsubtract(var.capture, ["user", "ttl"])) == 0
    error_message = "capture takes one or both of: user, ttl."
  }
}

variable "ttl_attribute" {
  description = "The table's TTL attribute, if it has one: recognises TTL deletions replicated into another region of a global table (they carry no TTL identity)."
  type        = string
  default     = null

  validation {
    condition     = var.ttl_attribute == null || try(length(var.ttl_attribute) >= 1 && length(var.ttl_attribute) <= 255, false)
    error_message = "ttl_attribute is null or an attribute name of 1 to 255 characters."
  }
}

variable "drop_attributes" {
  description = "Top-level attributes left out of the archived item (never key attributes)."
  type        = set(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.drop_attributes : length(a) >= 1 && length(a) <= 255 && !strcontains(a, ",")])
    error_message = "drop_attributes are attribute names of 1 to 255 characters, without ','."
  }
}

variable "retention" {
  description = "Lifecycle of this table's archive objects: transition_after_days (to STANDARD_IA; with layout objects only objects above 128 KiB) and/or expire_after_days. The environment merges it into the bucket's one lifecycle configuration (output lifecycle_rule)."
  # A map, not an object type: converting to an object type silently drops unknown attributes, and
  # a misspelt key (expire_after_day) must fail the plan rather than keep objects forever.
  type     = map(number)
  default  = {}
  nullable = false

  validation {
    condition     = length(setsubtract(keys(var.retention), ["transition_after_days", "expire_after_days"])) == 0
    error_message = "retention takes only transition_after_days and expire_after_days."
  }

  validation {
    condition = (
      try(var.retention.transition_after_days >= 30, true) &&
      try(var.retention.expire_after_days >= 1, true) &&
      alltrue([for days in values(var.retention) : days <= 2147483647 && floor(days) == days]) &&
      try(var.retention.expire_after_days >= var.retention.transition_after_days + 30, true)
    )
    error_message = "retention: whole days up to 2147483647 (S3 lifecycle Days is a 32-bit integer), transition_after_days >= 30, expire_after_days >= 1, and expire_after_days >= transition_after_days + 30 when both are set (STANDARD_IA bills 30 days at least: expiring sooner pays for days never kept)."
  }
}

variable "delivery" {
  description = "bus: pipe -> the environment's EventBridge bus -> rule -> function (asynchronous); direct: pipe -> function with batches (synchronous, partial batch failures); stream: a Lambda event source mapping on the table's stream -> function with batches (no pipe)."
  type        = string
  default     = "bus"
  nullable    = false

  validation {
    condition     = contains(["bus", "direct", "stream"], var.delivery)
    error_message = "delivery is bus, direct or stream."
  }
}

variable "layout" {
  description = "How the function writes a batch (ARCHIVER_LAYOUT): objects (one object per deletion) or compact (one file per batch; needs delivery direct or stream, a bus invocation holds one record)."
  type        = string
  default     = "objects"
  nullable    = false

  validation {
    condition     = contains(["objects", "compact"], var.layout)
    error_message = "layout is objects or compact."
  }

  validation {
    condition     = var.layout == "objects" || var.delivery != "bus"
    error_message = "layout compact needs delivery direct or stream: a bus invokes the function with one record, so every file would hold one deletion."
  }
}

variable "batch" {
  description = "Records per invocation (size) and seconds spent gathering them (window_seconds); a key left out takes the delivery's default (bus 10/5 s, direct 10/5 s, stream 1000/10 s, local.batch_defaults). size is at most 10 for bus (one PutEvents call into the bus), 1000 for direct (the pipe cuts an execution at 5 minutes and a synchronous invocation carries 6 MB: the function, timeout at most 240 s, must archive the whole batch well within both), 10000 for stream (the mapping's limit)."
  # A map, not an object type: a misspelt key (windows_seconds) must fail the plan, not vanish.
  type     = map(number)
  default  = {}
  nullable = false

  validation {
    condition     = length(setsubtract(keys(var.batch), ["size", "window_seconds"])) == 0
    error_message = "batch takes only size and window_seconds."
  }

  validation {
    condition = (
      try(var.batch.size >= 1 && floor(var.batch.size) == var.batch.size, true) &&
      try(var.batch.size <= { bus = 10, direct = 1000, stream = 10000 }[var.delivery], true) &&
      try(var.batch.window_seconds >= 0 && var.batch.window_seconds <= 300 && floor(var.batch.window_seconds) == var.batch.window_seconds, true)
    )
    error_message = "batch.size is a whole number from 1 to 10 when delivery is bus (one PutEvents call), 1000 when direct (one batch must be archived well within a pipe execution's 5 minutes), 10000 when stream; batch.window_seconds is a whole number from 0 to 300."
  }
}

################################################################################
# Environment-level settings: shared by every table of an environment
################################################################################

variable "name_prefix" {
  description = "First part of every name this module gives (function, pipe, rule, queue, roles): <name_prefix>-<table>."
  type        = string
  default     = "dynamo-archive"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$", var.name_prefix))
    error_message = "name_prefix is 1 to 30 of A-Z a-z 0-9 _ -, starting with a letter or digit."
  }
}

variable "bucket_name" {
  description = "The environment's archive bucket (output bucket_name of archive-environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name is 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's KMS key: SSE-KMS of the archive objects (ARCHIVER_KMS_KEY_ID), the log group and the function's environment variables."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "queue_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the dead-letter queue, or null for SQS-managed SSE. Its key policy must let events.amazonaws.com use it (archive-environment's key does)."
  type        = string
  default     = null

  validation {
    condition     = var.queue_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.queue_kms_key_arn))
    error_message = "queue_kms_key_arn is null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "event_bus_name" {
  description = "Name of the environment's EventBridge bus (output event_bus_name of archive-environment); required when delivery is bus."
  type        = string
  default     = null

  validation {
    condition     = var.delivery != "bus" || try(can(regex("^[A-Za-z0-9._-]{1,256}$", var.event_bus_name)), false)
    error_message = "event_bus_name is required when delivery is bus: 1 to 256 of A-Z a-z 0-9 . _ -"
  }
}

variable "lambda_package" {
  description = "The function's deployment package built by scripts/build_lambda.py: path of the zip and its filebase64sha256."
  type = object({
    path   = string
    sha256 = string
  })

  validation {
    condition     = endswith(var.lambda_package.path, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", var.lambda_package.sha256))
    error_message = "lambda_package is { path = \"<...>.zip\", sha256 = filebase64sha256(path) }."
  }
}

variable "architecture" {
  description = "Instruction set of the function; the package must be built for it (scripts/build_lambda.py --arch)."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture is arm64 or x86_64."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size is between 128 and 10240 MB."
  }
}

variable "timeout" {
  description = "Timeout of one invocation of the function in seconds. With direct delivery at most 240: the pipe gives up on an execution after 5 minutes (ExecutionTimeout) and retries the batch, so the function must finish well before that."
  type        = number
  default     = 120
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= (var.delivery == "direct" ? 240 : 900)
    error_message = "timeout is between 1 and 900 seconds, and at most 240 when delivery is direct (a pipe execution is cut at 5 minutes; a mapping, stream delivery, has no such cap)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Concurrency reserved for (and capping) the function, or -1 (default) for no reservation: the function then draws on the account's unreserved pool. Lambda refuses a reservation that would leave the account fewer than 100 unreserved executions, so reserve only where the account's concurrency quota is at least 100 plus the sum of all reservations."
  type        = number
  default     = -1
  nullable    = false

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions is -1 (no reservation) or a whole number of at least 1 (0 would stop the function)."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of the function: PassThrough (default: traces only what the caller's trace header samples, no X-Ray cost otherwise) or Active (samples invocations itself; X-Ray bills the traces)."
  type        = string
  default     = "PassThrough"
  nullable    = false

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode is Active or PassThrough."
  }
}

variable "max_concurrency" {
  description = "Records of one batch archived at once by the function (ARCHIVER_MAX_CONCURRENCY)."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 64
    error_message = "max_concurrency is between 1 and 64."
  }
}

variable "log_level" {
  description = "Log level of the function (ARCHIVER_LOG_LEVEL)."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level is DEBUG, INFO, WARNING or ERROR."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the Embedded Metric Format metrics the function writes (ARCHIVER_METRICS_NAMESPACE): Archived, DeadLettered, Failed, Skipped and ArchiveLag, by Table."
  type        = string
  default     = "DynamoArchive"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9A-Za-z._/#: -]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace is 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, and does not start with AWS/ (reserved for AWS services)."
  }
}

variable "log_retention_days" {
  description = "Days the function's logs are kept."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of CloudWatch Logs' values: 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653."
  }
}

################################################################################
# Stream reader (pipe or event source mapping) and retries
################################################################################

variable "starting_position" {
  description = "Where a new pipe or mapping starts reading the stream: TRIM_HORIZON (default: the last 24 hours too, so a replaced reader misses nothing; writes are idempotent, so the replay is harmless) or LATEST (new records only: what happens while a reader is replaced is lost). Changing it replaces the reader."
  type        = string
  default     = "TRIM_HORIZON"
  nullable    = false

  validation {
    condition     = contains(["LATEST", "TRIM_HORIZON"], var.starting_position)
    error_message = "starting_position is LATEST or TRIM_HORIZON."
  }
}

variable "parallelization_factor" {
  description = "Batches processed at once per stream shard, by the pipe or the mapping (records of one key stay in order at 1)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.parallelization_factor >= 1 && var.parallelization_factor <= 10
    error_message = "parallelization_factor is between 1 and 10."
  }
}

variable "maximum_retry_attempts" {
  description = "Times the pipe or mapping retries a failing batch before sending its position to the dead-letter queue (-1: until maximum_record_age_in_seconds)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.maximum_retry_attempts >= -1 && var.maximum_retry_attempts <= 10000
    error_message = "maximum_retry_attempts is between -1 and 10000."
  }
}

variable "maximum_record_age_in_seconds" {
  description = "Age after which the pipe or mapping stops retrying a record and sends its position to the dead-letter queue. Under 86400: the stream trims records at 24 hours, so a record retried that long (-1, or 86400 and more) is trimmed, not dead-lettered."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.maximum_record_age_in_seconds >= 60 && var.maximum_record_age_in_seconds < 86400
    error_message = "maximum_record_age_in_seconds is between 60 and 86399: the stream trims records at 24 hours, so -1 or a day and more would let a failing record be trimmed instead of dead-lettered."
  }
}

variable "on_partial_batch_item_failure" {
  description = "What the pipe does when part of a batch fails: AUTOMATIC_BISECT may split the batch and retry each half (records already archived included) rather than only the reported batchItemFailures."
  type        = string
  default     = "AUTOMATIC_BISECT"
  nullable    = false

  validation {
    condition     = contains(["AUTOMATIC_BISECT"], var.on_partial_batch_item_failure)
    error_message = "on_partial_batch_item_failure is AUTOMATIC_BISECT (the only value EventBridge Pipes accepts)."
  }
}

variable "maximum_event_age_in_seconds" {
  description = "bus delivery: how long EventBridge (rule target) and Lambda (asynchronous invocation) keep retrying one event before it goes to the dead-letter queue."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.maximum_event_age_in_seconds >= 60 && var.maximum_event_age_in_seconds <= 21600
    error_message = "maximum_event_age_in_seconds is between 60 and 21600 (Lambda's asynchronous limit)."
  }
}

variable "async_retry_attempts" {
  description = "bus delivery: retries of a failed asynchronous invocation by Lambda before the event goes to the dead-letter queue."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.async_retry_attempts >= 0 && var.async_retry_attempts <= 2
    error_message = "async_retry_attempts is between 0 and 2."
  }
}

variable "dead_letter_retention_seconds" {
  description = "How long the dead-letter queue keeps a record that could not be archived (default the maximum, 14 days; at least a day, so a letter outlives the time it takes someone to come and read it)."
  type        = number
  default     = 1209600
  nullable    = false

  validation {
    condition     = var.dead_letter_retention_seconds >= 86400 && var.dead_letter_retention_seconds <= 1209600
    error_message = "dead_letter_retention_seconds is between 86400 (a day: less and a dead letter can expire before anyone reads it) and 1209600 (14 days)."
  }
}

################################################################################
# Alarms and tags
################################################################################

variable "create_alarms" {
  description = "Whether to create the CloudWatch alarms (dead-letter queue depth, archive lag, stopped reader, function errors and throttles, failed records, pipe failures and timeouts, mapping iterator age, rule failures, dead letters that could not be sent)."
  type        = bool
  default     = true
  nullable    = false
}

variable "archive_lag_alarm_threshold_ms" {
  description = "Archive lag (from the deletion to its archived object, metric ArchiveLag) in milliseconds above which the p99 over 5 minutes raises the archive-lag alarm; with stream delivery also the mapping's IteratorAge above which iterator-age fires."
  type        = number
  default     = 300000
  nullable    = false

  validation {
    condition     = var.archive_lag_alarm_threshold_ms > 0
    error_message = "archive_lag_alarm_threshold_ms is a number of milliseconds above 0, e.g. 300000 (5 minutes)."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers (the environment's alarm_topic_arn in config/<env>.yaml): an alarm nobody receives protects nothing, so there is no default."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", var.alarm_topic_arn))
    error_message = "alarm_topic_arn is an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256])
    error_message = "Tag keys are at most 128 and values at most 256 characters."
  }
}
