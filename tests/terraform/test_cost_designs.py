"""`archiver cost` prices the module as deployed: its bus and direct designs use the module's defaults."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cli.cost import load_price_book
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
    variables = blocks(MODULES / "table-archive", "variable")
    direct = load_price_book().designs["direct"]

    assert direct.batch_size == _default(variables, "batch_size")
    assert direct.batching_window_s == _default(variables, "maximum_batching_window_in_seconds")
