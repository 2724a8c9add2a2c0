"""Every table of a spec, declared once: its keys, their value types, whether
each is required, its default, a one-line doc and an example.

The single source of truth for what a spec may contain. The validators read
their key lists (:data:`TABLE_KEYS`, behind the unknown-key diagnostics) and
value sets (:data:`DTYPES`, :data:`LAYER_KINDS`, ...) from here; the JSON
Schema that ``layergen schema`` prints and the reference docs/spec.md are
generated from it. A new key goes here first (in the module of its table:
``layer``, ``build``, ``call``; shared value sets in ``vocabulary``), then
into its validator.
"""

from __future__ import annotations

from layergen.spec.tables.build import KERAS_OBJECT_TABLE, STATE, SUBLAYER, WEIGHT
from layergen.spec.tables.call import (
    CALL,
    CALL_ARG,
    CALL_INPUT,
    MASK,
    NAMED_OUTPUT,
    OUTPUT,
    PROPERTY,
    TEST,
)
from layergen.spec.tables.layer import DOCUMENT, INPUT, LAYER, PARAM, PARAM_VALUES
from layergen.spec.tables.vocabulary import (
    CALL_ARG_TYPES,
    DEFAULT_TEST_DIMS,
    DTYPES,
    LAYER_KINDS,
    MAX_PARAM_DOC_LENGTH,
    MAX_RANK,
    PROPERTY_WHEN,
)
from layergen.spec.value_types import Table

__all__ = [
    "CALL_ARG_TYPES",
    "DEFAULT_TEST_DIMS",
    "DTYPES",
    "LAYER_KINDS",
    "MAX_PARAM_DOC_LENGTH",
    "MAX_RANK",
    "PARAM_VALUES",
    "PROPERTY_WHEN",
    "TABLES",
    "TABLE_KEYS",
]

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        DOCUMENT,
        LAYER,
        PARAM,
        INPUT,
        WEIGHT,
        KERAS_OBJECT_TABLE,
        SUBLAYER,
        STATE,
        CALL,
        CALL_ARG,
        MASK,
        OUTPUT,
        NAMED_OUTPUT,
        TEST,
        CALL_INPUT,
        PROPERTY,
    )
}
# Each table's keys, for the validators' unknown-key diagnostics.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    name: table.key_names for name, table in TABLES.items()
}
