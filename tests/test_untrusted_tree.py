"""A generated tree, a spec or a cache entry is untrusted input: what a file
says about itself (its hashes, its partner and spec paths) is never believed,
only regular files are read, and nothing is written outside the checked tree.
Each test below is an attack that worked before the fix (issue 11)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from layergen.codegen import render
from layergen.files.formatting import same_code
from layergen.files.plan import read_header, with_header

from .conftest import MINIMAL_SPEC, ROOT

TIMEOUT = 60  # a hang (FIFO, /dev/zero) fails the test instead of the suite


@pytest.fixture
def tree(cli, write_spec, tmp_path: Path) -> Path:
    out = tmp_path / "gen"
    assert cli("new", write_spec(), "-o", out, "--no-test").exit_code == 0
    return out


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("LAYERGEN_CACHE_DIR", str(root))
    render._environment.cache_clear()
    yield root
    render._environment.cache_clear()


def layergen(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess, so that a hang is a timeout, not a stuck suite."""
    return subprocess.run(
        [sys.executable, "-m", "layergen", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=TIMEOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def records(result) -> list[dict]:
    return json.loads(result.output)


def tamper(path: Path, old: str, new: str, **header_changes: str) -> str:
    """Edit a generated body and write it back under a header whose
    body-sha256 is recomputed, as an attacker would."""
    header = read_header(path.read_text())
    assert header is not None and old in header.body
    fields = {
        "role": header.role,
        "spec_ref": header.spec,
        "partner_ref": header.partner,
        "spec_hash": header.spec_hash,
        "source_hash": header.source_hash,
        **header_changes,
    }
    text = with_header(header.body.replace(old, new), **fields)
    path.write_text(text)
    return text


# -- item 6: hashes in a file prove nothing ------------------------------------


@pytest.mark.parametrize("cold_cache", [False, True])
def test_edited_body_with_a_recomputed_hash_is_hand_edited(
    cli, tree: Path, write_spec, tmp_path: Path, monkeypatch, cold_cache: bool
) -> None:
    if cold_cache:
        monkeypatch.setenv("LAYERGEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    layer = tree / "scale.py"
    tampered = tamper(layer, "return x * self.factor", "return x * 0")
    result = cli("check", "--no-run", "--format", "json", tree)
    assert result.exit_code == 1, result.output
    assert records(result)[0]["drift"] == "hand-edited"

    refused = cli("new", tmp_path / "spec.toml", "-o", tree, "--no-test")
    assert refused.exit_code == 2 and "edited by hand" in refused.output
    assert layer.read_text() == tampered
    forced = cli("new", tmp_path / "spec.toml", "-o", tree, "--no-test", "--force")
    assert forced.exit_code == 0
    assert f"  changed  {layer}" in forced.output
    assert "return x * self.factor" in layer.read_text()


def test_edited_test_file_with_a_recomputed_hash_is_hand_edited(
    cli, tree: Path
) -> None:
    tamper(tree / "test_scale.py", "import", "import os  # injected\nimport")
    result = cli("check", "--no-run", "--format", "json", tree)
    assert result.exit_code == 1
    (record,) = records(result)
    assert record["drift"] == "hand-edited"
    assert "test_scale.py was edited by hand" in record["detail"]


def test_a_poisoned_black_cache_entry_is_not_used(
    cli, write_spec, tmp_path: Path, fresh_cache: Path
) -> None:
    spec = write_spec()
    assert cli("new", spec, "-o", tmp_path / "clean", "--no-test").exit_code == 0
    entries = [p for p in (fresh_cache / "black").rglob("*") if p.is_file()]
    assert len(entries) == 2  # the layer's and the test's formatted source
    for entry in entries:
        text = entry.read_text()
        entry.write_text(
            text.replace("return x * self.factor", "return x * 0").replace(
                "import", "import os; os.system('id')\nimport", 1
            )
        )
    out = tmp_path / "out"
    assert cli("new", spec, "-o", out, "--no-test").exit_code == 0
    for name in ("scale.py", "test_scale.py"):
        assert (out / name).read_text() == (tmp_path / "clean" / name).read_text()
    assert "os.system" not in (out / "scale.py").read_text()
    assert cli("check", "--no-run", tmp_path / "clean").exit_code == 0


def test_a_reformatted_cache_entry_is_used_only_as_layout(
    cli, write_spec, tmp_path: Path, fresh_cache: Path
) -> None:
    """A cache entry that is the same program laid out otherwise is still used
    (black guarantees no more), but cannot change what the code does."""
    spec = write_spec()
    assert cli("new", spec, "-o", tmp_path / "a", "--no-test").exit_code == 0
    for entry in (p for p in (fresh_cache / "black").rglob("*") if p.is_file()):
        entry.write_text(entry.read_text().replace("\n\n\n", "\n\n\n\n\n", 1))
    assert cli("new", spec, "-o", tmp_path / "b", "--no-test").exit_code == 0
    assert "\n\n\n\n\n" in (tmp_path / "b" / "scale.py").read_text()


def test_same_code_compares_programs_and_comments_not_layout() -> None:
    assert same_code("x = [1,\n  2]  # two\n", "x = [1, 2]  # two\n")
    assert same_code("def f():\n    return (1)\n", "def f():\n\treturn 1\n")
    assert same_code('s = "a#b"  # c\n', 's  =  "a#b"  # c\n')
    assert not same_code("x = [1, 2]\n", "x = [1, 3]\n")
    assert not same_code("x = 1.0\n", "x = 1\n")
    assert not same_code("def f(a):\n    return a\n", "def f(b):\n    return b\n")
    assert not same_code('"""doc"""\n', '"""doc """\n')
    assert not same_code("x = 1  # one\n", "x = 1  # uno\n")
    assert not same_code("x = 1\n", "x = 1  # added\n")
    assert not same_code("x = 1\n", "x = 1\nimport os\n")
    assert not same_code("s = '\xe9'\n", "# coding: latin-1\ns = '\xe9'\n")
    assert not same_code("x = 1\n", "x = (\n")  # does not compile


def test_black_output_of_every_example_verifies() -> None:
    """No cached output of an example needs black to be trusted again."""
    from layergen.codegen.generate import layer_import
    from layergen.codegen.render import render_layer, render_test
    from layergen.files.formatting import _run_black
    from layergen.spec.validate import load_spec

    from .conftest import EXAMPLE_SPECS, EXAMPLES

    for path in EXAMPLE_SPECS:
        spec = load_spec(path)
        module = EXAMPLES / f"{spec.module}.py"
        test = render_test(spec, layer_import(spec, module, module))
        for source in (render_layer(spec), test):
            assert same_code(source, _run_black(source, spec.name)), path


def test_layout_only_difference_is_stale_templates_not_hand_edited(
    cli, tree: Path
) -> None:
    """Same spec and render, other layout (black changed): regenerate, do not
    call it an edit."""
    tamper(tree / "scale.py", "        return config\n", "        return (config)\n")
    result = cli("check", "--no-run", "--format", "json", tree)
    assert records(result)[0]["drift"] == "stale templates"


# -- item 7: header paths stay inside the tree ---------------------------------


@pytest.mark.parametrize("where", ["relative", "absolute"])
def test_forged_layer_path_in_a_test_file_is_not_followed(
    cli, tree: Path, tmp_path: Path, where: str
) -> None:
    outside = tmp_path / "elsewhere" / "deep" / "scale.py"
    forged = "../elsewhere/deep/scale.py" if where == "relative" else str(outside)
    (tree / "scale.py").unlink()
    test_file = tree / "test_scale.py"
    text = test_file.read_text().replace("# layer: scale.py\n", f"# layer: {forged}\n")
    test_file.write_text(text)
    result = cli("check", "--no-run", "--fix", "--format", "json", tree)
    assert result.exit_code == 2, result.output
    assert records(result)[0]["drift"] == "unsafe header"
    assert not (tmp_path / "elsewhere").exists()
    assert sorted(p.name for p in tree.iterdir()) == ["test_scale.py"]


def test_forged_tests_path_in_a_layer_is_not_followed(
    cli, tree: Path, tmp_path: Path
) -> None:
    (tree / "test_scale.py").unlink()
    layer = tree / "scale.py"
    layer.write_text(
        layer.read_text().replace(
            "# tests: test_scale.py\n", "# tests: ../../pwned/test_scale.py\n"
        )
    )
    result = cli("check", "--no-run", "--fix", tree)
    assert result.exit_code == 2
    assert "unsafe header" in result.output
    assert "outside the checked directories" in result.output
    assert not (tmp_path.parent / "pwned").exists()


def test_tests_in_another_directory_say_to_check_both(
    cli, write_spec, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = write_spec()
    made = cli("new", "--no-test", spec, "-o", "layers", "--tests-dir", "tests")
    assert made.exit_code == 0, made.output
    alone = cli("check", "--no-run", "layers")
    assert alone.exit_code == 2
    assert (
        "scale.py: ../tests/test_scale.py is outside the checked directories "
        "(layers whose tests live elsewhere are checked with both: "
        "`layergen check LAYERS_DIR TESTS_DIR`)"
    ) in alone.output
    assert cli("check", "--no-run", "layers", "tests").exit_code == 0


def test_fix_never_writes_through_a_symlinked_module(
    cli, tree: Path, tmp_path: Path, write_spec
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tree / "scale.py").rename(outside / "scale.py")
    (tree / "scale.py").symlink_to(outside / "scale.py")
    before = (outside / "scale.py").read_text()
    write_spec(MINIMAL_SPEC.replace("default = 2.0", "default = 4.0"))
    result = cli("check", "--no-run", "--fix", "--force", tree)
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.output
    assert (outside / "scale.py").read_text() == before
    assert sorted(p.name for p in outside.iterdir()) == ["scale.py"]


def test_absolute_spec_path_in_a_header_is_refused(
    cli, tree: Path, tmp_path: Path
) -> None:
    layer = tree / "scale.py"
    spec = tmp_path / "spec.toml"
    layer.write_text(
        layer.read_text().replace("from ../spec.toml.", f"from {spec}.", 1)
    )
    result = cli("check", "--no-run", "--format", "json", tree)
    assert result.exit_code == 2
    (record,) = records(result)
    assert record["drift"] == "unsafe header"
    assert "is an absolute path" in record["detail"]


def test_spec_reached_through_a_symlink_is_refused(
    cli, write_spec, tmp_path: Path
) -> None:
    real = tmp_path / "real-specs"
    real.mkdir()
    (real / "spec.toml").write_text(MINIMAL_SPEC)
    (tmp_path / "specs").symlink_to(real)
    out = tmp_path / "gen"
    assert cli("new", real / "spec.toml", "-o", out, "--no-test").exit_code == 0
    layer = out / "scale.py"
    layer.write_text(
        layer.read_text().replace("from ../real-specs/", "from ../specs/", 1)
    )
    result = cli("check", "--no-run", "--format", "json", out)
    assert result.exit_code == 2
    assert "goes through the symbolic link" in records(result)[0]["detail"]


def test_spec_outside_the_project_is_refused(cli, tree: Path, tmp_path: Path) -> None:
    layer = tree / "scale.py"
    layer.write_text(
        layer.read_text().replace("from ../spec.toml.", "from ../../../x.toml.", 1)
    )
    result = cli("check", "--no-run", "--format", "json", tree)
    assert result.exit_code == 2
    assert "outside the project" in records(result)[0]["detail"]


def test_specs_in_a_sibling_directory_are_followed(cli, tmp_path: Path) -> None:
    """The usual layout: specs/ beside the generated tree."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "scale.toml").write_text(MINIMAL_SPEC)
    out = tmp_path / "layers"
    assert cli("new", specs / "scale.toml", "-o", out, "--no-test").exit_code == 0
    result = cli("check", "--no-run", "--format", "json", out)
    assert result.exit_code == 0, result.output
    assert records(result)[0]["drift"] == "ok"


# -- item 14: only regular files are read --------------------------------------


def test_a_fifo_in_the_tree_is_skipped_unopened(tree: Path, tmp_path: Path) -> None:
    os.mkfifo(tree / "pipe.py")
    (tree / "stdin.py").symlink_to("/dev/stdin")
    (tree / "zero.py").symlink_to("/dev/zero")
    result = layergen("check", "--no-run", "--format", "json", tree, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [r["class"] for r in json.loads(result.stdout)] == ["Scale"]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_spec_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, kind: str
) -> None:
    spec = tmp_path / "spec.toml"
    if kind == "fifo":
        os.mkfifo(spec)
    else:
        spec.symlink_to("/dev/zero")
    result = layergen("new", spec, "-o", tmp_path / "out", "--no-test", cwd=tmp_path)
    assert result.returncode == 2
    expected = {"fifo": "a FIFO", "dev-zero": "a character device"}[kind]
    assert result.stderr.strip() == (
        f"error: {spec}: cannot read spec: is {expected}, not a regular file"
    )
    assert not (tmp_path / "out").exists()


def test_a_spec_over_the_size_limit_is_refused(cli, write_spec, tmp_path) -> None:
    spec = write_spec(MINIMAL_SPEC + "#" * (1 << 20) + "\n")
    result = cli("validate", spec)
    assert result.exit_code == 2
    assert "cannot read spec: is 1,048," in result.output
    assert "over the limit of 1,048,576" in result.output


def test_a_fifo_named_as_the_spec_of_a_header_is_not_opened(
    tree: Path, tmp_path: Path
) -> None:
    (tmp_path / "spec.toml").unlink()
    os.mkfifo(tmp_path / "spec.toml")
    result = layergen("check", "--no-run", "--format", "json", tree, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    (record,) = json.loads(result.stdout)
    assert record["drift"] == "spec invalid"
    assert "is a FIFO" in record["detail"]


def test_a_fifo_where_new_would_write_is_a_conflict(write_spec, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "scale.py")
    result = layergen("new", write_spec(), "-o", out, "--no-test", cwd=tmp_path)
    assert result.returncode == 2
    assert "is a FIFO, not a regular file" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["scale.py"]


def test_a_file_with_an_unsafe_header_is_never_run(
    cli, tree: Path, monkeypatch
) -> None:
    from layergen import app

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unsafe file was handed to pytest")

    monkeypatch.setattr(app, "run_tests", refuse)
    (tree / "scale.py").unlink()
    test_file = tree / "test_scale.py"
    test_file.write_text(
        test_file.read_text().replace("# layer: scale.py\n", "# layer: /x/scale.py\n")
    )
    result = cli("check", "--format", "json", tree)
    assert result.exit_code == 2, result.output
    assert records(result)[0]["drift"] == "unsafe header"


def test_a_fifo_swapped_in_after_the_stat_is_refused_without_blocking(
    tmp_path: Path, monkeypatch
) -> None:
    """The file is checked again on the descriptor (opened non-blocking), so a
    FIFO put in place between ``stat`` and ``open`` neither blocks nor reads."""
    from layergen.files import reading

    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    regular, real_stat = os.stat(ROOT / "pyproject.toml"), os.stat

    def looks_regular(path: object, *args: object, **kwargs: object):
        return regular if Path(path) == fifo else real_stat(path, *args, **kwargs)

    monkeypatch.setattr(reading.os, "stat", looks_regular)
    with pytest.raises(reading.UnreadableFile, match="is a FIFO"):
        reading.read_bytes(fifo, limit=reading.SPEC_LIMIT)


def test_a_file_name_with_control_characters_is_shown_escaped(
    cli, tree: Path, write_spec
) -> None:
    """A generated file renamed to hold a newline or a terminal escape cannot
    forge lines of the report (its drift line or its diff)."""
    (tree / "scale.py").rename(tree / "x\n\x1b[2Jok.py")
    write_spec(MINIMAL_SPEC.replace("default = 2.0", "default = 4.0"))
    result = cli("check", "--no-run", tree)
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "x\\n\\x1b[2Jok.py" in result.output
