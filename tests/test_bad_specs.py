"""The corpus of malformed specs in tests/bad_specs/: each gets its exact
diagnostics (NAME.expected: `exit: N`, then the output of `layergen validate`),
and `layergen new` writes nothing for it.

After a deliberate change to a message, refresh the files with
`LAYERGEN_UPDATE_SNAPSHOTS=1 pytest tests/test_bad_specs.py` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import ROOT

CORPUS_DIR = ROOT / "tests" / "bad_specs"
CORPUS = sorted(CORPUS_DIR.glob("*.toml"))
UPDATE = os.environ.get("LAYERGEN_UPDATE_SNAPSHOTS") == "1"


def test_corpus_is_large_enough() -> None:
    errors = [p for p in CORPUS if not p.stem.startswith("warning_")]
    assert len(errors) >= 80


@pytest.mark.parametrize("spec", CORPUS, ids=lambda p: p.stem)
def test_bad_spec_gets_its_exact_diagnostics(
    cli, spec: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(CORPUS_DIR)  # diagnostics name the spec as given
    result = cli("validate", spec.name)
    actual = f"exit: {result.exit_code}\n{result.output}"
    expected_path = spec.with_suffix(".expected")
    if UPDATE:
        expected_path.write_text(actual)
    assert actual == expected_path.read_text()
    assert "Traceback" not in result.output
    assert "internal error" not in result.output

    out = tmp_path / "out"
    generated = cli("new", spec.name, "-o", out, "--no-test")
    assert "internal error" not in generated.output
    if spec.stem.startswith("warning_"):
        assert generated.exit_code == 0
    else:
        assert generated.exit_code == 2
        assert not out.exists(), "a bad spec must not write anything"
