"""`layergen init NAME --from KIND`: starter specs that validate and pass their tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layergen import starters
from layergen.spec.validate import load_spec

KINDS = list(starters.KINDS)
EXPECTED_KINDS = [
    "dense",
    "normalization",
    "attention",
    "dropout",
    "masked-pooling",
    "recurrent-cell",
    "convolution",
]


def class_name(kind: str) -> str:
    return "".join(part.title() for part in kind.split("-")) + "Starter"


def test_list_shows_every_kind_one_per_line_name_first(cli) -> None:
    result = cli("init", "--list")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == EXPECTED_KINDS
    assert all(len(line.split(None, 1)) == 2 for line in lines)  # a description


@pytest.mark.parametrize("kind", EXPECTED_KINDS)
def test_each_starter_validates_and_says_what_it_computes(
    cli, tmp_path: Path, kind: str
) -> None:
    name = class_name(kind)
    result = cli("init", name, "--from", kind, "-o", tmp_path)
    assert result.exit_code == 0, result.output
    path = tmp_path / f"{load_spec_module(name)}.toml"
    assert result.output.splitlines() == [
        f"   create  {os.path.relpath(path)}  ({kind} starter for {name})",
        f"next: edit it, then `layergen new {os.path.relpath(path)}`",
    ]
    spec = load_spec(path)
    assert spec.name == name
    assert spec.warnings == []  # no unused weight, no float32 constant, ...
    assert spec.test is not None
    assert spec.test.reference is not None or spec.test.properties
    text = path.read_text()
    assert "__NAME__" not in text
    schema, comment = text.splitlines()[:2]
    assert schema.startswith("#:schema ")  # for editors: see test_schema.py
    assert comment.startswith(f"# {name}: ")  # commented
    assert f"layergen init {name} --from {kind}" in text


def load_spec_module(name: str) -> str:
    from layergen.spec.validate import snake_case

    return snake_case(name)


def test_default_path_is_module_toml_in_the_working_directory(
    cli, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "SwishGate", "--from", "dense")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "swish_gate.toml").is_file()
    assert load_spec(tmp_path / "swish_gate.toml").name == "SwishGate"


def test_output_may_name_the_file(cli, tmp_path: Path) -> None:
    target = tmp_path / "specs" / "mine.toml"
    result = cli("init", "Mine", "--from", "convolution", "-o", target)
    assert result.exit_code == 0, result.output
    assert load_spec(target).name == "Mine"
    assert [p.name for p in target.parent.iterdir()] == ["mine.toml"]  # no temp file


def test_never_overwrites_an_existing_file(cli, tmp_path: Path) -> None:
    target = tmp_path / "mine.toml"
    target.write_text("# my own spec\n")
    result = cli("init", "Mine", "--from", "dense", "-o", target)
    assert result.exit_code == 2
    assert (
        result.output == f"error: {target}: already exists; refusing to overwrite it\n"
    )
    assert target.read_text() == "# my own spec\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.toml"]


def test_output_under_a_file_is_one_line_naming_it(cli, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    for output in (notes, notes / "sub"):
        result = cli("init", "Mine", "--from", "dense", "-o", output)
        assert result.exit_code == 2
        assert result.output == (
            f"error: {output}: not a directory "
            "(-o takes a .toml file or a directory)\n"
        )
    assert notes.read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_link_in_the_way_is_not_written_through(cli, tmp_path: Path) -> None:
    (tmp_path / "mine.toml").symlink_to(tmp_path / "elsewhere.toml")
    result = cli("init", "Mine", "--from", "dense", "-o", tmp_path)
    assert result.exit_code == 2
    assert "already exists; refusing to overwrite it" in result.output
    assert not (tmp_path / "elsewhere.toml").exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("my_dense", "`my_dense` is not a PascalCase class name like `SimpleDense`"),
        ("2Dense", "`2Dense` is not a PascalCase class name like `SimpleDense`"),
        ("ValueError", "class name `ValueError` is reserved"),
        ("Random", "module `random` would shadow the `random` module"),
        ("A" * 80, "class name of 80 characters; the limit is 64"),
    ],
)
def test_bad_names_are_one_line_and_write_nothing(
    cli, tmp_path: Path, name: str, message: str
) -> None:
    result = cli("init", name, "--from", "dense", "-o", tmp_path)
    assert result.exit_code == 2
    (line,) = result.output.splitlines()
    assert line.startswith("error: NAME: ") and message in line, line
    assert list(tmp_path.iterdir()) == []


def test_unknown_kind_and_missing_arguments(cli, tmp_path: Path) -> None:
    unknown = cli("init", "Mine", "--from", "conv", "-o", tmp_path)
    assert unknown.exit_code == 2
    assert unknown.output == (
        "error: no starter for `conv` (the kinds are dense, normalization, "
        "attention, dropout, masked-pooling, recurrent-cell, convolution: "
        "layergen init --list)\n"
    )
    typo = cli("init", "Mine", "--from", "dens", "-o", tmp_path)
    assert typo.exit_code == 2
    assert typo.output.startswith(
        "error: no starter for `dens` - did you mean `dense`? (the kinds are "
    )
    for args in (["Mine"], ["--from", "dense"], []):
        result = cli("init", *args)
        assert result.exit_code == 2
        assert "layergen init NAME --from KIND" in result.output
        assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_directory_is_one_line(cli, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = cli("init", "Mine", "--from", "dense", "-o", locked)
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {locked / 'mine.toml'}: cannot write")


def test_each_starter_says_how_to_read_the_reference_once_installed() -> None:
    # docs/spec.md is not in the wheel; the command that prints it is.
    for kind in KINDS:
        assert "`layergen schema --format markdown`" in starters.render(kind, "Mine")


def test_starters_ship_as_package_data() -> None:
    for kind in KINDS:
        assert starters.template(kind).count("__NAME__") >= 2


@pytest.mark.slow
def test_every_starter_passes_its_generated_tests(tmp_path: Path) -> None:
    """Each starter, as written: generated with --no-test, then every suite in
    one `layergen check` on TensorFlow."""
    specs = []
    for kind in KINDS:
        path = tmp_path / "specs" / f"{kind}.toml"
        starters.write_starter(kind, class_name(kind), path)
        specs.append(str(path))
    layers = tmp_path / "layers"
    command = [sys.executable, "-m", "layergen"]
    subprocess.run(
        [*command, "new", *specs, "-o", str(layers), "--no-test"],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        [*command, "check", "--format", "json", "--backend", "tensorflow", str(layers)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    records = json.loads(result.stdout)
    assert sorted(r["class"] for r in records) == sorted(map(class_name, KINDS))
    for record in records:
        assert record["drift"] == "ok"
        assert record["tests"]["failed"] == 0 and record["tests"]["passed"] >= 10


@pytest.mark.slow
def test_the_wheel_ships_every_starter(tmp_path: Path) -> None:
    import zipfile

    from .conftest import ROOT

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps"]
        + ["--no-build-isolation", "--quiet", "-w", str(tmp_path)],
        check=True,
    )
    (wheel,) = tmp_path.glob("layergen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"layergen/starters/{kind}.toml" for kind in KINDS} <= names
    assert "layergen/data/spec.schema.json" in names
    assert "layergen/spec/reference.md" in names  # `layergen schema --format markdown`
