"""`archiver config validate|schema`: check an environment's YAML before Terraform or `run` reads it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from adapters.config import EnvironmentConfig, load_config

if TYPE_CHECKING:
    import argparse

__all__ = ["register"]


def _validate(args: argparse.Namespace) -> int:
    config = load_config(args.path)
    print(f"{args.path}: ok (environment {config.environment}, tables: {', '.join(t.name for t in config.tables)})")
    return 0


def _schema(_args: argparse.Namespace) -> int:
    print(json.dumps(EnvironmentConfig.model_json_schema(), indent=2))
    return 0


def register(commands: Any) -> None:
    config = commands.add_parser(
        "config", help="check a configuration file, or print its JSON schema", description="Check configuration files."
    )
    config_commands = config.add_subparsers(title="commands", metavar="COMMAND", required=True)
    validate = config_commands.add_parser(
        "validate",
        help="exit 0 if PATH is a valid configuration, else 1 with why",
        description="Validate one environment's YAML; errors name the table and the field.",
    )
    validate.add_argument("path", metavar="PATH")
    validate.set_defaults(command=_validate)
    config_commands.add_parser(
        "schema", help="print the configuration's JSON schema", description="Print EnvironmentConfig's JSON schema."
    ).set_defaults(command=_schema)
