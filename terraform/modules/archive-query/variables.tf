variable "environment" {
  description = "Short name of the environment (the YAML's `environment`): part of the workgroup, database and results bucket names."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,19}$", var.environment))
    error_message = "environment is 1 to 20 of a-z 0-9 -, starting with a letter (as in adapters/config.py)."
  }
}

variable "name_prefix" {
  description = "First part of the names this module gives: workgroup <name_prefix>-<environment>, Glue database <name_prefix>_<environment> (lower case, '-' as '_'). The Python side (adapters/aws/athena_sql.py) derives the same names."
  type        = string
  default     = "dynamo-archive"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,29}$", var.name_prefix))
    error_message = "name_prefix is 1 to 30 of A-Z a-z 0-9 _ -, starting with a letter or digit."
  }
}

variable "bucket_name" {
  description = "The environment's archive bucket (output bucket_name of archive-environment): the Glue tables read it, the queriers' policy may only read it."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name is 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit."
  }
}

variable "kms_key_arn" {
  description = "ARN of the archive bucket's KMS key (output kms_key_arn of archive-environment): queriers decrypt archive objects with it, and it encrypts query results unless results.kms_key_arn names another key."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn is a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "tables" {
  description = "Per archived table, keyed by table name (as in config/<env>.yaml): its prefix (objects under <prefix>/<table>/) and layout (objects: one object per deletion; compact: <prefix>/<table>/compact/dt=YYYY-MM-DD/hh=HH/*.jsonl.gz). One Glue table each."
  type = map(object({
    prefix = optional(string, "archive")
    layout = optional(string, "objects")
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for name in keys(var.tables) : can(regex("^[A-Za-z0-9_.-]{3,255}$", name))])
    error_message = "Each key of tables is a DynamoDB table name: 3 to 255 of A-Z a-z 0-9 _ . -"
  }

  validation {
    condition     = alltrue([for t in values(var.tables) : contains(["objects", "compact"], t.layout)])
    error_message = "Each tables[*].layout is objects or compact."
  }

  # As the table module's prefix: '/'-separated parts of S3's safe characters, no '.' or '..' part.
  validation {
    condition = alltrue([for t in values(var.tables) : t.prefix == "" || (
      length(t.prefix) <= 128 &&
      can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", t.prefix)) &&
      alltrue([for part in split("/", t.prefix) : !contains([".", ".."], part)])
    )])
    error_message = "Each tables[*].prefix is empty or at most 128 bytes of A-Z a-z 0-9 ! - _ . * ' ( ) in '/'-separated parts (no '.' or '..' part), without a leading or trailing '/'."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "The workgroup cancels a query once it has scanned this many bytes (Athena bills $5 per TB scanned, so the default 10 GiB caps one query at about $0.05). At least 10,000,000 (Athena's minimum)."
  type        = number
  default     = 10737418240
  nullable    = false

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10000000 && floor(var.bytes_scanned_cutoff_per_query) == var.bytes_scanned_cutoff_per_query
    error_message = "bytes_scanned_cutoff_per_query is a whole number of bytes, at least 10000000 (10 MB, Athena's minimum)."
  }
}

variable "results" {
  description = "Where query results go: a bucket of this module's own (name: null derives <archive bucket, cut to 49>-query-results), expired after expire_after_days, SSE-KMS with kms_key_arn (null: the archive's key, since results are copies of archived items)."
  type = object({
    bucket_name       = optional(string)
    prefix            = optional(string, "results/")
    expire_after_days = optional(number, 7)
    kms_key_arn       = optional(string)
    force_destroy     = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.results.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.results.bucket_name, "x")))
    error_message = "results.bucket_name is null or a bucket name (3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit)."
  }

  validation {
    condition     = can(regex("^([A-Za-z0-9!_.*'()-]+/)+$", var.results.prefix)) && length(var.results.prefix) <= 128
    error_message = "results.prefix is '/'-separated parts of A-Z a-z 0-9 ! - _ . * ' ( ), ending in '/' (e.g. results/), at most 128 bytes."
  }

  validation {
    condition     = var.results.expire_after_days >= 1 && floor(var.results.expire_after_days) == var.results.expire_after_days
    error_message = "results.expire_after_days is a whole number of days, at least 1."
  }

  validation {
    condition     = var.results.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", coalesce(var.results.kms_key_arn, "x")))
    error_message = "results.kms_key_arn is null (the archive's key) or a KMS key ARN, not an alias."
  }
}

variable "compact_first_day" {
  description = "First day (YYYY-MM-DD, UTC) that partition projection of compact tables enumerates: dt runs from it to NOW. A query without a time window lists every hour folder since, so set it to the day compaction started."
  type        = string
  default     = "2025-01-01"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", var.compact_first_day))
    error_message = "compact_first_day is a date YYYY-MM-DD, e.g. 2025-01-01."
  }
}

variable "create_querier_policy" {
  description = "Whether to create a customer-managed IAM policy from querier_policy_json (attach it to the roles or groups that run `archiver query --engine athena`); the JSON is an output either way."
  type        = bool
  default     = true
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource of the module that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256])
    error_message = "Tag keys are at most 128 and values at most 256 characters."
  }
}
