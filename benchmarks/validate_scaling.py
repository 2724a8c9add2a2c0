"""How `layergen validate` scales with the size of a spec: many params, many
misspelled names (each would get a did-you-mean), many weights with a
misspelled initializer. Target: 5,000 of each in under 5 s.

    python benchmarks/validate_scaling.py [N ...]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

LAYERGEN = [sys.executable, "-m", "layergen"]


def specs(n: int) -> dict[str, str]:
    params = "\n".join(f'p{i} = {{ type = "int", default = 1 }}' for i in range(n))
    head = f'[layer]\nname = "Big"\n[params]\n{params}\n'
    typos = ", ".join(f'"h{i} = inputs * p{i}x"' for i in range(n))
    weights = "\n".join(
        f'[weights.w{i}]\nshape = ["p{i}"]\ninitializer = "zerosx"' for i in range(n)
    )
    return {
        "params": head + '[call]\nexpr = "inputs"\n',
        "misspelled names": head + f'[call]\nsteps = [{typos}]\nexpr = "inputs"\n',
        "bad initializers": head + weights + '\n[call]\nexpr = "inputs"\n',
    }


def seconds(text: str) -> float:
    """Wall time of one `layergen validate` on ``text`` (it may fail)."""
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "big.toml"
        spec.write_text(text)
        start = time.perf_counter()
        subprocess.run([*LAYERGEN, "validate", str(spec)], capture_output=True)
        return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    print(f"{'spec':<18}" + "".join(f"{n:>10}" for n in sizes))
    table = {n: specs(n) for n in sizes}
    for name in table[sizes[0]]:
        row = "".join(f"{seconds(table[n][name]):>9.2f}s" for n in sizes)
        print(f"{name:<18}{row}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])
