"""The table module's variables and variable-only locals, evaluated by Terraform itself.

``terraform validate`` and ``plan`` need the AWS provider, which cannot be downloaded here; but
``terraform console`` runs without any provider on a folder holding only variables and locals. So
these tests copy variables.tf and the provider-free ``locals`` blocks of the module into a temporary
folder and ask Terraform: are the YAML's tables accepted, are bad values refused with a message,
and does the pipe's stream filter keep exactly the deletions a table captures?
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from pydantic import ValidationError

from adapters.config import BATCH_LIMITS, Retention, TableConfig
from archiver.archive import table_folder
from tests.terraform.conftest import MODULES, ROOT

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

TABLE_MODULE = MODULES / "table-archive"
ENV_MODULE = MODULES / "archive-environment"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Values for the module's required environment-level variables.
REQUIRED = {
    "table_name": "orders",
    "bucket_name": "acme-dynamo-archive-dev",
    "kms_key_arn": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "event_bus_name": "dynamo-archive-dev",
    "lambda_package": {"path": "build/lambda.zip", "sha256": "XdwsmP6otG4JlP4nqZ40r3KTvdEskkNpqnzgSGKryUQ="},
    "alarm_topic_arn": "arn:aws:sns:eu-west-1:123456789012:dynamo-archive-dev-alarms",
}


class TerraformError(Exception):
    """terraform console refused the inputs; the message is Terraform's."""


def flat(error: BaseException) -> str:
    """Terraform's message on one line: its box-drawing margin and line wrapping removed."""
    return " ".join(str(error).replace("\u2502", " ").split())


def locals_blocks(text: str) -> list[str]:
    """The top-level ``locals`` blocks of ``text``."""
    return [m.group(0) for m in re.finditer(r"^locals \{\n.*?^\}\n", text, flags=re.MULTILINE | re.DOTALL)]


def provider_free_locals(text: str) -> list[str]:
    """The top-level ``locals`` blocks of ``text`` that read only variables and other locals."""
    return [block for block in locals_blocks(text) if not re.search(r"\b(data|module)\.|\baws_[a-z_]+\.", block)]


#: A resource attribute read by a locals block: aws_sqs_queue.dead_letters.name, aws_x.this[0].arn.
RESOURCE_ATTRIBUTE = re.compile(r"\baws_[a-z0-9_]+\.[a-z0-9_]+(?:\[0\])?\.[a-z_]+")


def with_stand_ins(block: str) -> str:
    """``block`` with every resource attribute replaced by the string ``"<type.name.attribute>"``, so
    Terraform can evaluate what the block builds from them (names, dimensions) without a provider."""
    return RESOURCE_ATTRIBUTE.sub(lambda match: json.dumps(f"<{match.group(0)}>"), block)


def console(folder: Path, module: Path, required: dict[str, Any], extra: Sequence[str] = ()) -> Callable[..., Any]:
    """An evaluator of expressions over ``module``'s variables, its provider-free locals (of every
    file) and the ``extra`` blocks."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: the module's expressions cannot be evaluated")
    shutil.copy(module / "variables.tf", folder / "variables.tf")
    blocks = [
        block
        for path in sorted(module.glob("*.tf"))
        if path.name != "variables.tf"
        for block in provider_free_locals(path.read_text(encoding="utf-8"))
    ]
    (folder / "locals.tf").write_text("\n".join([*blocks, *extra]), encoding="utf-8")

    def run(expression: str, **variables: Any) -> Any:
        values = {**required, **variables}
        (folder / "inputs.tfvars.json").write_text(json.dumps(values), encoding="utf-8")
        result = subprocess.run(
            [terraform, "console", "-var-file=inputs.tfvars.json"],
            input=f"jsonencode({expression})\n", cwd=folder, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        errors = ANSI.sub("", result.stderr + result.stdout)
        if "Error:" in errors:
            raise TerraformError(errors)
        last = [line for line in result.stdout.splitlines() if line.strip()][-1]
        return json.loads(json.loads(last))

    return run


@pytest.fixture(scope="module")
def evaluate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    return console(tmp_path_factory.mktemp("table-archive"), TABLE_MODULE, REQUIRED)


@pytest.fixture(scope="module")
def evaluate_alarms(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """The table module's evaluator, plus the alarm locals with stand-ins for resource names."""
    alarms = [
        with_stand_ins(block) for block in locals_blocks((TABLE_MODULE / "alarms.tf").read_text(encoding="utf-8"))
    ]
    assert alarms, "alarms.tf builds its alarms in a locals block"
    return console(tmp_path_factory.mktemp("table-alarms"), TABLE_MODULE, REQUIRED, extra=alarms)


@pytest.fixture(scope="module")
def evaluate_environment(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    required = {"environment": "dev", "bucket_name": "acme-dynamo-archive-dev"}
    return console(tmp_path_factory.mktemp("archive-environment"), ENV_MODULE, required)


# --- the YAML's tables are accepted as they are -------------------------------------------------------


def yaml_tables() -> list[tuple[str, dict[str, Any]]]:
    tables = []
    for path in sorted((ROOT / "config").glob("*.yaml")):
        for table in yaml.safe_load(path.read_text(encoding="utf-8"))["tables"]:
            tables.append((f"{path.stem}:{table['name']}", table))
    return tables


@pytest.mark.parametrize(("label", "table"), yaml_tables(), ids=[label for label, _ in yaml_tables()])
def test_every_yaml_table_is_accepted_by_the_module_as_the_environment_passes_it(
    evaluate: Callable[..., Any], label: str, table: dict[str, Any]
) -> None:
    passed = {field: value for field, value in table.items() if field not in {"name", "key_schema"}}

    capture = evaluate("var.capture", table_name=table["name"], **passed)

    assert sorted(capture) == sorted(table.get("capture", ["user", "ttl"]))


def test_absent_yaml_fields_take_the_module_defaults(evaluate: Callable[..., Any]) -> None:
    nulls = dict.fromkeys(
        ["prefix", "capture", "ttl_attribute", "drop_attributes", "retention", "delivery", "layout", "batch"]
    )

    values = evaluate(
        "[var.prefix, var.capture, var.ttl_attribute, var.drop_attributes, var.retention, var.delivery, var.layout,"
        " var.batch, local.batch]",
        **nulls,
    )

    assert values == [
        "archive",
        ["ttl", "user"],
        None,
        [],
        {},
        "bus",
        "objects",
        {},
        {"size": 10, "window_seconds": 5},
    ]


# --- bad values are refused at plan time, with a message ------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"capture": ["user", "expired"]}, "capture takes one or both of: user, ttl"),
        ({"capture": []}, "capture takes one or both of: user, ttl"),
        ({"table_name": "ab"}, "table_name is a DynamoDB table name"),
        ({"prefix": "/archive"}, "prefix is empty or at most 128 bytes"),
        ({"prefix": "archive/../other"}, "prefix is empty or at most 128 bytes"),
        ({"prefix": "a" * 129}, "prefix is empty or at most 128 bytes"),
        ({"retention": {"transition_after_days": 10}}, "transition_after_days >= 30"),
        (
            {"retention": {"transition_after_days": 90, "expire_after_days": 90}},
            "expire_after_days >= transition_after_",
        ),
        ({"retention": {"transition_after_days": 90, "expire_after_days": 119}}, "STANDARD_IA bills 30 days at least"),
        ({"retention": {"expire_after_day": 90}}, "retention takes only transition_after_days and expire_after_days"),
        ({"delivery": "sns"}, "delivery is bus, direct or stream"),
        ({"layout": "parquet"}, "layout is objects or compact"),
        ({"layout": "compact"}, "layout compact needs delivery direct or stream"),
        ({"batch": {"size": 11}}, "from 1 to 10 when delivery is bus"),
        ({"batch": {"size": 1001}, "delivery": "direct"}, "1000 when direct"),
        ({"batch": {"size": 10001}, "delivery": "stream"}, "10000 when stream"),
        ({"batch": {"size": 0}, "delivery": "stream"}, "batch.size is a whole number"),
        ({"batch": {"window_seconds": 301}}, "batch.window_seconds is a whole number from 0 to 300"),
        ({"batch": {"windows_seconds": 5}}, "batch takes only size and window_seconds"),
        ({"timeout": 300, "delivery": "direct"}, "at most 240 when delivery is direct"),
        ({"maximum_record_age_in_seconds": -1}, "maximum_record_age_in_seconds is between 60 and 86399"),
        ({"maximum_record_age_in_seconds": 86400}, "the stream trims records at 24 hours"),
        ({"dead_letter_retention_seconds": 3600}, "dead_letter_retention_seconds is between 86400"),
        ({"alarm_topic_arn": None}, "alarm_topic_arn"),
        ({"retention": {"expire_after_days": 10**30}}, "S3 lifecycle Days is a 32-bit integer"),
        ({"timeout": 901}, "timeout is between 1 and 900 seconds"),
        ({"event_bus_name": None}, "event_bus_name is required when delivery is bus"),
        ({"kms_key_arn": "alias/archive"}, "kms_key_arn is a KMS key ARN"),
        ({"lambda_package": {"path": "lambda.zip", "sha256": "abc"}}, "lambda_package is"),
        ({"reserved_concurrent_executions": 0}, "reserved_concurrent_executions is -1"),
        ({"reserved_concurrent_executions": 2.5}, "reserved_concurrent_executions is -1"),
        ({"log_retention_days": 42}, "log_retention_days is one of"),
        ({"metrics_namespace": "AWS/Lambda"}, "metrics_namespace is 1 to 255 of"),
        ({"metrics_namespace": "archive$"}, "metrics_namespace is 1 to 255 of"),
        ({"metrics_namespace": ""}, "metrics_namespace is 1 to 255 of"),
        ({"archive_lag_alarm_threshold_ms": 0}, "archive_lag_alarm_threshold_ms is a number of milliseconds above 0"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else None,
)
def test_bad_values_are_refused_with_a_message(
    evaluate: Callable[..., Any], variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(TerraformError) as refused:
        evaluate("var.capture", **variables)

    assert message in flat(refused.value)


def test_environment_refuses_a_yaml_table_field_it_does_not_know(evaluate_environment: Callable[..., Any]) -> None:
    with pytest.raises(TerraformError) as refused:
        evaluate_environment("var.yaml_table_fields", yaml_table_fields={"orders": ["name", "captures"]})

    assert "not a per-table setting" in flat(refused.value)


@pytest.mark.parametrize(
    "retention",
    [
        {"transition_after_days": 30},
        {"expire_after_days": 1},
        {"transition_after_days": 10},
        {"transition_after_days": 30, "expire_after_days": 60},
        {"transition_after_days": 30, "expire_after_days": 59},
        {"transition_after_days": 90, "expire_after_days": 90},
        {"transition_after_days": 90, "expire_after_days": 2555},
        {"expire_after_days": 2**31 - 1},
        {"expire_after_days": 2**31},
    ],
    ids=lambda r: "-".join(f"{k[0]}{v}" for k, v in r.items()),
)
def test_terraform_and_the_yaml_model_accept_the_same_retentions(
    evaluate: Callable[..., Any], evaluate_environment: Callable[..., Any], retention: dict[str, int]
) -> None:
    try:
        Retention(**retention)
        python_accepts = True
    except ValidationError:
        python_accepts = False

    def accepts(run: Callable[[], Any]) -> bool:
        try:
            run()
        except TerraformError:
            return False
        return True

    table = accepts(lambda: evaluate("var.retention", retention=retention))
    environment = accepts(
        lambda: evaluate_environment("var.tables", tables={"orders": {"folder": "o/", "retention": retention}})
    )

    assert table == environment == python_accepts


def test_a_compact_tables_files_all_move_to_standard_ia_an_objects_tables_small_ones_stay(
    evaluate_environment: Callable[..., Any],
) -> None:
    # A compact file holds a batch; objects below 128 KiB would be billed 128 KiB in STANDARD_IA.
    tables = {
        "events": {"folder": "archive/events/", "layout": "compact", "retention": {"transition_after_days": 30}},
        "orders": {"folder": "archive/orders/", "layout": "objects", "retention": {"transition_after_days": 30}},
    }

    transition = evaluate_environment("local.transition_rules", tables=tables)

    assert {r["folder"]: r["small_objects_stay"] for r in transition} == {
        "archive/events/": False,
        "archive/orders/": True,
    }


def test_environment_refuses_a_retention_expiring_within_standard_ia_s_30_days(
    evaluate_environment: Callable[..., Any],
) -> None:
    tables = {
        "orders": {"folder": "archive/orders/", "retention": {"transition_after_days": 90, "expire_after_days": 100}}
    }

    with pytest.raises(TerraformError) as refused:
        evaluate_environment("var.tables", tables=tables)

    assert "expire_after_days >= transition_after_days + 30" in flat(refused.value)


def test_environment_refuses_a_table_folder_inside_another_s(evaluate_environment: Callable[..., Any]) -> None:
    # Table a under prefix archive, table b under prefix archive/a: archive/a/ holds archive/a/b/,
    # so a's PutObject grant and lifecycle rules would reach b's objects.
    tables = {
        "a": {"folder": "archive/a/", "retention": {}},
        "b": {"folder": "archive/a/b/", "retention": {"expire_after_days": 30}},
        "c": {"folder": "archive/c/", "retention": {}},
    }

    with pytest.raises(TerraformError) as refused:
        evaluate_environment("var.tables", tables=tables)

    message = flat(refused.value)
    assert "Table folders overlap: a (archive/a/) contains b (archive/a/b/)" in message
    assert "(archive/c/)" not in message


def test_environment_accepts_folders_that_only_share_a_name_prefix(evaluate_environment: Callable[..., Any]) -> None:
    tables = {
        "orders": {"folder": "archive/orders/", "retention": {}},
        "orders-v2": {"folder": "archive/orders-v2/", "retention": {}},
        "archive": {"folder": "other/archive/", "retention": {}},
    }

    accepted = evaluate_environment("var.tables", tables=tables)

    assert sorted(accepted) == ["archive", "orders", "orders-v2"]


def test_environment_accepts_the_yaml_tables_fields(evaluate_environment: Callable[..., Any]) -> None:
    fields = sorted(TableConfig.model_fields)

    accepted = evaluate_environment("var.yaml_table_fields", yaml_table_fields={"orders": fields})

    assert sorted(accepted["orders"]) == fields


def test_function_reserves_no_concurrency_unless_asked(evaluate: Callable[..., Any]) -> None:
    # -1 is the provider's "unreserved": a reservation per function can exceed a new account's quota.
    assert evaluate("var.reserved_concurrent_executions") == -1
    assert evaluate("var.reserved_concurrent_executions", reserved_concurrent_executions=5) == 5


def test_function_traces_only_what_its_caller_samples(evaluate: Callable[..., Any]) -> None:
    # Active tracing samples (and bills) invocations of its own; PassThrough follows the caller.
    assert evaluate("var.tracing_mode") == "PassThrough"


@pytest.mark.parametrize(("delivery", "most"), [("direct", 1000), ("stream", 10000)])
def test_batching_deliveries_need_no_bus_and_take_bigger_batches(
    evaluate: Callable[..., Any], delivery: str, most: int
) -> None:
    batch = evaluate("local.batch", delivery=delivery, event_bus_name=None, batch={"size": most})

    assert batch["size"] == most


@pytest.mark.parametrize("delivery", ["bus", "direct", "stream"])
def test_terraform_fills_a_batch_with_the_same_defaults_as_the_yaml_model(
    evaluate: Callable[..., Any], delivery: str
) -> None:
    # given a YAML table of this delivery with and without a partial batch
    for batch in ({}, {"size": 7}, {"window_seconds": 0}):
        table = TableConfig(name="orders", delivery=delivery, **({"batch": batch} if batch else {}))
        # when Terraform fills in the gaps
        deployed = evaluate("local.batch", delivery=delivery, batch=batch)
        # then it deploys what the local pipe and the docs call the effective batch
        assert (deployed["size"], deployed["window_seconds"]) == table.effective_batch


@pytest.mark.parametrize(
    ("delivery", "size"),
    [("bus", 10), ("bus", 11), ("direct", 1000), ("direct", 1001), ("stream", 10000), ("stream", 10001)],
)
def test_terraform_and_the_yaml_model_take_the_same_batch_sizes(
    evaluate: Callable[..., Any], delivery: str, size: int
) -> None:
    try:
        TableConfig(name="orders", delivery=delivery, batch={"size": size})
        python_accepts = True
    except ValidationError:
        python_accepts = False
    try:
        evaluate("local.batch", delivery=delivery, batch={"size": size})
        terraform_accepts = True
    except TerraformError:
        terraform_accepts = False

    assert terraform_accepts == python_accepts == (size == BATCH_LIMITS[delivery][0])


def test_a_new_reader_starts_at_the_trim_horizon_so_a_replaced_one_misses_nothing(
    evaluate: Callable[..., Any],
) -> None:
    assert evaluate("var.starting_position") == "TRIM_HORIZON"


def test_function_finishes_well_inside_a_pipe_execution_s_five_minutes(evaluate: Callable[..., Any]) -> None:
    # A pipe cuts an execution at 5 minutes and retries the batch: the default leaves room, and a
    # direct table may go up to 240 s while a bus table (asynchronous, one record) may go further.
    assert evaluate("var.timeout", delivery="direct", event_bus_name=None) == 120
    assert evaluate("var.timeout", delivery="direct", event_bus_name=None, timeout=240) == 240
    assert evaluate("var.timeout", delivery="bus", timeout=600) == 600


# --- names and key folder --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "table", "folder"),
    [("archive", "orders", "archive/orders/"), ("", "orders", "orders/"), ("a/b", "t.v2", "a/b/t.v2/")],
)
def test_folder_is_the_cores_table_folder(evaluate: Callable[..., Any], prefix: str, table: str, folder: str) -> None:
    assert evaluate("local.folder", prefix=prefix, table_name=table) == folder == table_folder(prefix, table)


def test_names_fit_lambda_and_stay_distinct(evaluate: Callable[..., Any]) -> None:
    long_a, long_b = "t" * 200 + "a", "t" * 200 + "b"

    plain = evaluate("local.name", table_name="orders")
    dotted = evaluate("local.name", table_name="orders.v2")
    names = [evaluate("local.name", table_name=table) for table in (long_a, long_b)]

    assert plain == "dynamo-archive-orders"
    assert "." not in dotted and dotted != evaluate("local.name", table_name="orders-v2")
    assert names[0] != names[1]
    assert all(len(name) <= 56 and re.fullmatch(r"[A-Za-z0-9_-]+", name) for name in [dotted, *names])
    # archive-environment's key policy allows CloudWatch Logs and EventBridge on <name_prefix>-* only.
    assert all(name.startswith("dynamo-archive-") for name in [plain, dotted, *names])
    assert evaluate("local.name", table_name=long_a, name_prefix="p" * 30).startswith("p" * 30 + "-")


# --- the stream filter keeps exactly what a table captures ------------------------------------------------


def matches(pattern: Any, value: Any, present: bool = True) -> bool:
    """EventBridge pattern matching, for the operators the module uses (values, exists, anything-but)."""
    if isinstance(pattern, dict):
        value = value if present and isinstance(value, dict) else {}
        return all(matches(sub, value.get(key), key in value) for key, sub in pattern.items())
    for rule in pattern:
        if isinstance(rule, dict) and "exists" in rule:
            if rule["exists"] == present:
                return True
        elif isinstance(rule, dict) and "anything-but" in rule:
            excluded = rule["anything-but"] if isinstance(rule["anything-but"], list) else [rule["anything-but"]]
            if present and value not in excluded:
                return True
        elif present and value == rule:
            return True
    return False


def record(event: str, *, ttl_identity: bool = False, ttl_value: bool = False) -> dict[str, Any]:
    old_image: dict[str, Any] = {"pk": {"S": "order#1"}}
    if ttl_value:
        old_image["expires_at"] = {"N": "1732814857"}
    raw: dict[str, Any] = {"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": {"OldImage": old_image}}
    if ttl_identity:
        raw["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return raw


RECORDS = {
    "insert": record("INSERT"),
    "modify": record("MODIFY", ttl_value=True),
    "user_remove": record("REMOVE"),
    "user_remove_of_item_with_ttl": record("REMOVE", ttl_value=True),
    "ttl_remove": record("REMOVE", ttl_identity=True, ttl_value=True),
    "other_service_remove": {**record("REMOVE"), "userIdentity": {"type": "Service", "principalId": "other"}},
}


@pytest.mark.parametrize(
    ("capture", "ttl_attribute", "kept"),
    [
        (["user", "ttl"], None, {"user_remove", "user_remove_of_item_with_ttl", "ttl_remove", "other_service_remove"}),
        (["user"], None, {"user_remove", "user_remove_of_item_with_ttl", "other_service_remove"}),
        (["user"], "expires_at", {"user_remove", "user_remove_of_item_with_ttl", "other_service_remove"}),
        (["ttl"], None, {"ttl_remove"}),
        # A replicated TTL deletion carries no identity: items holding the TTL attribute get through,
        # and the function decides by the attribute's value.
        (["ttl"], "expires_at", {"ttl_remove", "user_remove_of_item_with_ttl"}),
    ],
)
def test_stream_filter_keeps_exactly_the_captured_deletions(
    evaluate: Callable[..., Any], capture: list[str], ttl_attribute: str | None, kept: set[str]
) -> None:
    filters = [json.loads(f) for f in evaluate("local.filters", capture=capture, ttl_attribute=ttl_attribute)]

    passed = {name for name, raw in RECORDS.items() if any(matches(f, raw) for f in filters)}

    assert passed == kept
    assert len(filters) <= 5, "a pipe takes at most five filters"


def test_lifecycle_rules_merge_every_tables_retention(evaluate_environment: Callable[..., Any]) -> None:
    long_name = "t" * 250
    tables = {
        "orders": {"folder": "archive/orders/", "retention": {"transition_after_days": 90, "expire_after_days": 2555}},
        "sessions": {"folder": "archive/sessions/", "retention": {"expire_after_days": 365}},
        "customers": {"folder": "customers/", "retention": {}},
        long_name: {"folder": f"archive/{long_name}/", "retention": {"transition_after_days": 30}},
    }

    expire = evaluate_environment("local.expire_rules", tables=tables)
    transition = evaluate_environment("local.transition_rules", tables=tables)

    assert {(r["folder"], r["expire_after_days"]) for r in expire} == {
        ("archive/orders/", 2555),
        ("archive/sessions/", 365),
        ("customers/", None),
        (f"archive/{long_name}/", None),
    }
    assert {(r["folder"], r["transition_after_days"]) for r in transition} == {
        ("archive/orders/", 90),
        (f"archive/{long_name}/", 30),
    }
    # A table's layout defaults to objects: only objects above 128 KiB move to STANDARD_IA.
    assert all(r["small_objects_stay"] for r in transition)
    ids = [r["id"] for r in expire + transition]
    assert len(set(ids)) == len(ids) and all(len(i) <= 255 for i in ids)


# --- alarms: every signal that a deletion may be lost or late ---------------------------------------

QUEUE = {"QueueName": "<aws_sqs_queue.dead_letters.name>"}
FUNCTION = {"FunctionName": "<aws_lambda_function.this.function_name>"}
PIPE = {"PipeName": "dynamo-archive-orders"}
RULE = {"EventBusName": "dynamo-archive-dev", "RuleName": "<aws_cloudwatch_event_rule.this[0].name>"}

#: Signal -> (namespace, metric, dimensions, deliveries it watches) of every alarm.
ALARMS = {
    "dead-letters": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", QUEUE, {"bus", "direct", "stream"}),
    "archive-lag": ("DynamoArchive", "ArchiveLag", {"Table": "orders"}, {"bus", "direct", "stream"}),
    # A stopped, disabled or deleted reader publishes nothing: archive-environment's check does.
    "reader-stopped": (
        "DynamoArchive",
        "ReaderRunning",
        {"Reader": "dynamo-archive-orders"},
        {"bus", "direct", "stream"},
    ),
    "errors": ("AWS/Lambda", "Errors", FUNCTION, {"bus", "direct", "stream"}),
    "throttles": ("AWS/Lambda", "Throttles", FUNCTION, {"bus", "direct", "stream"}),
    # A record answered in batchItemFailures leaves Errors at 0.
    "failed-records": ("DynamoArchive", "Failed", {"Table": "orders"}, {"direct", "stream"}),
    "pipe-execution-failed": ("AWS/EventBridge/Pipes", "ExecutionFailed", PIPE, {"bus", "direct"}),
    "pipe-execution-partially-failed": ("AWS/EventBridge/Pipes", "ExecutionPartiallyFailed", PIPE, {"bus", "direct"}),
    "pipe-target-stage-failed": ("AWS/EventBridge/Pipes", "TargetStageFailed", PIPE, {"bus", "direct"}),
    "pipe-execution-timeout": ("AWS/EventBridge/Pipes", "ExecutionTimeout", PIPE, {"bus", "direct"}),
    "pipe-execution-throttled": ("AWS/EventBridge/Pipes", "ExecutionThrottled", PIPE, {"bus", "direct"}),
    "iterator-age": ("AWS/Lambda", "IteratorAge", FUNCTION, {"stream"}),
    "rule-failed-invocations": ("AWS/Events", "FailedInvocations", RULE, {"bus"}),
    # A dead letter that never reached the queue: the queue's depth cannot show it.
    "rule-dead-letter-failed": ("AWS/Events", "InvocationsFailedToBeSentToDlq", RULE, {"bus"}),
    "destination-delivery-failures": ("AWS/Lambda", "DestinationDeliveryFailures", FUNCTION, {"bus", "stream"}),
}


@pytest.mark.parametrize("delivery", ["bus", "direct", "stream"])
def test_alarms_watch_every_signal_of_loss_or_delay_with_its_metric_and_dimensions(
    evaluate_alarms: Callable[..., Any], delivery: str
) -> None:
    alarms = evaluate_alarms(
        "local.alarms", delivery=delivery, event_bus_name=None if delivery != "bus" else "dynamo-archive-dev"
    )

    expected = {name: spec[:3] for name, spec in ALARMS.items() if delivery in spec[3]}
    assert {name: (a["namespace"], a["metric"], a["dimensions"]) for name, a in alarms.items()} == expected


def test_count_alarms_fire_on_the_first_event_in_five_minutes(evaluate_alarms: Callable[..., Any]) -> None:
    alarms = {**evaluate_alarms("local.alarms"), **evaluate_alarms("local.alarms", delivery="stream")}

    counts = {
        name: a
        for name, a in alarms.items()
        if name not in {"archive-lag", "dead-letters", "reader-stopped", "iterator-age"}
    }
    assert all(a["statistic"] == "Sum" and a["extended_statistic"] is None for a in counts.values())
    assert all(a["threshold"] == 0 and a["comparison"] == "GreaterThanThreshold" for a in counts.values())
    assert all(a["treat_missing_data"] == "notBreaching" for name, a in alarms.items() if name != "reader-stopped")
    assert alarms["dead-letters"]["statistic"] == "Maximum"
    assert (alarms["iterator-age"]["statistic"], alarms["iterator-age"]["threshold"]) == ("Maximum", 300000)


def test_a_reader_that_reports_nothing_is_an_alarm_not_a_quiet_table(evaluate_alarms: Callable[..., Any]) -> None:
    reader = evaluate_alarms('local.alarms["reader-stopped"]')

    assert (reader["statistic"], reader["comparison"], reader["threshold"]) == ("Minimum", "LessThanThreshold", 1)
    assert reader["treat_missing_data"] == "breaching"
    assert (reader["datapoints_to_alarm"], reader["evaluation_periods"]) == (2, 3)


def test_lag_alarm_is_on_the_p99_against_the_threshold_variable(evaluate_alarms: Callable[..., Any]) -> None:
    default = evaluate_alarms("local.alarms")["archive-lag"]
    custom = evaluate_alarms(
        'local.alarms["archive-lag"]', archive_lag_alarm_threshold_ms=60000, metrics_namespace="Acme/Archive"
    )

    assert (default["statistic"], default["extended_statistic"], default["threshold"]) == (None, "p99", 300000)
    assert (custom["namespace"], custom["threshold"]) == ("Acme/Archive", 60000)


def test_no_alarm_without_create_alarms(evaluate_alarms: Callable[..., Any]) -> None:
    assert evaluate_alarms("local.alarms", create_alarms=False) == {}


# --- the environment's dashboard: a row per table, a widget per signal ----------------------------------


def monitoring(table: str, delivery: str = "bus", layout: str = "objects") -> dict[str, Any]:
    """What the table module's ``monitoring`` output holds for ``table`` (names as the module gives them)."""
    name = f"dynamo-archive-{table}"
    return {
        "region": "eu-west-1",
        "delivery": delivery,
        "layout": layout,
        "metrics_namespace": "DynamoArchive",
        "function_name": name,
        "pipe_name": None if delivery == "stream" else name,
        "dead_letter_queue_names": [f"{name}-dlq"],
        "event_bus_name": "dynamo-archive-dev" if delivery == "bus" else None,
        "rule_name": name if delivery == "bus" else None,
        "archive_lag_alarm_threshold_ms": 300000,
    }


def signals(table: str, delivery: str) -> dict[str, set[tuple[Any, ...]]]:
    """Signal -> the metrics (namespace, metric, dimension name/value pairs) its widget must plot."""
    name = f"dynamo-archive-{table}"
    emf = {("DynamoArchive", m, "Table", table) for m in ["Archived", "DeadLettered"]}
    expected = {
        "records": emf,
        "lag": {
            ("DynamoArchive", "ArchiveLag", "Table", table, "p50"),
            ("DynamoArchive", "ArchiveLag", "Table", table, "p99"),
        },
        "dead letters": {("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"{name}-dlq")},
        "function": {("AWS/Lambda", m, "FunctionName", name) for m in ["Errors", "Throttles"]},
    }
    running = ("DynamoArchive", "ReaderRunning", "Reader", name, "Minimum")
    if delivery == "stream":
        expected["mapping"] = {
            ("AWS/Lambda", "IteratorAge", "FunctionName", name),
            ("AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", name, "Sum"),
            running,
        }
    else:
        expected["pipe"] = {
            ("AWS/EventBridge/Pipes", m, "PipeName", name)
            for m in [
                "ExecutionFailed",
                "ExecutionPartiallyFailed",
                "TargetStageFailed",
                "ExecutionTimeout",
                "ExecutionThrottled",
            ]
        } | {running}
    if delivery == "bus":
        expected["bus"] = {
            ("AWS/Events", m, "EventBusName", "dynamo-archive-dev", "RuleName", name)
            for m in ["FailedInvocations", "InvocationsFailedToBeSentToDlq"]
        } | {("AWS/Lambda", "DestinationDeliveryFailures", "FunctionName", name)}
    return expected


def plotted(widget: dict[str, Any]) -> set[tuple[Any, ...]]:
    """The metrics a metric widget plots, each with its per-metric stat when it sets one."""
    found = set()
    for metric in widget["properties"]["metrics"]:
        options = metric[-1] if isinstance(metric[-1], dict) else None
        names = tuple(metric[:-1] if options else metric)
        found.add((*names, options["stat"]) if options and "stat" in options else names)
    return found


@pytest.fixture(scope="module")
def dashboard(evaluate_environment: Callable[..., Any]) -> dict[str, Any]:
    tables = {
        "orders": monitoring("orders", "bus"),
        "sessions": monitoring("sessions", "direct"),
        "events": monitoring("events", "stream", "compact"),
    }
    return json.loads(evaluate_environment("local.dashboard_body", dashboard_tables=tables))


@pytest.mark.parametrize(("table", "delivery"), [("orders", "bus"), ("sessions", "direct"), ("events", "stream")])
def test_dashboard_has_a_widget_per_signal_for_each_table(dashboard: dict[str, Any], table: str, delivery: str) -> None:
    widgets = [
        w for w in dashboard["widgets"] if w["type"] == "metric" and w["properties"]["title"].startswith(f"{table}:")
    ]

    expected = signals(table, delivery)

    assert len(widgets) == len(expected)
    for signal, metrics in expected.items():
        assert any(metrics <= plotted(w) for w in widgets), f"{table}: no widget plots {signal}: {metrics}"
    assert all(w["properties"]["region"] == "eu-west-1" and w["properties"]["period"] == 60 for w in widgets)
    headers = [
        w for w in dashboard["widgets"] if w["type"] == "text" and f"### {table} " in w["properties"]["markdown"]
    ]
    assert len(headers) == 1


def test_dashboard_draws_the_lag_alarm_threshold_on_the_lag_graph(dashboard: dict[str, Any]) -> None:
    lag = next(w for w in dashboard["widgets"] if w["properties"].get("title") == "orders: archive lag (ms)")

    assert lag["properties"]["annotations"]["horizontal"][0]["value"] == 300000


def test_dashboard_widgets_fit_the_grid_without_overlapping(dashboard: dict[str, Any]) -> None:
    cells: set[tuple[int, int]] = set()
    for widget in dashboard["widgets"]:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24
        area = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not area & cells, f"{widget} overlaps another widget"
        cells |= area


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_yaml_table_gets_its_row_on_the_dashboard(evaluate_environment: Callable[..., Any], path: Path) -> None:
    tables = yaml.safe_load(path.read_text(encoding="utf-8"))["tables"]
    passed = {t["name"]: monitoring(t["name"], t.get("delivery", "bus"), t.get("layout", "objects")) for t in tables}

    body = json.loads(evaluate_environment("local.dashboard_body", dashboard_tables=passed))

    titles = [w["properties"].get("title", "") for w in body["widgets"]]
    for t in tables:
        assert sum(title.startswith(f"{t['name']}:") for title in titles) == len(
            signals(t["name"], t.get("delivery", "bus"))
        )
    assert len(body["widgets"]) <= 500


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"orders": {**monitoring("orders"), "rule_name": None}}, "event_bus_name and rule_name when delivery is bus"),
        ({"orders": {**monitoring("orders"), "delivery": "sns"}}, "delivery bus, direct or stream"),
        ({"orders": {**monitoring("orders", "direct"), "pipe_name": None}}, "pipe_name unless delivery is stream"),
        ({f"t{i:03}": monitoring(f"t{i:03}", "direct") for i in range(71)}, "at most 70 tables"),
    ],
    ids=["bus-without-rule", "unknown-delivery", "direct-without-pipe", "too-many-tables"],
)
def test_dashboard_refuses_what_it_cannot_draw(
    evaluate_environment: Callable[..., Any], tables: dict[str, Any], message: str
) -> None:
    with pytest.raises(TerraformError) as refused:
        evaluate_environment("var.dashboard_tables", dashboard_tables=tables)

    assert message in flat(refused.value)
