"""The Terraform tree agrees with the Python side: YAML model <-> module variables, Settings <-> the
function's environment, environments built from their YAML only, variables and READMEs complete."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from adapters.config import TableConfig, load_config
from adapters.settings import ENV_PREFIX, Settings
from tests.terraform.conftest import (
    ENVS,
    MODULES,
    ROOT,
    blocks,
    data_sources,
    env_dirs,
    one,
    policy_statements,
    resources,
)

if TYPE_CHECKING:
    from pathlib import Path

TABLE_MODULE = MODULES / "table-archive"
ENV_MODULE = MODULES / "archive-environment"

#: YAML field -> module variable, where the names differ.
RENAMED = {"name": "table_name"}
#: YAML fields that are not module variables, and why.
NOT_VARIABLES = {"key_schema": "local provisioning only: in AWS the table exists and the module looks it up"}

#: The table module's variables that are not per-table settings: the environment's shared
#: resources, the function's package and tuning, the pipe's source parameters, alarms and tags.
ENV_LEVEL_VARIABLES = {
    "name_prefix", "bucket_name", "kms_key_arn", "queue_kms_key_arn", "event_bus_name", "lambda_package",
    "architecture", "memory_size", "timeout", "reserved_concurrent_executions", "tracing_mode",
    "max_concurrency", "log_level", "log_retention_days",
    "starting_position", "parallelization_factor",
    "maximum_retry_attempts", "maximum_record_age_in_seconds", "on_partial_batch_item_failure",
    "maximum_event_age_in_seconds", "async_retry_attempts", "dead_letter_retention_seconds",
    "metrics_namespace", "create_alarms", "archive_lag_alarm_threshold_ms", "alarm_topic_arn", "tags",
}  # fmt: skip


def per_table_variables() -> set[str]:
    return {RENAMED.get(f, f) for f in TableConfig.model_fields if f not in NOT_VARIABLES}


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def table_module_calls(env: Path) -> list[dict]:
    calls = [body for body in blocks(env, "module").values() if one(body["source"]) == "../../modules/table-archive"]
    return calls


# --- YAML model <-> table module -------------------------------------------------------------------


def test_every_per_table_yaml_setting_is_a_table_module_variable_and_back() -> None:
    variables = set(blocks(TABLE_MODULE, "variable"))

    assert per_table_variables() <= variables, "per-table YAML settings missing from the module"
    assert variables - ENV_LEVEL_VARIABLES == per_table_variables(), (
        "the module's per-table variables differ from adapters.config.TableConfig's fields"
    )
    assert not ENV_LEVEL_VARIABLES - variables, "ENV_LEVEL_VARIABLES names variables the module no longer has"


def test_local_only_yaml_settings_are_documented_as_such() -> None:
    readme = (TABLE_MODULE / "README.md").read_text(encoding="utf-8")

    for field in NOT_VARIABLES:
        assert field in TableConfig.model_fields
        assert re.search(rf"`{field}`[^\n]*local", readme), f"README should say {field} is local-only"


def test_function_environment_is_exactly_the_settings_fields() -> None:
    function = resources(TABLE_MODULE)[("aws_lambda_function", "this")]

    variables = one(one(function["environment"])["variables"])

    assert set(variables) == {ENV_PREFIX + name.upper() for name in Settings.model_fields}


def test_function_runs_the_lambda_handler_on_python_3_13() -> None:
    function = resources(TABLE_MODULE)[("aws_lambda_function", "this")]

    assert one(function["handler"]) == "adapters.lambda_handler.handler"
    assert one(function["runtime"]) == "python3.13"
    assert (ROOT / "adapters" / "lambda_handler.py").is_file()


# --- environments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_environment_reads_its_own_yaml_and_keys_tables_by_name(env: Path) -> None:
    local = blocks(env, "locals")

    assert one(local["config"]) == f'${{yamldecode(file("${{path.module}}/../../../config/{env.name}.yaml"))}}'
    assert re.fullmatch(r"\$\{\{ ?for (\w+) in local\.config\.tables ?: ?\1\.name ?=> ?\1 ?\}\}", one(local["tables"]))
    config = load_config(ROOT / "config" / f"{env.name}.yaml")
    assert config.environment == env.name


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_environment_instantiates_the_table_module_once_per_yaml_table(env: Path) -> None:
    calls = table_module_calls(env)

    assert len(calls) == 1, "one module block, for_each over the YAML's tables"
    call = calls[0]
    assert one(call["for_each"]) == "${local.tables}"
    assert one(call["table_name"]) == "${each.key}"
    for variable in per_table_variables() - {"table_name"}:
        field = {v: k for k, v in RENAMED.items()}.get(variable, variable)
        # python-hcl2 versions print null as None or null, with or without a space after the comma.
        assert re.fullmatch(rf"\$\{{try\(each\.value\.{field}, ?(None|null)\)\}}", one(call[variable])), variable
    from_yaml = {name for name, value in call.items() if "each.value" in str(value)}
    assert from_yaml == per_table_variables() - {"table_name"}, "only per-table settings come from a table entry"


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_environment_state_is_remote_encrypted_and_s3_locked(env: Path) -> None:
    terraform = blocks(env, "terraform")
    backend = one(terraform["backend"])

    s3 = one(backend["s3"])
    assert one(s3["encrypt"]) is True
    assert one(s3["use_lockfile"]) is True
    assert env.name in one(s3["key"])
    # use_lockfile is generally available from Terraform 1.11 (experimental in 1.10).
    required = one(terraform["required_version"])
    assert re.fullmatch(r">= ?1\.(1[1-9]|[2-9]\d)(\.\d+)?", required), required


def test_environments_differ_only_by_their_yaml_and_backend() -> None:
    envs = env_dirs()
    names = {e.name for e in envs}

    for env in envs:
        assert {p.name for p in env.glob("*.tf")} == {p.name for p in envs[0].glob("*.tf")}
        for path in env.glob("*.tf"):
            if path.name == "backend.tf":
                continue
            text = path.read_text(encoding="utf-8")
            other = (envs[0] / path.name).read_text(encoding="utf-8")
            for name in names:
                text = text.replace(name, "<env>")
                other = other.replace(name, "<env>")
            assert text == other, f"{path} differs from {envs[0].name}'s beyond the environment name"


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_environment_gets_a_dashboard_of_every_table(env: Path) -> None:
    environment = next(
        b for b in blocks(env, "module").values() if one(b["source"]) == "../../modules/archive-environment"
    )

    passed = one(environment["dashboard_tables"])

    assert re.fullmatch(r"\$\{\{ ?for (\w+), (\w+) in module\.table_archive ?: ?\1 ?=> ?\2\.monitoring ?\}\}", passed)
    assert one(environment.get("create_dashboard", True)) is True
    assert "dashboard_name" in blocks(env, "output")


def test_environment_module_draws_the_dashboard_from_its_tables() -> None:
    dashboard = resources(ENV_MODULE)[("aws_cloudwatch_dashboard", "this")]

    assert one(dashboard["dashboard_body"]) == "${local.dashboard_body}"
    assert "var.create_dashboard" in one(dashboard["count"])
    # What the table module hands over is exactly what the dashboard reads.
    table_outputs = blocks(TABLE_MODULE, "output")
    handed = set(one(table_outputs["monitoring"]["value"]))
    wanted = set(re.findall(r"(\w+) ?= ?", one(blocks(ENV_MODULE, "variable")["dashboard_tables"]["type"])))
    assert handed == wanted


# --- archive-environment -------------------------------------------------------------------------------


def test_lifecycle_moves_only_objects_above_128_kib_to_standard_ia() -> None:
    lifecycle = resources(ENV_MODULE)[("aws_s3_bucket_lifecycle_configuration", "this")]
    text = str(lifecycle)

    assert re.search(r"'object_size_greater_than': \[?131072\b", text)
    assert "STANDARD_IA" in text
    assert "abort_incomplete_multipart_upload" in text
    assert "noncurrent_version_expiration" in text


def test_function_may_only_put_objects_under_its_table_folder() -> None:
    text = (TABLE_MODULE / "iam.tf").read_text(encoding="utf-8")

    s3_actions = set(re.findall(r'"(s3:[A-Za-z*]+)"', text))
    assert s3_actions == {"s3:PutObject"}
    assert '"${local.bucket_arn}/${local.folder}*"' in text


def test_function_asks_the_archive_key_for_data_keys_only() -> None:
    document = data_sources(TABLE_MODULE)[("aws_iam_policy_document", "function")]
    statements = {one(s.get("sid")): s for s in policy_statements(document)}

    archive_key = statements["EncryptArchiveObjects"]

    # A single PutObject with SSE-KMS needs a data key; kms:Encrypt is never called by S3 for it.
    assert set(archive_key["actions"]) == {"kms:GenerateDataKey"}
    assert not any("kms:Encrypt" in s["actions"] for s in statements.values())


def test_key_policy_lets_services_use_the_key_for_this_projects_names_only() -> None:
    text = (ENV_MODULE / "main.tf").read_text(encoding="utf-8")

    assert '"kms:EncryptionContext:aws:logs:arn" = local.function_log_groups' in text
    assert 'ArnLike      = { "aws:SourceArn" = local.archive_rules }' in text
    assert ':log-group:/aws/lambda/${var.name_prefix}-*"' in text
    assert ':rule/${local.bus_name}/${var.name_prefix}-*"' in text
    assert ":log-group:*" not in text, "no statement for every log group of the account"
    # The table module names what the key policy expects: /aws/lambda/<name> and rule <name>,
    # where <name> starts with <name_prefix>- (tests/terraform/test_module_evaluation.py checks it).
    table = (TABLE_MODULE / "main.tf").read_text(encoding="utf-8")
    assert 'name              = "/aws/lambda/${local.name}"' in table
    assert re.search(r'resource "aws_cloudwatch_event_rule" "this" \{[^}]*?name +?= local\.name', table, re.DOTALL)


def _block(text: str, header: str) -> str:
    """The text of the top-level block that starts with ``header`` (up to its closing brace)."""
    start = text.index(header)
    return text[start : text.index("\n}\n", start) + 3]


def test_rule_matches_its_table_by_the_events_resources_which_the_pipe_sets() -> None:
    text = (TABLE_MODULE / "main.tf").read_text(encoding="utf-8")

    rule = _block(text, 'resource "aws_cloudwatch_event_rule" "this"')
    pipe = _block(text, 'resource "aws_pipes_pipe" "this"')

    # resources is a documented field of every event; the pipe puts the table ARN there.
    assert re.search(r"^\s+resources\s+= \[local\.table_arn\]$", rule, re.MULTILINE)
    assert re.search(r"^\s+resources\s+= \[local\.table_arn\]$", pipe, re.MULTILINE)
    assert re.search(r"^\s+table_arn\s+= data\.aws_dynamodb_table\.this\.arn$", text, re.MULTILINE)
    # Not a prefix of an undocumented field inside the stream record.
    assert "eventSourceARN" not in rule
    assert "prefix =" not in rule


# --- variables and READMEs --------------------------------------------------------------------------


@pytest.mark.parametrize("folder", [*module_dirs(), *env_dirs()], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_variable_has_description_type_and_validation(folder: Path) -> None:
    for name, body in blocks(folder, "variable").items():
        assert one(body.get("description")), f"{name}: no description"
        assert one(body.get("type")), f"{name}: no type"
        if not re.fullmatch(r"(\$\{)?bool\}?", str(one(body["type"]))):
            assert body.get("validation"), f"{name}: no validation block"
        assert not re.search(r"\bany\b", str(body["type"])), f"{name}: prefer a typed object to any"


def _docs_table(readme: str, heading: str) -> set[str]:
    docs = readme.split("<!-- BEGIN_TF_DOCS -->", 1)[1].split("<!-- END_TF_DOCS -->", 1)[0]
    section = docs.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| <a name=\"[^\"]+\"></a> \[([a-z0-9_]+)\]", section, flags=re.MULTILINE))


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_readme_inputs_and_outputs_tables_list_exactly_the_module_s(module: Path) -> None:
    readme = (module / "README.md").read_text(encoding="utf-8")

    assert _docs_table(readme, "Inputs") == set(blocks(module, "variable"))
    assert _docs_table(readme, "Outputs") == set(blocks(module, "output"))


@pytest.mark.parametrize("module", module_dirs(), ids=lambda p: p.name)
def test_module_has_the_standard_files(module: Path) -> None:
    expected = {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"}
    if module == TABLE_MODULE:
        expected |= {"iam.tf", "alarms.tf"}

    assert expected <= {p.name for p in module.iterdir()}


def test_checkov_skips_carry_a_reason() -> None:
    for path in ENVS.parent.rglob("*.tf"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{path}: {line.strip()}"


def test_environment_accepts_exactly_the_yaml_models_per_table_fields() -> None:
    text = (ENV_MODULE / "variables.tf").read_text(encoding="utf-8")

    listed = re.search(r"setsubtract\(fields, \[(.*?)\]\)", text, flags=re.DOTALL)

    assert listed, "archive-environment's yaml_table_fields validation lists the accepted fields"
    assert set(re.findall(r'"([a-z_]+)"', listed.group(1))) == set(TableConfig.model_fields)


# --- issue 13: what is applied tomorrow keeps every deletion ---------------------------------------


def test_dead_letter_queue_takes_the_largest_letter_the_bus_and_lambda_send() -> None:
    queue = resources(TABLE_MODULE)[("aws_sqs_queue", "dead_letters")]

    # 1 MiB: events, async payloads and their on-failure records go up to 1 MB; the provider's
    # default (256 KiB) refused the ones above it, leaving only an alarm.
    assert one(queue["max_message_size"]) == 1048576


@pytest.mark.parametrize(
    ("module", "rtype", "name"),
    [
        (ENV_MODULE, "aws_s3_bucket", "this"),
        (ENV_MODULE, "aws_kms_key", "this"),
        (TABLE_MODULE, "aws_sqs_queue", "dead_letters"),
    ],
)
def test_where_data_lives_cannot_be_destroyed_by_a_plan(module: Path, rtype: str, name: str) -> None:
    lifecycle = one(resources(module)[(rtype, name)]["lifecycle"])

    assert one(lifecycle["prevent_destroy"]) is True


def test_turning_object_lock_on_later_does_not_replace_the_bucket() -> None:
    found = resources(ENV_MODULE)

    assert "object_lock_enabled" not in found[("aws_s3_bucket", "this")]
    assert one(found[("aws_s3_bucket_object_lock_configuration", "this")]["object_lock_enabled"]) == "Enabled"


def test_in_bus_mode_the_pipe_starts_after_everything_its_events_pass_through() -> None:
    pipe = resources(TABLE_MODULE)[("aws_pipes_pipe", "this")]

    after = set(pipe["depends_on"])

    assert {
        "${aws_cloudwatch_event_target.this}",
        "${aws_lambda_permission.events}",
        "${aws_lambda_function_event_invoke_config.this}",
        "${time_sleep.iam_propagation}",
    } <= after


def test_readers_wait_for_iam_and_the_wait_is_a_declared_provider() -> None:
    found = resources(TABLE_MODULE)
    mapping = found[("aws_lambda_event_source_mapping", "this")]
    providers = one(blocks(TABLE_MODULE, "terraform")["required_providers"])

    assert "${time_sleep.iam_propagation}" in mapping["depends_on"]
    assert ("time_sleep", "iam_propagation") in found
    assert one(providers["time"])["source"] == "hashicorp/time"
    for env in env_dirs():
        assert "time" in one(blocks(env, "terraform")["required_providers"]), env.name


def test_stream_delivery_maps_the_stream_to_the_function_with_bounded_retries_and_a_dead_letter_queue() -> None:
    mapping = resources(TABLE_MODULE)[("aws_lambda_event_source_mapping", "this")]

    assert one(mapping["count"]) == "${local.stream ? 1 : 0}"
    assert one(mapping["function_response_types"]) == "ReportBatchItemFailures"
    assert one(mapping["bisect_batch_on_function_error"]) is True
    assert one(mapping["maximum_record_age_in_seconds"]) == "${var.maximum_record_age_in_seconds}"
    assert one(mapping["batch_size"]) == "${local.batch.size}"
    assert one(mapping["maximum_batching_window_in_seconds"]) == "${local.batch.window_seconds}"
    on_failure = one(one(mapping["destination_config"])["on_failure"])
    assert one(on_failure["destination_arn"]) == "${aws_sqs_queue.dead_letters.arn}"
    # The same filter as the pipe's: only the captured deletions are ever invoked.
    assert "local.filters" in str(mapping["filter_criteria"])
    assert "local.filters" in str(resources(TABLE_MODULE)[("aws_pipes_pipe", "this")]["source_parameters"])


def test_only_the_archives_pipes_may_put_the_events_its_rules_archive() -> None:
    document = data_sources(ENV_MODULE)[("aws_iam_policy_document", "bus")]
    statement = one(policy_statements(document))
    conditions = {one(c["variable"]): (one(c["test"]), one(c["values"])) for c in statement["condition"]}

    assert one(statement["effect"]) == "Deny" and one(statement["actions"]) == "events:PutEvents"
    assert conditions["events:source"] == ("StringEquals", "dynamo-archive")
    assert conditions["aws:PrincipalArn"] == ("ArnNotLike", "${local.pipe_roles}")
    # The pipe roles are what the table module names them, and the rule matches that source.
    table = (TABLE_MODULE / "iam.tf").read_text(encoding="utf-8")
    assert 'name                 = "${local.name}-pipe"' in table
    assert 'event_source      = "dynamo-archive"' in (TABLE_MODULE / "main.tf").read_text(encoding="utf-8")
    assert ':role/${var.name_prefix}-*-pipe"' in (ENV_MODULE / "main.tf").read_text(encoding="utf-8")


@pytest.mark.parametrize("env", env_dirs(), ids=lambda p: p.name)
def test_environment_runs_only_in_its_yaml_account_and_alarms_reach_its_yaml_topic(env: Path) -> None:
    provider = one(blocks(env, "provider")["aws"])
    call = table_module_calls(env)[0]
    config = load_config(ROOT / "config" / f"{env.name}.yaml")

    assert one(provider["allowed_account_ids"]) == "${local.config.account_id}"
    assert one(call["alarm_topic_arn"]) == "${local.config.alarm_topic_arn}"
    assert config.account_id and config.alarm_topic_arn


def test_alarm_topic_is_required_by_the_module() -> None:
    variable = blocks(TABLE_MODULE, "variable")["alarm_topic_arn"]

    assert "default" not in variable
    assert one(variable["nullable"]) is False
