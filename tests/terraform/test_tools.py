"""External checks of terraform/: formatting, checkov, and the offline provider-schema check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.terraform.conftest import ROOT, TERRAFORM

TF_SCHEMA = ROOT.parent / "shared" / "tools" / "tf_schema.py"


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: `terraform fmt -check` cannot run")

    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


@pytest.mark.slow
def test_checkov_finds_no_failed_check() -> None:
    checkov = Path(sys.executable).parent / "checkov"
    if not checkov.exists():
        pytest.skip(f"checkov is not installed beside {sys.executable} (pip install checkov)")

    result = subprocess.run(
        [str(checkov), "-d", str(TERRAFORM), "--framework", "terraform", "--quiet", "--compact", "-o", "json"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},  # no guideline download from the network
    )  # fmt: skip

    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for report in reports
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    assert sum(r["summary"]["passed"] for r in reports) > 0


@pytest.mark.slow
def test_offline_provider_schema_check_reports_no_problem() -> None:
    if not TF_SCHEMA.exists():
        pytest.skip(f"{TF_SCHEMA} is absent: the offline stand-in for `terraform validate` cannot run")

    result = subprocess.run(
        [sys.executable, str(TF_SCHEMA), "terraform"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0 and " 0 problems" in result.stdout, result.stdout + result.stderr
