"""The names a spec may use and the names derived from others. Each table's
keys, types and value sets are declared in :mod:`layergen.spec.tables`
(re-exported here for the validators)."""

from __future__ import annotations

import re

from layergen.spec import guards
from layergen.spec.model import LayerSpec, MaskMode
from layergen.spec.tables import (  # noqa: F401  (re-exported)
    DEFAULT_TEST_DIMS,
    DTYPES,
    MAX_RANK,
    TABLE_KEYS,
)
from layergen.spec.value_types import (
    IDENTIFIER_PATTERN,
    PACKAGE_PATTERN,
    PASCAL_CASE_PATTERN,
)

KeyPath = tuple[str | int, ...]
IDENTIFIER = re.compile(rf"^{IDENTIFIER_PATTERN}\Z")
PASCAL_CASE = re.compile(rf"^{PASCAL_CASE_PATTERN}\Z")
# The registration package of a spec that names none (and of no project's).
DEFAULT_PACKAGE = "layergen"
PACKAGE = re.compile(rf"^{PACKAGE_PATTERN}\Z")
# Names the generated code itself uses, on top of Keras Layer attributes.
RESERVED = guards.GENERATED_NAMES


# A capital, one lowercase letter and a run of capitals, with maybe one more
# capital before (ReLU, GeLU, SiLU, GeGLU, PReLU): one word, as Keras names
# its modules (leaky_relu.py, prelu.py).
_SHORT_RUN = re.compile(r"(?:(?<![A-Z])[A-Z])?[A-Z][a-z][A-Z]+(?![a-z])")


def snake_case(name: str) -> str:
    """``SelfAttention`` -> ``self_attention``, ``MLPBlock`` -> ``mlp_block``,
    ``CustomConv2D`` -> ``custom_conv2d``, ``ChannelPReLU`` ->
    ``channel_prelu``: words start at a capital after a lowercase letter, and
    at the last capital of an acronym before a lowercase letter; a short run
    like ``ReLU`` or ``PReLU`` is one word."""
    name = _SHORT_RUN.sub(lambda m: m.group().capitalize(), name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def mask_alias(spec: LayerSpec) -> str | None:
    """``<input>_mask``, the name Keras passes the one main input's mask
    under when call() also gets an optional tensor (Keras fills ``mask`` only
    for a call of one tensor); None where call() reads no mask this way."""
    reads = spec.mask_mode == MaskMode.CONSUME or spec.uses_mask
    if len(spec.main_inputs) != 1 or not spec.optional_inputs or not reads:
        return None
    return f"{spec.main_inputs[0].name}_mask"


def mask_names(spec: LayerSpec) -> list[str]:
    """``mask`` for one input, ``<input>_mask`` for each of several (optional
    inputs, such as an attention mask, get no Keras mask)."""
    if len(spec.main_inputs) == 1:
        return ["mask"]
    return [f"{i.name}_mask" for i in spec.main_inputs]
