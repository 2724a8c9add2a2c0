"""Generated tests run from `new` and `check`: no C++ log noise, and the
one-line-per-layer summary before pytest's account of what failed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from layergen.cli import NewReporter
from layergen.run.runner import QUIET_ENV, TestResult, TestRun, run_tests

from .conftest import MINIMAL_SPEC

ENV_PROBE = """
import json, os

def test_environment():
    names = {names!r}
    with open({out!r}, "w") as handle:
        json.dump({{n: os.environ.get(n) for n in names}}, handle)
"""

# What TensorFlow's C++ logging, absl and gRPC print when left alone.
NOISE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] |^[IWEF]\d{4} |oneDNN custom operations"
    r"|cpu_feature_guard|absl::InitializeLog|Unable to register cu",
    re.MULTILINE,
)


def test_runner_quiets_cpp_logging_unless_the_user_chose(
    tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "env.json"
    probe = tmp_path / "test_probe.py"
    probe.write_text(ENV_PROBE.format(names=sorted(QUIET_ENV), out=str(out)))
    for name in QUIET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")  # the user's choice stands
    run = run_tests([probe])
    assert run.exit_code == 0, run.output
    seen = json.loads(out.read_text())
    assert seen == {**QUIET_ENV, "TF_CPP_MIN_LOG_LEVEL": "1"}
    assert QUIET_ENV["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert QUIET_ENV["GRPC_VERBOSITY"] == "ERROR"


PYTEST_OUTPUT = """\
..F.....                                                  [100%]
=================================== FAILURES ===================================
_________________________ test_matches_numpy_reference _________________________
E       AssertionError: output vs the numpy reference
=========================== short test summary info ============================
FAILED test_wrong.py::test_matches_numpy_reference - AssertionError
1 failed, 7 passed in 1.22s
"""


def test_failure_details_start_at_the_failures_section() -> None:
    run = TestRun(1, "CPU", PYTEST_OUTPUT)
    assert run.failure_details.splitlines()[0].strip("= ") == "FAILURES"
    assert "[100%]" not in run.failure_details
    assert TestRun(1, "CPU", "no section\n").failure_details == "no section\n"


def test_new_prints_the_summary_before_the_failures(capsys, tmp_path: Path) -> None:
    test_file = tmp_path / "test_wrong.py"
    results = [
        TestResult(test_file.resolve(), "test_matches_numpy_reference", "failed", 0.2),
        TestResult(test_file.resolve(), "test_config_round_trip", "passed", 0.1),
    ]
    run = TestRun(1, "CPU: no GPU found (tensorflow)", PYTEST_OUTPUT, results)
    NewReporter(durations=1).tests_ran(run, {test_file: "Wrong"})
    assert capsys.readouterr().out.splitlines() == [
        "     FAIL  Wrong: 1 failed, 1 passed",
        "=================================== FAILURES ===================================",
        "_________________________ test_matches_numpy_reference _________________________",
        "E       AssertionError: output vs the numpy reference",
        "=========================== short test summary info ============================",
        "FAILED test_wrong.py::test_matches_numpy_reference - AssertionError",
        "1 failed, 7 passed in 1.22s",
        "device: CPU: no GPU found (tensorflow)",
        "time: start-up and imports 0.0 s, tests 0.0 s, exit 0.0 s",
        "   0.20 s  test_wrong.py::test_matches_numpy_reference",
    ]


@pytest.mark.slow
def test_failing_layer_output_is_quiet_and_summary_first(
    tmp_path: Path, write_spec
) -> None:
    wrong = MINIMAL_SPEC.replace('"Scale"', '"Wrong"') + '[test]\nreference = "x * 3"\n'
    spec = write_spec(wrong, "wrong.toml")
    layers = tmp_path / "layers"
    command = [sys.executable, "-m", "layergen"]
    new = subprocess.run(
        [*command, "new", str(spec), "-o", str(layers)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert new.returncode == 1, new.stdout + new.stderr
    assert not NOISE.search(new.stdout + new.stderr), new.stdout + new.stderr
    lines = new.stdout.splitlines()
    summary = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("     FAIL  Wrong: 1 failed")
    )
    failures = next(i for i, line in enumerate(lines) if "FAILURES" in line)
    assert summary < failures < lines.index("device: CPU: no GPU found (tensorflow)")
    assert not any(line.endswith("%]") for line in lines)  # no progress dots

    check = subprocess.run(
        [*command, "check", str(layers)], capture_output=True, text=True, cwd=tmp_path
    )
    assert check.returncode == 1, check.stdout + check.stderr
    assert not NOISE.search(check.stdout + check.stderr), check.stdout + check.stderr
    lines = check.stdout.splitlines()
    assert lines[0].split() == ["layer", "file", "drift", "tests", "seconds"]
    assert lines[1].split()[:3] == ["Wrong", "layers/wrong.py", "ok"]
    assert lines[2] == "device: CPU: no GPU found (tensorflow)"
    assert lines[3:5] == ["", "what failed:"]
    assert "FAILURES" in lines[5]
    assert any("AssertionError" in line for line in lines[6:])
