"""How long layergen's TensorFlow-free commands take, next to `import tensorflow`.

`validate`, `new --no-test` and `check --no-run` never import TensorFlow or
Keras; this prints their wall time for 1 and 100 specs (medians), and each as
a fraction of one `import tensorflow` measured in the same run. `new` is timed
three ways: the first run ever (an empty LAYERGEN_CACHE_DIR: templates are
compiled and every file goes through black), a new spec (compiled templates
cached, black's output not), and an unchanged spec (both cached).

Every command, `import tensorflow` included, is timed as benchmarks/commands.py
says: once untimed first, with Python's bytecode writing on.

Usage: python benchmarks/cli_latency.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.commands import ENV, timed, write_specs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    tf = timed([sys.executable, "-c", "import tensorflow"], repeat)
    print(f"import tensorflow: {tf:.2f} s")
    print(f"{'command':<28}{'specs':>6}{'seconds':>10}{'x import tf':>13}")
    layergen = [sys.executable, "-m", "layergen"]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for count in (1, 100):
            specs = write_specs(root / f"specs{count}", count)
            out = root / f"out{count}"
            cache = root / f"cache{count}"
            env = {**ENV, "LAYERGEN_CACHE_DIR": str(cache)}
            new = [*layergen, "new", "--no-test", "-o", str(out), *specs]

            def clear(*paths: Path) -> Callable[[], None]:
                return lambda: subprocess.run(["rm", "-rf", *map(str, paths)])

            rows = [
                ("validate", timed([*layergen, "validate", *specs], repeat)),
                (
                    "new --no-test (first run)",
                    timed(new, repeat, env, clear(out, cache)),
                ),
                (
                    "new --no-test (new spec)",
                    timed(new, repeat, env, clear(out, cache / "black")),
                ),
                ("new --no-test (unchanged)", timed(new, repeat, env)),
                (
                    "check --no-run",
                    timed([*layergen, "check", "--no-run", str(out)], repeat, env),
                ),
            ]
            for name, seconds in rows:
                print(f"{name:<28}{count:>6}{seconds:>10.2f}{seconds / tf:>13.3f}")


if __name__ == "__main__":
    main()
