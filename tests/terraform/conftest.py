"""Shared fixtures of the Terraform checks: parsed modules and environments (python-hcl2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"


def one(value: Any) -> Any:
    """python-hcl2 wraps attribute values and blocks in one-element lists; unwrap them."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _plain(value: Any) -> Any:
    """python-hcl2 7+ keeps HCL's quotes on labels and string literals and adds ``__is_block__`` /
    ``__comments__`` markers; drop both, so the checks read ``"s3"`` as ``s3`` whatever the version."""
    if isinstance(value, dict):
        return {_unquote(k): _plain(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return _unquote(value) if isinstance(value, str) else value


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in text[1:-1].replace('\\"', ""):
        return text[1:-1]
    return text


def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return _plain(hcl2.load(fh))  # type: ignore[no-any-return]


def blocks(folder: Path, kind: str) -> dict[str, Any]:
    """Name -> body of every ``kind`` block (variable, output, module, locals merged) in ``folder``."""
    found: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get(kind, []):
            found.update(entry)
    return found


def resources(folder: Path) -> dict[tuple[str, str], Any]:
    """(type, name) -> body of every resource block in ``folder``."""
    found: dict[tuple[str, str], Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get("resource", []):
            for rtype, named in entry.items():
                for name, body in named.items():
                    found[(rtype, name)] = body
    return found


def data_sources(folder: Path) -> dict[tuple[str, str], Any]:
    """(type, name) -> body of every data block in ``folder``."""
    found: dict[tuple[str, str], Any] = {}
    for path in sorted(folder.glob("*.tf")):
        for entry in parse(path).get("data", []):
            for dtype, named in entry.items():
                for name, body in named.items():
                    found[(dtype, name)] = body
    return found


def policy_statements(document: Any) -> list[dict[str, Any]]:
    """Every statement of an ``aws_iam_policy_document`` body, plain or inside ``dynamic`` content,
    whatever list wrapping the python-hcl2 version adds."""
    found: list[dict[str, Any]] = []
    if isinstance(document, dict):
        if "actions" in document:
            found.append(document)
        for value in document.values():
            found.extend(policy_statements(value))
    elif isinstance(document, list):
        for value in document:
            found.extend(policy_statements(value))
    return found


def env_dirs() -> list[Path]:
    return sorted(p for p in ENVS.iterdir() if p.is_dir())
