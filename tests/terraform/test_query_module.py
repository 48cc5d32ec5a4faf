"""archive-query: the Glue tables hold what the Athena engine reads, compact tables are projected, the
workgroup caps and encrypts, the querier's policy is narrow, and Terraform names what Python names.

Structure comes from python-hcl2; the names, locations, projection parameters and validations are
evaluated by ``terraform console`` over the module's variables and provider-free locals (as in
test_module_evaluation.py). Neither says whether Athena reads the files as intended: that needs AWS
(docs/query-athena.md, "What was not verified").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from adapters.aws.athena_sql import (
    DEFAULT_NAME_PREFIX,
    DELETIONS_COLUMNS,
    AthenaTable,
    Layout,
    database_name,
    deletions_cte,
    glue_table_name,
    workgroup_name,
)
from adapters.config import MODULE_NAME_PREFIX
from archiver.archive import table_folder
from tests.integration.conftest import archive_object
from tests.terraform.conftest import ENVS, MODULES, blocks, data_sources, env_dirs, one, policy_statements, resources
from tests.terraform.test_module_evaluation import TerraformError, console, flat

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

QUERY_MODULE = MODULES / "archive-query"
REQUIRED = {
    "environment": "dev",
    "bucket_name": "acme-dynamo-archive-dev",
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}
TABLES = {
    "orders": {"layout": "objects"},
    "sessions-dev": {"prefix": "archive/eu", "layout": "compact"},
    "Orders.Dev": {"prefix": "", "layout": "objects"},
    "t" * 255: {"layout": "compact"},
}


@pytest.fixture(scope="module")
def evaluate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    return console(tmp_path_factory.mktemp("archive-query"), QUERY_MODULE, REQUIRED)


# --- Glue tables: what the engine reads ---------------------------------------------------------------


def glue_columns_read_by_the_engine(layout: Layout) -> set[str]:
    """The columns of its Glue table that the relation's SQL reads, a window included (so that the
    partition columns show where a layout has them)."""
    sql = deletions_cte([AthenaTable.named("ttt", layout)], "db", deleted_after=datetime(2026, 1, 1, tzinfo=UTC))
    reading = sql.split("FROM (\n        SELECT\n", 1)[1].split(") AS archived", 1)[0]
    reading = re.sub(r"'(?:[^']|'')*'", "''", reading)  # literals are not columns
    identifiers = set(re.findall(r'"[^"]+"|\b[a-z_]+\b(?!\()', reading))
    # What is left once the relation's own names, SQL words and types are set aside: the table's.
    ours = set(DELETIONS_COLUMNS) | {'"key"', '"db"', f'"{glue_table_name("ttt", layout)}"'}
    words = {"as", "at", "time", "zone", "timestamp", "boolean", "null", "and", "or", "from", "where", "like"}
    return {i.strip('"') for i in identifiers - ours - words}


def test_glue_tables_hold_exactly_the_columns_the_engine_reads(evaluate: Callable[..., Any]) -> None:
    glue = evaluate("local.glue_tables", tables={"ooo": {"layout": "objects"}, "ccc": {"layout": "compact"}})
    body = evaluate("local.body_column")

    for name, layout in (("ooo", "objects"), ("ccc", "compact")):
        stored = {body["name"]} | {key["name"] for key in glue[name]["partition_keys"]}
        # "$path" is the pseudo-column Athena gives every table; the rest must be the table's own.
        assert glue_columns_read_by_the_engine(layout) == stored | {"$path"}, layout
    assert body == {"name": "body", "type": "string", "comment": body["comment"]}


def test_the_body_fields_the_engine_reads_are_the_archive_bodys(events) -> None:
    body = json.loads(archive_object(events.remove()).body)
    sql = deletions_cte([AthenaTable.named("t", "objects")], "db")

    paths = set(re.findall(r"json_extract(?:_scalar)?\(body, '\$\.([A-Za-z.]+)'\)", sql))

    assert paths == {"encodedKey", "key", "deletedAt", "deletion.kind", "imageMissing", "image"}
    for path in paths:
        value: Any = body
        for part in path.split("."):
            assert part in value, f"the engine reads $.{path}, which an archive body does not hold"
            value = value[part]
    # A compact line is the body plus its version.
    compact = deletions_cte([AthenaTable.named("t", "compact")], "db")
    assert set(re.findall(r"json_extract(?:_scalar)?\(body, '\$\.([A-Za-z.]+)'\)", compact)) == paths | {"version"}


def test_every_table_reads_the_whole_line_as_one_string() -> None:
    table = resources(QUERY_MODULE)[("aws_glue_catalog_table", "deletions")]
    storage = one(table["storage_descriptor"])
    serde = one(storage["ser_de_info"])

    assert one(serde["serialization_library"]) == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert one(storage["input_format"]) == "org.apache.hadoop.mapred.TextInputFormat"
    # \u0001 (the delimiter) never stands raw in JSON text: json.dumps escapes every control character.
    assert one(serde["parameters"])["field.delim"] in {"\\u0001", "\u0001"}
    assert "\u0001" not in json.dumps({"s": "a\u0001b"}, ensure_ascii=False)
    assert one(one(storage["columns"])["name"]) == "${local.body_column.name}"
    assert one(table["parameters"]) == "${each.value.parameters}"


def test_compact_tables_are_projected_by_hour_and_objects_tables_are_not(evaluate: Callable[..., Any]) -> None:
    glue = evaluate("local.glue_tables", tables=TABLES)

    compact, objects = glue["sessions-dev"], glue["orders"]
    assert compact["location"] == "s3://acme-dynamo-archive-dev/archive/eu/sessions-dev/compact/"
    assert compact["parameters"] == {
        "EXTERNAL": "TRUE",
        "dynamo-archive:table": "sessions-dev",
        "dynamo-archive:layout": "compact",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2025-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hh.type": "integer",
        "projection.hh.range": "0,23",
        "projection.hh.digits": "2",
        "storage.location.template": "s3://acme-dynamo-archive-dev/archive/eu/sessions-dev/compact/dt=${dt}/hh=${hh}/",
    }
    assert [(k["name"], k["type"]) for k in compact["partition_keys"]] == [("dt", "string"), ("hh", "int")]
    assert objects["location"] == "s3://acme-dynamo-archive-dev/archive/orders/"
    assert objects["partition_keys"] == []
    assert not any(name.startswith("projection.") for name in objects["parameters"])


def test_table_folders_are_the_archivers(evaluate: Callable[..., Any]) -> None:
    tables = evaluate("local.tables", tables=TABLES)

    for name, table in TABLES.items():
        assert tables[name]["folder"] == table_folder(table.get("prefix", "archive"), name)


def test_terraform_and_python_give_the_same_names(evaluate: Callable[..., Any]) -> None:
    names = evaluate(
        "[local.database_name, local.workgroup_name, {for n, t in local.tables : n => t.glue_table}]",
        tables=TABLES,
        environment="eu-prod",
    )

    assert names[0] == database_name("eu-prod")
    assert names[1] == workgroup_name("eu-prod")
    assert names[2] == {name: glue_table_name(name, t["layout"]) for name, t in TABLES.items()}  # type: ignore[arg-type]
    assert DEFAULT_NAME_PREFIX == MODULE_NAME_PREFIX == one(blocks(QUERY_MODULE, "variable")["name_prefix"]["default"])


def test_the_results_bucket_is_named_from_the_archive_bucket_within_63_characters(evaluate: Callable[..., Any]) -> None:
    long_name = "a" * 48 + "-b-c-d-e-f-g-h"

    assert evaluate("local.results_bucket_name") == "acme-dynamo-archive-dev-query-results"
    derived = evaluate("local.results_bucket_name", bucket_name=long_name)
    assert len(derived) <= 63 and derived.endswith("-query-results") and "--" not in derived
    assert evaluate("local.results_bucket_name", results={"bucket_name": "mine"}) == "mine"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"tables": {"orders": {"layout": "parquet"}}}, "layout is objects or compact"),
        ({"tables": {"ab": {}}}, "is a DynamoDB table name"),
        ({"tables": {"orders": {"prefix": "/archive"}}}, "prefix is empty or at most 128 bytes"),
        ({"bytes_scanned_cutoff_per_query": 9_999_999}, "at least 10000000"),
        ({"bytes_scanned_cutoff_per_query": 1e7 + 0.5}, "whole number of bytes"),
        ({"results": {"prefix": "results"}}, "ending in '/'"),
        ({"results": {"expire_after_days": 0}}, "at least 1"),
        ({"results": {"kms_key_arn": "alias/x"}}, "not an alias"),
        ({"compact_first_day": "2025-13-01"}, "compact_first_day is a date"),
        ({"environment": "Dev"}, "environment is 1 to 20"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else None,
)
def test_bad_inputs_fail_the_plan_with_a_message(evaluate: Callable[..., Any], variables: dict, message: str) -> None:
    with pytest.raises(TerraformError) as raised:
        evaluate("var.tables", **variables)

    assert message in flat(raised.value)


def test_absent_yaml_fields_take_the_defaults(evaluate: Callable[..., Any]) -> None:
    tables = evaluate("var.tables", tables={"orders": {"prefix": None, "layout": None}})

    assert tables == {"orders": {"prefix": "archive", "layout": "objects"}}


# --- workgroup and results --------------------------------------------------------------------------------


def test_workgroup_enforces_its_cutoff_engine_and_encrypted_results() -> None:
    workgroup = resources(QUERY_MODULE)[("aws_athena_workgroup", "this")]
    configuration = one(workgroup["configuration"])
    results = one(configuration["result_configuration"])

    assert one(configuration["enforce_workgroup_configuration"]) is True
    assert one(configuration["bytes_scanned_cutoff_per_query"]) == "${var.bytes_scanned_cutoff_per_query}"
    assert one(one(configuration["engine_version"])["selected_engine_version"]) == "Athena engine version 3"
    assert one(one(results["encryption_configuration"])["encryption_option"]) == "SSE_KMS"
    assert one(results["output_location"]) == "s3://${aws_s3_bucket.results.id}/${var.results.prefix}"
    assert one(blocks(QUERY_MODULE, "variable")["bytes_scanned_cutoff_per_query"]["default"]) == 10 * 2**30


def test_results_bucket_is_encrypted_private_tls_only_and_expires() -> None:
    found = resources(QUERY_MODULE)
    encryption = one(one(found[("aws_s3_bucket_server_side_encryption_configuration", "results")]["rule"]))
    block = found[("aws_s3_bucket_public_access_block", "results")]
    lifecycle = one(one(found[("aws_s3_bucket_lifecycle_configuration", "results")]["rule"]))
    policy = policy_statements(data_sources(QUERY_MODULE)[("aws_iam_policy_document", "results_bucket")])

    assert one(one(encryption["apply_server_side_encryption_by_default"])["sse_algorithm"]) == "aws:kms"
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert all(one(block[flag]) is True for flag in flags)
    assert one(one(lifecycle["expiration"])["days"]) == "${var.results.expire_after_days}"
    assert [(one(s["effect"]), one(one(s["condition"])["variable"])) for s in policy] == [
        ("Deny", "aws:SecureTransport")
    ]


# --- the querier's policy ---------------------------------------------------------------------------------


def querier_statements() -> dict[str, dict[str, Any]]:
    document = data_sources(QUERY_MODULE)[("aws_iam_policy_document", "querier")]
    return {one(s["sid"]): s for s in policy_statements(document)}


def test_queriers_may_only_read_the_archive_and_run_queries_in_this_workgroup() -> None:
    statements = querier_statements()
    actions = {a for s in statements.values() for a in s["actions"]}

    assert {a for a in actions if a.startswith("athena:")} == {
        "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
        "athena:StopQueryExecution", "athena:GetWorkGroup",
    }  # fmt: skip
    assert statements["RunQueriesInTheArchiveWorkgroup"]["resources"] == ["${aws_athena_workgroup.this.arn}"]
    assert all(a.startswith("glue:Get") for a in statements["ReadTheArchiveCatalog"]["actions"])
    assert statements["ReadTheArchivedTablesObjects"]["actions"] == ["s3:GetObject"]
    assert "local.bucket_arn}/${folder}*" in str(statements["ReadTheArchivedTablesObjects"]["resources"])
    assert one(statements["ListTheArchivedTablesFolders"]["condition"])["variable"] == "s3:prefix"
    # Writes go to the results prefix only; nothing of the archive bucket is writable.
    writers = [s for s in statements.values() if {"s3:PutObject", "s3:DeleteObject"} & set(s["actions"])]
    assert [one(s["sid"]) for s in writers] == ["WriteAndReadQueryResults"]
    assert writers[0]["resources"] == ["${aws_s3_bucket.results.arn}/${var.results.prefix}*"]
    assert "*" not in str([s["resources"] for s in statements.values()]).replace("}*", "")
    for sid in ("DecryptArchiveObjects", "EncryptQueryResults"):
        assert one(statements[sid]["condition"])["variable"] == "kms:ViaService"


def test_the_policy_is_an_output() -> None:
    outputs = blocks(QUERY_MODULE, "output")

    assert one(outputs["querier_policy_json"]["value"]) == "${data.aws_iam_policy_document.querier.json}"
    assert "querier_policy_arn" in outputs


# --- environments -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_each_environment_queries_every_yaml_table_once(env: Path) -> None:
    calls = [b for b in blocks(env, "module").values() if one(b["source"]) == "../../modules/archive-query"]

    assert len(calls) == 1, "one archive-query per environment, no for_each"
    call = calls[0]
    assert "for_each" not in call and "count" not in call
    assert re.fullmatch(
        r"\$\{\{ ?for (\w+), (\w+) in local\.tables ?: ?\1 ?=> ?\{ ?prefix ?= ?try\(\2\.prefix, ?(None|null)\), ?"
        r"layout ?= ?try\(\2\.layout, ?(None|null)\) ?\} ?\}\}",
        one(call["tables"]),
    ), one(call["tables"])
    assert one(call["bucket_name"]) == "${module.environment.bucket_name}"
    assert one(call["kms_key_arn"]) == "${module.environment.kms_key_arn}"
    variables = blocks(QUERY_MODULE, "variable")
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(call) and set(call) - {"source"} <= set(variables)


def test_environment_folder_is_where_the_module_is() -> None:
    assert (ENVS / "dev" / "main.tf").read_text(encoding="utf-8").count('source = "../../modules/archive-query"') == 1
