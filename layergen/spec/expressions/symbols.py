"""What a name in an expression can stand for (a :class:`Symbol` in a
:data:`Scope`), the error every rule raises, and small helpers the parser,
checker and emitter share."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class SymbolKind(StrEnum):
    """What a name in an expression can stand for; the value is how messages
    name it (``attribute access on sublayer list `blocks` ...``)."""

    INPUT = "input"
    WEIGHT = "weight"
    PARAM = "param"
    SUBLAYER = "sublayer"
    SUBLAYER_LIST = "sublayer list"
    LOCAL = "local"
    MODULE = "module"
    BUILTIN = "builtin"
    FLAG = "flag"
    # A sublayer in a [test] reference: its weights, as numpy arrays, by path.
    SUBLAYER_WEIGHTS = "sublayer's weights"


INPUT, WEIGHT, PARAM = SymbolKind.INPUT, SymbolKind.WEIGHT, SymbolKind.PARAM
SUBLAYER, SUBLAYER_LIST = SymbolKind.SUBLAYER, SymbolKind.SUBLAYER_LIST
LOCAL, MODULE = SymbolKind.LOCAL, SymbolKind.MODULE
BUILTIN, FLAG = SymbolKind.BUILTIN, SymbolKind.FLAG
SUBLAYER_WEIGHTS = SymbolKind.SUBLAYER_WEIGHTS
TENSOR_KINDS = frozenset({INPUT, WEIGHT, LOCAL})
SAFE_BUILTINS = frozenset(
    {"float", "int", "len", "range", "min", "max", "tuple", "list", "abs", "bool"}
)
# Names that only some settings or places make available, and what does.
UNLOCKED_BY = {
    "training": "`training` needs `training = true` in `[call]`",
    "mask": '`mask` needs a `[mask]` mode (`mode = "consume"` to read it in call)',
    "random": "`random` is available in `[call]` and `[updates]` only",
}
TENSOR_ATTRIBUTES = frozenset({"shape", "dtype", "ndim", "T"})
# Names the emitted code writes into expressions, or rewrites wherever they
# are (``units`` -> ``self.units``, ``random`` -> ``keras.random``): no
# comprehension's loop variable may be one.
EMITTED_NAMES = frozenset({"self", "keras", "random", "activations"})


class ExpressionError(ValueError):
    """An expression broke a rule; the message says which and what is allowed."""


@dataclass(frozen=True)
class Symbol:
    """A name visible to expressions and what it stands for. The details are
    keyword-only, so that each says which meaning it has."""

    kind: SymbolKind
    # A param's type (``"activation"`` makes it callable).
    param_type: str | None = field(default=None, kw_only=True)
    # A module's namespace in Keras's catalogue (``"ops"``, ``"numpy"``).
    namespace: str | None = field(default=None, kw_only=True)
    # What a local holds when it is not a tensor: a sublayer for a loop variable.
    holds: SymbolKind | None = field(default=None, kw_only=True)
    # A ``layer`` param of a known spec: the attributes expressions may read
    # (its params), and the spec's class name for messages.
    attributes: frozenset[str] | None = field(default=None, kw_only=True)
    class_name: str | None = field(default=None, kw_only=True)
    # ... and the keyword arguments its call() takes (inputs, call arguments).
    keywords: frozenset[str] | None = field(default=None, kw_only=True)
    # A sublayer's weight paths (``query.kernel``) where the spec knows them;
    # ``inner.*`` (or ``*``) for the weights of a sublayer it does not know.
    weights: frozenset[str] = field(default=frozenset({"*"}), kw_only=True)


Scope = Mapping[str, Symbol]


def did_you_mean(name: str, candidates: Iterable[str], enabled: bool = True) -> str:
    """`` - did you mean `x`?`` (difflib), or nothing when not ``enabled``:
    past the errors that are shown, suggestions only cost time."""
    if not enabled:
        return ""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" - did you mean `{match[0]}`?" if match else ""


def dotted_chain(node: ast.expr) -> list[str] | None:
    """``ops.nn.relu`` -> ``["ops", "nn", "relu"]``; None if not a plain chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def names_in(node: ast.AST) -> set[str]:
    """Every plain name an expression or statement reads or writes."""
    return {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name)}
