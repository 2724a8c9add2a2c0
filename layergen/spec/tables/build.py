"""What the layer builds: ``[weights]`` (and their Keras objects with
arguments), ``[sublayers]`` and a cell's ``[states]``."""

from __future__ import annotations

from layergen.spec.tables.vocabulary import (
    DTYPE,
    KERAS_OBJECT,
    PARAMS_EXPR,
    SHAPE,
)
from layergen.spec.value_types import (
    Anything,
    Boolean,
    Entries,
    Expression,
    Key,
    Table,
    Text,
)

WEIGHT = Table(
    "weight",
    "[weights.NAME]",
    (
        Key(
            "shape",
            SHAPE,
            "each entry an int, an int param, an input dimension (`x[-1]`, "
            '`value[1]`), `+ - * // %` of those (`"embed_dim // num_heads"`), '
            "or `a if condition else b` of those (see `[output]`)",
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
            "its class: a keras.layers class (`Dense`), the layer of another "
            "spec of the same run (`RMSNorm`), or a class of a module that "
            "`[tool.layergen] allow-imports` lists "
            "(`keras_hub.layers.PositionEmbedding`); required unless `spec` "
            "is given",
            '"Dense"',
        ),
        Key(
            "spec",
            Text(),
            "instead of `layer`: the spec file whose layer this is, relative to "
            "this spec's directory (and inside it); it is generated in the same "
            "run",
            '"rms_norm.toml"',
        ),
        Key(
            "args",
            Entries(
                Expression(
                    "params, input dimensions like `x[-1]` (and `item` with "
                    "`for_each`)"
                )
            ),
            "its constructor arguments, each an expression over params and "
            "the required inputs' dimensions (`x[-1] // num_heads`); a "
            "sublayer whose arguments read a dimension is made in `build`",
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
