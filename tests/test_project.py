"""A throwaway user project: layers generated into its package, installed in a
venv, used in a model that is saved and reloaded in a fresh process, then checked."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from .conftest import MINIMAL_SPEC

PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "myproj"
version = "0.0.1"

[tool.setuptools.packages.find]
where = ["src"]
"""

BUILD_AND_SAVE = """
import sys
import numpy as np
import keras
from myproj.layers.scale import Scale
from myproj.layers.shift import Shift

inputs = keras.Input((3,))
model = keras.Model(inputs, Shift(offset=0.5)(Scale(factor=3.0)(inputs)))
model.save(sys.argv[1])
np.save(sys.argv[2], model.predict(np.ones((2, 3), "float32"), verbose=0))
"""

LOAD_IN_FRESH_PROCESS = """
import sys
import numpy as np
import keras
import myproj  # registration happens on import of the package

model = keras.models.load_model(sys.argv[1])
np.testing.assert_allclose(
    model.predict(np.ones((2, 3), "float32"), verbose=0), np.load(sys.argv[2])
)
print("reloaded", [type(layer).__name__ for layer in model.layers])
"""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_layers_generated_into_an_installed_src_layout_package(tmp_path: Path) -> None:
    project = tmp_path / "project"
    layers = project / "src" / "myproj" / "layers"
    layers.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "src" / "myproj" / "__init__.py").write_text(
        "from myproj import layers\n"
    )
    (layers / "__init__.py").write_text("")
    specs = project / "specs"
    specs.mkdir()
    (specs / "scale.toml").write_text(MINIMAL_SPEC)
    shift = MINIMAL_SPEC.replace('"Scale"', '"Shift"').replace("factor", "offset")
    (specs / "shift.toml").write_text(shift.replace("x * offset", "x + offset"))

    layergen = [sys.executable, "-m", "layergen"]
    run(
        [
            *layergen,
            "new",
            "specs/scale.toml",
            "specs/shift.toml",
            "-o",
            "src/myproj/layers",
            "--tests-dir",
            "tests/layers",
            "--no-test",
        ],
        project,
    )
    (layers / "__init__.py").write_text("from myproj.layers import scale, shift\n")
    test_code = (project / "tests" / "layers" / "test_scale.py").read_text()
    assert "from myproj.layers.scale import Scale" in test_code

    # A venv that sees this interpreter's packages (keras, layergen) through a .pth.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = str(venv / "bin" / "python")
    site = run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        tmp_path,
    )
    outer = sysconfig.get_paths()["purelib"]  # addsitedir also runs its .pth files
    Path(site.stdout.strip(), "outer.pth").write_text(
        f"import site; site.addsitedir({outer!r})\n"
    )
    run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            str(project),
        ],
        tmp_path,
    )

    elsewhere = (
        tmp_path / "elsewhere"
    )  # not the project: the package comes from the venv
    elsewhere.mkdir()
    (elsewhere / "save.py").write_text(textwrap.dedent(BUILD_AND_SAVE))
    (elsewhere / "load.py").write_text(textwrap.dedent(LOAD_IN_FRESH_PROCESS))
    run([python, "save.py", "model.keras", "expected.npy"], elsewhere)
    loaded = run([python, "load.py", "model.keras", "expected.npy"], elsewhere)
    assert "'Scale', 'Shift'" in loaded.stdout

    checked = run([python, "-m", "layergen", "check", "src", "tests"], project)
    assert "Scale" in checked.stdout and "Shift" in checked.stdout
    assert "failed" not in checked.stdout
    assert checked.stdout.count(" passed") == 2  # both layers ran their tests
