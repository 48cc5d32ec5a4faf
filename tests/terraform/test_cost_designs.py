"""`archiver cost` prices the module as deployed: its designs use the module's defaults and limits."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.cli.cost import load_price_book
from adapters.config import BATCH_DEFAULTS, BATCH_LIMITS, MAX_BATCH_WINDOW_SECONDS
from tests.terraform.conftest import MODULES, blocks, one


def _default(variables: dict[str, Any], name: str) -> Any:
    return one(variables[name]["default"])


def _conditions(variables: dict[str, Any], name: str) -> str:
    return " ".join(str(v["condition"]) for v in variables[name].get("validation", []))


@pytest.mark.parametrize("design", ["bus", "direct", "compact", "stream"])
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


@pytest.mark.parametrize(("design", "delivery"), [("compact", "direct"), ("stream", "stream")])
def test_cost_compact_designs_are_a_delivery_and_layout_the_module_takes(design: str, delivery: str) -> None:
    # test_module_evaluation checks Terraform and the YAML model agree on BATCH_LIMITS.
    variables = blocks(MODULES / "table-archive", "variable")
    priced = load_price_book().designs[design]

    assert f'"{delivery}"' in _conditions(variables, "delivery")
    assert '"compact"' in _conditions(variables, "layout")
    assert priced.batch_size <= BATCH_LIMITS[delivery][0]
    assert 0 <= priced.batching_window_s <= MAX_BATCH_WINDOW_SECONDS
