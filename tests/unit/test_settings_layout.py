"""ARCHIVER_LAYOUT: the Lambda's table policy takes its layout from the environment, or refuses it in one line."""

from __future__ import annotations

import pytest

from adapters.settings import SettingsError, load_settings
from archiver.policy import Layout


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("ARCHIVER_LAYOUT", raising=False)
    monkeypatch.setenv("ARCHIVER_BUCKET", "archive-bucket")
    return monkeypatch


def test_the_layout_is_objects_unless_the_environment_says_compact(env: pytest.MonkeyPatch) -> None:
    assert load_settings().policies().default.layout is Layout.OBJECTS

    env.setenv("ARCHIVER_LAYOUT", "compact")

    assert load_settings().policies().default.layout is Layout.COMPACT


def test_another_layout_is_refused_in_one_line_naming_the_variable_the_value_and_the_choices(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("ARCHIVER_LAYOUT", "parquet")

    with pytest.raises(SettingsError) as refused:
        load_settings()

    message = str(refused.value)
    assert "\n" not in message
    assert "ARCHIVER_LAYOUT" in message and "'parquet'" in message
    assert "'objects'" in message and "'compact'" in message
