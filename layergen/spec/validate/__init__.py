"""Load a TOML layer spec and validate it into a :class:`LayerSpec`.

Every problem becomes a :class:`Diagnostic` with file, line, column and key
path; all of them (up to a cap) are raised together as one SpecError.

One module per table or concern; :mod:`.document` runs them in order:
``[layer]``, ``[params]``, ``[inputs]``, ``[call.args]``, ``[checks]``, ``[weights]``,
``[sublayers]``, ``[states]``, ``[mask]`` mode, ``[call]``, ``[updates]``,
``[mask]`` expr, ``[output]``, ``[test]``, then the whole-spec checks.
"""

from layergen.spec.validate.document import load_spec, validate_document
from layergen.spec.validate.params import param_value_problem
from layergen.spec.validate.reporting import MAX_ERRORS
from layergen.spec.validate.schema import (
    DEFAULT_PACKAGE,
    DEFAULT_TEST_DIMS,
    DTYPES,
    IDENTIFIER,
    MAX_RANK,
    PACKAGE,
    PASCAL_CASE,
    RESERVED,
    TABLE_KEYS,
    KeyPath,
    mask_names,
    snake_case,
)

__all__ = [
    "DEFAULT_PACKAGE",
    "DEFAULT_TEST_DIMS",
    "DTYPES",
    "IDENTIFIER",
    "MAX_ERRORS",
    "MAX_RANK",
    "PACKAGE",
    "PASCAL_CASE",
    "RESERVED",
    "TABLE_KEYS",
    "KeyPath",
    "load_spec",
    "mask_names",
    "param_value_problem",
    "snake_case",
    "validate_document",
]
