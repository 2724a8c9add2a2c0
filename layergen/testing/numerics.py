"""What precision a comparison runs in, and how close two outputs must be.

On Ampere and newer GPUs float32 matrix products run by default in TF32 (10
mantissa bits instead of 23), so a GPU output or a compiled one can differ from
the CPU's by ~1e-3 without any bug. The checks that compare two runs switch TF32
off while they run (:func:`full_float32_matmuls`), then read back the
precision actually in effect (:func:`matmul_precision`) and derive the
tolerance from it and from the length of the sums involved
(:func:`comparison_tolerance`), so a layer that is right never fails and one
that is wrong still does.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import Any

import keras
import numpy as np

from layergen.testing.devices import visible_gpus

# Explicit mantissa bits of each format that float32 work may run in.
MANTISSA_BITS = {"float64": 52, "float32": 23, "tf32": 10, "float16": 10, "bfloat16": 7}
# A float32 comparison never asks for less than this: op order (fusion, another
# kernel) alone moves results by a few units in the last place of each step.
FLOAT32_FLOOR = 1e-4
# Rounding errors of the steps of a layer add up; 4 units of roundoff per
# sqrt(reduction length) covers a stack of a few matmuls and a softmax (an
# H100 under TF32: 8.1e-4 for attention over 8 features, 7x under this).
SAFETY = 4.0


def comparison_tolerance(precision: str, reduction: int = 1) -> dict[str, float]:
    """``rtol``/``atol`` for two float32 runs of one layer where the less precise
    one computed its products in ``precision`` (``float32``, ``tf32``, ...)
    over sums of about ``reduction`` terms: the unit roundoff of that format,
    grown with the square root of the sum's length (rounding errors add up like
    a random walk), and never below :data:`FLOAT32_FLOOR`."""
    roundoff = 2.0 ** -(MANTISSA_BITS[precision] + 1)
    tol = max(FLOAT32_FLOOR, SAFETY * roundoff * math.sqrt(max(reduction, 1)))
    return {"rtol": tol, "atol": tol}


def assert_outputs_close(
    actual: np.ndarray,
    expected: np.ndarray,
    precision: str,
    reduction: int,
    what: str,
) -> None:
    """Fail, saying what was compared, in which precision and with which
    tolerance, unless ``actual`` matches ``expected`` (one output, or each of
    several); ``atol`` scales with the size of the expected values (at least
    1)."""
    tolerance = comparison_tolerance(precision, reduction)
    several = isinstance(expected, tuple | list)
    pairs = zip(
        actual if several else [actual],
        expected if several else [expected],
        strict=True,
    )
    for index, (one, wanted) in enumerate(pairs):
        scale = max(1.0, float(np.max(np.abs(wanted), initial=0.0)))
        np.testing.assert_allclose(
            one,
            wanted,
            rtol=tolerance["rtol"],
            atol=tolerance["atol"] * scale,
            err_msg=(
                f"{what}{f' (output {index})' if several else ''}, products "
                f"computed in {precision}, sums of ~{reduction} terms: "
                f"tolerance {tolerance['rtol']:.1e}"
            ),
        )


def reduction_length(shapes: Sequence[Sequence[int]], weights: Sequence[Any]) -> int:
    """An estimate of the longest sum a layer computes: the largest input
    dimension (a feature or sequence axis summed over), or the fan-in of its
    largest weight (all but the last axis: ``(in, out)``, ``(kh, kw, in, out)``)."""
    dims = [int(d) for shape in shapes for d in shape[1:]]
    fan_in = [math.prod(int(d) for d in w.shape[:-1]) for w in weights]
    return max([1, *dims, *fan_in])


def matmul_precision(backend: str | None = None, on_gpu: bool | None = None) -> str:
    """The precision float32 matrix products run in now on the default device
    of ``backend`` (default: the active one): ``tf32`` on a GPU (default:
    whether one is visible) where the backend allows TF32, else ``float32``."""
    on_gpu = bool(visible_gpus()) if on_gpu is None else on_gpu
    if not on_gpu or os.environ.get("NVIDIA_TF32_OVERRIDE") == "0":
        return "float32"
    backend = backend or keras.backend.backend()
    if backend == "jax":
        import jax

        setting = jax.config.jax_default_matmul_precision
        full = setting is not None and str(setting).lower() in ("highest", "float32")
        return "float32" if full else "tf32"
    if backend == "torch":
        import torch

        cuda, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
        return "tf32" if cuda.allow_tf32 or cudnn.allow_tf32 else "float32"
    if backend == "tensorflow":
        import tensorflow as tf

        enabled = tf.config.experimental.tensor_float_32_execution_enabled()
        return "tf32" if enabled else "float32"
    return "tf32"  # unknown backend on a GPU: assume the reduced precision


@contextlib.contextmanager
def full_float32_matmuls(backend: str | None = None) -> Iterator[str]:
    """Switch TF32 off on ``backend`` (default: the active one) for the block,
    restoring the previous setting after; yields how it was done, for messages."""
    backend = backend or keras.backend.backend()
    if backend == "jax":
        import jax

        with jax.default_matmul_precision("highest"):
            yield "jax.default_matmul_precision('highest')"
    elif backend == "torch":
        import torch

        cuda, cudnn = torch.backends.cuda.matmul, torch.backends.cudnn
        saved = (cuda.allow_tf32, cudnn.allow_tf32)
        cuda.allow_tf32 = cudnn.allow_tf32 = False
        try:
            yield "torch.backends.cuda.matmul.allow_tf32 = cudnn.allow_tf32 = False"
        finally:
            cuda.allow_tf32, cudnn.allow_tf32 = saved
    elif backend == "tensorflow":
        import tensorflow as tf

        saved_tf = tf.config.experimental.tensor_float_32_execution_enabled()
        tf.config.experimental.enable_tensor_float_32_execution(False)
        try:
            yield "tf.config.experimental.enable_tensor_float_32_execution(False)"
        finally:
            tf.config.experimental.enable_tensor_float_32_execution(saved_tf)
    else:
        yield "nothing: no TF32 switch known for this backend"
