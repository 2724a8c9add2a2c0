"""The spec's tables, declared once in layergen.spec.tables: the validators
read their keys from there."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from layergen.errors import SpecError
from layergen.spec.tables import TABLE_KEYS, TABLES
from layergen.spec.validate import load_spec

from .conftest import MINIMAL_SPEC

KEYS = [(table, key) for table in TABLES.values() for key in table.keys]


@pytest.mark.parametrize(
    ("table", "key"), KEYS, ids=[f"{t.name or 'document'}.{k.name}" for t, k in KEYS]
)
def test_every_key_has_a_one_line_doc_and_a_toml_example(table, key) -> None:
    assert key.doc and "\n" not in key.doc
    assert tomllib.loads(f"value = {key.example}")["value"] is not None
    assert table.key(key.name) is key


def test_unknown_key_diagnostics_list_the_declared_keys(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(MINIMAL_SPEC.replace("[call]", "[call]\nexp = 1"))
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    (diagnostic,) = raised.value.diagnostics
    expected = ", ".join(f"`{k}`" for k in TABLE_KEYS["call"])
    assert diagnostic.key == "call.exp"
    assert diagnostic.message.endswith(f"(expected one of {expected})")
    assert "did you mean `expr`?" in diagnostic.message
