"""The CLI's surface without AWS: help on every command, exit codes, and user errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.cli.main import main

pytestmark = pytest.mark.usefixtures("process_logging_left_alone")

LOCAL = str(Path(__file__).parents[2] / "config" / "local.yaml")


COMMANDS = [
    ["provision"],
    ["run"],
    ["list"],
    ["show"],
    ["restore"],
    ["redrive"],
    ["config"],
    ["config", "validate"],
    ["config", "schema"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_explains_itself(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: archiver " + " ".join(command))
    assert len(out.splitlines()) > 3


def test_a_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 2
    assert "the following arguments are required: --table" in capsys.readouterr().err
    assert main(["show", "--table", "orders"]) == 2
    assert main(["run", "--from", "yesterday"]) == 2


def test_redrive_refuses_a_max_of_zero_as_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["redrive", "--max", "0"]) == 2
    assert "--max: 0 is out of range; expected a whole number from 1 to 1,000,000,000,000,000,000" in (
        capsys.readouterr().err
    )


def test_a_count_of_thousands_of_digits_is_out_of_range_not_a_non_number(capsys: pytest.CaptureFixture[str]) -> None:
    # Python's int() refuses texts over 4,300 digits as if they were not numbers
    assert main(["list", "--table", "orders", "--concurrency", "9" * 5000]) == 2
    err = capsys.readouterr().err
    assert "--concurrency: 999999999999...99999999 (5000 characters) is too long (at most 40 characters)" in err
    assert "expected a whole number from 1 to 256" in err
    assert main(["redrive", "--max", "1" + "0" * 4999]) == 2
    assert "is too long (at most 40 characters); expected a whole number from 1 to 1,000,000,000,000,000,000" in (
        capsys.readouterr().err
    )


def test_a_whole_number_of_thousands_of_digits_is_too_long_not_not_a_whole_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Python reads no integer of over 4,300 digits; that was reported as "'999...' is not a whole number"
    assert main(["redrive", "--max", "9" * 5000]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "--max: 999999999999...99999999 (5000 characters) is too long (at most 40 characters)" in error
    assert "expected a whole number from 1 to 1,000,000,000,000,000,000" in error
    assert "not a whole number" not in error


def test_config_validate_accepts_the_local_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", LOCAL]) == 0
    assert "ok (environment local, tables: orders, sessions, events)" in capsys.readouterr().out


def test_config_validate_names_the_table_and_field_of_a_mistake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "environment: dev\nbucket: archive-dev\ntables:\n  - name: orders\n    capture: [user, sometimes]\n"
    )
    assert main(["config", "validate", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "table 'orders', field capture.1" in err
    assert "Traceback" not in err


def test_config_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"environment", "bucket", "tables"} <= set(schema["properties"])


def test_a_bad_key_is_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--config", LOCAL, "--table", "orders", "--key", "{PK: 1}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("archiver: error: --key is not JSON") and "Traceback" not in err


def test_an_unknown_table_names_the_configured_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--config", LOCAL, "--table", "nope", "--key", "{}"]) == 1
    assert "configured tables: orders, sessions" in capsys.readouterr().err


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["provision", "--config", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read the configuration" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    assert main(["provision", "--config", LOCAL]) == 1
    err = capsys.readouterr().err
    assert "cannot reach http://127.0.0.1:9" in err and "Traceback" not in err


def test_logs_and_retry_warnings_go_to_stderr_so_stdout_stays_parseable(capsys: pytest.CaptureFixture[str]) -> None:
    import structlog  # noqa: PLC0415

    assert main(["config", "schema"]) == 0  # configures logging as every command does
    structlog.get_logger("adapters.aws.retries").warning("aws call retrying", operation="s3:ListObjectsV2")

    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout holds the schema alone
    assert "aws call retrying" in captured.err


def test_an_unexpected_error_is_one_line_naming_it_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_args: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr("adapters.cli.configuration._schema", broken)

    assert main(["config", "schema"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("archiver: internal error: ZeroDivisionError: division by zero (a bug: please report it")
    monkeypatch.setenv("ARCHIVER_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        main(["config", "schema"])


def test_a_reader_that_goes_away_ends_the_command_quietly_with_141(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class ClosedPipe:
        def write(self, _text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stdout", ClosedPipe())

    assert main(["config", "schema"]) == 141
    assert capsys.readouterr().err == ""
