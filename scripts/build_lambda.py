#!/usr/bin/env python3
"""Build the Lambda package: the project's runtime dependencies for the function's platform, plus
the modules the function runs (``archiver/`` and the part of ``adapters/`` that
``adapters.lambda_handler`` imports), as one reproducible zip (``build/lambda.zip`` by default).

The CLI, the local pipe and the embedded server stay out: they are found by following the
handler's imports (:func:`function_modules`), so a module the function starts to need is shipped
without anyone editing a list, and one it stops needing leaves the zip.

Reproducible means the same sources and the same resolved dependency versions give the same bytes,
so ``source_code_hash`` (``filebase64sha256``) only changes, and Terraform only updates the
function, when the code or a dependency changed: entries are sorted, every timestamp is
1980-01-01, every file is mode 0644, and nothing install-specific goes in (``__pycache__``,
``*.pyc``, console scripts whose shebang names the build machine, and the ``RECORD``,
``INSTALLER``, ``REQUESTED``, ``direct_url.json`` files of each ``.dist-info``).

boto3 is packaged too, although the runtime has one: the adapters rely on botocore behaviour of the
versions pyproject.toml asks for, not on whatever version the runtime ships that month.

Usage (needs only pip and network access to PyPI):
    python scripts/build_lambda.py [--arch arm64|x86_64] [--output build/lambda.zip]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import modulefinder
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("archiver", "adapters")
ENTRY_POINT = "adapters/lambda_handler.py"
#: Every handler the package serves: the archiving function, and archive-environment's scheduled
#: reader check (one package, so one build and one hash for both).
ENTRY_POINTS = (ENTRY_POINT, "adapters/reader_check.py")
PYTHON_VERSION = "3.13"  # the function's runtime: python3.13
#: manylinux tags the Lambda python3.13 runtime (Amazon Linux 2023, glibc 2.34) can load.
MANYLINUX = ("manylinux2014", "manylinux_2_28", "manylinux_2_34")
ARCHES = {"arm64": "aarch64", "x86_64": "x86_64"}

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
FILE_MODE = 0o100644  # regular file, rw-r--r--
#: Written by the installer, not by the package: they differ between installs or name the machine.
INSTALL_NOISE = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


def runtime_dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings of ``[project].dependencies``."""
    with pyproject.open("rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def install_dependencies(requirements: list[str], target: Path, arch: str) -> None:
    """pip-install ``requirements`` as binary wheels for the function's platform into ``target``."""
    platform_args = [arg for tag in MANYLINUX for arg in ("--platform", f"{tag}_{ARCHES[arch]}")]
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-warn-conflicts", "--no-compile", "--no-cache-dir",
        "--target", str(target),
        "--implementation", "cp",
        "--python-version", PYTHON_VERSION,
        "--only-binary=:all:",
        *platform_args,
        *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)  # noqa: S603  # our own argument list, no shell


def function_modules(root: Path = ROOT, entry: str = ENTRY_POINT) -> list[Path]:
    """The project's source files the function imports, ``entry`` included, relative to ``root``.

    Follows every import statement in the bytecode (lazy ones inside functions too) with only
    ``root`` on the search path, so third-party packages are not walked; package ``__init__``
    files come along with their modules.
    """
    finder = modulefinder.ModuleFinder(path=[str(root)])
    finder.run_script(str(root / entry))
    files = {Path(entry)}
    for module in finder.modules.values():
        if module.__file__ and module.__name__.split(".")[0] in PACKAGES:
            files.add(Path(module.__file__).resolve().relative_to(root.resolve()))
    return sorted(files)


def copy_sources(target: Path, root: Path = ROOT) -> None:
    """Copy the functions' own ``.py`` files (:func:`function_modules` of each entry point) into ``target``."""
    for relative in sorted({path for entry in ENTRY_POINTS for path in function_modules(root, entry)}):
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, destination)


def _included(relative: Path) -> bool:
    parts = relative.parts
    if "__pycache__" in parts or relative.suffix in {".pyc", ".pyo"}:
        return False
    if parts[0] == "bin":  # console scripts: their shebang is the build machine's python
        return False
    return not (len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] in INSTALL_NOISE)


def write_zip(source: Path, destination: Path) -> str:
    """Zip the tree under ``source`` reproducibly into ``destination``; return its sha256 (hex).

    Entries are the tree's files (no directory entries) in sorted POSIX path order, each dated
    1980-01-01 00:00:00 with mode 0644 and deflated at level 9, so the bytes depend only on the
    files' paths and contents.
    """
    files = sorted(
        (path.relative_to(source).as_posix(), path)
        for path in source.rglob("*")
        if path.is_file() and _included(path.relative_to(source))
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(destination, "w") as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3  # Unix, so external_attr is read as a mode
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return hashlib.sha256(destination.read_bytes()).hexdigest()


def build(output: Path, arch: str = "arm64") -> str:
    """Build the package into ``output``; return its sha256 (hex)."""
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as tmp:
        staging = Path(tmp)
        install_dependencies(runtime_dependencies(), staging, arch)
        copy_sources(staging)
        return write_zip(staging, output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHES), default="arm64", help="the function's architecture")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "lambda.zip", help="zip to write")
    args = parser.parse_args(argv)

    digest = build(args.output, args.arch)
    size = args.output.stat().st_size
    print(f"path:   {args.output}")
    print(f"size:   {size} bytes ({size / 1_048_576:.1f} MiB)")
    print(f"sha256: {digest}")
    print(f"base64: {base64.b64encode(bytes.fromhex(digest)).decode()}  (filebase64sha256, source_code_hash)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
