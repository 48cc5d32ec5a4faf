"""Settings and the YAML configuration: wrong values are refused naming the variable or field."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config import (
    BATCH_DEFAULTS,
    MAX_CONFIG_BYTES,
    MAX_LIFECYCLE_DAYS,
    MAX_YAML_DEPTH,
    ConfigError,
    EffectiveBatch,
    Retention,
    TableConfig,
    load_config,
    parse_config,
)
from adapters.settings import SettingsError, load_settings
from archiver.policy import DeletionKind

ROOT = Path(__file__).resolve().parents[2]
#: A deployed environment's required fields, around the tables a test is about.
DEV = {
    "environment": "dev",
    "bucket": "bucket-dev",
    "account_id": "123456789012",
    "alarm_topic_arn": "arn:aws:sns:eu-west-1:123456789012:alarms",
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "BUCKET",
        "PREFIX",
        "DLQ_URL",
        "TABLE",
        "CAPTURE",
        "TTL_ATTRIBUTE",
        "DROP_ATTRIBUTES",
        "KMS_KEY_ID",
        "MAX_CONCURRENCY",
        "LOG_LEVEL",
        "METRICS_NAMESPACE",
        "LAYOUT",
    ):
        monkeypatch.delenv(f"ARCHIVER_{name}", raising=False)
    monkeypatch.setenv("ARCHIVER_BUCKET", "archive-bucket")
    return monkeypatch


def test_settings_read_comma_separated_lists(env: pytest.MonkeyPatch) -> None:
    env.setenv("ARCHIVER_CAPTURE", "ttl")
    env.setenv("ARCHIVER_DROP_ATTRIBUTES", "token, secret")
    env.setenv("ARCHIVER_TABLE", "orders")
    settings = load_settings()
    policies = settings.policies()
    assert policies.default.capture == {DeletionKind.TTL}
    assert policies.default.drop_attributes == {"token", "secret"}
    assert policies.fallback_table == "orders"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ARCHIVER_CAPTURE", "user,tll"),
        ("ARCHIVER_MAX_CONCURRENCY", "0"),
        ("ARCHIVER_PREFIX", "/lead"),
        ("ARCHIVER_LOG_LEVEL", "LOUD"),
        ("ARCHIVER_METRICS_NAMESPACE", "Archive!"),
        ("ARCHIVER_METRICS_NAMESPACE", ""),
    ],
)
def test_wrong_settings_name_the_variable(env: pytest.MonkeyPatch, variable: str, value: str) -> None:
    env.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_missing_bucket_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.delenv("ARCHIVER_BUCKET")
    with pytest.raises(SettingsError, match="ARCHIVER_BUCKET: Field required"):
        load_settings()


@pytest.mark.parametrize("name", ["local", "dev", "prod"])
def test_every_environment_file_is_valid(name: str) -> None:
    config = load_config(ROOT / "config" / f"{name}.yaml")
    assert config.environment == name and config.tables


def test_config_errors_name_file_table_and_field() -> None:
    data = {
        **DEV,
        "tables": [{"name": "orders", "captur": ["user"]}, {"name": "users", "capture": ["deleted"]}],
    }
    with pytest.raises(ConfigError) as error:
        parse_config(data, "config/dev.yaml")
    text = str(error.value)
    assert "config/dev.yaml" in text
    assert "table 'orders', field captur: Extra inputs are not permitted" in text
    assert "table 'users', field capture.0" in text


@pytest.mark.parametrize(
    ("tables", "said"),
    [
        ([{"name": "orders"}, {"name": "orders"}], "listed twice: orders"),
        (
            [{"name": "orders", "retention": {"transition_after_days": 90, "expire_after_days": 30}}],
            "expire_after_days must be greater",
        ),
        ([{"name": "orders", "prefix": "a//b"}], "prefix 'a//b' is not accepted"),
        ([], "at least 1 item"),
    ],
)
def test_unworkable_tables_are_refused(tables: list, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        parse_config({**DEV, "tables": tables})


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("tables: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


# --- issue 8: what a user types or stores is refused at once, in one line naming where ---------


def _write(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "env.yaml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


VALID = (
    "environment: dev\naccount_id: '123456789012'\nalarm_topic_arn: arn:aws:sns:eu-west-1:123456789012:alarms\n"
    "bucket: dev-archive\ntables:\n  - name: orders\n"
)


def test_a_key_given_twice_is_refused_naming_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID + "bucket: other-archive\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    line = VALID.count("\n") + 1
    assert str(raised.value) == f"{path}:{line}:1: not valid YAML: key 'bucket' is given twice in one mapping; keep one"


def test_an_alias_bomb_is_refused_before_anything_is_expanded(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 12)]
    path = _write(tmp_path, "\n".join(lines) + "\n")

    with pytest.raises(ConfigError, match=r":1:5: not valid YAML: anchors and aliases \(& and \*\) are not accepted"):
        load_config(path)


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.encode() + b"# caf\xe9\n")

    line = VALID.count("\n") + 1
    with pytest.raises(ConfigError, match=rf":{line}: not UTF-8 \(byte 0xe9 at offset \d+\); save the file as UTF-8"):
        load_config(path)


def test_a_yaml_syntax_error_is_one_line_with_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "environment: dev\n  bucket: [\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"{path}:2:9: not valid YAML: ")


@pytest.mark.parametrize("value", ["true", "false", "30.5"])
def test_a_boolean_or_fraction_is_not_a_number_of_days(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, VALID + f"    retention: {{expire_after_days: {value}}}\n")

    with pytest.raises(ConfigError, match=r"table 'orders', field retention.expire_after_days"):
        load_config(path)


@pytest.mark.parametrize("bucket", ["Bad_Bucket_Name", "a..b-archive", "192.168.1.10", "xn--archive", "dev-s3alias"])
def test_a_bucket_name_s3_refuses_is_refused_by_config_and_settings(
    tmp_path: Path, env: pytest.MonkeyPatch, bucket: str
) -> None:
    with pytest.raises(ConfigError, match=r"field bucket: Value error, .* is not a bucket name S3 accepts"):
        load_config(_write(tmp_path, VALID.replace("dev-archive", bucket)))
    env.setenv("ARCHIVER_BUCKET", bucket)
    with pytest.raises(SettingsError, match=r"ARCHIVER_BUCKET: .*not a bucket name S3 accepts"):
        load_settings()


@pytest.mark.parametrize("table", ["../evil", "a/b", "ab", "x" * 256, "orders table"])
def test_archiver_table_must_be_a_dynamodb_table_name(env: pytest.MonkeyPatch, table: str) -> None:
    env.setenv("ARCHIVER_TABLE", table)

    with pytest.raises(SettingsError, match=r"ARCHIVER_TABLE: .*not a DynamoDB table name"):
        load_settings()


def test_an_empty_capture_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("ARCHIVER_CAPTURE", "")

    with pytest.raises(SettingsError, match="ARCHIVER_CAPTURE: "):
        load_settings()


# --- issue 13 §2: what Terraform or AWS would refuse, or what would take the process down ----------


def test_a_file_larger_than_a_configuration_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID + "#" * MAX_CONFIG_BYTES + "\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    assert str(raised.value) == f"{path}: larger than 1 MiB; a configuration is a few KB: is this the right file?"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_dev_zero_is_refused_in_one_line_not_read_until_memory_runs_out() -> None:
    with pytest.raises(ConfigError, match=r"^/dev/zero: larger than 1 MiB; a configuration is a few KB"):
        load_config("/dev/zero")


def test_deeply_nested_yaml_is_a_one_line_error_naming_where(tmp_path: Path) -> None:
    path = _write(tmp_path, "[" * 100_000 + "\n")

    with pytest.raises(ConfigError) as raised:
        load_config(path)

    message = str(raised.value)
    assert "\n" not in message
    assert (
        message
        == f"{path}:1:{MAX_YAML_DEPTH + 1}: not valid YAML: nested more than 32 levels deep; a configuration needs 4"
    )


def test_nesting_a_configuration_needs_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID + "    key_schema:\n      partition_key: {name: PK, type: S}\n    batch: {size: 5}\n")

    assert load_config(path).tables[0].key_schema is not None


def test_a_table_folder_inside_another_tables_folder_is_refused_naming_both() -> None:
    tables = [{"name": "orders", "prefix": "archive"}, {"name": "lines", "prefix": "archive/orders"}]

    with pytest.raises(ConfigError) as raised:
        parse_config({**DEV, "tables": tables}, "config/dev.yaml")

    assert (
        "field tables: Value error, table 'lines' (prefix 'archive/orders') has its folder "
        "archive/orders/lines/ inside table 'orders''s folder archive/orders/"
    ) in str(raised.value)


def test_folders_that_only_share_a_name_prefix_are_accepted() -> None:
    tables = [{"name": "orders"}, {"name": "orders-v2"}, {"name": "archive", "prefix": "other"}]

    config = parse_config({**DEV, "tables": tables})

    assert [t.folder for t in config.tables] == ["archive/orders/", "archive/orders-v2/", "other/archive/"]


@pytest.mark.parametrize("field", ["expire_after_days", "transition_after_days"])
def test_lifecycle_days_beyond_what_s3_takes_are_refused(field: str) -> None:
    retention = {field: 10**30}

    with pytest.raises(
        ConfigError, match=rf"table 'orders', field retention\.{field}: .*less than or equal to 2147483647"
    ):
        parse_config({**DEV, "tables": [{"name": "orders", "retention": retention}]})
    assert Retention(**{field: MAX_LIFECYCLE_DAYS})  # the largest S3 lifecycle Days still passes


def test_a_metrics_namespace_cloudwatch_reserves_names_the_variable(env: pytest.MonkeyPatch) -> None:
    env.setenv("ARCHIVER_METRICS_NAMESPACE", "AWS/Lambda")

    with pytest.raises(
        SettingsError, match=r"ARCHIVER_METRICS_NAMESPACE: .*starts with AWS/, which CloudWatch reserves"
    ):
        load_settings()


# --- issue 14: delivery stream, layout, batch --------------------------------------------------------


def _table(**fields: object) -> TableConfig:
    return parse_config({**DEV, "tables": [{"name": "events", **fields}]}).tables[0]


def test_a_table_defaults_to_objects_delivered_by_the_bus() -> None:
    table = _table()

    assert (table.layout, table.delivery, table.batch) == ("objects", "bus", None)
    assert table.effective_batch == EffectiveBatch(size=10, window_seconds=5)


@pytest.mark.parametrize("delivery", ["direct", "stream"])
def test_compact_layout_is_accepted_with_a_batching_delivery(delivery: str) -> None:
    assert _table(layout="compact", delivery=delivery).layout == "compact"


def test_compact_layout_with_bus_delivery_is_refused_naming_table_and_field() -> None:
    with pytest.raises(ConfigError) as raised:
        _table(layout="compact", delivery="bus")

    assert "table 'events': Value error, field layout: 'compact' needs delivery 'direct' or 'stream'" in str(
        raised.value
    )


@pytest.mark.parametrize(("delivery", "most"), [("bus", 10), ("direct", 1000), ("stream", 10000)])
def test_batch_size_is_bounded_by_what_each_delivery_takes(delivery: str, most: int) -> None:
    assert _table(delivery=delivery, batch={"size": most}).effective_batch.size == most

    said = rf"field batch\.size: {most + 1} is more than delivery '{delivery}' takes \({most}\)"
    with pytest.raises(ConfigError, match=rf"table 'events': Value error, {said}"):
        _table(delivery=delivery, batch={"size": most + 1})


@pytest.mark.parametrize(
    ("batch", "said"),
    [
        ({"size": 0}, r"field batch\.size: Input should be greater than or equal to 1"),
        ({"window_seconds": 301}, r"field batch\.window_seconds: Input should be less than or equal to 300"),
        ({"window_seconds": -1}, r"field batch\.window_seconds: Input should be greater than or equal to 0"),
        ({"size": True}, r"field batch\.size: Input should be a valid integer"),
        ({"sizes": 10}, r"field batch\.sizes: Extra inputs are not permitted"),
    ],
)
def test_a_batch_no_pipe_or_mapping_takes_is_refused_naming_the_field(batch: dict, said: str) -> None:
    with pytest.raises(ConfigError, match=rf"table 'events', {said}"):
        _table(delivery="stream", batch=batch)


@pytest.mark.parametrize(
    ("delivery", "batch", "effective"),
    [
        ("bus", None, (10, 5)),
        ("direct", None, (10, 5)),
        ("stream", None, (1000, 10)),
        ("stream", {"size": 500}, (500, 10)),
        ("stream", {"window_seconds": 0}, (1000, 0)),
        ("direct", {"size": 100, "window_seconds": 30}, (100, 30)),
    ],
)
def test_effective_batch_fills_what_the_yaml_leaves_out_with_the_deliverys_defaults(
    delivery: str, batch: dict | None, effective: tuple[int, int]
) -> None:
    table = _table(delivery=delivery, **({} if batch is None else {"batch": batch}))

    assert table.effective_batch == effective
    assert BATCH_DEFAULTS[delivery] == _table(delivery=delivery).effective_batch


# --- issue 13: a deployed environment says which account it is for and whom its alarms reach -----


@pytest.mark.parametrize("missing", ["account_id", "alarm_topic_arn"])
def test_a_deployed_environment_without_account_or_alarm_topic_is_refused_naming_the_field(missing: str) -> None:
    data = {**DEV, "tables": [{"name": "orders"}]}
    del data[missing]

    with pytest.raises(ConfigError, match=rf"top level: Value error, field {missing} required for environment 'dev'"):
        parse_config(data)


def test_the_local_environment_needs_neither() -> None:
    config = parse_config({"environment": "local", "bucket": "bucket-local", "tables": [{"name": "orders"}]})

    assert (config.account_id, config.alarm_topic_arn) == (None, None)


def test_an_unquoted_account_id_is_refused_before_yaml_drops_its_leading_zeros(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID.replace("'123456789012'", "123456789012"))

    with pytest.raises(ConfigError, match=r"field account_id: Value error, write the account id in quotes"):
        load_config(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [("account_id", "12345"), ("alarm_topic_arn", "arn:aws:sqs:eu-west-1:123456789012:alarms")],
)
def test_an_account_or_topic_that_is_not_one_is_refused(field: str, value: str) -> None:
    with pytest.raises(ConfigError, match=rf"field {field}: String should match pattern"):
        parse_config({**DEV, field: value, "tables": [{"name": "orders"}]})
