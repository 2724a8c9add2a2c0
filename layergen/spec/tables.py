"""Every table of a spec, declared once: its keys, their value types, whether
each is required, its default, a one-line doc and an example.

The single source of truth for what a spec may contain. The validators read
their key lists (:data:`TABLE_KEYS`, behind the unknown-key diagnostics) and
value sets (:data:`DTYPES`, :data:`LAYER_KINDS`, ...) from here; the JSON
Schema that ``layergen schema`` prints and the reference docs/spec.md are
generated from it. A new key goes here first, then into its validator.
"""

from __future__ import annotations

from layergen.spec.model import MASK_MODES, PARAM_TYPES
from layergen.spec.value_types import (
    IDENTIFIER_PATTERN,
    PACKAGE_PATTERN,
    PASCAL_CASE_PATTERN,
    Anything,
    ArrayOf,
    Boolean,
    Choice,
    Entries,
    Expression,
    Integer,
    Key,
    Number,
    OneOf,
    Table,
    TableRef,
    Text,
    TypedBy,
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
# The test input's dims where [test] gives none (the first least_rank), and the
# highest rank an input may declare or a test shape have.
DEFAULT_TEST_DIMS = (2, 3, 4, 5, 6, 7, 2, 3)
MAX_RANK = len(DEFAULT_TEST_DIMS)
MAX_PARAM_DOC_LENGTH = 1000

PARAMS_EXPR = Expression("params")
OF_PARAM_TYPE = "the param's type"
CALL_EXPR = Expression("inputs, weights, params, sublayers, earlier steps")
NUMPY_EXPR = Expression("numpy: inputs, output, weights, params, `np`")
# A shape entry: an int, or an expression of int params and input dimensions.
SHAPE = ArrayOf(OneOf((Integer(), Expression("int params, input dimensions"))))
DTYPE = Choice(DTYPES)
# A weight's initializer, regularizer or constraint (and an object param's
# value): a name, a call like "Constant(-1.0)", or Keras's serialized form.
KERAS_OBJECT = OneOf((Text(), TableRef("keras_object")))

DOCUMENT = Table(
    "",
    "the document",
    (
        Key(
            "layer",
            TableRef("layer"),
            "the class: its name, module, package, doc and kind",
            '{ name = "SimpleDense" }',
            required=True,
        ),
        Key(
            "params",
            Entries(TableRef("param")),
            "constructor arguments, in signature order",
            '{ units = { type = "int", default = 32 } }',
        ),
        Key(
            "checks",
            Entries(Expression("params, input dimensions")),
            "conditions on the params (checked in `__init__`) and on input "
            "dimensions (checked in `build`)",
            '{ even_features = "x[-1] % 2 == 0" }',
        ),
        Key(
            "inputs",
            Entries(TableRef("input")),
            "the tensors `call` takes (default: one input named `inputs`)",
            "{ x = { min_rank = 2 } }",
        ),
        Key(
            "weights",
            Entries(TableRef("weight")),
            "the weights `build` creates",
            '{ bias = { shape = ["units"], initializer = "zeros" } }',
        ),
        Key(
            "sublayers",
            Entries(TableRef("sublayer")),
            "keras.layers the layer builds in `__init__`",
            '{ proj = { layer = "Dense", args = { units = "units" } } }',
        ),
        Key(
            "states",
            Entries(TableRef("state")),
            'a cell\'s recurrent states (`kind = "cell"` only)',
            '{ h = { shape = ["units"] } }',
        ),
        Key(
            "call",
            TableRef("call"),
            "what `call` computes and returns",
            '{ expr = "x * factor" }',
            required=True,
        ),
        Key(
            "updates",
            Entries(Expression("call's names, after the steps")),
            "new values of `trainable = false` weights, assigned in training",
            '{ moving_mean = "0.9 * moving_mean + 0.1 * mean" }',
        ),
        Key(
            "mask",
            TableRef("mask"),
            "what the layer does with Keras masks",
            '{ mode = "propagate" }',
        ),
        Key(
            "output",
            TableRef("output"),
            "the output's shape (and dtype), for `compute_output_shape`",
            '{ shape = ["*x[:-1]", "units"] }',
        ),
        Key(
            "test",
            TableRef("test"),
            "what the generated tests use and check",
            "{ input_shapes = { x = [2, 5, 3] } }",
        ),
    ),
)

LAYER = Table(
    "layer",
    "[layer]",
    (
        Key(
            "name",
            Text(PASCAL_CASE_PATTERN),
            "the class name, PascalCase",
            '"SelfAttention"',
            required=True,
        ),
        Key(
            "package",
            Text(PACKAGE_PATTERN),
            "registration package for `keras.saving.register_keras_serializable`; "
            "the registered name is `package>Name` (default: the project's "
            '`package` in `[tool.layergen]`, else `"layergen"`)',
            '"my_project"',
        ),
        Key(
            "module",
            Text(IDENTIFIER_PATTERN),
            "the module file name (default: snake_case of `name`, "
            "`CustomConv2D` -> `custom_conv2d`)",
            '"custom_conv2d"',
        ),
        Key(
            "doc",
            Text(),
            "the class docstring's summary; any text is safe (it becomes a "
            "literal layergen builds, never code)",
            '"A fully connected layer."',
        ),
        Key(
            "kind",
            Choice(LAYER_KINDS),
            '`"layer"`, or `"cell"`: a recurrent cell for `keras.layers.RNN`',
            '"cell"',
            default="layer",
        ),
    ),
)

# The value each param type takes: its `default`, each of its `choices`.
PARAM_VALUES = TypedBy(
    "type",
    {
        "int": Integer(),
        "float": Number(),
        "bool": Boolean(),
        "str": Text(),
        "list[int]": ArrayOf(Integer()),
        "list[float]": ArrayOf(Number()),
        "list[str]": ArrayOf(Text()),
        "activation": Text(),
        "initializer": KERAS_OBJECT,
        "regularizer": KERAS_OBJECT,
        "constraint": KERAS_OBJECT,
    },
    value_keys=("default",),
    item_keys=("choices",),
)

PARAM = Table(
    "param",
    "[params.NAME]",
    (
        Key(
            "type",
            Choice(tuple(PARAM_TYPES)),
            "the argument's type; object types go through `keras.<kind>.get`",
            '"int"',
            required=True,
        ),
        Key(
            "default",
            Anything(OF_PARAM_TYPE),
            "the default value, of the param's type; without it the argument "
            "is required (and comes before those with defaults)",
            "32",
        ),
        Key("min", Number(), "the least value (int and float params)", "1"),
        Key("max", Number(), "the greatest value (int and float params)", "1.0"),
        Key(
            "choices",
            ArrayOf(Anything(OF_PARAM_TYPE), min_items=1),
            "the values allowed, each of the param's type",
            '["sum", "mean"]',
        ),
        Key(
            "doc",
            Text(max_length=MAX_PARAM_DOC_LENGTH),
            "what the argument does, for `Args:` in the class docstring "
            f"(any text, not blank, at most {MAX_PARAM_DOC_LENGTH} characters)",
            '"Dimensionality of the output space."',
        ),
    ),
    typed_by=PARAM_VALUES,
)

INPUT = Table(
    "input",
    "[inputs.NAME]",
    (
        Key(
            "rank",
            Integer(1, MAX_RANK),
            "the exact rank, batch axis included (a cell's input: 2)",
            "3",
        ),
        Key(
            "min_rank",
            Integer(1, MAX_RANK),
            "the least rank (give `rank` or `min_rank`, not both)",
            "2",
        ),
        Key("dtype", DTYPE, "for integer or boolean inputs (token ids)", '"int32"'),
    ),
)

WEIGHT = Table(
    "weight",
    "[weights.NAME]",
    (
        Key(
            "shape",
            SHAPE,
            "each entry an int, an int param, an input dimension (`x[-1]`, "
            '`value[1]`), or `+ - * // %` of those (`"embed_dim // num_heads"`)',
            '["x[-1]", "units"]',
            required=True,
        ),
        Key(
            "initializer",
            KERAS_OBJECT,
            "an initializer param, a Keras initializer id, or a class with "
            'arguments: `"Constant(-1.0)"` or `{ class_name = "Constant", '
            "config = { value = -1.0 } }`",
            '"kernel_initializer"',
            default="glorot_uniform",
        ),
        Key(
            "trainable",
            Boolean(),
            "`false` for state that `[updates]` assigns",
            "false",
            default=True,
        ),
        Key(
            "dtype",
            DTYPE,
            "for non-float state; float weights take the layer's variable "
            "dtype, so mixed precision works",
            '"int32"',
        ),
        Key(
            "regularizer",
            KERAS_OBJECT,
            "a regularizer param, a Keras regularizer id, or a class with "
            'arguments (`"L2(1e-4)"`)',
            '"kernel_regularizer"',
        ),
        Key(
            "constraint",
            KERAS_OBJECT,
            "a constraint param, a Keras constraint id, or a class with "
            'arguments (`"MaxNorm(3.0)"`)',
            '"non_neg"',
        ),
        Key(
            "if",
            PARAMS_EXPR,
            "create the weight only when this condition over params holds "
            "(otherwise the attribute is `None`)",
            '"use_bias"',
        ),
    ),
)

KERAS_OBJECT_TABLE = Table(
    "keras_object",
    "a Keras initializer, regularizer or constraint with arguments",
    (
        Key(
            "class_name",
            Text(),
            "the Keras class, spelled as the class is (`Constant`, not `constant`)",
            '"Constant"',
            required=True,
        ),
        Key(
            "config",
            Entries(Anything()),
            "its constructor's arguments by name: literals of the types their "
            "defaults have",
            "{ value = -1.0 }",
        ),
    ),
)

SUBLAYER = Table(
    "sublayer",
    "[sublayers.NAME]",
    (
        Key(
            "layer",
            Text(),
            "a keras.layers class",
            '"Dense"',
            required=True,
        ),
        Key(
            "args",
            Entries(Expression("params (and `item` with `for_each`)")),
            "its constructor arguments, each an expression over params",
            '{ units = "units", activation = "\'relu\'" }',
        ),
        Key(
            "for_each",
            PARAMS_EXPR,
            "a list of sublayers, one per element of this list param; "
            "`item` in `args` is the element",
            '"sizes"',
        ),
    ),
)

STATE = Table(
    "state",
    "[states.NAME]",
    (
        Key(
            "shape",
            SHAPE,
            "the state's shape without the batch axis (params only)",
            '["units"]',
            required=True,
        ),
    ),
)

CALL = Table(
    "call",
    "[call]",
    (
        Key(
            "training",
            Boolean(),
            "`call` takes `training=None`, usable in expressions",
            "true",
            default=False,
        ),
        Key(
            "steps",
            ArrayOf(Expression("call's names; each step may assign new ones")),
            "statements run in order before `expr`: assignments, tuple "
            "targets, a one-line `for` over a sublayer list",
            '["h = ops.matmul(x, kernel)"]',
            default=[],
        ),
        Key("expr", CALL_EXPR, "the returned value", '"activation(h)"', required=True),
        Key(
            "next_states",
            Entries(CALL_EXPR),
            "a cell's new value of each state",
            '{ h = "output" }',
        ),
    ),
)

MASK = Table(
    "mask",
    "[mask]",
    (
        Key(
            "mode",
            Choice(tuple(MASK_MODES)),
            "what the layer does with the input mask (see below)",
            '"propagate"',
            default="none",
        ),
        Key(
            "expr",
            Expression("call's names and `mask`"),
            'the output mask, with `mode = "compute"`',
            '"ops.any(mask, axis=-1)"',
        ),
    ),
)

OUTPUT = Table(
    "output",
    "[output]",
    (
        Key(
            "shape",
            ArrayOf(OneOf((Integer(), Expression("as weight shapes, `*x[a:b]`")))),
            "entries as weight shapes, plus `*x[a:b]` and `None`",
            '["*x[:-1]", "units"]',
        ),
        Key(
            "dtype",
            DTYPE,
            "an output not in the compute dtype (an index, a flag); needs `shape`",
            '"int32"',
        ),
    ),
)

TEST = Table(
    "test",
    "[test]",
    (
        Key(
            "params",
            Entries(Anything(OF_PARAM_TYPE)),
            "constructor arguments for the tests (default: the params' "
            "defaults; required params must be given)",
            "{ units = 8 }",
        ),
        Key(
            "input_shapes",
            Entries(ArrayOf(Integer(1), min_items=1)),
            "concrete input shapes, batch first (default `[2, 3, ...]` up to "
            "the input's rank; a cell's: one step)",
            "{ x = [2, 5, 3] }",
        ),
        Key(
            "reference",
            NUMPY_EXPR,
            "a numpy expression the output must match at inference; inputs, "
            "weights and params by name, `np` for numpy",
            '"np.maximum(x @ kernel + bias, 0)"',
        ),
        Key(
            "properties",
            Entries(OneOf((NUMPY_EXPR, TableRef("property")))),
            "named numpy conditions the output must meet (see below)",
            '{ finite = "np.all(np.isfinite(output))" }',
        ),
        Key(
            "training_changes_output",
            Boolean(),
            "with `training = true`, the tests assert that `training=True` "
            "changes the output",
            "false",
            default=True,
        ),
        Key(
            "differentiable",
            Boolean(),
            "compare input gradients with finite differences (default `false` "
            "for a non-float `[output] dtype`); `false` for outputs no gradient "
            "flows to (an index, a rounding)",
            "false",
            default=True,
        ),
        Key(
            "unbiased_in_training",
            Boolean(),
            "a random layer that is the identity at inference must average to "
            "it in training (the mean of 256 training calls); `false` for layers "
            "meant to be biased (an augmentation)",
            "false",
            default=True,
        ),
    ),
)

PROPERTY = Table(
    "property",
    "[test.properties.NAME]",
    (
        Key(
            "expr",
            NUMPY_EXPR,
            "the condition, true for every element",
            '"np.all(output >= 0)"',
            required=True,
        ),
        Key(
            "when",
            Choice(PROPERTY_WHEN),
            'checked at inference, or on each of 20 training calls ("training")',
            '"training"',
            default="inference",
        ),
    ),
)

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
        MASK,
        OUTPUT,
        TEST,
        PROPERTY,
    )
}
# Each table's keys, for the validators' unknown-key diagnostics.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    name: table.key_names for name, table in TABLES.items()
}
