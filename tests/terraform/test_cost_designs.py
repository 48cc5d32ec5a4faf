"""`archiver cost` prices the module as deployed: its bus and direct designs use the module's defaults."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cli.cost import load_price_book
from adapters.config import BATCH_DEFAULTS
from tests.terraform.conftest import MODULES, blocks, one


def _default(variables: dict[str, Any], name: str) -> Any:
    return one(variables[name]["default"])


@pytest.mark.parametrize("design", ["bus", "direct"])
def test_cost_designs_use_the_table_module_s_function_defaults(design: str) -> None:
    variables = blocks(MODULES / "table-archive", "variable")
    priced = load_price_book().designs[design]

    assert priced.architecture == _default(variables, "architecture")
    assert priced.memory_mb == _default(variables, "memory_size")
    assert priced.concurrency == _default(variables, "max_concurrency")


def test_cost_direct_design_batches_as_the_table_module_s_pipe() -> None:
    # The module fills a direct table's batch with BATCH_DEFAULTS["direct"] (test_module_evaluation
    # checks Terraform and the YAML model agree on it).
    direct = load_price_book().designs["direct"]

    assert (direct.batch_size, direct.batching_window_s) == BATCH_DEFAULTS["direct"]
