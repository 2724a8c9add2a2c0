"""The JSON Schema (draft 2020-12) of a spec, generated from
:mod:`layergen.spec.tables`: what ``layergen schema`` prints and what the
``#:schema`` line of a spec points editors (Taplo, Even Better TOML) to.

It checks structure only (keys, value types, enums, required keys); what an
expression may say, or which names it may use, is the validator's job. The
copy shipped in the package, :data:`SHIPPED`, is this text: a test fails
when it is stale (``make schema`` rewrites it).
"""

from __future__ import annotations

import json
import os
import tomllib
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any

from layergen.spec.tables import TABLES
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
    NoValue,
    Number,
    OneOf,
    Table,
    TableRef,
    Text,
    TypedBy,
    ValueType,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The schema file in the installed package, and its name in a checkout.
SHIPPED = resources.files("layergen") / "data" / "spec.schema.json"
SHIPPED_PATH = "layergen/data/spec.schema.json"


def spec_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict: the document's table at the top,
    every other fixed table under ``$defs``."""
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": "layergen layer spec",
        "description": "A TOML spec from which layergen generates a Keras 3 "
        "layer and its tests. Reference: docs/spec.md.",
    }
    schema.update(_table(TABLES[""]))
    schema["$defs"] = {
        name: _table(table) for name, table in TABLES.items() if name != ""
    }
    return schema


def schema_text() -> str:
    """The schema as ``layergen schema`` prints it and the package ships it."""
    return json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_line(spec: Path) -> str:
    """The ``#:schema`` line for a spec written at ``spec``: the shipped
    schema's path relative to the spec's directory when the two share one
    below the root (a project's ``.venv``, a checkout), else its ``file:``
    URI; percent-encoded, so that no path can break out of the comment."""
    target = Path(str(SHIPPED)).resolve()
    folder = Path(spec).parent.resolve()
    if os.path.commonpath([target, folder]) == target.anchor:
        return f"#:schema {target.as_uri()}\n"
    relative = os.path.relpath(target, folder)
    if not relative.startswith(".."):
        relative = f"./{relative}"
    return f"#:schema {urllib.parse.quote(relative)}\n"


def _table(table: Table) -> dict[str, Any]:
    found: dict[str, Any] = {"type": "object"}
    if table.name:
        found["description"] = table.header
    found["properties"] = {key.name: _key(key) for key in table.keys}
    required = [key.name for key in table.keys if key.required]
    if required:
        found["required"] = required
    found["additionalProperties"] = False
    if table.typed_by is not None:
        found["allOf"] = _typed_by(table.typed_by)
    return found


def _typed_by(typed: TypedBy) -> list[dict[str, Any]]:
    """One ``if``/``then`` per type: the keys' values must be of it."""
    conditions = []
    for name, value in typed.types.items():
        schema = value_schema(value)
        then = {key: schema for key in typed.value_keys}
        then |= {key: {"items": schema} for key in typed.item_keys}
        condition = {"properties": {typed.selector: {"const": name}}}
        conditions.append(
            {
                "if": {**condition, "required": [typed.selector]},
                "then": {"properties": then},
            }
        )
    return conditions


def _key(key: Key) -> dict[str, Any]:
    found = {"description": key.doc, **value_schema(key.type)}
    if key.default is not None:
        found["default"] = key.default
    found["examples"] = [tomllib.loads(f"value = {key.example}")["value"]]
    return found


def value_schema(value: ValueType) -> dict[str, Any]:
    """The JSON Schema of one value type."""
    match value:
        case Text(pattern=pattern, max_length=max_length):
            found: dict[str, Any] = {"type": "string"}
            if pattern is not None:
                found["pattern"] = f"^{pattern}$"
            if max_length is not None:
                found["maxLength"] = max_length
            return found
        case Expression():
            return {"type": "string"}
        case Integer(minimum=minimum, maximum=maximum):
            found = {"type": "integer"}
            if minimum is not None:
                found["minimum"] = minimum
            if maximum is not None:
                found["maximum"] = maximum
            return found
        case Number():
            return {"type": "number"}
        case Boolean():
            return {"type": "boolean"}
        case Choice(values=values):
            return {"type": "string", "enum": list(values)}
        case Anything():
            return {}
        case NoValue():
            return {"not": {}}
        case ArrayOf(item=item, min_items=min_items):
            found = {"type": "array", "items": value_schema(item)}
            if min_items:
                found["minItems"] = min_items
            return found
        case OneOf(options=options):
            return {"anyOf": [value_schema(option) for option in options]}
        case Entries(value=entry):
            return {
                "type": "object",
                "propertyNames": {"pattern": f"^{IDENTIFIER_PATTERN}$"},
                "additionalProperties": value_schema(entry),
            }
        case TableRef(name=name):
            return {"$ref": f"#/$defs/{name}"}
    raise TypeError(f"no JSON Schema for {value!r}")
