"""Packaging: the wheel carries the templates, and the Keras catalogue is current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.mark.slow
def test_non_editable_wheel_ships_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(tmp_path / "dist"),
        ],
        check=True,
    )
    (wheel,) = (tmp_path / "dist").glob("layergen-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    assert (site / "layergen" / "templates" / "layer.py.j2").is_file()
    spec = ROOT / "generated_examples" / "specs" / "simple_dense.toml"
    program = (
        "import layergen, layergen.codegen.render as r, sys; print(layergen.__file__); "
        "print(r.template_dir()); from layergen.cli import main; "
        f"main(['new', {str(spec)!r}, '-o', 'out', '--no-test'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    module_file, templates = result.stdout.splitlines()[:2]
    assert module_file.startswith(str(site)) and templates.startswith(str(site))
    assert (tmp_path / "out" / "simple_dense.py").is_file()


def test_keras_catalog_matches_installed_keras() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "update_keras_catalog.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert (
        result.returncode == 0
    ), "layergen/data/keras_catalog.json is stale: run tools/update_keras_catalog.py"
