# Everything table-specific comes from config/dev.yaml (validated by `archiver config validate`):
# one table-archive instance per table, keyed by table name so addresses stay stable.
locals {
  config = yamldecode(file("${path.module}/../../../config/dev.yaml"))
  tables = { for t in local.config.tables : t.name => t }

  tags = {
    project     = "dynamo-archive"
    environment = local.config.environment
  }

  # Built by `python scripts/build_lambda.py` (reproducible: same sources, same hash, no update).
  lambda_package = {
    path   = "${path.module}/../../../build/lambda.zip"
    sha256 = filebase64sha256("${path.module}/../../../build/lambda.zip")
  }
}

provider "aws" {
  region = local.config.region
  # A plan with credentials of any other account fails before it reads anything.
  allowed_account_ids = [local.config.account_id]

  default_tags {
    tags = local.tags
  }
}

module "environment" {
  source = "../../modules/archive-environment"

  environment       = local.config.environment
  bucket_name       = local.config.bucket
  tables            = { for name, table in module.table_archive : name => table.lifecycle_rule }
  dashboard_tables  = { for name, table in module.table_archive : name => table.monitoring }
  yaml_table_fields = { for name, table in local.tables : name => keys(table) }
  lambda_package    = local.lambda_package
  tags              = local.tags
}

module "table_archive" {
  source   = "../../modules/table-archive"
  for_each = local.tables

  # Per-table settings, as in the YAML; null (absent) takes the module's default.
  table_name      = each.key
  prefix          = try(each.value.prefix, null)
  capture         = try(each.value.capture, null)
  ttl_attribute   = try(each.value.ttl_attribute, null)
  drop_attributes = try(each.value.drop_attributes, null)
  retention       = try(each.value.retention, null)
  delivery        = try(each.value.delivery, null)
  layout          = try(each.value.layout, null)
  batch           = try(each.value.batch, null)

  # Environment-level settings.
  bucket_name       = module.environment.bucket_name
  kms_key_arn       = module.environment.kms_key_arn
  queue_kms_key_arn = module.environment.kms_key_arn
  event_bus_name    = module.environment.event_bus_name
  lambda_package    = local.lambda_package
  alarm_topic_arn   = local.config.alarm_topic_arn
  tags              = local.tags
}

# Athena over the archive: a Glue database, one Glue table per YAML table (its layout), a workgroup
# that caps the bytes one query scans, and the querier's least-privilege policy.
module "query" {
  source = "../../modules/archive-query"

  environment = local.config.environment
  bucket_name = module.environment.bucket_name
  kms_key_arn = module.environment.kms_key_arn
  tables      = { for name, table in local.tables : name => { prefix = try(table.prefix, null), layout = try(table.layout, null) } }
  tags        = local.tags
}
