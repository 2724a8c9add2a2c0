"""`[tool.layergen]` in pyproject.toml: bare `layergen new` and `layergen check`
in a throwaway project, precedence, and diagnostics located like a spec's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from layergen import app
from layergen import cli as cli_module
from layergen.config import find_pyproject, load_config
from layergen.starters import write_starter

from .conftest import MINIMAL_SPEC

PYPROJECT = """\
[project]
name = "myproj"
version = "0.1"

[tool.layergen]
specs = ["specs/*.toml"]
output = "src/myproj/layers"
tests-dir = "tests/layers"
backend = "tensorflow"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A throwaway project: two specs, a src/ package, run from a subdirectory."""
    root = tmp_path / "proj"
    (root / "src" / "myproj" / "layers").mkdir(parents=True)
    (root / "src" / "myproj" / "__init__.py").write_text("")
    (root / "src" / "myproj" / "layers" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(PYPROJECT)
    write_starter("dense", "MyDense", root / "specs")
    (root / "specs" / "scale.toml").write_text(
        MINIMAL_SPEC.lstrip() + '[test]\nreference = "x * factor"\n'
    )
    (root / "docs" / "notes").mkdir(parents=True)
    monkeypatch.chdir(root / "docs" / "notes")
    return root


def test_bare_new_and_check_from_a_subdirectory(cli, project: Path) -> None:
    new = cli("new", "--no-test")
    assert new.exit_code == 0, new.output
    assert new.stdout.splitlines()[:4] == [
        "   create  ../../src/myproj/layers/my_dense.py",
        "   create  ../../tests/layers/test_my_dense.py",
        "   create  ../../src/myproj/layers/scale.py",
        "   create  ../../tests/layers/test_scale.py",
    ]
    test_code = (project / "tests" / "layers" / "test_scale.py").read_text()
    assert "from myproj.layers.scale import Scale" in test_code

    check = cli("check", "--no-run")
    assert check.exit_code == 0, check.output
    assert check.output.splitlines() == [
        "layer    file                                 drift",
        "MyDense  ../../src/myproj/layers/my_dense.py  ok",
        "Scale    ../../src/myproj/layers/scale.py     ok",
    ]

    # A new spec of the project is "not generated" until `layergen new` runs.
    write_starter("dropout", "MyDropout", project / "specs")
    drifted = cli("check", "--no-run")
    assert drifted.exit_code == 1
    assert "../../src/myproj/layers/my_dropout.py: not generated: MyDropout" in (
        drifted.output
    )
    again = cli("new", "--no-test")
    assert again.exit_code == 0, again.output
    assert again.output.count("unchanged") == 4
    assert again.output.count("create") == 2
    assert cli("check", "--no-run").exit_code == 0


def test_command_line_wins_over_the_pyproject(
    cli, project: Path, tmp_path: Path, monkeypatch
) -> None:
    spec = project / "specs" / "scale.toml"
    result = cli("new", spec, "-o", tmp_path / "elsewhere", "--no-test")
    assert result.exit_code == 0, result.output
    # -o given: the layer goes there; tests-dir still comes from the pyproject.
    assert (tmp_path / "elsewhere" / "scale.py").is_file()
    assert (project / "tests" / "layers" / "test_scale.py").is_file()
    assert not (project / "src" / "myproj" / "layers" / "scale.py").exists()

    seen: list[app.Options] = []

    def run_new(specs, options, reporter=None):
        seen.append(options)
        return app.NewResult([])

    monkeypatch.setattr(app, "run_new", run_new)
    monkeypatch.setattr(cli_module, "resolve_backends", lambda choice: [choice])
    assert cli("new").exit_code == 0
    assert cli("new", "--backend", "jax").exit_code == 0
    assert [o.backends for o in seen] == [("tensorflow",), ("jax",)]
    assert seen[0].out_dir == Path("../../src/myproj/layers")
    assert seen[0].tests_dir == Path("../../tests/layers")


def test_defaults_without_a_pyproject_table(cli, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config() is None
    result = cli("new")
    assert result.exit_code == 2
    assert (
        "give a spec, or list them in `specs` of [tool.layergen] in pyproject.toml"
        in result.output
    )
    check = cli("check")
    assert check.exit_code == 2
    assert "give the directories to check" in check.output


def test_the_nearest_pyproject_with_the_table_is_used(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    inner = tmp_path / "packages" / "inner"
    inner.mkdir(parents=True)
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    assert find_pyproject(inner) == tmp_path / "pyproject.toml"
    (inner / "pyproject.toml").write_text('[tool.layergen]\noutput = "gen"\n')
    assert find_pyproject(inner) == inner / "pyproject.toml"
    config = load_config(inner)
    assert config.output == inner / "gen" and config.specs == ()


BAD_CONFIGS = [
    (
        """
        [tool.layergen]
        specs = "specs/*.toml"
        ouput = "gen"
        tests-dir = 3
        backend = "tf"
        package = "my-proj"
        templates = "nope"
        """,
        [
            'pyproject.toml:2:1: error: tool.layergen.specs: expected a list of globs, found a string: use ["specs/*.toml"]',
            "pyproject.toml:3:1: error: tool.layergen.ouput: unknown key - did you mean `output`? (expected one of specs, output, tests-dir, package, backend, templates, allow-imports)",
            "pyproject.toml:4:1: error: tool.layergen.tests-dir: expected a directory (a string), found an integer",
            'pyproject.toml:5:1: error: tool.layergen.backend: expected one of "tensorflow", "jax", "torch", "all", found "tf" - did you mean `tensorflow`?',
            'pyproject.toml:6:1: error: tool.layergen.package: expected a dotted Python package name, found "my-proj"',
            "pyproject.toml:7:1: error: tool.layergen.templates: `nope` is not a directory",
            "6 errors; nothing was written",
        ],
    ),
    (
        """
        [tool.layergen]
        specs = ["specs/*.toml", 4, "../other/*.toml"]
        output = "/tmp/out"
        tests-dir = "~/tests"
        """,
        [
            "pyproject.toml:2:26: error: tool.layergen.specs[1]: expected a glob (a string), found an integer",
            "pyproject.toml:2:29: error: tool.layergen.specs[2]: `../other/*.toml` leads outside the project",
            "pyproject.toml:3:1: error: tool.layergen.output: `/tmp/out` is not relative to the pyproject's directory",
            "pyproject.toml:4:1: error: tool.layergen.tests-dir: `~/tests` is not relative to the pyproject's directory",
            "4 errors; nothing was written",
        ],
    ),
    (
        """
        [tool.layergen]
        specs = ["nothing/*.toml"]
        """,
        [
            "pyproject.toml:2:10: error: tool.layergen.specs[0]: `nothing/*.toml` matches no file",
            "1 error; nothing was written",
        ],
    ),
    (
        """
        [tool]
        layergen = ["gen"]
        """,
        [
            "pyproject.toml:2:1: error: tool.layergen: expected a table, found an array",
            "1 error; nothing was written",
        ],
    ),
    (
        """
        [tool.layergen
        output = "gen"
        """,
        [
            "pyproject.toml:1:15: error: invalid TOML: Expected ']' at the end of a table declaration",
            "1 error; nothing was written",
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
def test_bad_configuration_is_located_like_a_spec(
    cli, tmp_path: Path, monkeypatch, text: str, expected: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(text).lstrip())
    monkeypatch.chdir(tmp_path)
    for command in ("new", "check"):
        result = cli(command)
        assert result.exit_code == 2
        assert result.output.splitlines() == expected
        assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


def test_a_glob_beside_the_pyproject_never_takes_it_for_a_spec(
    cli, tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.layergen]\nspecs = ["*.toml"]\noutput = "gen"\n'
    )
    (tmp_path / "scale.toml").write_text(MINIMAL_SPEC.lstrip())
    monkeypatch.chdir(tmp_path)
    result = cli("new", "--no-test")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "   create  gen/scale.py",
        "   create  gen/test_scale.py",
    ]


def test_output_through_a_link_out_of_the_project_is_refused(
    cli, tmp_path: Path, monkeypatch
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "gen").symlink_to(tmp_path / "outside")
    (root / "pyproject.toml").write_text('[tool.layergen]\noutput = "gen"\n')
    monkeypatch.chdir(root)
    result = cli("check")
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == (
        "pyproject.toml:2:1: error: tool.layergen.output: `gen` leads outside "
        "the project (through a symbolic link)"
    )


def test_the_project_package_registers_specs_that_name_none(cli, project: Path) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + 'package = "myproj"\n')
    result = cli("new", "--no-test")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    scale = (project / "src" / "myproj" / "layers" / "scale.py").read_text()
    assert '@keras.saving.register_keras_serializable(package="myproj")' in scale
    # check regenerates with the same default: no drift
    assert cli("check", "--no-run").exit_code == 0
    (project / "pyproject.toml").write_text(PYPROJECT)
    assert cli("check", "--no-run").exit_code == 1  # now they differ


def test_check_without_the_output_directory_is_one_line(cli, project: Path) -> None:
    result = cli("check", "--no-run")
    assert result.exit_code == 2
    assert result.output == (
        "error: ../../tests/layers: no such directory (tool.layergen in "
        "../../pyproject.toml); run `layergen new` first\n"
    )


def test_check_fix_puts_a_missing_layers_tests_in_the_tests_dir(
    cli, project: Path
) -> None:
    assert cli("new", "--no-test").exit_code == 0
    write_starter("dropout", "MyDropout", project / "specs")
    fixed = cli("check", "--no-run", "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert (project / "tests" / "layers" / "test_my_dropout.py").is_file()
    assert not (project / "src" / "myproj" / "layers" / "test_my_dropout.py").exists()
    again = cli("new", "--no-test")  # what check --fix wrote is what new writes
    assert again.exit_code == 0, again.output
    assert again.output.count("unchanged") == 6, again.output
