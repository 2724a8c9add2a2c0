"""Every generated example passes Keras's own (private) layer test harness,
`keras.src.testing.TestCase.run_layer_test`, including its mixed-precision pass.

Generated test files use public API only; this private harness is allowed here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from layergen.spec.validate import load_spec

from .conftest import EXAMPLE_SPECS, EXAMPLES

keras = pytest.importorskip("keras")
keras_testing = pytest.importorskip("keras.src.testing")
layergen_testing = pytest.importorskip("layergen.testing")


class _Harness(keras_testing.TestCase):
    def runTest(self) -> None:  # noqa: N802 - unittest's name
        """Unused: the harness methods are called directly."""


@pytest.mark.parametrize("spec_path", EXAMPLE_SPECS, ids=lambda p: p.stem)
def test_example_passes_run_layer_test(spec_path: Path) -> None:
    spec = load_spec(spec_path)
    cls = layergen_testing.load_layer(
        str(EXAMPLES / f"test_{spec.module}.py"), f"{spec.module}.py", spec.name
    )
    shapes = [tuple(spec.test.input_shapes[i.name]) for i in spec.main_inputs]
    dtypes = [i.dtype or "float32" for i in spec.main_inputs]
    init_kwargs, supports_masking = spec.test.params, spec.mask_mode != "none"
    if spec.is_cell:  # a cell is tested the way it is used: inside keras.layers.RNN
        cls, init_kwargs, supports_masking = (
            keras.layers.RNN,
            {"cell": cls(**spec.test.params)},
            True,
        )
        shapes = [(shapes[0][0], 4, *shapes[0][1:])]
    harness = _Harness()
    harness.setUp()
    harness.run_layer_test(
        cls,
        init_kwargs=init_kwargs,
        input_shape=shapes[0] if len(shapes) == 1 else by_name(spec, shapes),
        input_dtype=dtypes[0] if len(dtypes) == 1 else by_name(spec, dtypes),
        supports_masking=supports_masking,
        # The harness's training model passes several inputs to call() as one
        # dict; generated layers take them by name (their own fit test does).
        run_training_check=len(shapes) == 1,
        run_mixed_precision_check=True,
    )


def by_name(spec, values: list) -> dict:
    """Several inputs as the harness passes them to call() by name
    (``query_shape`` -> ``query=``)."""
    return {f"{i.name}_shape": v for i, v in zip(spec.main_inputs, values, strict=True)}
