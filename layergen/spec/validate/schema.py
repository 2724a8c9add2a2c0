"""What a spec may contain: each table's keys, the names and dtypes it may
use, the ranks an input may have, and the names derived from others."""

from __future__ import annotations

import re

from layergen.spec import guards
from layergen.spec.model import LayerSpec

KeyPath = tuple[str | int, ...]
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*\Z")
# The registration package of a spec that names none (and of no project's).
DEFAULT_PACKAGE = "layergen"
PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
DTYPES = frozenset(
    [
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    ]
)
# Names the generated code itself uses, on top of Keras Layer attributes.
RESERVED = guards.GENERATED_NAMES
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "layer",
        "params",
        "checks",
        "inputs",
        "weights",
        "sublayers",
        "states",
        "call",
        "updates",
        "mask",
        "output",
        "test",
    ),
    "layer": ("name", "package", "module", "doc", "kind"),
    "param": ("type", "default", "min", "max", "choices", "doc"),
    "input": ("rank", "min_rank", "dtype"),
    "weight": (
        "shape",
        "initializer",
        "trainable",
        "dtype",
        "regularizer",
        "constraint",
        "if",
    ),
    "sublayer": ("layer", "args", "for_each"),
    "state": ("shape",),
    "call": ("training", "steps", "expr", "next_states"),
    "mask": ("mode", "expr"),
    "output": ("shape", "dtype"),
    "property": ("expr", "when"),
    "test": (
        "params",
        "input_shapes",
        "reference",
        "properties",
        "training_changes_output",
        "differentiable",
        "unbiased_in_training",
    ),
}
# The test input's dims where [test] gives none (the first least_rank), and the
# highest rank an input may declare or a test shape have.
DEFAULT_TEST_DIMS = (2, 3, 4, 5, 6, 7, 2, 3)
MAX_RANK = len(DEFAULT_TEST_DIMS)


def snake_case(name: str) -> str:
    """``SelfAttention`` -> ``self_attention``, ``MLPBlock`` -> ``mlp_block``,
    ``CustomConv2D`` -> ``custom_conv2d``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def mask_names(spec: LayerSpec) -> list[str]:
    """``mask`` for one input, ``<input>_mask`` for each of several."""
    if len(spec.inputs) == 1:
        return ["mask"]
    return [f"{i.name}_mask" for i in spec.inputs]
