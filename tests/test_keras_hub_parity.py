"""Layers of a real library, written as specs, compute what the library does.

Each spec in ``tests/keras_hub/`` states one of keras-hub's modeling layers with
keras-hub's constructor and call signature. ``keras_hub/compare.py`` builds the
generated layer and keras-hub's with equal arguments, copies keras-hub's
weights in, and checks equal outputs, also after a ``.keras`` round trip, on
each backend. Issue 13 lists the keras-hub layers that cannot be written yet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

HUB = Path(__file__).resolve().parent / "keras_hub"
# One case per spec: the keras-hub class (also the spec's class name), its
# generated module, constructor arguments and input shapes by argument name.
CASES = [
    {
        "class": "RMSNormalization",
        "module": "rms_normalization",
        "args": {"input_dim": 8},
        "inputs": {"x": [2, 5, 8]},
    },
    {
        "class": "AlibiBias",
        "module": "alibi_bias",
        "args": {"alibi_bias_max": 8},
        "inputs": {"attention_scores": [2, 6, 3, 5]},
    },
    {
        "class": "AlibiBias",
        "module": "alibi_bias",
        "args": {"alibi_bias_max": 4},
        "inputs": {"attention_scores": [1, 8, 4, 4]},
    },
]


def test_every_spec_has_a_case() -> None:
    assert {c["module"] for c in CASES} == {p.stem for p in HUB.glob("*.toml")}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("keras_hub_parity")
    specs = sorted(str(p) for p in HUB.glob("*.toml"))
    command = [sys.executable, "-m", "layergen", "new", "--no-test", "-o", str(out)]
    done = subprocess.run([*command, *specs], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_generated_layers_match_keras_hub(
    generated: Path, backend: str, tmp_path: Path
) -> None:
    pytest.importorskip("keras_hub", reason="keras-hub is a test dependency")
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(CASES))
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(HUB / "compare.py"), str(generated), str(cases)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    records = [json.loads(line) for line in done.stdout.splitlines() if line[:1] == "{"]
    assert len(records) == len(CASES), done.stdout + done.stderr
    failures = [f"{r['case']}:\n{r['error']}" for r in records if not r["ok"]]
    assert not failures, "\n".join(failures)
