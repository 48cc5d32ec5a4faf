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

#: The offline schema checker lives beside the checkout (/work/shared next to /work/main); a git
#: worktree sits one level deeper (/work/wt/<name>), so look in both places, or where TF_SCHEMA says.
TF_SCHEMA = next(
    (
        path
        for path in [
            *([Path(os.environ["TF_SCHEMA"])] if os.environ.get("TF_SCHEMA") else []),
            ROOT.parent / "shared" / "tools" / "tf_schema.py",
            ROOT.parent.parent / "shared" / "tools" / "tf_schema.py",
        ]
        if path.exists()
    ),
    ROOT.parent / "shared" / "tools" / "tf_schema.py",
)


def test_terraform_files_are_formatted() -> None:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH: `terraform fmt -check` cannot run")

    result = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, f"run `terraform fmt -recursive terraform`:\n{result.stdout}"


#: checkov pins its own boto3 and packaging, which would downgrade the project's; it lives in a tool
#: environment of its own, made on first use (so a fresh clone's test command installs it itself).
CHECKOV_VERSION = "3.3.30"
CHECKOV_ENV = ROOT / ".tools" / "checkov"


def _checkov() -> Path:
    checkov = CHECKOV_ENV / "bin" / "checkov"
    if checkov.exists():
        return checkov
    subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_ENV)], check=True, timeout=120)
    installed = subprocess.run(
        [str(CHECKOV_ENV / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, f"installing checkov failed:\n{installed.stderr[-2000:]}"
    return checkov


@pytest.mark.slow
def test_checkov_finds_no_failed_check() -> None:
    checkov = _checkov()

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
