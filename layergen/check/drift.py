"""``layergen check``: is each generated layer still what its spec generates?

Generated files are found by their header, anywhere under the given
directories; each layer module names its spec and its test file. For every
layer the drift is one of the states below, with the diff that regeneration
would apply. Nothing here imports Keras.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from layergen.codegen.generate import GeneratedLayer, generate_layer
from layergen.errors import SpecError
from layergen.files.plan import (
    CONFLICT,
    IDENTICAL,
    LAYER,
    NOTHING_EDITED,
    TEST,
    Header,
    Overwrite,
    read_file_header,
    sha256,
)
from layergen.spec.validate import load_spec

OK = "ok"
SPEC_CHANGED = "spec changed"
HAND_EDITED = "hand-edited"
STALE_TEMPLATES = "stale templates"
MISSING_TEST = "missing test file"
NOT_GENERATED = "not generated"
SPEC_MISSING = "spec missing"
SPEC_INVALID = "spec invalid"
# What --fix may regenerate (hand-edited files only with --force).
FIXABLE = frozenset({SPEC_CHANGED, STALE_TEMPLATES, MISSING_TEST, NOT_GENERATED})
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", ".tox", "build"}
    | {"dist", ".mypy_cache", ".ruff_cache", ".pytest_cache", "site-packages"}
)


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    header: Header


@dataclass
class LayerCheck:
    """The state of one generated layer (or of a spec that should have one)."""

    layer_path: Path
    test_path: Path
    spec_path: Path | None
    drift: str
    class_name: str = ""
    detail: str = ""
    diffs: list[str] = field(default_factory=list)
    regenerated: GeneratedLayer | None = None

    @property
    def has_tests(self) -> bool:
        return self.test_path.is_file() and self.layer_path.is_file()


def find_generated(roots: Sequence[Path]) -> Iterator[GeneratedFile]:
    """Every file under ``roots`` that starts with a layergen header."""
    for root in roots:
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                if not name.endswith(".py"):
                    continue
                path = Path(directory) / name
                header = read_file_header(path)
                if header is not None:
                    yield GeneratedFile(path, header)


def check_tree(
    roots: Sequence[Path],
    specs: Sequence[Path] = (),
    *,
    overwrite: Overwrite = NOTHING_EDITED,
) -> list[LayerCheck]:
    """The drift of every generated layer under ``roots``, and of ``specs``
    given on the command line whose layer is missing (expected in ``roots[0]``)."""
    found = list(find_generated(roots))
    checks = [
        _check_layer(f.path, f.header, overwrite)
        for f in found
        if f.header.role == LAYER
    ]
    known_layers = {c.layer_path for c in checks}
    for orphan in (f for f in found if f.header.role == TEST):
        layer_path = (orphan.path.parent / orphan.header.partner).resolve()
        if layer_path not in known_layers:
            spec_path = (orphan.path.parent / orphan.header.spec).resolve()
            checks.append(
                _not_generated(
                    spec_path, layer_path.parent, orphan.path.parent, overwrite
                )
            )
            known_layers.add(layer_path)
    known_specs = {c.spec_path for c in checks}
    for spec_path in (s.resolve() for s in specs):
        if spec_path not in known_specs:
            checks.append(_not_generated(spec_path, roots[0], roots[0], overwrite))
            known_specs.add(spec_path)
    return checks


def _check_layer(layer_path: Path, header: Header, overwrite: Overwrite) -> LayerCheck:
    layer_path = layer_path.resolve()
    spec_path = (layer_path.parent / header.spec).resolve()
    test_path = (layer_path.parent / header.partner).resolve()
    check = LayerCheck(layer_path, test_path, spec_path, OK)
    if not spec_path.is_file():
        check.drift = SPEC_MISSING
        check.detail = f"its spec {header.spec} does not exist"
        return check
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        check.drift, check.detail = SPEC_INVALID, str(exc)
        return check
    check.class_name = spec.name
    generated = generate_layer(
        spec, layer_path.parent, test_path.parent, overwrite=overwrite
    )
    check.regenerated = generated
    check.diffs = generated.diff()
    test_header = read_file_header(test_path)
    if header.hand_edited or (test_header is not None and test_header.hand_edited):
        check.drift = HAND_EDITED
        edited = layer_path if header.hand_edited else test_path
        check.detail = f"{edited.name} was edited by hand since it was generated"
    elif header.spec_hash != sha256(spec.spec_text):
        check.drift = SPEC_CHANGED
    elif not test_path.is_file():
        check.drift = MISSING_TEST
    elif any(f.status != IDENTICAL for f in generated.files):
        check.drift = STALE_TEMPLATES
    if generated.test_file.status == CONFLICT and check.drift != HAND_EDITED:
        check.detail = f"{test_path.name}: {generated.test_file.reason}"
    if check.drift == OK:
        check.diffs = []
    return check


def _not_generated(
    spec_path: Path, out_dir: Path, tests_dir: Path, overwrite: Overwrite
) -> LayerCheck:
    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        missing = out_dir / f"{spec_path.stem}.py"
        return LayerCheck(missing, missing, spec_path, SPEC_INVALID, detail=str(exc))
    generated = generate_layer(spec, out_dir, tests_dir, overwrite=overwrite)
    return LayerCheck(
        generated.layer_file.path.resolve(),
        generated.test_file.path.resolve(),
        spec_path,
        NOT_GENERATED,
        class_name=spec.name,
        detail=f"no {generated.layer_file.path.name} in {out_dir}",
        diffs=generated.diff(),
        regenerated=generated,
    )
