"""Settings and the YAML configuration: wrong values are refused naming the variable or field."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.config import ConfigError, load_config, parse_config
from adapters.settings import SettingsError, load_settings
from archiver.policy import DeletionKind

ROOT = Path(__file__).resolve().parents[2]


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
        "environment": "dev",
        "bucket": "bucket-dev",
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
        parse_config({"environment": "dev", "bucket": "bucket-dev", "tables": tables})


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("tables: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
