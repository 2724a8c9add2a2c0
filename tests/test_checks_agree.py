"""The generated test files list their tests from ``checklist.applicable``,
the decision ``testing.applicable_checks`` makes at run time: every example's
test file holds exactly one test function per check that applies to its CASE
(the file decides from the spec whether the layer has trainable weights; the
run-time suite probes the layer)."""

from __future__ import annotations

import importlib
import inspect
import sys

import pytest

from layergen.checklist import CHECKS

from .conftest import EXAMPLE_SPECS, EXAMPLES

keras = pytest.importorskip("keras")

from layergen import testing  # noqa: E402

# Tests that check what the spec states rather than a property of every layer.
STATED = ("test_matches_numpy_reference", "test_property_")


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_generated_tests_are_the_applicable_checks(spec) -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        module = importlib.import_module(f"test_{spec.stem}")
    finally:
        sys.path.remove(str(EXAMPLES))
    generated = {
        name
        for name, _ in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("test_") and not name.startswith(STATED)
    }
    testing.reset_keras_state()
    names = set(testing.applicable_checks(module.CASE))
    expected = {
        f"test_mask_{module.CASE.mask_mode}" if check.name == "mask" else check.test
        for check in CHECKS
        if names & set(check.names)
    }
    assert generated == expected
