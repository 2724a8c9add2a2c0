"""``layergen explain``: shapes traced on symbolic tensors, errors at their
step, a Mermaid chart that spec text cannot break out of, no TensorFlow
import on another backend."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from layergen.explain import mermaid
from layergen.explain.model import (
    Explanation,
    Named,
    Place,
    StepInfo,
    SublayerInfo,
    TraceError,
    Value,
    WeightInfo,
)
from tests.conftest import EXAMPLES, ROOT
from tests.test_quiet_runs import NOISE

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="needs the JAX backend"
)

BAD_DENSE = """
[layer]
name = "BadDense"

[params]
units = { type = "int", default = 8, min = 1 }

[inputs]
x = { min_rank = 2 }

[weights.kernel]
shape = ["units", "units"]

[call]
steps = ["h = ops.matmul(x, kernel)", "h = h * 2.0"]
expr = "h"

[test]
input_shapes = { x = [2, 5, 3] }
properties = { finite = "np.all(np.isfinite(output))" }
"""

WRONG_OUTPUT = """
[layer]
name = "WrongOutput"

[inputs]
x = { rank = 3 }

[call]
expr = "ops.sum(x, axis=1)"

[output]
shape = ["*x[:]"]

[test]
input_shapes = { x = [2, 5, 3] }
properties = { finite = "np.all(np.isfinite(output))" }
"""


README_COMMAND = (
    "KERAS_BACKEND=jax layergen explain generated_examples/specs/simple_dense.toml"
)


RUNNING_MEAN = """
[layer]
name = "RunningMean"

[params]
momentum = { type = "float", default = 0.9 }

[inputs]
x = { rank = 2 }

[weights.moving_mean]
shape = ["x[-1]"]
initializer = "zeros"
trainable = false

[call]
training = true
steps = ["mean = ops.mean(x, axis=0, keepdims=True)"]
expr = "x - moving_mean"

[updates]
moving_mean = "momentum * moving_mean + (1 - momentum) * mean"

[test]
input_shapes = { x = [4, 3] }
reference = "x - moving_mean"
training_changes_output = false
"""


def _layergen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``layergen`` in a fresh process on JAX (Keras's backend is fixed at
    import, so explain runs are kept out of the test process)."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "layergen", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


@needs_jax
def test_explain_traces_shapes_without_tensorflow() -> None:
    program = textwrap.dedent("""
        import json, sys
        from pathlib import Path
        from layergen.explain import explain_spec, mermaid, text
        from layergen.spec.validate import load_spec
        out = {}
        for name in sys.argv[1:]:
            spec = load_spec(Path("generated_examples/specs") / f"{name}.toml")
            result = explain_spec(spec)
            out[name] = result.as_json()
            out[name + " text"] = text.render(result)
            out[name + " mermaid"] = mermaid.render(result)
        out["tensorflow imported"] = "tensorflow" in sys.modules
        print(json.dumps(out))
        """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    names = ["simple_dense", "self_attention", "minimal_rnn_cell", "glu", "mlp_block"]
    result = subprocess.run(
        [sys.executable, "-c", program, *names],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    out = json.loads(result.stdout)
    assert out["tensorflow imported"] is False
    # The [test] values as the spec gives them, not their reprs.
    assert out["self_attention"]["params"] == {"embed_dim": 8, "num_heads": 2}
    # The README shows SimpleDense's table as it is.
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(f"$ {README_COMMAND}\n", 1)[1].split("```", 1)[0]
    assert shown == out["simple_dense text"]
    chart = readme.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert chart == out["mlp_block mermaid"]

    def bound(name: str) -> dict[str, list[list[int | None] | None]]:
        return {
            b["name"]
            + ("" if s["kind"] == "step" else f"@{s['kind']}"): [
                v and v["shape"] for v in b["values"]
            ]
            for s in out[name]["steps"]
            for b in s["binds"]
        }

    dense = out["simple_dense"]
    assert dense["backend"] == "jax" and dense["errors"] == []
    weights = {
        w["name"]: (w["value"]["shape"], w["shape_expr"]) for w in dense["weights"]
    }
    assert weights == {"kernel": ([3, 8], "[x[-1], units]"), "bias": ([8], "[units]")}
    assert bound("simple_dense") == {
        "h": [[2, 5, 8], [None, None, 8]],
        "output@output": [[2, 5, 8], [None, None, 8]],
        "mask@mask": [[2, 5], [None, None]],
    }
    attention = bound("self_attention")
    assert attention["q"] == [[2, 5, 2, 4], [None, None, 2, 4]]
    assert attention["h"] == [[2, 5, 2, 4], [None, None, 2, 4]]
    assert attention["output@output"] == [[2, 5, 8], [None, None, 8]]
    query = out["self_attention"]["sublayers"][0]
    assert (query["name"], query["layer"]) == ("query", "Dense")
    assert [w[0] for w in query["weights"]] == ["kernel", "bias"]
    cell = bound("minimal_rnn_cell")
    assert cell["h@state"] == [[2, 4], [None, 4]]
    # GLU splits an axis of unknown size: JAX cannot, but [output] gives
    # Keras the symbolic shape, so it is a warning and the exit code stays 0.
    (warning,) = out["glu"]["errors"]
    assert warning["severity"] == "warning"
    assert warning["place"]["key"] == "call.steps[0]"
    assert bound("glu")["a"] == [[2, 3, 3], None]


@needs_jax
def test_a_shape_error_is_reported_at_its_step(tmp_path: Path) -> None:
    spec = tmp_path / "bad_dense.toml"
    spec.write_text(BAD_DENSE.lstrip())
    result = _layergen("explain", "bad_dense.toml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1
    assert errors[0].startswith(
        "bad_dense.toml:14:10: error: call.steps[0]: `h = ops.matmul(x, kernel)` "
        "fails with the [test] input shapes: TypeError: "
    )
    assert "(3,) and (8,)" in errors[0]
    table = result.stdout
    assert re.search(r"kernel +\(8, 8\) float32 +\(shape \[units, units\]\)", table)
    assert re.search(r"^    h +fails \(below\) +-$", table, re.M)
    assert re.search(r"^    h +- +-$", table, re.M)  # the step after it


@needs_jax
def test_an_output_that_contradicts_the_spec_is_an_error(tmp_path: Path) -> None:
    spec = tmp_path / "wrong.toml"
    spec.write_text(WRONG_OUTPUT.lstrip())
    result = _layergen("explain", "wrong.toml", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    texts = [e["text"] for e in data["errors"]]
    assert texts[0] == (
        "wrong.toml:11:1: error: output.shape: with the [test] input shapes, "
        "call() gives (2, 3) float32, but [output] declares (2, 5, 3) float32"
    )


@needs_jax
def test_an_update_of_another_shape_than_its_weight_is_an_error(
    tmp_path: Path,
) -> None:
    (tmp_path / "running.toml").write_text(RUNNING_MEAN.lstrip())
    result = _layergen("explain", "running.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert re.search(r"^    moving_mean +\(1, 3\) float32 +\(1, 3\) float32$",
                     result.stdout, re.M)  # fmt: skip
    assert result.stderr.splitlines()[-1] == (
        "running.toml:21:1: error: updates.moving_mean: with the [test] input "
        "shapes, the update of `moving_mean` has shape (1, 3), the weight (3,)"
    )
    fixed = RUNNING_MEAN.replace("keepdims=True", "keepdims=False")
    (tmp_path / "running.toml").write_text(fixed.lstrip())
    assert _layergen("explain", "running.toml", cwd=tmp_path).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_no_example_or_corpus_spec_is_reported_wrong(backend: str) -> None:
    """explain never calls a correct spec wrong: every example and corpus
    layer passes its generated tests on every backend."""
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    program = textwrap.dedent("""
        import glob
        from pathlib import Path
        from layergen.explain import explain_spec
        from layergen.spec.validate import load_spec
        specs = glob.glob("generated_examples/specs/*.toml")
        for path in sorted(specs + glob.glob("tests/corpus/*.toml")):
            for error in explain_spec(load_spec(Path(path))).errors:
                print(error.severity, error)
        """)
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=900,
    )  # fmt: skip
    assert not [line for line in result.stdout.splitlines() if line.startswith("error")]


@needs_jax
def test_mermaid_of_an_example(tmp_path: Path) -> None:
    spec = EXAMPLES / "specs" / "simple_dense.toml"
    result = _layergen("explain", str(spec), "--format", "mermaid")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    i0[/"x<br/>(2, 5, 3) float32"/]' in lines
    assert '    w0[("kernel<br/>(3, 8) float32")]' in lines
    assert '    s0["h = ops.matmul(x, kernel)<br/>h: (2, 5, 8) float32"]' in lines
    assert {"    i0 --> s0", "    w0 --> s0", "    s0 --> s1", "    s1 --> s2"} <= set(
        lines
    )


HOSTILE = [
    '"]-->evil[<img src=x onerror=alert(1)>',
    "#quot; `**md**` &amp; <br/>",
    "line\nbreak\u202e\x1b[31m;click s0 call alert()",
    "end",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_mermaid_labels_stay_inside_their_quotes(text: str) -> None:
    place = Place("s.toml", 3, 1, "call.steps[0]")
    value = Value((2, 3), "float32")
    result = Explanation(
        layer=text,
        spec="s.toml",
        backend="jax",
        params={},
        mask_mode="none",
        inputs=[Named(text, (value, value))],
        weights=[WeightInfo(text, f"[{text}]", value, True)],
        sublayers=[SublayerInfo(text, text, None, ((text, value),))],
        steps=[
            StepInfo("step", f"h = {text!r}", place, (text,), (Named(text, (value,)),)),
            StepInfo("output", text, place, (text,), (Named("output", (None,)),)),
        ],
        errors=[TraceError(place, text, "test", text)],
    )
    chart = mermaid.render(result)
    label = re.compile(
        r'^    [ilws]\d+(\[/"|\[\("|\[\["|\["|\(\["|\{\{")([^"]*)("/\]|"\)\]|"\]\]|"\]|"\]\)|"\}\})(:::fails)?$'
    )
    edge = re.compile(r"^    [ilws]\d+ (-->|-\.->) [ilws]\d+$")
    for line in chart.splitlines()[1:]:
        if line.startswith("    classDef "):
            assert line == "    classDef fails stroke:#c00,stroke-width:3px"
            continue
        found = label.match(line) or edge.match(line)
        assert found, line
        if label.match(line):
            inner = label.match(line).group(2).replace("<br/>", "")
            assert re.fullmatch(r"([A-Za-z0-9 _.,:()\[\]=+\-*/]|#\d+;)*", inner), line


def test_explain_on_tensorflow_prints_no_native_start_up_lines() -> None:
    """TensorFlow 2.21 writes absl/oneDNN lines to stderr at import whatever
    TF_CPP_MIN_LOG_LEVEL says; explain holds them back."""
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "PYTHONPATH": str(ROOT)}
    spec = "generated_examples/specs/my_relu.toml"
    result = subprocess.run(
        [sys.executable, "-m", "layergen", "explain", spec],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "traced on tensorflow" in result.stdout
    assert not NOISE.search(result.stderr), result.stderr


def test_error_messages_show_control_characters_escaped() -> None:
    from layergen.explain.keras_side import message

    text = message(ValueError('dtype "\x1b[31mred\u202e" not understood\n  at'))
    assert text == 'ValueError: dtype "\\x1b[31mred\\u202e" not understood at'


@needs_jax
def test_a_layer_that_cannot_be_built_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "running.toml").write_text(RUNNING_MEAN.lstrip())
    program = textwrap.dedent("""
        import sys
        from unittest import mock
        from layergen.cli import main
        from layergen.explain import keras_side
        fail = mock.patch.object(keras_side, "build", side_effect=ValueError("no"))
        with fail:
            main(["explain", "running.toml"])
        """)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "running.toml:24:1: error: test.input_shapes: building on (4, 3) fails: "
        "ValueError: no"
    ]


def test_an_invalid_spec_is_diagnosed_and_explain_claims_no_writes(
    cli, write_spec
) -> None:
    path = write_spec('[layer]\nname = "bad name"\n[call]\nexpr = "x"\n')
    result = cli("explain", path)
    assert result.exit_code == 2
    assert f"{path}:2:1: error: layer.name: " in result.stderr
    assert result.stderr.splitlines()[-1] == "2 errors"
