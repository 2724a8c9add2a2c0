"""A corpus of correct layers, written as a user would, must pass on every backend.

Every spec in ``tests/corpus/`` is a layer practitioners write (GLU, RMSNorm,
rotary embedding, batch normalization, an LSTM cell, ...). The corpus is
generated once into a temporary directory, then each backend runs every
generated suite in one ``layergen check --backend B --format json`` process.
A failing generated test on a correct layer is a false failure of layergen.

``layergen check --format json`` reports counts per layer; which tests failed,
and why, come from pytest's JUnit XML, which the check's pytest process writes
when ``PYTEST_ADDOPTS`` asks for it.

``KNOWN_FAILURES`` lists the false failures layergen causes today: bugs being
fixed, and those this corpus found (``tests/corpus/FINDINGS.md``). Each entry
must still fail (as ``xfail(strict=True)``): remove it when its fix lands.
Anything else that fails, fails this test. Layers layergen cannot express at
all are not in the corpus; FINDINGS.md lists them with the error they give.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from .conftest import check_on_backend

CORPUS = Path(__file__).resolve().parent / "corpus"
CORPUS_SPECS = sorted(CORPUS.glob("*.toml"))
BACKENDS = ("tensorflow", "jax", "torch")

# (layer class, backend, generated test name) -> why it fails today.
# Seen fixed by this corpus and removed: GLU's and RotaryEmbedding's shape
# polymorphism on an odd last axis (now `[checks] even_features`), BatchNorm
# and TokenAndPositionEmbedding on TensorFlow's distributed step (036b639),
# five layers' finite-difference gradients on JAX (2738bba), ConvBNReLU's
# BatchNormalization sublayer in the fit-step and distributed checks
# (339b46f, 5b3ed86), TransformerEncoderBlock's fit step, failed by
# MultiHeadAttention's key bias that softmax cancels (a sublayer now needs
# only some of its weights trained).
KNOWN_FAILURES: dict[tuple[str, str, str], str] = {}


def corpus_classes() -> set[str]:
    """The class name of every corpus spec (``[layer] name``)."""
    import tomllib

    return {tomllib.loads(p.read_text())["layer"]["name"] for p in CORPUS_SPECS}


def test_corpus_is_large_and_valid() -> None:
    assert len(CORPUS_SPECS) >= 22
    result = subprocess.run(
        [sys.executable, "-m", "layergen", "validate", *map(str, CORPUS_SPECS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stderr


def test_known_failures_name_corpus_layers() -> None:
    classes = corpus_classes()
    for layer, backend, test_name in KNOWN_FAILURES:
        assert layer in classes, layer
        assert backend in BACKENDS, backend
        assert test_name.startswith("test_"), test_name


@pytest.fixture(scope="module")
def generated_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus generated into ``<tmp>/layers`` from copies of its specs in
    ``<tmp>/specs``: ``layergen check`` follows a header's spec path only
    inside the project (the checked directory's parents or the working
    directory), so the specs travel with the layers."""
    root = tmp_path_factory.mktemp("corpus")
    specs = root / "specs"
    specs.mkdir()
    for spec in CORPUS_SPECS:
        shutil.copy(spec, specs / spec.name)
    out = root / "layers"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "layergen",
            "new",
            "--no-test",
            "-o",
            str(out),
            *sorted(str(p) for p in specs.glob("*.toml")),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def junit_cases(path: Path) -> list[tuple[str, str, str, str]]:
    """(test module, test name, outcome, message) per test in pytest's JUnit XML;
    a parametrized test (``test_mixed_precision[mixed_float16]``) keeps its id."""
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        outcome, message = "passed", ""
        for tag in ("failure", "error"):
            element = case.find(tag)
            if element is not None:
                outcome, message = "failed", element.get("message") or ""
                break
        else:
            if case.find("skipped") is not None:
                outcome = "skipped"
        cases.append((module, case.get("name", ""), outcome, message))
    return cases


@pytest.mark.slow
@pytest.mark.xdist_group("corpus")
@pytest.mark.parametrize("backend", BACKENDS)
def test_corpus_passes(backend: str, generated_corpus: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    env = dict(os.environ)
    env["PYTEST_ADDOPTS"] = f"{env.get('PYTEST_ADDOPTS', '')} --junitxml={junit}"
    result = check_on_backend(generated_corpus, backend, env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    records = json.loads(result.stdout)
    modules = {Path(r["test_path"]).stem: r["class"] for r in records}
    assert set(modules.values()) == corpus_classes()

    cases = junit_cases(junit)
    # Per (layer, test function): failed if any parametrization failed, else
    # passed if any passed, else skipped.
    rank = {"skipped": 0, "passed": 1, "failed": 2}
    outcomes: dict[tuple[str, str], str] = {}
    failed: dict[tuple[str, str], str] = {}
    for module, name, outcome, message in cases:
        key = (modules[module], name.split("[", 1)[0])
        if rank[outcome] >= rank[outcomes.get(key, "skipped")]:
            outcomes[key] = outcome
        if outcome == "failed":
            failed[key] = message
    per_layer = Counter(modules[m] for m, _, outcome, _ in cases if outcome == "failed")
    for record in records:
        assert record["drift"] == "ok", record
        assert record["backend"] == backend
        assert f"({backend})" in record["device"]
        assert record["tests"]["passed"] >= 5, record
        # The JSON's per-layer counts agree with the per-test outcomes.
        assert record["tests"]["failed"] == per_layer[record["class"]], record

    expected = {
        (layer, test_name)
        for layer, known_backend, test_name in KNOWN_FAILURES
        if known_backend == backend
    }
    unexpected = {key: msg for key, msg in failed.items() if key not in expected}
    report = "".join(
        f"\n{layer}::{name} on {backend}:\n    {msg[:600]}"
        for (layer, name), msg in sorted(unexpected.items())
    )
    assert not unexpected, f"correct corpus layers failed:{report}"
    no_longer_failing = {
        key: outcomes.get(key, "not run") for key in sorted(expected - set(failed))
    }
    assert not no_longer_failing, (
        f"known failures on {backend} no longer fail (remove them from "
        f"KNOWN_FAILURES if fixed): {no_longer_failing}"
    )
    assert result.returncode == (1 if expected else 0), result.stdout
