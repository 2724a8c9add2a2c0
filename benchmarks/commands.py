"""What the command-line benchmarks share: timing a command, and specs to time.

Commands run with Python's bytecode writing on (as after a normal install;
with PYTHONDONTWRITEBYTECODE every run would compile layergen from source)
and once untimed before the timed runs.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = (ROOT / "generated_examples" / "specs" / "simple_dense.toml").read_text()
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(
    args: list[str],
    repeat: int,
    env: dict[str, str] | None = None,
    fresh: Callable[[], object] | None = None,
) -> float:
    """Median wall time of ``args`` in seconds, after one untimed run;
    ``fresh`` runs before each run (to empty a cache, say)."""
    times = []
    for i in range(repeat + 1):
        if fresh is not None:
            fresh()
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env or ENV)
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_specs(directory: Path, count: int) -> list[str]:
    """``count`` copies of the SimpleDense example, each with its own class."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"dense{i}.toml"
        path.write_text(
            SPEC.replace('name = "SimpleDense"', f'name = "SimpleDense{i}"')
        )
        paths.append(str(path))
    return paths
