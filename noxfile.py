"""Task runner: one nox session per kind of check, so each can run alone (`nox -s unit`).

nox is not a dependency of the project (the test command never needs it): run it with
`pipx run nox -s lint` or after `pip install nox`. `nox` alone runs every session, which is what
the README's test command runs in one go, minus the coverage figure.

The sessions make no virtualenv of their own: they run the tools of the project's `.venv`, the
one the README's quick start creates, and create it the same way when it is missing. After a
change to the dependencies in pyproject.toml, re-run `.venv/bin/pip install -e '.[dev]'`.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV_BIN = ROOT / ".venv" / "bin"

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "types", "unit", "integration", "e2e", "terraform"]


def _tool(session: nox.Session, name: str) -> str:
    """The path of `name` in the project's .venv, which is created with the dev extra if missing."""
    if not (VENV_BIN / "python").exists():
        session.log("no .venv: creating it as the README's quick start does")
        session.run("python3", "-m", "venv", str(ROOT / ".venv"), external=True)
        session.run(str(VENV_BIN / "pip"), "install", "-q", "-e", f"{ROOT}[dev]", external=True)
    return str(VENV_BIN / name)


def _pytest(session: nox.Session, *paths: str) -> None:
    """Run pytest on `paths`; arguments after `--` go to pytest (`nox -s unit -- -k keys -x`)."""
    session.run(_tool(session, "python"), "-m", "pytest", "-q", *paths, *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.run(_tool(session, "ruff"), "check", ".", external=True)
    session.run(_tool(session, "ruff"), "format", "--check", ".", external=True)


@nox.session
def types(session: nox.Session) -> None:
    """mypy (strict on archiver/), then the import-linter contracts (the architecture rules)."""
    session.run(_tool(session, "mypy"), external=True)
    session.run(_tool(session, "lint-imports"), external=True)


@nox.session
def unit(session: nox.Session) -> None:
    """The core and services on fakes, hypothesis properties, the CLI's parsing: no network."""
    _pytest(session, "tests/unit", "-n", "2")


@nox.session
def integration(session: nox.Session) -> None:
    """One adapter at a time against moto in-process."""
    _pytest(session, "tests/integration", "-n", "2")


@nox.session
def e2e(session: nox.Session) -> None:
    """The entry points (CLI, Lambda handler) against a moto server over HTTP."""
    _pytest(session, "tests/e2e", "-n", "2")


@nox.session
def terraform(session: nox.Session) -> None:
    """terraform fmt -check, then tests/terraform (structure, drift, evaluation, checkov, schema)."""
    session.run("terraform", "fmt", "-check", "-recursive", "-diff", "terraform", external=True)
    _pytest(session, "tests/terraform", "-n", "2")
