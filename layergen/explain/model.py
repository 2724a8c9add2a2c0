"""What ``layergen explain`` found: plain data, no Keras objects, so that the
text, Mermaid and JSON views need nothing but this module."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The two traces: the [test] input shapes, then None for the batch and for
# every dimension no weight or check pins.
PASSES = ("test", "unknown")


@dataclass(frozen=True)
class Value:
    """What a name holds after a step: a symbolic tensor's shape and dtype, or
    a plain Python value (an int dimension, a tuple of them, None)."""

    shape: tuple[int | None, ...] | None = None
    dtype: str | None = None
    python: str | None = None  # repr of a value that is not a tensor

    def __str__(self) -> str:
        if self.shape is None:
            return self.python if self.python is not None else "?"
        dims = ", ".join("None" if d is None else str(d) for d in self.shape)
        shape = f"({dims},)" if len(self.shape) == 1 else f"({dims})"
        return f"{shape} {self.dtype}" if self.dtype else shape


@dataclass(frozen=True)
class Place:
    """Where a key is written in the spec: ``file:line:col`` and its key path."""

    file: str
    line: int
    column: int
    key: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Named:
    """A name and its value in each trace (``PASSES`` order; None where that
    trace stopped before it)."""

    name: str
    values: tuple[Value | None, ...]


@dataclass(frozen=True)
class WeightInfo:
    name: str
    shape_expr: str  # the spec's shape, e.g. "[x[-1], units]"
    value: Value | None  # None: not created (its `if` is false)
    trainable: bool
    condition: str | None = None


@dataclass(frozen=True)
class SublayerInfo:
    name: str
    layer: str  # the keras.layers class
    count: int | None  # a for_each list's length; None for one layer
    weights: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class StepInfo:
    """One step of ``call`` (or the returned expression, the mask, an update,
    a next state): its checked code and what it binds."""

    kind: str  # "step", "output", "mask", "update", "state"
    code: str
    place: Place
    reads: tuple[str, ...]
    binds: tuple[Named, ...]


@dataclass(frozen=True)
class TraceError:
    """A step that raised while traced (``code`` is the step), or a result
    that contradicts the spec (``code`` empty): where, in which trace, why."""

    place: Place
    code: str
    trace: str  # one of PASSES
    message: str
    severity: str = "error"  # "warning": harmless where [output] gives the shape

    def __str__(self) -> str:
        p = self.place
        shapes = "[test] input shapes" if self.trace == "test" else "unknown dims"
        what = (
            f"`{self.code}` fails with the {shapes}: {self.message}"
            if self.code
            else f"with the {shapes}, {self.message}"
        )
        where = f"{p.file}:{p.line}:{p.column}"
        return f"{where}: {self.severity}: {p.key}: {what}"


@dataclass
class Explanation:
    """A spec traced on symbolic tensors: inputs, weights, sublayers, steps,
    output and mask, for the [test] shapes and with unknown dimensions."""

    layer: str
    spec: str
    backend: str
    params: dict[str, Any]  # the [test] values, as the spec gives them
    mask_mode: str
    inputs: list[Named] = field(default_factory=list)
    weights: list[WeightInfo] = field(default_factory=list)
    sublayers: list[SublayerInfo] = field(default_factory=list)
    steps: list[StepInfo] = field(default_factory=list)
    declared_output: tuple[Value | None, ...] = ()
    errors: list[TraceError] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when a step fails or the output contradicts ``[output]``."""
        return 1 if any(e.severity == "error" for e in self.errors) else 0

    def as_json(self) -> dict[str, Any]:
        """The whole explanation as JSON-ready data."""
        data = asdict(self)
        data["errors"] = [{**asdict(e), "text": str(e)} for e in self.errors]
        return data
