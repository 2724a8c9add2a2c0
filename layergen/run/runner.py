"""Run generated test files in one pytest subprocess and collect per-test results.

One process (or one per pytest-xdist worker) imports TensorFlow once for all
layers. Results stream through a JSON-lines file written by
``layergen.run.pytest_plugin``, so callers can show progress while tests run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layergen.errors import LayergenError

# The JSON-lines file layergen.run.pytest_plugin writes results to.
REPORT_ENV = "LAYERGEN_REPORT"
# A directory shared by the runs of one command over several backends, where
# the generated tests compare each layer's numbers (testing.checks.backends).
CROSS_BACKEND_ENV = "LAYERGEN_CROSS_BACKEND_DIR"
BACKENDS = ("tensorflow", "jax", "torch")
# More layers than this run under pytest-xdist with `-n auto`, when installed.
PARALLEL_ABOVE = 4
POLL_SECONDS = 0.2
# C++ logging of TensorFlow, XLA, absl and gRPC, silenced in the pytest process
# unless the user set these variables: their start-up chatter (oneDNN, CUDA
# factories, cpu_feature_guard) would bury a failure's message.
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_CPP_MIN_VLOG_LEVEL": "0",
    "GLOG_minloglevel": "3",
    "GRPC_VERBOSITY": "ERROR",
}
_FAILURE_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$", re.MULTILINE)


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    test_file: Path
    name: str
    outcome: str
    seconds: float


@dataclass
class TestRun:
    """What one pytest run reported."""

    __test__ = False  # not a pytest test class

    exit_code: int
    device: str
    output: str
    results: list[TestResult] = field(default_factory=list)
    backend: str | None = None
    # The pytest process's wall time, split: start-up (interpreter, pytest,
    # imports of Keras and the layers, collection: until the first test began),
    # tests (until the last process finished its session), and exit.
    wall_seconds: float = 0.0
    startup_seconds: float = 0.0
    tests_seconds: float = 0.0

    @property
    def exit_seconds(self) -> float:
        return max(0.0, self.wall_seconds - self.startup_seconds - self.tests_seconds)

    def for_file(self, test_file: Path) -> list[TestResult]:
        target = test_file.resolve()
        return [r for r in self.results if r.test_file == target]

    def counts(self, test_file: Path) -> Counter[str]:
        return Counter(r.outcome for r in self.for_file(test_file))

    def seconds(self, test_file: Path) -> float:
        return sum(r.seconds for r in self.for_file(test_file))

    @property
    def failure_details(self) -> str:
        """pytest's account of what failed, from its FAILURES (or ERRORS)
        section on, without the progress lines before it; all of its output
        when it has no such section."""
        section = _FAILURE_SECTION.search(self.output)
        return self.output[section.start() :] if section else self.output


@contextlib.contextmanager
def _stopped_on_error(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """An error or a signal (SIGINT, SIGTERM) in this process stops pytest too."""
    try:
        yield
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise


def resolve_backends(choice: str | None) -> list[str | None]:
    """Backends to run on: ``all`` -> the three; None -> whatever Keras picks."""
    backends: list[str | None] = list(BACKENDS) if choice == "all" else [choice]
    for backend in backends:
        if backend is not None and importlib.util.find_spec(backend) is None:
            raise LayergenError(
                f"the {backend} backend is not installed here: "
                f"pip install 'layergen[{backend}]'"
            )
    return backends


def run_tests(
    test_files: Sequence[Path],
    *,
    import_paths: Sequence[Path] = (),
    backend: str | None = None,
    on_result: Callable[[TestResult], None] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> TestRun:
    """Run the files in one pytest process; ``import_paths`` go on PYTHONPATH,
    ``backend``, when given, becomes ``KERAS_BACKEND``, and ``extra_env`` is
    added to the environment."""
    files = [f.resolve() for f in test_files]
    rootdir = Path(os.path.commonpath([f.parent for f in files]))
    with tempfile.TemporaryDirectory(prefix="layergen-") as scratch:
        report_path = Path(scratch) / "report.jsonl"
        report_path.touch()
        env = dict(os.environ)
        env[REPORT_ENV] = str(report_path)
        env.update(extra_env or {})
        for name, value in QUIET_ENV.items():
            env.setdefault(name, value)
        if backend is not None:
            env["KERAS_BACKEND"] = backend
        paths = [str(p) for p in import_paths] + [env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "layergen.run.pytest_plugin",
            "-p",
            "no:cacheprovider",
            # Hypothesis's plugin, when installed, spends ~1.5 s summing up
            # at exit; generated tests do not use it.
            "-p",
            "no:hypothesispytest",
            f"--rootdir={rootdir}",
        ]
        if len(files) > PARALLEL_ABOVE and importlib.util.find_spec("xdist"):
            command += ["-n", "auto"]
        command += [str(f) for f in files]
        results: list[TestResult] = []
        device = "unknown (pytest did not finish)"
        started, first_result, finished_at = time.time(), 0.0, 0.0
        with open(Path(scratch) / "output.txt", "w+", encoding="utf-8") as output:
            process = subprocess.Popen(
                command, env=env, cwd=rootdir, stdout=output, stderr=subprocess.STDOUT
            )
            with (
                _stopped_on_error(process),
                open(report_path, encoding="utf-8") as report,
            ):
                while True:
                    finished = process.poll() is not None
                    for line in report.readlines():
                        record = json.loads(line)
                        if "device" in record:
                            device = record["device"]
                            finished_at = max(finished_at, record["finished"])
                            continue
                        result = TestResult(
                            (rootdir / record["test"].split("::", 1)[0]).resolve(),
                            record["test"].split("::", 1)[-1],
                            record["outcome"],
                            record["seconds"],
                        )
                        results.append(result)
                        first_result = first_result or time.time() - result.seconds
                        if on_result is not None:
                            on_result(result)
                    if finished:
                        break
                    time.sleep(POLL_SECONDS)
            output.seek(0)
            text = output.read()
    wall = time.time() - started
    startup = min(wall, max(0.0, first_result - started)) if first_result else wall
    tests = max(0.0, finished_at - started - startup) if finished_at else 0.0
    return TestRun(
        process.returncode, device, text, results, backend, wall, startup, tests
    )
