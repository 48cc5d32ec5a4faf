"""The Lambda package writer is reproducible: the same tree gives the same bytes, whatever its mtimes
and modes, and leaves install-specific files out. (The full build needs PyPI and is not run here.)"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest

from tests.terraform.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path
    from types import ModuleType


@pytest.fixture(scope="module")
def build_lambda() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda", ROOT / "scripts" / "build_lambda.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_tree(root: Path, mtime: int, mode: int) -> Path:
    files = {
        "archiver/__init__.py": "x = 1\n",
        "archiver/__pycache__/__init__.cpython-313.pyc": "noise",
        "pkg/mod.pyc": "noise",
        "pkg/__init__.py": "",
        "pkg-1.0.dist-info/METADATA": "Name: pkg\n",
        "pkg-1.0.dist-info/RECORD": f"pkg/__init__.py,sha256=,0\n{root}\n",
        "pkg-1.0.dist-info/INSTALLER": "pip\n",
        "bin/tool": f"#!{root}/python\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        os.utime(path, (mtime, mtime))
    return root


def test_same_tree_gives_the_same_zip_whatever_mtimes_and_modes(build_lambda: ModuleType, tmp_path: Path) -> None:
    first = make_tree(tmp_path / "a", mtime=1_000_000_000, mode=0o644)
    second = make_tree(tmp_path / "b", mtime=1_700_000_000, mode=0o755)

    digest_a = build_lambda.write_zip(first, tmp_path / "a.zip")
    digest_b = build_lambda.write_zip(second, tmp_path / "b.zip")

    assert digest_a == digest_b == hashlib.sha256((tmp_path / "b.zip").read_bytes()).hexdigest()


def test_zip_entries_are_sorted_dated_1980_mode_0644_and_without_install_noise(
    build_lambda: ModuleType, tmp_path: Path
) -> None:
    tree = make_tree(tmp_path / "tree", mtime=1_700_000_000, mode=0o755)

    build_lambda.write_zip(tree, tmp_path / "out.zip")

    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == ["archiver/__init__.py", "pkg-1.0.dist-info/METADATA", "pkg/__init__.py"]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {i.compress_type for i in infos} == {zipfile.ZIP_DEFLATED}


def test_runtime_dependencies_come_from_pyproject(build_lambda: ModuleType) -> None:
    dependencies = build_lambda.runtime_dependencies()

    assert any(d.startswith("pydantic-settings") for d in dependencies)
    assert not any(d.startswith(("pytest", "moto", "checkov", "duckdb", "rich")) for d in dependencies)


def test_the_package_holds_what_the_function_imports_and_nothing_of_the_cli(build_lambda: ModuleType) -> None:
    files = {path.as_posix() for path in build_lambda.function_modules()}

    assert {"adapters/lambda_handler.py", "adapters/aws/s3_store.py", "archiver/service.py"} <= files
    assert not {f for f in files if f.startswith(("adapters/cli/", "adapters/local/"))}
    assert "adapters/config.py" not in files  # YAML is read by Terraform and the CLI, not the function
    assert not {f for f in files if "duckdb" in f or "rich" in f}  # CLI-side extras: `archiver query`, progress
    assert "archiver/plain_json.py" not in files  # the query's item column, not the function's


def test_the_shipped_files_alone_import_the_handler(build_lambda: ModuleType, tmp_path: Path) -> None:
    build_lambda.copy_sources(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import adapters.lambda_handler as h;"
        "assert h.__file__.startswith(sys.argv[1]), h.__file__; import adapters.delivery, adapters.aws.s3_store;"
        "import adapters.reader_check as c; assert c.__file__.startswith(sys.argv[1]), c.__file__"
    )

    result = subprocess.run(
        [sys.executable, "-S", "-c", probe, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": os.pathsep.join(p for p in sys.path if "site-packages" in p)},
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
