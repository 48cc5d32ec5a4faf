variable "environment" {
  description = "Short name of the environment (the YAML's `environment`): part of the key alias and bus names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.environment))
    error_message = "environment is 1 to 20 of a-z 0-9 -, starting with a letter (as in adapters/config.py)."
  }
}

variable "name_prefix" {
  description = "First part of the names this module gives (KMS alias, event bus)."
  type        = string
  default     = "dynamo-archive"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$", var.name_prefix))
    error_message = "name_prefix is 1 to 30 of A-Z a-z 0-9 _ -, starting with a letter or digit."
  }
}

variable "bucket_name" {
  description = "Name of the archive bucket shared by every table of the environment (the YAML's `bucket`)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name is 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit."
  }
}

variable "tables" {
  description = "Per table, keyed by table name: its key folder (`<prefix>/<table>/`), layout and retention, i.e. the table module's `lifecycle_rule` output; merged into the bucket's one lifecycle configuration."
  type = map(object({
    folder = string
    layout = optional(string, "objects")
    retention = object({
      transition_after_days = optional(number)
      expire_after_days     = optional(number)
    })
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for t in values(var.tables) : endswith(t.folder, "/") && !startswith(t.folder, "/") && contains(["objects", "compact"], t.layout)])
    error_message = "Each tables[*].folder ends with '/' and does not start with '/', e.g. archive/orders/; each layout is objects or compact."
  }

  validation {
    condition = alltrue([for t in values(var.tables) : (
      (t.retention.transition_after_days == null || try(t.retention.transition_after_days >= 30 && t.retention.transition_after_days <= 2147483647, false)) &&
      (t.retention.expire_after_days == null || try(t.retention.expire_after_days >= 1 && t.retention.expire_after_days <= 2147483647, false)) &&
      (t.retention.transition_after_days == null || t.retention.expire_after_days == null ||
      try(t.retention.expire_after_days >= t.retention.transition_after_days + 30, false))
    )])
    error_message = "retention: days up to 2147483647 (S3 lifecycle Days is a 32-bit integer), transition_after_days >= 30, expire_after_days >= 1, and expire_after_days >= transition_after_days + 30 when both are set (STANDARD_IA bills 30 days at least)."
  }

  # A table's folder must not hold another's: the function's s3:PutObject grant (<folder>*) and
  # the lifecycle rules (prefix <folder>) of the outer table would reach the inner table's objects
  # (table a with prefix archive, table b with prefix archive/a: archive/a/ holds archive/a/b/).
  validation {
    condition = alltrue(flatten([
      for a, ta in var.tables : [for b, tb in var.tables : a == b || !startswith(tb.folder, ta.folder)]
    ]))
    error_message = "Table folders overlap: ${join("; ", flatten([
      for a, ta in var.tables : [
        for b, tb in var.tables : "${a} (${ta.folder}) contains ${b} (${tb.folder})" if a != b && startswith(tb.folder, ta.folder)
      ]
    ]))}. Give each table a prefix under which no other table's folder (<prefix>/<table>/) starts."
  }
}

variable "dashboard_tables" {
  description = "Per table, keyed by table name: the table module's `monitoring` output (metric namespaces, dimensions, the lag alarm's threshold); one row of the environment's CloudWatch dashboard each."
  type = map(object({
    region                         = string
    delivery                       = string
    layout                         = string
    metrics_namespace              = string
    function_name                  = string
    pipe_name                      = optional(string)
    dead_letter_queue_names        = list(string)
    event_bus_name                 = optional(string)
    rule_name                      = optional(string)
    archive_lag_alarm_threshold_ms = number
  }))
  default  = {}
  nullable = false

  validation {
    condition = alltrue([for t in values(var.dashboard_tables) : (
      contains(["bus", "direct", "stream"], t.delivery) && length(t.dead_letter_queue_names) > 0 &&
      (t.delivery == "stream" || t.pipe_name != null) &&
      (t.delivery != "bus" || (t.event_bus_name != null && t.rule_name != null))
    )])
    error_message = "Each dashboard_tables entry is a table module's monitoring output: delivery bus, direct or stream, at least one dead-letter queue, pipe_name unless delivery is stream, and event_bus_name and rule_name when delivery is bus."
  }

  # A dashboard holds at most 500 widgets; a table takes at most 7 (a header and six graphs).
  validation {
    condition     = length(var.dashboard_tables) <= 70
    error_message = "One dashboard shows at most 70 tables (7 widgets each, 500 per dashboard); split the environment or set create_dashboard = false."
  }
}

variable "create_dashboard" {
  description = "Whether to create the environment's CloudWatch dashboard (one row per table of dashboard_tables; none without tables)."
  type        = bool
  default     = true
  nullable    = false
}

variable "yaml_table_fields" {
  description = "Field names of each table entry of config/<env>.yaml, keyed by table name: the environment passes fields by name, so an unknown (misspelt) field must fail the plan here instead of being ignored."
  type        = map(set(string))
  default     = {}
  nullable    = false

  # The per-table fields of adapters.config.TableConfig (tests/terraform checks the two lists agree).
  validation {
    condition = alltrue([for fields in values(var.yaml_table_fields) : length(setsubtract(fields, [
      "name", "prefix", "capture", "ttl_attribute", "drop_attributes", "retention", "delivery", "layout", "batch", "key_schema",
    ])) == 0])
    error_message = "A table of the YAML has a field that is not a per-table setting; accepted: name, prefix, capture, ttl_attribute, drop_attributes, retention, delivery, layout, batch, key_schema (run `archiver config validate config/<env>.yaml`)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a noncurrent (overwritten or deleted) version of an archive object is removed."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days is a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which an unfinished multipart upload is aborted and its parts deleted."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days is a whole number of days, at least 1."
  }
}

variable "object_lock" {
  description = "Object Lock default retention (WORM) for new archive objects, or null for none. Can be turned on for the existing bucket (it is not replaced), never off again: S3 keeps Object Lock enabled, and removing this only drops the default retention."
  type = object({
    mode = optional(string, "GOVERNANCE")
    days = number
  })
  default = null

  validation {
    condition     = var.object_lock == null || try(contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock.mode) && var.object_lock.days >= 1, false)
    error_message = "object_lock is null, or { mode = GOVERNANCE | COMPLIANCE, days >= 1 }."
  }
}

variable "access_log_bucket" {
  description = "Bucket that receives S3 server access logs of the archive bucket, or null for no access logging."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.access_log_bucket))
    error_message = "access_log_bucket is null or a bucket name (3 to 63 of a-z 0-9 . -)."
  }
}

variable "access_log_prefix" {
  description = "Key prefix of the access logs in access_log_bucket."
  type        = string
  default     = "s3-access/"
  nullable    = false

  validation {
    condition     = length(var.access_log_prefix) <= 512
    error_message = "access_log_prefix is at most 512 characters."
  }
}

variable "lambda_package" {
  description = "The functions' deployment package built by scripts/build_lambda.py (the table module's lambda_package): the reader check runs adapters.reader_check.handler from it."
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
  description = "Instruction set of the reader check function; the package must be built for it (scripts/build_lambda.py --arch), as for the table modules."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture is arm64 or x86_64."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace the reader check writes ReaderRunning in; the table modules' metrics_namespace (their reader-stopped alarms read it there)."
  type        = string
  default     = "DynamoArchive"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9A-Za-z._/#: -]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace is 1 to 255 of A-Z a-z 0-9 . - _ / # : and space, and does not start with AWS/ (reserved for AWS services)."
  }
}

variable "log_retention_days" {
  description = "Days the reader check's logs are kept."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days is one of CloudWatch Logs' values: 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the archive's KMS key is deleted once scheduled for deletion."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days is between 7 and 30."
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
