"""What ``layergen new`` writes: never a header line from a file name, never
two files to one path, all or nothing, one run at a time per directory,
cleaned up after signals, with the umask's permissions (issue 11)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from layergen import app
from layergen.errors import ConflictError, WriteError
from layergen.files import writer
from layergen.files.plan import read_header

from .conftest import MINIMAL_SPEC, ROOT

FACTOR_3 = MINIMAL_SPEC.replace("default = 2.0", "default = 3.0")


def one_line(output: str) -> str:
    """The one line of an error (the spec's warnings aside)."""
    lines = [line for line in output.splitlines() if ": warning: " not in line]
    assert len(lines) == 1, output
    return lines[0]


# -- item 5: no file name becomes a line of code --------------------------------


def test_newline_in_the_spec_file_name_is_refused(cli, tmp_path: Path) -> None:
    name = "x\nimport os; os.system('id>PWNED')\n#.toml"
    spec = tmp_path / name
    spec.write_text(MINIMAL_SPEC)
    out = tmp_path / "out"
    result = cli("new", spec, "-o", out, "--no-test")
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith("error: spec file name ") and "control characters" in line
    assert "'\\n'" in line
    assert not out.exists()


@pytest.mark.parametrize("option", ["-o", "--tests-dir"])
def test_control_characters_in_an_output_directory_are_refused(
    cli, write_spec, tmp_path: Path, option: str
) -> None:
    target = tmp_path / "t\rimport os\x0b"
    args = ["-o", tmp_path / "out"] if option == "--tests-dir" else []
    result = cli("new", write_spec(), *args, option, target, "--no-test")
    assert result.exit_code == 2
    line = one_line(result.output)
    expected = "--output" if option == "-o" else "--tests-dir"
    assert line.startswith(f"error: {expected} ") and "'\\r'" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]


def test_an_ordinary_unicode_file_name_is_fine(cli, tmp_path: Path) -> None:
    spec = tmp_path / "échelle (v2) ☃.toml"
    spec.write_text(MINIMAL_SPEC)
    result = cli("new", spec, "-o", tmp_path / "sortie é", "--no-test")
    assert result.exit_code == 0, result.output
    header = read_header((tmp_path / "sortie é" / "scale.py").read_text())
    assert header.spec == "../échelle (v2) ☃.toml"


# -- item 8: two layers' files never share a path ------------------------------


def test_foo_and_test_foo_in_one_run_are_refused(
    cli, write_spec, tmp_path: Path
) -> None:
    foo = write_spec(MINIMAL_SPEC.replace('"Scale"', '"Foo"'), "foo.toml")
    test_foo = write_spec(MINIMAL_SPEC.replace('"Scale"', '"TestFoo"'), "tf.toml")
    out = tmp_path / "out"
    result = cli("new", foo, test_foo, "-o", out, "--no-test")
    assert result.exit_code == 2
    assert (
        f"{out / 'test_foo.py'}: error: planned for {test_foo} (TestFoo) and for "
        f"{foo} (Foo)" in result.output
    )
    assert "rename one layer's module" in result.output
    assert not out.exists()


@pytest.mark.parametrize("first", ["Foo", "TestFoo"])
def test_a_layer_never_overwrites_another_layers_test_file(
    cli, write_spec, tmp_path: Path, first: str
) -> None:
    second = "TestFoo" if first == "Foo" else "Foo"
    out = tmp_path / "out"
    one = write_spec(MINIMAL_SPEC.replace('"Scale"', f'"{first}"'), "one.toml")
    two = write_spec(MINIMAL_SPEC.replace('"Scale"', f'"{second}"'), "two.toml")
    assert cli("new", one, "-o", out, "--no-test").exit_code == 0
    before = {p.name: p.read_text() for p in out.iterdir()}
    result = cli("new", two, "-o", out, "--no-test", "--force")
    assert result.exit_code == 2
    assert "two layers' files would share this name" in result.output
    assert {p.name: p.read_text() for p in out.iterdir()} == before


# -- item 15: all or nothing ---------------------------------------------------


def test_tests_dir_under_a_file_writes_nothing(cli, write_spec, tmp_path) -> None:
    (tmp_path / "afile").write_text("")
    out = tmp_path / "out"
    result = cli("new", write_spec(), "-o", out, "--tests-dir", tmp_path / "afile/t")
    assert result.exit_code == 2
    line = one_line(result.output)
    assert line.startswith("error: cannot write ") and "Not a directory" in line
    assert line.endswith("; nothing was written")
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_tests_dir_writes_nothing(cli, write_spec, tmp_path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir(mode=0o500)
    result = cli("new", write_spec(), "-o", tmp_path / "out", "--tests-dir", tests)
    assert result.exit_code == 2
    assert "Permission denied; nothing was written" in one_line(result.output)
    assert not (tmp_path / "out").exists()


def test_failure_on_the_test_file_restores_the_changed_layer(
    cli, write_spec, tmp_path: Path, monkeypatch
) -> None:
    out, tests = tmp_path / "out", tmp_path / "tests"
    spec = write_spec()
    assert cli("new", spec, "-o", out, "--tests-dir", tests, "--no-test").exit_code == 0
    before = {p: p.read_bytes() for p in [out / "scale.py", tests / "test_scale.py"]}
    write_spec(FACTOR_3)
    real = writer.tempfile.mkstemp

    def refuse_tests_dir(*args: object, dir: Path, **kwargs: object):
        if Path(dir) == tests:
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(writer.tempfile, "mkstemp", refuse_tests_dir)
    result = cli("new", spec, "-o", out, "--tests-dir", tests, "--no-test")
    assert result.exit_code == 2
    assert one_line(result.output) == (
        f"error: cannot write {tests}: Permission denied; nothing was written"
    )
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in out.iterdir()) == ["scale.py"]


def test_failure_while_renaming_restores_what_was_renamed(
    write_spec, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "out"
    spec = write_spec()
    app.run_new([spec], app.Options(out_dir=out))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    mode = (out / "scale.py").stat().st_mode
    write_spec(FACTOR_3)
    real, calls = os.replace, []

    def second_fails(source: str, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(target))
        real(source, target)

    monkeypatch.setattr(writer.os, "replace", second_fails)
    with pytest.raises(WriteError, match="No space left on device"):
        app.run_new([spec], app.Options(out_dir=out))
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert (out / "scale.py").stat().st_mode == mode


# -- item 16: one run at a time per directory ----------------------------------


def test_a_run_waits_for_the_lock_on_its_directory(write_spec, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    spec = write_spec()
    fd = os.open(out, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done: list[app.NewResult] = []
    thread = threading.Thread(
        target=lambda: done.append(app.run_new([spec], app.Options(out_dir=out)))
    )
    thread.start()
    time.sleep(1.0)
    assert thread.is_alive() and list(out.iterdir()) == []
    os.close(fd)  # releases the lock
    thread.join(timeout=30)
    assert done and len(done[0].written) == 2


def test_concurrent_runs_never_mix_two_specs(write_spec, tmp_path) -> None:
    out = tmp_path / "out"
    specs = [write_spec(name="a.toml"), write_spec(FACTOR_3, "b.toml")]
    options = app.Options(out_dir=out)
    errors: list[BaseException] = []

    def run(spec: Path) -> None:
        for _ in range(15):
            try:
                app.run_new([spec], options)
            except ConflictError:
                pass  # the other spec's files: its own spec path is elsewhere
            except BaseException as exc:  # noqa: BLE001 - report any other
                errors.append(exc)
            # Read as a third run would: under the directory's lock, not
            # between the other thread's two renames.
            with writer.locked([out]):
                layer = read_header((out / "scale.py").read_text())
                test = read_header((out / "test_scale.py").read_text())
            if layer.spec_hash != test.spec_hash:
                errors.append(AssertionError("layer and test of two specs"))

    threads = [threading.Thread(target=run, args=(s,)) for s in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


# -- item 17: signals roll back, killed runs' temporary files are swept ---------

# Pauses a run in the middle of its writes until the signal's handler raises
# in the sleep: a state, not a time (a fixed 60 s pause raced the test on a
# loaded machine, and a write resumed after it ends in exit 0). The 300 s
# bound only keeps a lost signal from hanging the suite; the test then fails.
PAUSED_RUN = """
import os, sys, time
from pathlib import Path
from layergen.errors import ConflictError, WriteError
from layergen.files import writer

real = getattr(writer.os, {hook!r})
calls = []

def paused(*args):
    result = real(*args)
    calls.append(args)
    if len(calls) == {after}:
        Path(sys.argv[1]).write_text("paused")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            time.sleep(0.05)
    return result

setattr(writer.os, {hook!r}, paused)
from layergen.cli import main
main(["new", sys.argv[2], "-o", sys.argv[3], "--no-test"])
"""


@pytest.mark.parametrize(
    ("signum", "hook", "after"),
    [
        (signal.SIGTERM, "fsync", 1),  # the layer's temporary file is written
        (signal.SIGINT, "replace", 1),  # the layer is in place, its test is not
    ],
)
def test_a_signal_mid_write_rolls_back_with_the_conventional_code(
    write_spec, tmp_path: Path, signum: int, hook: str, after: int
) -> None:
    out, ready = tmp_path / "out", tmp_path / "ready"
    program = textwrap.dedent(PAUSED_RUN.format(hook=hook, after=after))
    process = subprocess.Popen(
        [sys.executable, "-c", program, str(ready), str(write_spec()), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 180  # the child imports and validates first
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists(), process.communicate()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=360)
    assert process.returncode == 128 + signum, stderr
    assert stderr.strip().endswith(f"interrupted ({signal.Signals(signum).name})")
    assert not out.exists()  # no layer, no test, no temporary file, no directory


def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(
    cli, write_spec, tmp_path: Path
) -> None:
    out, ready, spec = tmp_path / "out", tmp_path / "ready", write_spec()
    program = textwrap.dedent(PAUSED_RUN.format(hook="fsync", after=1))
    process = subprocess.Popen(
        [sys.executable, "-c", program, str(ready), str(spec), str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 180  # the child imports and validates first
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()  # SIGKILL: nothing can clean up
    process.wait(timeout=60)
    (left,) = out.iterdir()
    assert left.name.startswith(".scale.py.layergen-") and left.suffix == ".tmp"
    assert cli("new", spec, "-o", out, "--no-test").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["scale.py", "test_scale.py"]


def test_temporary_files_left_by_a_killed_run_are_removed(
    cli, write_spec, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".scale.py.layergen-ab_12xyz.tmp"
    stale.write_text("half a file")
    foreign = [out / ".scale.py.tmp", out / ".notes.layergen-x.tmp", out / "a.tmp"]
    for path in foreign:
        path.write_text("not layergen's")
    assert cli("new", write_spec(), "-o", out, "--no-test").exit_code == 0
    assert not stale.exists()
    assert all(path.exists() for path in foreign)


# -- item 18: permissions follow the umask ------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_created_files_get_the_umask_permissions(
    cli, write_spec, tmp_path: Path, umask: int
) -> None:
    previous = os.umask(umask)
    try:
        assert (
            cli("new", write_spec(), "-o", tmp_path / "o", "--no-test").exit_code == 0
        )
    finally:
        os.umask(previous)
    for name in ("scale.py", "test_scale.py"):
        assert (tmp_path / "o" / name).stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_changed_file_keeps_its_permissions(cli, write_spec, tmp_path) -> None:
    out = tmp_path / "o"
    spec = write_spec()
    assert cli("new", spec, "-o", out, "--no-test").exit_code == 0
    (out / "scale.py").chmod(0o640)
    write_spec(FACTOR_3)
    assert cli("new", spec, "-o", out, "--no-test").exit_code == 0
    assert "factor=3.0" in (out / "scale.py").read_text()
    assert (out / "scale.py").stat().st_mode & 0o777 == 0o640
