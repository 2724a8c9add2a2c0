"""The value sets and value types several tables share: dtypes, kinds,
rank limits, shapes, expressions, Keras objects."""

from __future__ import annotations

from layergen.spec.value_types import (
    ArrayOf,
    Choice,
    Expression,
    Integer,
    OneOf,
    TableRef,
    Text,
)

DTYPES = (
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
)
LAYER_KINDS = ("layer", "cell")
PROPERTY_WHEN = ("inference", "training")
# The types of `[call.args]`: flags and numbers, never objects or lists.
CALL_ARG_TYPES = ("bool", "int", "float", "str")
# The test input's dims where [test] gives none (the first least_rank), and the
# highest rank an input may declare or a test shape have.
DEFAULT_TEST_DIMS = (2, 3, 4, 5, 6, 7, 2, 3)
MAX_RANK = len(DEFAULT_TEST_DIMS)
MAX_PARAM_DOC_LENGTH = 1000

PARAMS_EXPR = Expression("params")
OF_PARAM_TYPE = "the param's type"
OF_ARG_TYPE = "the argument's type"
CALL_EXPR = Expression("inputs, weights, params, sublayers, earlier steps")
NUMPY_EXPR = Expression("inputs, output, weights, params, `np` (numpy)")
# A shape entry: an int, or an expression of int params and input dimensions.
SHAPE = ArrayOf(OneOf((Integer(), Expression("int params, input dimensions"))))
DTYPE = Choice(DTYPES)
# A weight's initializer, regularizer or constraint (and an object param's
# value): a name, a call like "Constant(-1.0)", or Keras's serialized form.
KERAS_OBJECT = OneOf((Text(), TableRef("keras_object")))
