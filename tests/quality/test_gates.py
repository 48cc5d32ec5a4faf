"""The project's own gates, run by the same command as every other test (so CI runs them).

Lint and format (ruff), types (mypy, strict on archiver/), and the architecture rule: archiver/
imports no boto3, botocore or adapters (import-linter's forbidden contract in pyproject.toml).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} is not installed: install the project with its dev extra (pip install -e '.[dev]')")
    return on_path


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    result = _run(_tool("ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_ruff_formatted() -> None:
    result = _run(_tool("ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_is_clean() -> None:
    result = _run(_tool("mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_no_aws_sdk_and_no_adapter() -> None:
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert " kept, 0 broken." in result.stdout


def test_the_import_contract_catches_a_violation(tmp_path: Path) -> None:
    # given a copy of the core with one forbidden import added
    shutil.copytree(ROOT / "archiver", tmp_path / "archiver")
    shutil.copytree(ROOT / "adapters", tmp_path / "adapters")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "archiver" / "leak.py").write_text("import boto3  # noqa\n")
    # when the contract is checked there
    result = subprocess.run(
        [_tool("lint-imports")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": str(BIN)},
    )
    # then it fails, naming the import
    assert result.returncode != 0
    assert "archiver.leak -> boto3" in result.stdout


def test_every_cli_command_module_is_in_the_independence_contract() -> None:
    # a command module is one that registers a subcommand; what two of them share goes elsewhere
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (independent,) = [c["modules"] for c in contracts["contracts"] if c["type"] == "independence"]
    commands = sorted(
        f"adapters.cli.{path.stem}"
        for path in (ROOT / "adapters" / "cli").glob("*.py")
        if "\ndef register(" in path.read_text(encoding="utf-8")
    )
    assert len(commands) >= 7
    assert sorted(independent) == commands
