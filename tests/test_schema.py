"""The spec's tables, declared once in layergen.spec.tables: the validators
read their keys from there, and the JSON Schema is generated from it. The
schema is checked against the validator and, with `check-jsonschema` (a real
external validator that reads TOML), against every example, corpus and
structurally bad spec."""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
import sys
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from layergen.errors import SpecError
from layergen.spec import reference
from layergen.spec.json_schema import (
    SHIPPED,
    schema_line,
    schema_text,
    spec_schema,
)
from layergen.spec.model import PARAM_TYPES
from layergen.spec.tables import PARAM_VALUES, TABLE_KEYS, TABLES
from layergen.spec.validate import load_spec, validate_document

from .conftest import EXAMPLE_SPECS, MINIMAL_SPEC, ROOT

KEYS = [(table, key) for table in TABLES.values() for key in table.keys]
SCHEMA_FILE = (ROOT / "layergen" / "data" / "spec.schema.json").resolve()
CORPUS_SPECS = sorted(
    p
    for folder in ("corpus", "keras_hub")
    for p in (ROOT / "tests" / folder).glob("*.toml")
)
# The structurally bad specs: a wrong type or an unknown key.
STRUCTURAL = sorted(
    p
    for pattern in ("type_*.toml", "unknown_*.toml")
    for p in (ROOT / "tests" / "bad_specs").glob(pattern)
)


@pytest.mark.parametrize(
    ("table", "key"), KEYS, ids=[f"{t.name or 'document'}.{k.name}" for t, k in KEYS]
)
def test_every_key_has_a_one_line_doc_and_an_example_the_schema_accepts(
    table, key
) -> None:
    assert key.doc and "\n" not in key.doc
    example = tomllib.loads(f"value = {key.example}")["value"]
    schema = spec_schema()
    subschema = {"$defs": schema["$defs"], **schema_of(schema, table.name, key.name)}
    assert list(Draft202012Validator(subschema).iter_errors(example)) == []


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


def test_the_shipped_schema_is_current_and_valid_draft_2020_12() -> None:
    assert (
        SCHEMA_FILE.read_text(encoding="utf-8") == schema_text()
    ), "layergen/data/spec.schema.json is stale: run `make schema`"
    assert Path(str(SHIPPED)).resolve() == SCHEMA_FILE.resolve()
    Draft202012Validator.check_schema(spec_schema())


def test_the_schema_command_prints_it_or_writes_it(cli, tmp_path: Path) -> None:
    printed = cli("schema")
    assert printed.exit_code == 0 and printed.output == schema_text()
    target = tmp_path / "spec.schema.json"
    written = cli("schema", "-o", target)
    assert written.exit_code == 0, written.output
    assert target.read_text() == schema_text()
    assert [p.name for p in tmp_path.iterdir()] == ["spec.schema.json"]


def test_the_schema_command_replaces_only_its_own_output(cli, tmp_path: Path) -> None:
    target = tmp_path / "spec.schema.json"
    older = "\n".join(schema_text().splitlines()[:3]) + "\n}\n"  # same head
    target.write_text(older)
    assert cli("schema", "-o", target).exit_code == 0  # an earlier schema: updated
    reference_md = tmp_path / "spec.md"
    assert cli("schema", "--format", "markdown", "-o", reference_md).exit_code == 0
    assert cli("schema", "--format", "markdown", "-o", reference_md).exit_code == 0
    spec = tmp_path / "layer.toml"
    spec.write_text(MINIMAL_SPEC)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(elsewhere)
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for path, reason in [
        (spec, "exists and is not an earlier copy of this output; not replaced"),
        (target, "exists and is not an earlier copy of this output; not replaced"),
        (link, "is a symbolic link, not a regular file; refusing to replace it"),
        (fifo, "is a FIFO, not a regular file; refusing to replace it"),
    ]:
        fmt = "markdown" if path == target else "json"
        result = cli("schema", "--format", fmt, "-o", path)
        assert result.exit_code == 2
        assert result.output == f"{path}: error: {reason}\n"
    assert spec.read_text() == MINIMAL_SPEC
    assert target.read_text() == schema_text()
    assert link.is_symlink() and elsewhere.read_text() == "{}"
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_the_committed_reference_is_current_and_documents_every_table(cli) -> None:
    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert text == reference.markdown(), "docs/spec.md is stale: run `make schema`"
    printed = cli("schema", "--format", "markdown")
    assert printed.exit_code == 0 and printed.output == text
    prose = (ROOT / "layergen" / "spec" / "reference.md").read_text()
    marked = reference.MARKER.findall(prose)
    assert sorted(marked) == sorted(name or "document" for name in TABLES)
    for table, key in KEYS:
        row = f"| `{key.name}` | {reference.words(key.type)} | "
        assert row in text, (table.name, key.name)
    assert "<!-- keys:" not in text


def test_every_param_type_has_its_value_type() -> None:
    assert set(PARAM_VALUES.types) == set(PARAM_TYPES)


# Where a table of each kind sits in PROBE (a cell's state in CELL_PROBE).
PLACES: dict[str, tuple[str, ...]] = {
    "": (),
    "layer": ("layer",),
    "param": ("params", "units"),
    "input": ("inputs", "x"),
    "weight": ("weights", "kernel"),
    "keras_object": ("weights", "kernel", "initializer"),
    "sublayer": ("sublayers", "proj"),
    "state": ("states", "h"),
    "call": ("call",),
    "call_arg": ("call", "args", "reverse"),
    "mask": ("mask",),
    "output": ("output",),
    "named_output": ("output", "scores"),
    "test": ("test",),
    "call_input": ("test", "call_inputs", "x"),
    "property": ("test", "properties", "finite"),
}
PROBE: dict[str, Any] = {
    "layer": {"name": "Probe"},
    "params": {"units": {"type": "int", "default": 4}},
    "inputs": {"x": {"min_rank": 2}},
    "weights": {"kernel": {"shape": ["x[-1]", "units"]}},
    "sublayers": {"proj": {"layer": "Dense", "args": {"units": "units"}}},
    "call": {"expr": "proj(ops.matmul(x, kernel))"},
    "mask": {},
    "output": {},
    "test": {"properties": {"finite": {"expr": "np.all(np.isfinite(output))"}}},
}
CELL_PROBE: dict[str, Any] = {
    "layer": {"name": "Probe", "kind": "cell"},
    "params": {"units": {"type": "int", "default": 4}},
    "states": {"h": {"shape": ["units"]}},
    "call": {"expr": "h", "next_states": {"h": "h"}},
}
EVERY_KEY = sorted({k.name for t in TABLES.values() for k in t.keys} | {"zz_probe"})


@pytest.mark.parametrize("table", list(TABLES), ids=lambda t: t or "document")
def test_the_validator_accepts_exactly_the_keys_the_schema_declares(
    tmp_path: Path, table: str
) -> None:
    """For every table: each key the schema declares is accepted by the
    validator, and every other key (of any table, or made up) is refused by
    both, as an unknown key at that key."""
    schema = spec_schema()
    declared = schema_properties(schema, table)
    assert tuple(declared) == TABLE_KEYS[table]
    place = PLACES[table]
    for key in EVERY_KEY:
        doc = copy.deepcopy(CELL_PROBE if table == "state" else PROBE)
        target = doc
        for part in place:
            target = target.setdefault(part, {})
        value = TABLES[table].key(key).example if key in declared else '"x"'
        target[key] = tomllib.loads(f"value = {value}")["value"]
        unknown = f"{'.'.join((*place, key))}: unknown key"
        messages = validator_messages(tmp_path, doc)
        if key in declared:
            assert not any(m.startswith(unknown) for m in messages), messages
        else:
            assert any(m.startswith(unknown) for m in messages), (key, messages)
            errors = schema_messages(schema, doc)
            assert any(f"'{key}' was unexpected" in e for e in errors), key


def test_examples_corpus_and_starters_point_editors_to_the_shipped_schema(
    tmp_path: Path,
) -> None:
    starter = tmp_path / "specs" / "probe.toml"
    from layergen import starters

    starters.write_starter("dense", "Probe", starter)
    for spec in [*EXAMPLE_SPECS, *CORPUS_SPECS, starter]:
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("#:schema "), spec
        assert referenced(spec, first.removeprefix("#:schema ")) == SCHEMA_FILE
    for directory in (tmp_path / "a b", ROOT / "generated_examples" / "specs"):
        line = schema_line(directory / "x.toml")
        assert line.endswith("\n") and line.count("\n") == 1 and " " not in line[9:]
        assert referenced(directory / "x.toml", line[9:-1]) == SCHEMA_FILE


def referenced(spec: Path, reference: str) -> Path:
    """The file a ``#:schema`` reference names, as Taplo reads it."""
    if reference.startswith("file:"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(reference).path))
    return (spec.parent / urllib.parse.unquote(reference)).resolve()


def check_jsonschema(*paths: Path) -> dict[str, Any]:
    """Run check-jsonschema on ``paths`` with the local schema file, with any
    network access failing (a proxy that refuses): it must need none."""
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "NO_PROXY": ""}
    env |= {"http_proxy": dead, "https_proxy": dead, "no_proxy": ""}
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--no-cache", "-o", "json"]
        + ["--schemafile", str(SCHEMA_FILE), *map(str, paths)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_check_jsonschema_accepts_every_example_and_corpus_spec() -> None:
    outcome = check_jsonschema(*EXAMPLE_SPECS, *CORPUS_SPECS)
    assert outcome["status"] == "ok", outcome["errors"]


def test_check_jsonschema_accepts_every_starter(tmp_path: Path) -> None:
    from layergen import starters

    specs = []
    for kind in starters.KINDS:
        specs.append(tmp_path / f"{kind}.toml")
        starters.write_starter(kind, "Probe", specs[-1])
    assert check_jsonschema(*specs)["status"] == "ok"


def test_check_jsonschema_rejects_every_structurally_bad_spec() -> None:
    assert len(STRUCTURAL) >= 40
    outcome = check_jsonschema(*STRUCTURAL)
    rejected = {Path(e["filename"]).name for e in outcome["errors"]}
    assert outcome["parse_errors"] == []
    assert sorted(p.name for p in STRUCTURAL if p.name not in rejected) == []


def schema_of(schema: dict[str, Any], table: str, key: str) -> dict[str, Any]:
    return schema_properties(schema, table)[key]


def schema_properties(schema: dict[str, Any], table: str) -> dict[str, Any]:
    return (schema["$defs"][table] if table else schema)["properties"]


def schema_messages(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """Every error's message, those under an ``anyOf`` included."""
    pending = list(Draft202012Validator(schema).iter_errors(doc))
    messages = []
    while pending:
        error = pending.pop()
        messages.append(error.message)
        pending.extend(error.context or ())
    return messages


def validator_messages(tmp_path: Path, doc: dict[str, Any]) -> list[str]:
    path = tmp_path / "probe.toml"
    try:
        validate_document(path, "", doc)
    except SpecError as exc:
        return [f"{d.key}: {d.message}" for d in exc.diagnostics]
    return []


def test_an_inline_table_type_is_named_by_its_keys() -> None:
    # Not by its description in backticks, as if that were its TOML header.
    row = next(
        line for line in reference.markdown().splitlines() if "`constraint` |" in line
    )
    assert row.startswith("| `constraint` | string or table `{ class_name, config }` |")
