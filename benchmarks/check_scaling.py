"""How `layergen check` scales with the number of layers.

Generates 1, 4 and 16 copies of a small layer (distinct classes) into a
scratch directory, times `layergen check` (tests included) and
`layergen check --no-run` on each, and prints the marginal cost per layer next
to the cost of one `import tensorflow`, measured in the same run (each
command timed as benchmarks/commands.py says).

Usage: python benchmarks/check_scaling.py [--repeat N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.commands import ENV, timed, write_specs

SIZES = (1, 4, 16)


def make_tree(root: Path, count: int) -> Path:
    out = root / f"layers{count}"
    specs = write_specs(root / f"specs{count}", count)
    subprocess.run(
        [sys.executable, "-m", "layergen", "new", "--no-test", "-o", str(out), *specs],
        check=True,
        capture_output=True,
        env=ENV,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    layergen = [sys.executable, "-m", "layergen", "check"]
    tf_import = timed([sys.executable, "-c", "import tensorflow"], repeat)
    print(f"import tensorflow: {tf_import:.2f} s (median of {repeat})")
    print(f"{'layers':>6}  {'check (s)':>10}  {'--no-run (s)':>12}")
    full: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for count in SIZES:
            tree = make_tree(Path(scratch), count)
            full[count] = timed([*layergen, str(tree)], repeat)
            drift = timed([*layergen, "--no-run", str(tree)], repeat)
            print(f"{count:>6}  {full[count]:>10.2f}  {drift:>12.2f}")
    for low, high in zip(SIZES, SIZES[1:], strict=False):
        marginal = (full[high] - full[low]) / (high - low)
        print(
            f"marginal cost per layer, {low} -> {high} layers: {marginal:.2f} s "
            f"({marginal / tf_import:.2f} x one TensorFlow import)"
        )


if __name__ == "__main__":
    main()
