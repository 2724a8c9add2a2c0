"""The document's top level, ``[layer]``, ``[params]`` and ``[inputs]``."""

from __future__ import annotations

from layergen.spec.model import PARAM_TYPES
from layergen.spec.tables.vocabulary import (
    DTYPE,
    KERAS_OBJECT,
    LAYER_KINDS,
    MAX_PARAM_DOC_LENGTH,
    MAX_RANK,
    OF_PARAM_TYPE,
)
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
    NoValue,
    Number,
    OneOf,
    Table,
    TableRef,
    Text,
    TypedBy,
)

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
            "dimensions, at an int literal axis or a required int param's "
            "(checked in `build`)",
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
            OneOf((TableRef("output"), Entries(TableRef("named_output")))),
            "the output's shape (and dtype), for `compute_output_shape`; or "
            "several outputs, one `[output.NAME]` table each",
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
            "`CustomConv2D` -> `custom_conv2d`, `ChannelPReLU` -> `channel_prelu`)",
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
        Key(
            "autocast",
            Boolean(),
            "`false`: as Keras's `autocast=False` (LayerNormalization's), "
            "call() computes in float32 under a mixed policy and returns the "
            "compute dtype",
            "false",
            default=True,
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
        "layer": NoValue("none: a layer is no TOML value"),
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
            "the argument's type; object types go through `keras.<kind>.get`; "
            '`"layer"`: a Keras layer the layer holds (and tracks: its weights '
            "are the layer's too), serialized with `keras.layers.serialize`",
            '"int"',
            required=True,
        ),
        Key(
            "default",
            Anything(OF_PARAM_TYPE),
            "the default value, of the param's type; without it the argument "
            "is required (and comes before those with defaults). An object "
            "param's default with arguments (`{ class_name, config }`) is "
            "`None` in the signature, built in `__init__`; a `layer` param "
            "has none (`optional = true` makes None its default)",
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
            "optional",
            Boolean(),
            "the argument may be `None` (its default, unless `default` is "
            "given); a shape reads it (an int, or a `list[int]`'s items) behind "
            "a condition, like `x[-1] if d is None else d`",
            "true",
            default=False,
        ),
        Key(
            "spec",
            Text(),
            'a `type = "layer"` param\'s class: the layer of this spec file '
            "(beside this spec or below it); `__init__` checks the class, and "
            "expressions may read the layer's params as attributes "
            "(`token_embedding.input_dim`) and call it with its call arguments",
            '"reversible_embedding.toml"',
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
        Key(
            "optional",
            Boolean(),
            "a tensor `call` may go without (`attention_mask=None`); after the "
            "required inputs, and never read by shapes or `[checks]`",
            "true",
            default=False,
        ),
        Key(
            "doc",
            Text(max_length=MAX_PARAM_DOC_LENGTH),
            "what the input is, for `Call arguments:` in the class docstring",
            '"Boolean mask of shape `(batch_size, target_length, source_length)`."',
        ),
    ),
)
