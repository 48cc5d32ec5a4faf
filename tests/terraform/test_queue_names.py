"""`archiver redrive` finds each table's dead-letter queue by the name the table module gives it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from adapters.config import MODULE_NAME_PREFIX, TableConfig
from tests.terraform.conftest import ROOT
from tests.terraform.test_module_evaluation import REQUIRED, TABLE_MODULE, console

if TYPE_CHECKING:
    from collections.abc import Callable

NAMES = ["orders", "orders-dev", "a.b.c", "x" * 41, "x" * 42, "y" * 200, "Mixed_Case.v2"]


@pytest.fixture(scope="module")
def evaluate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    return console(tmp_path_factory.mktemp("queue-names"), TABLE_MODULE, REQUIRED)


def test_the_python_rule_names_each_tables_queue_as_terraform_does(evaluate: Callable[..., Any]) -> None:
    # given table names short, long, at the length limit, and with dots
    # when Terraform names the queue of each (main.tf: "${local.name}-dlq")
    names = [evaluate('"${local.name}-dlq"', table_name=name) for name in NAMES]
    # then the CLI's rule gives the same names
    assert names == [TableConfig(name=name).dead_letter_queue_name for name in NAMES]
    assert names[0] == "dynamo-archive-orders-dlq"


def test_the_module_names_its_queue_from_the_default_name_prefix() -> None:
    main = (TABLE_MODULE / "main.tf").read_text(encoding="utf-8")
    variables = (TABLE_MODULE / "variables.tf").read_text(encoding="utf-8")

    queue = main.split('resource "aws_sqs_queue" "dead_letters"', 1)[1].split("\n}", 1)[0]
    name_prefix = variables.split('variable "name_prefix"', 1)[1].split("\n}", 1)[0]

    assert re.search(r'^\s*name\s*=\s*"\$\{local\.name\}-dlq"$', queue, flags=re.MULTILINE)
    assert re.search(rf'^\s*default\s*=\s*"{MODULE_NAME_PREFIX}"$', name_prefix, flags=re.MULTILINE)
    for env in ("dev", "prod"):  # an environment setting its own name_prefix would hide its queues
        assert "name_prefix" not in (ROOT / "terraform" / "envs" / env / "main.tf").read_text(encoding="utf-8")
