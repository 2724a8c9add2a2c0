"""The validated, typed form of a layer spec: what every later step consumes."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class ParamType(StrEnum):
    """A param's ``type``: the value is the spec's spelling (a StrEnum equals
    it, so ``p.type == "int"`` holds)."""

    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    STR = "str"
    LIST_INT = "list[int]"
    LIST_FLOAT = "list[float]"
    LIST_STR = "list[str]"
    ACTIVATION = "activation"
    INITIALIZER = "initializer"
    REGULARIZER = "regularizer"
    CONSTRAINT = "constraint"
    LAYER = "layer"


class MaskMode(StrEnum):
    """``[mask] mode``: what the layer does with Keras masks."""

    NONE = "none"
    PROPAGATE = "propagate"
    CONSUME = "consume"
    COMPUTE = "compute"


PARAM_TYPES = tuple(ParamType)
# Param types held as Keras objects: converted with keras.<kind>.get in
# __init__ and written back with keras.<kind>.serialize in get_config.
OBJECT_PARAM_MODULES = {
    ParamType.ACTIVATION: "activations",
    ParamType.INITIALIZER: "initializers",
    ParamType.REGULARIZER: "regularizers",
    ParamType.CONSTRAINT: "constraints",
}
MASK_MODES = tuple(MaskMode)


@dataclass(frozen=True)
class Expr:
    """A user expression or step: its source text, parsed tree and key path."""

    source: str
    node: ast.AST
    key: str


@dataclass(frozen=True)
class Param:
    name: str
    type: ParamType
    default: Any = None
    has_default: bool = False
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    doc: str | None = None  # what the argument does, for the class docstring
    optional: bool = False  # None is a value too (and the default, unless given)
    # A ``layer`` param's class when ``spec`` names one: another spec's layer
    # (its params are the attributes expressions may read, ``emb.input_dim``).
    spec: LayerSpec | None = field(default=None, compare=False)

    @property
    def object_module(self) -> str | None:
        """``activations``/``initializers``/... for object-valued params."""
        return OBJECT_PARAM_MODULES.get(self.type)

    @property
    def is_layer(self) -> bool:
        return self.type == ParamType.LAYER


@dataclass(frozen=True)
class LayerValue:
    """A ``layer`` param's value in ``[test] params``: its spec's layer made
    with ``args`` (its constructor arguments, literals); expressions evaluated
    on the test values read its params as attributes (``emb.input_dim``)."""

    spec: LayerSpec = field(compare=False)
    args: tuple[tuple[str, Any], ...] = ()

    def __repr__(self) -> str:
        """``ReversibleEmbedding(input_dim=10, output_dim=4)``."""
        args = ", ".join(f"{name}={value!r}" for name, value in self.args)
        return f"{self.spec.name}({args})"

    def attribute(self, name: str) -> Any:
        """The value of param ``name`` of the layer: given, else its default."""
        given = dict(self.args)
        if name in given:
            return given[name]
        param = self.spec.param(name)
        if param is None:
            raise AttributeError(f"`{self.spec.name}` has no param `{name}`")
        return param.default


@dataclass(frozen=True)
class Input:
    name: str
    rank: int | None = None
    min_rank: int | None = None
    dtype: str | None = None
    # An optional tensor argument (``attention_mask=None``): call() may get
    # None, build() never sees its shape.
    optional: bool = False
    doc: str | None = None

    @property
    def least_rank(self) -> int:
        return self.rank or self.min_rank or 2


@dataclass(frozen=True)
class KerasObject:
    """A Keras initializer, regularizer or constraint built with arguments,
    like ``keras.initializers.Constant(value=-1.0)``: the class (from Keras's
    catalogue) and each argument by name, an expression over params and input
    dimensions (a literal is one too)."""

    namespace: str  # "initializers", "regularizers" or "constraints"
    class_name: str
    args: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class Weight:
    name: str
    shape: tuple[Expr, ...]
    # A param's name, a Keras identifier, or a class with arguments.
    initializer: str | KerasObject = "glorot_uniform"
    trainable: bool = True
    dtype: str | None = None
    regularizer: str | KerasObject | None = None
    constraint: str | KerasObject | None = None
    condition: Expr | None = None

    @property
    def build_exprs(self) -> tuple[Expr, ...]:
        """What ``build`` computes to make it, each of which may read input
        dimensions: its shape, and its initializer's, regularizer's and
        constraint's arguments."""
        exprs = list(self.shape)
        for made in (self.initializer, self.regularizer, self.constraint):
            if isinstance(made, KerasObject):
                exprs += [arg for _, arg in made.args]
        return tuple(exprs)


@dataclass(frozen=True)
class Sublayer:
    """A layer made in ``__init__``, or in ``build`` where an argument reads
    an input dimension (``units = "x[-1]"``, ``in_build``): a ``keras.layers``
    class (``module`` and ``spec`` None), the layer of another spec of the run
    (``spec``), or a class of an importable module (``module =
    "keras_hub.layers"``)."""

    name: str
    layer: str  # the class name: "Dense", "RMSNorm", "PositionEmbedding"
    args: tuple[tuple[str, Expr], ...] = ()
    for_each: Expr | None = None
    spec: LayerSpec | None = field(default=None, compare=False)
    module: str | None = None
    in_build: bool = False

    @property
    def constructor(self) -> str:
        """How generated code names the class: ``keras.layers.Dense``,
        ``RMSNorm`` (imported from its module), ``keras_hub.layers.X``."""
        if self.spec is not None:
            return self.spec.name
        return f"{self.module or 'keras.layers'}.{self.layer}"


@dataclass(frozen=True)
class State:
    name: str
    shape: tuple[Expr, ...]


@dataclass(frozen=True)
class Output:
    """One of several outputs (``[output.NAME]``): its shape, its dtype when not
    the compute dtype, the call flag without which it is not returned, and
    its Keras mask with ``[mask] mode = "compute"`` (None: it carries none)."""

    name: str
    shape: tuple[Expr, ...]
    dtype: str | None = None
    when: str | None = None
    mask: Expr | None = None


def output_flags(outputs: list[Output]) -> list[str]:
    """The call flags that add outputs, in the order the outputs name them."""
    return list(dict.fromkeys(o.when for o in outputs if o.when))


@dataclass(frozen=True)
class Property:
    """A stated property of the output (numpy over inputs, output, weights and
    params), checked at inference or on many training calls."""

    name: str
    expr: Expr
    training: bool = False


@dataclass(frozen=True)
class TestConfig:
    params: dict[str, Any]
    input_shapes: dict[str, tuple[int, ...]]
    reference: Expr | None = None
    properties: tuple[Property, ...] = ()
    # Numpy values of the [call] losses, in order (empty: checked finite).
    losses: tuple[Expr, ...] = ()
    training_changes_output: bool = True
    differentiable: bool = True
    unbiased_in_training: bool = True
    # The call arguments' values in the tests' "given" call (optional inputs
    # passed, flags flipped); empty when call() takes none.
    call_args: dict[str, Any] = field(default_factory=dict)
    # Main inputs the given call passes with another shape and dtype (ids, or
    # vectors with ``reverse=True``): name -> (shape, dtype or None).
    call_inputs: dict[str, tuple[tuple[int, ...], str | None]] = field(
        default_factory=dict
    )


@dataclass
class LayerSpec:
    """A whole validated spec. Names in expressions are already checked."""

    name: str
    module: str
    package: str
    doc: str
    kind: str
    spec_path: Path
    spec_text: str
    # False: call() computes in the variable dtype (float32) under a mixed
    # policy and returns the compute dtype, as Keras's LayerNormalization.
    autocast: bool = True
    params: list[Param] = field(default_factory=list)
    checks: dict[str, Expr] = field(default_factory=dict)
    inputs: list[Input] = field(default_factory=list)
    # Non-tensor call arguments with defaults (``use_causal_mask=False``).
    call_args: list[Param] = field(default_factory=list)
    # ``[call] signature``: call()'s arguments in order (empty: the default
    # order, inputs, optional inputs, training, masks, then call args).
    call_order: tuple[str, ...] = ()
    weights: list[Weight] = field(default_factory=list)
    sublayers: list[Sublayer] = field(default_factory=list)
    states: list[State] = field(default_factory=list)
    training: bool = False
    steps: list[Expr] = field(default_factory=list)
    expr: Expr | None = None
    next_states: dict[str, Expr] = field(default_factory=dict)
    # Scalars call() adds with self.add_loss (a commitment loss, a penalty).
    losses: list[Expr] = field(default_factory=list)
    updates: dict[str, Expr] = field(default_factory=dict)
    mask_mode: MaskMode = MaskMode.NONE
    mask_expr: Expr | None = None
    output_shape: tuple[Expr, ...] | None = None
    # ``[output] shape_if``: the output's shape when a bool call flag is true
    # (ReversibleEmbedding's with ``reverse=True``), the first true flag's.
    flag_shapes: dict[str, tuple[Expr, ...]] = field(default_factory=dict)
    output_dtype: str | None = None  # when call() returns no float
    # Several outputs (``[output.NAME]``), in the order call() returns them.
    outputs: list[Output] = field(default_factory=list)
    test: TestConfig | None = None
    uses_random: bool = False
    uses_mask: bool = False
    warnings: list[Any] = field(default_factory=list)
    # Names declared by an entry that failed validation: expressions may use
    # them without a second, knock-on error.
    failed_names: frozenset[str] = frozenset()

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def weight(self, name: str) -> Weight | None:
        return next((w for w in self.weights if w.name == name), None)

    def call_arg(self, name: str) -> Param | None:
        return next((a for a in self.call_args if a.name == name), None)

    @property
    def mask_flags(self) -> list[str]:
        """The call flags ``[mask] expr`` reads: call() then sets the mask."""
        if self.mask_expr is None:
            return []
        read = _names(self.mask_expr.node)
        return [a.name for a in self.call_args if a.name in read]

    def in_call_order(self, names: list[str]) -> list[str]:
        """``names``, call()'s arguments in the default order, in the order
        ``[call] signature`` gives them; those it does not list after."""
        listed = [n for n in self.call_order if n in names]
        return listed + [n for n in names if n not in listed]

    @property
    def is_cell(self) -> bool:
        return self.kind == "cell"

    @property
    def main_inputs(self) -> list[Input]:
        """The inputs call() always gets (build() and masks see these)."""
        return [i for i in self.inputs if not i.optional]

    @property
    def optional_inputs(self) -> list[Input]:
        return [i for i in self.inputs if i.optional]


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
