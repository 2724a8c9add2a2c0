"""Every applicable check at once, for hand-written layers."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from typing import Any

import pytest

from layergen.checklist import CHECKS, applicable
from layergen.testing.case import LayerCase, build_model
from layergen.testing.inputs import reset_keras_state


def applicable_checks(case: LayerCase) -> list[str]:
    """The names of the checks that apply to ``case``, in the order they run:
    :func:`layergen.checklist.applicable`, which also decides which tests a
    generated test file holds, with whether the layer has trainable weights
    once called (``fit_step``) probed on the layer itself."""
    probe = case.make_layer()
    case.run(probe, case.make_inputs(), **case.inference())
    checks = applicable(case, trainable=bool(probe.trainable_weights))
    return [name for check in checks for name in check.names]


def layer_checks(case: LayerCase) -> dict[str, Callable[[], None]]:
    """The checks that apply to ``case`` (:func:`applicable_checks`), by name;
    those that only read a built model share one."""
    built = cache(lambda: build_model(case))
    testing = importlib.import_module("layergen.testing")
    runs: dict[str, Callable[[], None]] = {}
    for check in CHECKS:
        function = getattr(testing, check.function)
        if check.args == "policy":
            for policy in check.names:
                runs[policy] = partial(function, case, policy)
        elif check.args == "built":
            runs[check.name] = lambda f=function: f(case, built())
        else:
            runs[check.name] = partial(function, case)
    return {name: runs[name] for name in applicable_checks(case)}


def check_layer(
    cls: type,
    init_kwargs: Mapping[str, Any],
    input_shapes: Mapping[str, Sequence[int]],
    **expectations: Any,
) -> dict[str, str]:
    """Run every applicable check on a layer; returns ``{check: outcome}`` where
    the outcome is ``"passed"``, ``"skipped: <reason>"`` or ``"failed: <why>"``.

    ``expectations`` are :class:`LayerCase` fields (``mask_mode="propagate"``,
    ``updated_weights=["moving_mean"]``, ``uses_training=True``, ...).
    """
    case = LayerCase(
        cls,
        dict(init_kwargs),
        {name: tuple(shape) for name, shape in input_shapes.items()},
        **expectations,
    )
    outcomes = {}
    for name, run in layer_checks(case).items():
        reset_keras_state()
        try:
            run()
        except pytest.skip.Exception as exc:
            outcomes[name] = f"skipped: {exc.msg}"
        except Exception as exc:  # a broken layer may raise anything
            first_line = (str(exc).strip().splitlines() or [""])[0]
            outcomes[name] = f"failed: {type(exc).__name__}: {first_line}"
        else:
            outcomes[name] = "passed"
    return outcomes
