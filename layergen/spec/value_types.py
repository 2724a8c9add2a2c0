"""The vocabulary of :mod:`layergen.spec.tables`: what a key's value may be,
a key, and a table of keys. Plain data; the validators, the JSON Schema
(:mod:`layergen.spec.json_schema`) and the reference (:mod:`layergen.spec.reference`)
each read it their own way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Patterns without anchors: Python adds ``^...\Z``, JSON Schema ``^...$``.
IDENTIFIER_PATTERN = "[A-Za-z_][A-Za-z0-9_]*"
PASCAL_CASE_PATTERN = "[A-Z][A-Za-z0-9]*"
PACKAGE_PATTERN = rf"{IDENTIFIER_PATTERN}(\.{IDENTIFIER_PATTERN})*"


@dataclass(frozen=True)
class Text:
    """A string; ``pattern`` (unanchored) when the validator requires one."""

    pattern: str | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Expression:
    """A string holding a Python expression (or a step), checked against the
    expression allowlist; ``over`` says which names it may use."""

    over: str


@dataclass(frozen=True)
class Integer:
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class Number:
    """An int or a float."""


@dataclass(frozen=True)
class Boolean:
    pass


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    values: tuple[str, ...]


@dataclass(frozen=True)
class Anything:
    """Any TOML value; ``what`` says which in words (a param's default: of
    the param's type)."""

    what: str = "any value"


@dataclass(frozen=True)
class NoValue:
    """No value is allowed (a ``layer`` param's ``default``: a layer is no
    TOML value); ``why`` says so in words."""

    why: str


@dataclass(frozen=True)
class ArrayOf:
    item: ValueType
    min_items: int = 0


@dataclass(frozen=True)
class OneOf:
    options: tuple[ValueType, ...]


@dataclass(frozen=True)
class Entries:
    """A table of ``NAME = value`` entries, each name an identifier."""

    value: ValueType


@dataclass(frozen=True)
class TableRef:
    """A table with fixed keys, declared in :data:`tables.TABLES` under ``name``."""

    name: str


ValueType = (
    Text
    | Expression
    | Integer
    | Number
    | Boolean
    | Choice
    | Anything
    | NoValue
    | ArrayOf
    | OneOf
    | Entries
    | TableRef
)


@dataclass(frozen=True)
class Key:
    """One key of a table. ``example`` is a TOML value (``'{ min_rank = 2 }'``);
    ``default`` is the value taken when the key is left out (None: nothing,
    or a computed default that ``doc`` describes)."""

    name: str
    type: ValueType
    doc: str
    example: str
    required: bool = False
    default: Any = None


@dataclass(frozen=True)
class TypedBy:
    """Keys whose values take the type another key names: a param's
    ``default`` (and each of its ``choices``) is of the param's ``type``."""

    selector: str
    types: dict[str, ValueType]
    value_keys: tuple[str, ...]
    item_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A table with fixed keys: ``[layer]``, or one entry of ``[weights]``.
    ``header`` is how the reference names it (``[weights.NAME]``)."""

    name: str
    header: str
    keys: tuple[Key, ...]
    typed_by: TypedBy | None = None

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def key(self, name: str) -> Key:
        return next(key for key in self.keys if key.name == name)
