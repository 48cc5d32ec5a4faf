"""The Terraform tree agrees with the Python side: YAML model <-> module variables, Settings <-> the
function's environment, environments built from their YAML only, variables and READMEs complete."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from adapters.config import TableConfig, load_config
from adapters.settings import ENV_PREFIX, Settings
from tests.terraform.conftest import ENVS, MODULES, ROOT, blocks, env_dirs, one, resources

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
    "batch_size", "maximum_batching_window_in_seconds", "starting_position", "parallelization_factor",
    "maximum_retry_attempts", "maximum_record_age_in_seconds", "on_partial_batch_item_failure",
    "maximum_event_age_in_seconds", "async_retry_attempts", "dead_letter_retention_seconds",
    "metrics_namespace", "create_alarms", "alarm_topic_arn", "tags",
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
