"""Bad input never gets past layergen, and the user's files are never damaged."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from layergen.files import formatting, writer
from layergen.files.plan import CREATE, PlannedFile

from .conftest import MINIMAL_SPEC

HOSTILE = [
    "__import__('os').system('id')",
    "ops.__class__",
    "x.__dict__",
    "getattr(ops, 'matmul')(x, x)",
    "eval('x')",
    "exec('import os')",
    "open('/etc/passwd')",
    "globals()",
    "lambda: x",
    "[print(v) for v in x]",
    "(y := x)",
    "(yield x)",
    "await x",
    'f\'{__import__("os").system("id")}\'',
    "factor.real",
    "x; import os",
    "x\nimport os",
    "{{ x }}",
    "{% if x %}x{% endif %}",
    "self.factor",
    "vars(x)",
    "type(x).__mro__",
    "ops.matmul.__globals__",
    "().__class__.__bases__[0]",
]


@pytest.mark.parametrize("expr", HOSTILE)
def test_hostile_expressions_are_rejected_and_never_written(
    cli, write_spec, tmp_path: Path, expr: str
) -> None:
    # A JSON string is a valid TOML basic string.
    spec = MINIMAL_SPEC.replace('expr = "x * factor"', f"expr = {json.dumps(expr)}")
    out = tmp_path / "out"
    result = cli("new", write_spec(spec), "-o", out, "--no-test")
    assert result.exit_code == 2, result.output
    assert "error: call.expr:" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_hostile_text_in_doc_stays_inside_the_docstring(
    cli, write_spec, tmp_path: Path
) -> None:
    doc = 'ends """ here; import os; os.system("id") {{ 7*7 }} {% raw %} \\\\'
    spec = MINIMAL_SPEC.replace('name = "Scale"', f'name = "Scale"\ndoc = {doc!r}')
    out = tmp_path / "out"
    assert cli("new", write_spec(spec), "-o", out, "--no-test").exit_code == 0
    module = ast.parse((out / "scale.py").read_text())
    cls = next(node for node in module.body if isinstance(node, ast.ClassDef))
    assert "os.system" in ast.get_docstring(cls)
    assert "{{ 7*7 }}" in ast.get_docstring(cls)
    calls = [n for n in ast.walk(module) if isinstance(n, ast.Call)]
    assert not any(getattr(n.func, "attr", "") == "system" for n in calls)


def _existing_files(tmp_path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(tmp_path.glob("out/*"))}


def test_formatter_failure_on_the_second_file_writes_nothing(
    cli, write_spec, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    spec = write_spec()
    cli("new", spec, "-o", out, "--no-test")
    write_spec(MINIMAL_SPEC.replace("default = 2.0", "default = 5.0"))
    before = _existing_files(tmp_path)
    real = formatting._run_black
    calls = []

    def failing(source: str, what: str) -> str:
        calls.append(what)
        if len(calls) == 2:
            raise formatting.InternalError("internal error: formatter broke")
        return real(source, what)

    monkeypatch.setattr(formatting, "_run_black", failing)
    monkeypatch.setenv("LAYERGEN_CACHE_DIR", str(tmp_path / "cache"))
    result = cli("new", spec, "-o", out, "--no-test")
    assert result.exit_code == 2
    assert "formatter broke" in result.output
    assert _existing_files(tmp_path) == before
    assert not list(out.glob(".*tmp"))


def test_interrupted_write_leaves_whole_files_and_no_temp_files(
    tmp_path: Path, monkeypatch
) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    second.write_text("old b\n")
    plan = [
        PlannedFile(first, "new a\n", CREATE),
        PlannedFile(second, "new b\n", "changed", old="old b\n"),
    ]
    real_fsync = os.fsync
    count = []

    def interrupted(fd: int) -> None:
        count.append(fd)
        if len(count) == 2:
            raise KeyboardInterrupt
        real_fsync(fd)

    monkeypatch.setattr(writer.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.write_plan(plan)
    assert not first.exists()  # all or nothing: the first file is rolled back
    assert second.read_text() == "old b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.py"]


def test_overwrite_foreign_is_the_only_way_to_replace_a_foreign_file(
    cli, write_spec, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scale.py").write_text("# mine\n")
    assert cli("new", write_spec(), "-o", out, "--no-test", "--force").exit_code == 2
    assert (out / "scale.py").read_text() == "# mine\n"
    result = cli("new", write_spec(), "-o", out, "--no-test", "--overwrite-foreign")
    assert result.exit_code == 0, result.output
    assert "class Scale" in (out / "scale.py").read_text()


def test_symlinked_target_is_refused(cli, write_spec, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside.py"
    outside.write_text("# elsewhere\n")
    (out / "scale.py").symlink_to(outside)
    result = cli(
        "new", write_spec(), "-o", out, "--no-test", "--force", "--overwrite-foreign"
    )
    assert result.exit_code == 2
    assert "is a symbolic link" in result.output
    assert outside.read_text() == "# elsewhere\n"


def test_output_path_that_is_a_file_is_a_clean_error(
    cli, write_spec, tmp_path: Path
) -> None:
    target = tmp_path / "file"
    target.write_text("")
    result = cli("new", write_spec(), "-o", target, "--no-test")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_internal_errors_are_one_line_unless_debug(
    cli, write_spec, monkeypatch
) -> None:
    from layergen import app

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(app, "plan_layers", broken)
    result = cli("new", write_spec(), "--no-test")
    assert result.exit_code == 2
    assert result.output.strip() == (
        "internal error: RuntimeError: boom (rerun with `layergen --debug ...` "
        "for the traceback)"
    )
    debug = cli("--debug", "new", write_spec(), "--no-test")
    assert isinstance(debug.exception, RuntimeError)
