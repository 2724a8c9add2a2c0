"""What call() computes and how it is tested: ``[call]``, ``[mask]``,
``[output]``, ``[test]`` and its properties."""

from __future__ import annotations

from layergen.spec.model import MASK_MODES
from layergen.spec.tables.vocabulary import (
    CALL_ARG_TYPES,
    CALL_EXPR,
    DTYPE,
    MAX_PARAM_DOC_LENGTH,
    NUMPY_EXPR,
    OF_ARG_TYPE,
    OF_PARAM_TYPE,
    PROPERTY_WHEN,
)
from layergen.spec.value_types import (
    IDENTIFIER_PATTERN,
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
            ArrayOf(Expression("the names call sees (a step may bind new ones)")),
            "statements run in order before `expr`: assignments, tuple "
            "targets, a one-line `for` over a sublayer list",
            '["h = ops.matmul(x, kernel)"]',
            default=[],
        ),
        Key("expr", CALL_EXPR, "the returned value", '"activation(h)"', required=True),
        Key(
            "losses",
            ArrayOf(CALL_EXPR),
            "scalars call adds with `self.add_loss` after the steps (a "
            "VQ-VAE's commitment loss, an activity penalty); `fit` adds them "
            "to the model's loss",
            '["beta * ops.mean(ops.square(x - ops.stop_gradient(q)))"]',
            default=[],
        ),
        Key(
            "next_states",
            Entries(CALL_EXPR),
            "a cell's new value of each state",
            '{ h = "output" }',
        ),
        Key(
            "args",
            Entries(TableRef("call_arg")),
            "call arguments that are not tensors: flags and numbers with "
            "defaults, after the inputs in `call`'s signature",
            '{ use_causal_mask = { type = "bool", default = false } }',
        ),
        Key(
            "signature",
            ArrayOf(Text(IDENTIFIER_PATTERN)),
            "`call`'s arguments in order: every input and `[call.args]` entry "
            "(`training` and the masks may be placed too), the required inputs "
            "first (default: inputs, optional inputs, `training`, masks, "
            "`[call.args]`)",
            '["inputs", "start_index", "positions"]',
        ),
    ),
)

CALL_ARG = Table(
    "call_arg",
    "[call.args.NAME]",
    (
        Key(
            "type",
            Choice(CALL_ARG_TYPES),
            "the argument's type",
            '"bool"',
            required=True,
        ),
        Key(
            "default",
            Anything(OF_ARG_TYPE),
            "the value `call` uses when the argument is not passed, of its type",
            "false",
            required=True,
        ),
        Key("min", Number(), "the least value (int and float arguments)", "0"),
        Key("max", Number(), "the greatest value (int and float arguments)", "1.0"),
        Key(
            "choices",
            ArrayOf(Anything(OF_ARG_TYPE), min_items=1),
            "the values allowed, each of the argument's type",
            '["left", "right"]',
        ),
        Key(
            "doc",
            Text(max_length=MAX_PARAM_DOC_LENGTH),
            "what the argument does, for `Call arguments:` in the class docstring",
            '"Whether to apply a causal mask."',
        ),
    ),
    typed_by=TypedBy(
        "type",
        {"int": Integer(), "float": Number(), "bool": Boolean(), "str": Text()},
        value_keys=("default",),
        item_keys=("choices",),
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
            ArrayOf(
                OneOf(
                    (Integer(), Expression("int params, input dimensions, `*x[a:b]`"))
                )
            ),
            "entries as weight shapes (conditional ones too: `x[1] if padding "
            "== 'same' else x[1] - kernel_size + 1`), plus `*x[a:b]` and `None`",
            '["*x[:-1]", "units"]',
        ),
        Key(
            "dtype",
            DTYPE,
            "an output not in the compute dtype (an index, a flag); needs `shape`",
            '"int32"',
        ),
        Key(
            "shape_if",
            Entries(
                ArrayOf(
                    OneOf(
                        (
                            Integer(),
                            Expression("int params, input dimensions, `*x[a:b]`"),
                        )
                    )
                )
            ),
            "the output's shape when a bool `[call.args]` flag is true, entries "
            "as `shape` (the first true flag's; `shape` otherwise)",
            '{ reverse = ["*inputs[:-1]", "input_dim"] }',
        ),
    ),
)

NAMED_OUTPUT = Table(
    "named_output",
    "[output.NAME]",
    (
        Key(
            "shape",
            ArrayOf(OneOf((Integer(), Expression("as weight shapes, `*x[a:b]`")))),
            "this output's shape, entries as `[output] shape`",
            '["query[0]", "num_heads", "query[1]", "value[1]"]',
            required=True,
        ),
        Key(
            "dtype",
            DTYPE,
            "this output's dtype, when not the compute dtype",
            '"int32"',
        ),
        Key(
            "when",
            Text(IDENTIFIER_PATTERN),
            "a bool `[call.args]` flag: the output is returned only when it is "
            "true (not for the first output; other outputs may name other "
            "flags, up to four)",
            '"return_attention_scores"',
        ),
        Key(
            "mask",
            Expression("params, the first input, `mask`"),
            'this output\'s Keras mask, with `[mask] mode = "compute"` (an '
            "output without one carries none)",
            '"ops.not_equal(ids, 0)"',
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
            OneOf(
                (
                    Expression(
                        "inputs, weights, sublayers' weights, params, call "
                        "arguments, `np` (numpy)"
                    ),
                    Entries(
                        Expression(
                            "inputs, weights, sublayers' weights, params, call "
                            "arguments, `np`"
                        )
                    ),
                )
            ),
            "a numpy expression the output must match at inference; inputs, "
            "weights, params and call arguments by name (an optional input not "
            "passed is `None`), a sublayer's weights by path (`proj.kernel`), "
            "`np` for numpy; for several outputs, a table with one per output",
            '"np.maximum(x @ kernel + bias, 0)"',
        ),
        Key(
            "losses",
            ArrayOf(Expression("inputs, weights, params, `np` (numpy)")),
            "numpy expressions the losses of `[call] losses` must match at "
            "inference, and in training where `training` cannot change them, "
            "one per loss, in order (without it: each a finite scalar)",
            '["0.25 * np.mean((x - np.round(x)) ** 2)"]',
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
        Key(
            "call_args",
            Entries(Anything(OF_ARG_TYPE)),
            "call arguments of the tests' second call, which also passes every "
            "optional input (default: each bool flag flipped)",
            "{ start_index = 2 }",
        ),
        Key(
            "call_inputs",
            Entries(TableRef("call_input")),
            "required inputs the second call passes with another shape or "
            "dtype, for a flag that changes what the layer takes (vectors, not "
            "ids, with `reverse = true`)",
            '{ inputs = { shape = [2, 5, 4], dtype = "float32" } }',
        ),
    ),
)

CALL_INPUT = Table(
    "call_input",
    "[test.call_inputs.NAME]",
    (
        Key(
            "shape",
            ArrayOf(Integer(1), min_items=1),
            "the input's shape in the second call, batch first",
            "[2, 5, 4]",
            required=True,
        ),
        Key(
            "dtype",
            DTYPE,
            "its dtype there (default: the input's `dtype`, else float32)",
            '"float32"',
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
