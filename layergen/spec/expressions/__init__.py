"""User expressions: parse with ``ast``, check against an allowlist, rewrite.

Spec expressions become Python code that is imported and run, so nothing is
pasted: every expression is parsed, every node and name is checked against
what the spec declares, and the emitted code is ``ast.unparse`` of a
rewritten tree (``units`` -> ``self.units``, ``random.normal(...)`` ->
``keras.random.normal(..., seed=self.seed_generator)``).

- :mod:`.symbols`: what a name stands for (Symbol, Scope), ExpressionError
- :mod:`.parse`: expressions and steps, within length and depth limits
- :mod:`.check`: the allowlist (syntax, names, attributes, calls, modules)
- :mod:`.dimensions`: shape entries and input dimensions
- :mod:`.emit`: code for a checked tree
"""

from layergen.spec.expressions.check import (
    ALLOWED_NODES,
    FLOAT32_MAKERS,
    HIGHER_ORDER_OPS,
    NUMPY_LINALG,
    NUMPY_MATH,
    check_expression,
    check_step,
    float32_constants,
)
from layergen.spec.expressions.dimensions import (
    SHAPE_OPERATORS,
    check_input_dims_only,
    check_shape_dim,
    input_axes,
    input_dims,
    not_none_when,
    star_slice,
)
from layergen.spec.expressions.emit import negated, to_code
from layergen.spec.expressions.parse import (
    MAX_EXPRESSION_DEPTH,
    MAX_EXPRESSION_LENGTH,
    assigned_names,
    parse_expression,
    parse_step,
)
from layergen.spec.expressions.symbols import (
    BUILTIN,
    FLAG,
    INPUT,
    LOCAL,
    MODULE,
    PARAM,
    SAFE_BUILTINS,
    SUBLAYER,
    SUBLAYER_LIST,
    SUBLAYER_WEIGHTS,
    TENSOR_ATTRIBUTES,
    TENSOR_KINDS,
    UNLOCKED_BY,
    WEIGHT,
    ExpressionError,
    Scope,
    Symbol,
    SymbolKind,
    dotted_chain,
    names_in,
)

__all__ = [
    "ALLOWED_NODES",
    "BUILTIN",
    "FLAG",
    "FLOAT32_MAKERS",
    "HIGHER_ORDER_OPS",
    "INPUT",
    "LOCAL",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_LENGTH",
    "MODULE",
    "NUMPY_LINALG",
    "NUMPY_MATH",
    "PARAM",
    "SAFE_BUILTINS",
    "SHAPE_OPERATORS",
    "SUBLAYER",
    "SUBLAYER_LIST",
    "SUBLAYER_WEIGHTS",
    "TENSOR_ATTRIBUTES",
    "TENSOR_KINDS",
    "UNLOCKED_BY",
    "WEIGHT",
    "ExpressionError",
    "Scope",
    "Symbol",
    "SymbolKind",
    "assigned_names",
    "check_expression",
    "check_input_dims_only",
    "check_shape_dim",
    "not_none_when",
    "check_step",
    "dotted_chain",
    "float32_constants",
    "input_axes",
    "input_dims",
    "star_slice",
    "names_in",
    "negated",
    "parse_expression",
    "parse_step",
    "to_code",
]
