"""Generated layers against Keras's built-ins on every installed backend.

For each case of benchmarks/builtin_cases.py, under the float32 and the
mixed_bfloat16 dtype policy, this builds the built-in and the generated layer
with equal weights, each in a one-layer functional model (so Keras's autocast
applies: a bare ``layer.stateless_call`` skips it), asserts that both models
give the same output in the same dtype, then times a forward call and a
forward+backward call (gradients of mean(y**2) with respect to the weights
and a float input) of both, side by side in interleaved rounds, and prints
the medians, their ratio generated/built-in and the geometric mean.

Each backend runs in a process of its own, compiled the way it trains by
default: JAX under ``jax.jit``, TensorFlow under ``tf.function``, PyTorch
eagerly (forward under ``torch.no_grad``). ``--write`` saves the table to
benchmarks/results.md.

Usage: python benchmarks/backend_parity.py [CASE ...] [--backend B]
       [--size small|cpu|gpu] [--small] [--rounds N] [--calls N]
       [--min-round-ms MS] [--threads N] [--write]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("jax", "torch", "tensorflow")
POLICIES = ("float32", "mixed_bfloat16")
PASSES = ("fwd", "fwd+bwd")
CALLS = {"small": 2, "cpu": 10, "gpu": 50}
# A round lasts at least this long (ms): a layer that runs in 0.4 ms gets
# enough calls per round that the clock and the scheduler stop showing.
MIN_ROUND_MS = {"small": 0, "cpu": 100, "gpu": 100}


@dataclass
class Row:
    """One case on one backend, under one policy, for one pass: median ms."""

    backend: str
    case: str
    policy: str
    step: str
    builtin_ms: float
    generated_ms: float

    @property
    def ratio(self) -> float:
        return self.generated_ms / self.builtin_ms


def installed_backends() -> list[str]:
    return [b for b in BACKENDS if importlib.util.find_spec(b) is not None]


def geometric_mean(values: list[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


# --- in the process of one backend ----------------------------------------


def steps_of(model, x, training: bool) -> dict[str, Callable[[], object]]:
    """The forward and forward+backward calls of ``model`` on ``x``, compiled
    as the active backend trains, each waiting for its result."""
    import keras

    backend = keras.backend.backend()
    floating = keras.backend.is_float_dtype(x.dtype)
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def forward(tv, ntv, x):
            return model.stateless_call(tv, ntv, x, training=training)[0]

        def loss(tv, ntv, x):
            y = forward(tv, ntv, x)
            return jnp.mean(jnp.square(y.astype("float32")))

        fwd = jax.jit(forward)
        grad = jax.jit(jax.grad(loss, argnums=(0, 2) if floating else 0))
        x = jnp.asarray(x)
        return {
            "fwd": lambda: jax.block_until_ready(fwd(trainable, frozen, x)),
            "fwd+bwd": lambda: jax.block_until_ready(grad(trainable, frozen, x)),
        }
    if backend == "torch":
        import torch

        tensor = keras.ops.convert_to_tensor(x)
        sources = [v.value for v in model.trainable_variables]
        if floating:
            tensor = tensor.detach().requires_grad_(True)
            sources.append(tensor)
        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: 0)

        def fwd():
            with torch.no_grad():
                y = model(tensor, training=training)
            sync()
            return y

        def fwd_bwd():
            y = model(tensor, training=training)
            loss = torch.mean(torch.square(y.float()))
            grads = torch.autograd.grad(loss, sources)
            sync()
            return grads

        return {"fwd": fwd, "fwd+bwd": fwd_bwd}
    import tensorflow as tf

    tensor = tf.constant(x)
    weights = model.trainable_variables

    @tf.function
    def forward(x):
        return model(x, training=training)

    @tf.function
    def forward_backward(x):
        with tf.GradientTape() as tape:
            if floating:
                tape.watch(x)
            y = model(x, training=training)
            loss = tf.reduce_mean(tf.square(tf.cast(y, tf.float32)))
        return loss, tape.gradient(loss, [*([x] if floating else []), *weights])

    return {
        "fwd": lambda: forward(tensor).numpy(),
        "fwd+bwd": lambda: forward_backward(tensor)[0].numpy(),
    }


def set_threads(count: int) -> None:
    """Run each op of the active backend on ``count`` CPU threads."""
    import keras

    if keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(count)
    elif keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(count)
        tf.config.threading.set_inter_op_parallelism_threads(count)


def time_side_by_side(
    a: Callable, b: Callable, rounds: int, calls: int, min_round_s: float = 0.0
) -> tuple[float, float]:
    """Median seconds per call of a and b over ``rounds`` interleaved rounds
    (A B, then B A, ...) of ``calls`` calls, or more where a round of the
    slower one would last under ``min_round_s``, after two warm-up calls each."""
    for fn in (a, b, a, b):
        fn()
    slowest = max(_seconds(a), _seconds(b))
    calls = max(calls, math.ceil(min_round_s / max(slowest, 1e-9)))
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(rounds):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            fn = (a, b)[which]
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[which].append((time.perf_counter() - start) / calls)
    return statistics.median(times[0]), statistics.median(times[1])


def _seconds(fn: Callable) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def one_layer_model(layer, x, input_dtype: str):
    import keras

    inputs = keras.Input(batch_shape=x.shape, dtype=input_dtype)
    return keras.Model(inputs, layer(inputs))


def measure_backend(
    cases: list[str], size_name: str, rounds: int, calls: int, min_round_ms: int
) -> Iterator[Row]:
    """Every case under every policy on the active backend."""
    import keras

    from benchmarks.builtin_cases import CASES, SIZES, assert_same_output, make_pair

    backend = keras.backend.backend()
    with tempfile.TemporaryDirectory() as scratch:
        for policy in POLICIES:
            keras.config.set_dtype_policy(policy)
            for name in cases:
                case = CASES[name]
                builtin, generated, x = make_pair(name, SIZES[size_name], Path(scratch))
                models = [
                    one_layer_model(layer, x, case.input_dtype)
                    for layer in (builtin, generated)
                ]
                assert_same_output(*models, x)
                built, gen = (steps_of(m, x, case.training) for m in models)
                for step in PASSES:
                    t_gen, t_built = time_side_by_side(
                        gen[step], built[step], rounds, calls, min_round_ms / 1e3
                    )
                    yield Row(backend, name, policy, step, t_built * 1e3, t_gen * 1e3)
        keras.config.set_dtype_policy("float32")


# --- the parent process ------------------------------------------------------


def run_backend(backend: str, argv: list[str]) -> Iterator[Row]:
    """Rows from a child process running ``backend``, as they come."""
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")])
        ),
    }
    command = [sys.executable, __file__, "--child", *argv]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("{"):
                yield Row(**json.loads(line))
    if child.returncode:
        raise SystemExit(f"{backend}: the benchmark failed (exit {child.returncode})")


def table(rows: list[Row]) -> list[str]:
    """The markdown table: one line per case, a column per policy and pass."""
    columns = [(p, s) for p in POLICIES for s in PASSES]
    lines = [
        "| backend | layer | " + " | ".join(f"{p} {s}" for p, s in columns) + " |",
        "| --- | --- |" + " ---: |" * len(columns),
    ]
    ratio = {(r.backend, r.case, r.policy, r.step): r.ratio for r in rows}
    for backend, case in dict.fromkeys((r.backend, r.case) for r in rows):
        cells = [
            (
                f"{ratio[backend, case, p, s]:.2f}"
                if (backend, case, p, s) in ratio
                else "-"
            )
            for p, s in columns
        ]
        lines.append(f"| {backend} | {case} | " + " | ".join(cells) + " |")
    return lines


def summary(rows: list[Row]) -> list[str]:
    """Geometric mean and largest ratio, per backend and over all."""
    lines = []
    for backend in [*dict.fromkeys(r.backend for r in rows), None]:
        ratios = [r.ratio for r in rows if backend in (None, r.backend)]
        label = backend or "all backends"
        worst = max(
            (r for r in rows if backend in (None, r.backend)), key=lambda r: r.ratio
        )
        lines.append(
            f"{label}: geometric mean {geometric_mean(ratios):.3f} over {len(ratios)} "
            f"ratios; largest {worst.ratio:.2f} ({worst.backend} {worst.case} "
            f"{worst.policy} {worst.step})"
        )
    return lines


def machine(backends: list[str]) -> str:
    versions = [f"{name} {metadata.version(name)}" for name in ["keras", *backends]]
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.processor() or 'CPU'}; " + ", ".join(versions)
    )


def command(args: argparse.Namespace) -> str:
    """The options a run was given, as its command line shows them."""
    words = [*args.cases, "--size", args.size, "--rounds", str(args.rounds)]
    words += ["--calls", str(args.calls), "--min-round-ms", str(args.min_round_ms)]
    words += ["--threads", str(args.threads)] if args.threads else []
    words += [f"--backend {b}" for b in args.backend or []]
    return " ".join([*words, "--write"])


def write(rows: list[Row], args: argparse.Namespace, backends: list[str]) -> None:
    from benchmarks.builtin_cases import write_section

    text = "\n".join(
        [
            f"## {', '.join(backends)} through a model, float32 and "
            f"mixed_bfloat16 ({args.size} size)",
            "",
            f"Written by `python benchmarks/backend_parity.py {command(args)}` "
            f"(ratio generated / built-in of the median time per call, "
            f"{args.rounds} interleaved rounds of {args.calls} calls, or more "
            f"where a round would last under {args.min_round_ms} ms; outputs "
            "asserted equal in the same dtype first). JAX under `jax.jit`, "
            "TensorFlow under `tf.function`, PyTorch eager.",
            f"Machine: {machine(backends)}.",
            "",
            *table(rows),
            "",
            *(f"- {line}" for line in summary(rows)),
        ]
    )
    name = f"backend_parity {args.size} {' '.join(backends)}"
    write_section(HERE / "results.md", name, text)


def main() -> None:
    names = [path.stem for path in sorted((HERE / "specs").glob("*.toml"))]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"default: all of {', '.join(names)}")
    parser.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="default: every installed one",
    )
    parser.add_argument("--size", choices=("small", "cpu", "gpu"), default="cpu")
    parser.add_argument(
        "--small",
        action="store_const",
        const="small",
        dest="size",
        help="--size small: a tiny configuration, seconds on a CPU",
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, help="calls per round (default by size)")
    parser.add_argument(
        "--min-round-ms",
        type=int,
        help="more calls per round where a round would be shorter "
        "(default by size: "
        + ", ".join(f"{k} {v}" for k, v in MIN_ROUND_MS.items())
        + ")",
    )
    parser.add_argument(
        "--write", action="store_true", help="save benchmarks/results.md"
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads per op for PyTorch and TensorFlow (default: theirs); "
        "1 steadies the figures on a loaded machine",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.calls = args.calls or CALLS[args.size]
    if args.min_round_ms is None:
        args.min_round_ms = MIN_ROUND_MS[args.size]
    unknown = sorted(set(args.cases) - set(names))
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; known: {', '.join(names)}")
    cases = args.cases or names
    if args.child:
        if args.threads:
            set_threads(args.threads)
        rows = measure_backend(
            cases, args.size, args.rounds, args.calls, args.min_round_ms
        )
        for row in rows:
            print(json.dumps(asdict(row)), flush=True)
        return
    backends = args.backend or installed_backends()
    argv = [*cases, "--size", args.size, "--rounds", str(args.rounds)]
    argv += ["--calls", str(args.calls), "--threads", str(args.threads or 0)]
    argv += ["--min-round-ms", str(args.min_round_ms)]
    print(
        f"{'backend':<12}{'layer':<22}{'policy':<16}{'pass':<9}"
        f"{'built-in':>11}{'generated':>12}{'ratio':>7}"
    )
    rows = []
    for backend in backends:
        for row in run_backend(backend, argv):
            print(
                f"{row.backend:<12}{row.case:<22}{row.policy:<16}{row.step:<9}"
                f"{row.builtin_ms:>8.3f} ms{row.generated_ms:>9.3f} ms"
                f"{row.ratio:>7.2f}",
                flush=True,
            )
            rows.append(row)
    print("\n".join(["", *table(rows), "", *summary(rows)]))
    if args.write:
        write(rows, args, backends)


if __name__ == "__main__":
    main()
