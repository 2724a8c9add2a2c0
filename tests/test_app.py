"""layergen as a library: ``Options`` in, result objects out, nothing printed;
errors are a hierarchy the CLI maps to exit codes in one place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import layergen
from layergen import app
from layergen.check.drift import Drift
from layergen.errors import InternalError, LayergenError, WriteError
from layergen.files import formatting
from layergen.files.plan import FileStatus
from layergen.run import runner

from .conftest import MINIMAL_SPEC


def test_run_new_returns_what_it_wrote_and_prints_nothing(
    write_spec, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "out"
    result = app.run_new([write_spec()], app.Options(out_dir=out))
    assert result.exit_code == 0 and result.runs == []
    assert [f.path.name for f in result.written] == ["scale.py", "test_scale.py"]
    assert {f.status for f in result.written} == {FileStatus.CREATE}
    again = app.run_new([write_spec()], app.Options(out_dir=out))
    assert again.written == []
    assert {f.status for layer in again.layers for f in layer.files} == {"identical"}
    assert capsys.readouterr() == ("", "")


def test_dry_run_plans_and_writes_nothing(write_spec, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "scale.py").write_text("# mine\n")
    result = app.run_new([write_spec()], app.Options(out_dir=out, dry_run=True))
    assert result.exit_code == 2  # a conflict
    layer, test = result.layers[0].files
    assert (layer.status, test.status) == (FileStatus.CONFLICT, FileStatus.CREATE)
    assert sorted(p.name for p in out.iterdir()) == ["scale.py"]


def test_run_check_and_fix(write_spec, tmp_path: Path) -> None:
    out = tmp_path / "out"
    app.run_new([write_spec()], app.Options(out_dir=out))
    write_spec(MINIMAL_SPEC.replace("default = 2.0", "default = 4.0"))
    checked = app.run_check([out], [], app.Options())
    assert checked.exit_code == 1
    assert [c.drift for c in checked.checks] == [Drift.SPEC_CHANGED]
    fixed = app.run_check([out], [], app.Options(fix=True))
    assert fixed.exit_code == 0
    assert fixed.checks[0].detail == "regenerated (was: spec changed)"
    assert "factor=4.0" in (out / "scale.py").read_text()


def test_statuses_and_drift_states_are_string_enums() -> None:
    assert FileStatus.CHANGED == "changed" and f"{FileStatus.CHANGED}" == "changed"
    assert Drift.HAND_EDITED == "hand-edited"
    assert str(Drift.UNSAFE_HEADER) == "unsafe header"


def test_errors_form_one_hierarchy() -> None:
    assert issubclass(InternalError, LayergenError)
    assert issubclass(WriteError, LayergenError)
    assert layergen.WriteError is WriteError and layergen.Options is app.Options


def test_an_internal_error_is_one_line_and_exit_2(
    cli, write_spec, tmp_path: Path, monkeypatch
) -> None:
    def broken(source: str, what: str) -> str:
        raise InternalError(f"the code generated for {what} does not parse")

    monkeypatch.setattr(formatting, "_run_black", broken)
    monkeypatch.setenv("LAYERGEN_CACHE_DIR", str(tmp_path / "empty"))
    result = cli("new", write_spec(), "-o", tmp_path / "o", "--no-test")
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if "warning" not in line]
    assert errors == [
        "internal error: the code generated for layer Scale does not parse"
    ]
    assert not (tmp_path / "o").exists()


def test_import_layergen_is_cheap() -> None:
    program = (
        "import sys, layergen; "
        "heavy = ('click', 'jinja2', 'black', 'keras', 'tensorflow', 'layergen.app'); "
        "print([m for m in heavy if m in sys.modules]); "
        "from layergen import run_check, load_spec, Drift; print(Drift.OK)"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines() == ["[]", "ok"]


def test_an_interrupted_test_run_stops_pytest_too() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(KeyboardInterrupt), runner._stopped_on_error(process):
        raise KeyboardInterrupt
    assert process.poll() is not None
