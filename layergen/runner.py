"""Run generated test files with pytest in a subprocess, and summarise per layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layergen.pytest_plugin import REPORT_ENV


@dataclass
class TestRun:
    """What one pytest run reported."""

    exit_code: int
    device: str
    output: str
    per_file: dict[str, Counter[str]] = field(default_factory=dict)

    def counts(self, test_file: Path) -> Counter[str]:
        return self.per_file.get(test_file.resolve().as_posix(), Counter())


def run_tests(test_files: Sequence[Path], *, extra_args: Sequence[str] = ()) -> TestRun:
    """Run the files in one pytest process (one TensorFlow import for all)."""
    files = [f.resolve() for f in test_files]
    rootdir = Path(os.path.commonpath([f.parent for f in files]))
    with tempfile.TemporaryDirectory(prefix="layergen-") as scratch:
        report_path = Path(scratch) / "report.json"
        env = dict(os.environ)
        env[REPORT_ENV] = str(report_path)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "layergen.pytest_plugin",
            "-p",
            "no:cacheprovider",
            f"--rootdir={rootdir}",
            *extra_args,
            *map(str, files),
        ]
        completed = subprocess.run(
            command, env=env, cwd=rootdir, capture_output=True, text=True, check=False
        )
        report = json.loads(report_path.read_text()) if report_path.exists() else {}
    run = TestRun(
        completed.returncode,
        report.get("device", "unknown (pytest did not finish)"),
        completed.stdout + completed.stderr,
    )
    for nodeid, outcome in report.get("outcomes", {}).items():
        path = (rootdir / nodeid.split("::", 1)[0]).resolve().as_posix()
        run.per_file.setdefault(path, Counter())[outcome] += 1
    return run
