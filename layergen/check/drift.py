"""``layergen check``: is each generated layer still what its spec generates?

Generated files are found by their header, anywhere under the given
directories; each layer module names its spec and its test file. A header is
untrusted input: the files it names are followed only inside the checked
directories (the spec: beside or below a checked directory's parent, or the
working directory), never through a symbolic link, and only regular files are
read. A layer is ``ok`` only when both files are byte for byte what its spec
generates now; whatever hashes a file carries, a body that differs in code is
hand-edited. Nothing here imports Keras.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from layergen.codegen.generate import GeneratedLayer, generate_layer
from layergen.errors import LayergenError
from layergen.files.plan import (
    CONFLICT,
    IDENTICAL,
    LAYER,
    NOTHING_EDITED,
    TEST,
    Header,
    Overwrite,
    PlannedFile,
    read_file_header,
    read_header,
    sha256,
    unsafe_characters,
)
from layergen.spec.composition import Run
from layergen.spec.model import LayerSpec
from layergen.spec.validate import DEFAULT_PACKAGE


class Drift(StrEnum):
    """How a generated layer stands against its spec."""

    OK = "ok"
    SPEC_CHANGED = "spec changed"
    HAND_EDITED = "hand-edited"
    STALE_TEMPLATES = "stale templates"
    MISSING_TEST = "missing test file"
    NOT_GENERATED = "not generated"
    SPEC_MISSING = "spec missing"
    SPEC_INVALID = "spec invalid"
    UNSAFE_HEADER = "unsafe header"


# What --fix may regenerate (hand-edited files only with --force).
FIXABLE = frozenset(
    {Drift.SPEC_CHANGED, Drift.STALE_TEMPLATES, Drift.MISSING_TEST, Drift.NOT_GENERATED}
)
# Bad input rather than drift: `check` exits 2.
INVALID = frozenset({Drift.SPEC_INVALID, Drift.UNSAFE_HEADER})
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
    drift: Drift
    class_name: str = ""
    detail: str = ""
    diffs: list[str] = field(default_factory=list)
    regenerated: GeneratedLayer | None = None

    @property
    def has_tests(self) -> bool:
        return self.test_path.is_file() and self.layer_path.is_file()

    @property
    def values_checked(self) -> bool | None:
        """Whether the spec gives its tests a ``reference`` or ``properties``
        to compare the layer's values with (None: no spec was loaded)."""
        spec = self.regenerated.spec if self.regenerated else None
        if spec is None or spec.test is None:
            return None
        return spec.test.reference is not None or bool(spec.test.properties)


class UnsafeReference(Exception):
    """A path in a header that ``check`` will not follow."""


@dataclass(frozen=True)
class Tree:
    """The checked directories, and where a header's references may lead."""

    roots: tuple[Path, ...]
    specs: frozenset[Path] = frozenset()

    @classmethod
    def of(cls, roots: Sequence[Path], specs: Sequence[Path] = ()) -> Tree:
        return cls(tuple(map(_absolute, roots)), frozenset(map(_absolute, specs)))

    def partner(self, file: Path, ref: str, suffix: str = ".py") -> Path:
        """The partner a header names: a ``.py`` file inside a checked directory."""
        path = self._follow(file, ref, suffix)
        base = _base_of(path, self.roots)
        if base is None:
            raise UnsafeReference(
                f"{ref} is outside the checked directories (layers whose tests "
                "live elsewhere are checked with both: `layergen check "
                "LAYERS_DIR TESTS_DIR`)"
            )
        _refuse_links(base, path, ref)
        return path

    def spec(self, file: Path, ref: str) -> Path:
        """The spec a header names: a ``.toml`` file given on the command line,
        or one beside or below a checked directory's parent, or below the
        working directory."""
        path = self._follow(file, ref, ".toml")
        if path in self.specs:
            return path
        bases = (*(root.parent for root in self.roots), _absolute(Path.cwd()))
        base = _base_of(path, bases)
        if base is None:
            raise UnsafeReference(
                f"spec {ref} is outside the project (the checked directories' "
                "parents and the working directory)"
            )
        _refuse_links(base, path, ref)
        return path

    @staticmethod
    def _follow(file: Path, ref: str, suffix: str) -> Path:
        if unsafe_characters(ref):
            raise UnsafeReference(f"{ascii(ref)} contains control characters")
        if Path(ref).is_absolute():
            raise UnsafeReference(f"{ref} is an absolute path")
        if not ref.endswith(suffix):
            raise UnsafeReference(f"{ref} is not a {suffix} file")
        return _absolute(file.parent / ref)


def _absolute(path: Path) -> Path:
    """An absolute, normalised path; symbolic links are not resolved."""
    return Path(os.path.abspath(path))


def _base_of(path: Path, bases: Sequence[Path]) -> Path | None:
    return next((b for b in bases if path == b or b in path.parents), None)


def _refuse_links(base: Path, path: Path, ref: str) -> None:
    """Refuse ``path`` if any part of it below ``base`` is a symbolic link."""
    for part in [path, *path.parents]:
        if part == base:
            return
        if part.is_symlink():
            raise UnsafeReference(f"{ref} goes through the symbolic link {part}")


def find_generated(roots: Sequence[Path]) -> Iterator[GeneratedFile]:
    """Every regular file under ``roots`` that starts with a layergen header
    (symbolic links, FIFOs and devices are skipped unopened)."""
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
    default_package: str = DEFAULT_PACKAGE,
    allow_imports: Sequence[str] = (),
    tests_dir: Path | None = None,
    templates: Path | None = None,
) -> list[LayerCheck]:
    """The drift of every generated layer under ``roots``, and of ``specs``
    given on the command line whose layer is missing (expected in ``roots[0]``);
    ``default_package`` registers specs that name none, as ``new`` did; a
    missing layer's test file is planned in ``tests_dir`` (default: beside
    the layer); ``templates``: the template overrides the layers are
    rendered through."""
    tree = Tree.of(roots, specs)
    found = list(find_generated(tree.roots))
    recorded = []
    for f in found:
        if f.header.role == LAYER:
            with contextlib.suppress(UnsafeReference):
                recorded.append(tree.spec(_absolute(f.path), f.header.spec))
    run = Run(
        [*tree.specs, *recorded],
        default_package=default_package,
        allow_imports=allow_imports,
    )
    render = _Render(overwrite, run, templates)
    checks = [
        _check_layer(tree, f.path, f.header, render)
        for f in found
        if f.header.role == LAYER
    ]
    known_layers = {c.layer_path for c in checks}
    for orphan in (f for f in found if f.header.role == TEST):
        try:
            layer_path = tree.partner(orphan.path, orphan.header.partner)
            spec_path = tree.spec(orphan.path, orphan.header.spec)
        except UnsafeReference as exc:
            checks.append(_unsafe(orphan.path, orphan.path, exc))
            continue
        if layer_path not in known_layers:
            checks.append(
                _not_generated(spec_path, layer_path.parent, orphan.path.parent, render)
            )
            known_layers.add(layer_path)
    known_specs = {c.spec_path for c in checks}
    for spec_path in sorted(tree.specs):
        if spec_path not in known_specs:
            checks.append(
                _not_generated(
                    spec_path, tree.roots[0], tests_dir or tree.roots[0], render
                )
            )
            known_specs.add(spec_path)
    return checks


def _unsafe(layer_path: Path, test_path: Path, exc: UnsafeReference) -> LayerCheck:
    detail = f"{layer_path.name}: {exc}; not followed"
    return LayerCheck(
        _absolute(layer_path), _absolute(test_path), None, Drift.UNSAFE_HEADER,
        detail=detail,
    )  # fmt: skip


@dataclass(frozen=True)
class _Render:
    """How ``check`` regenerates a layer, as ``new`` did."""

    overwrite: Overwrite
    run: Run
    templates: Path | None

    def load(self, spec_path: Path) -> LayerSpec:
        """The spec, validated as part of the run of every spec ``check``
        reads (a sublayer may be another spec's layer), each once."""
        return self.run.load(spec_path)

    def generate(
        self, spec: LayerSpec, out_dir: Path, tests_dir: Path
    ) -> GeneratedLayer:
        return generate_layer(
            spec,
            out_dir,
            tests_dir,
            overwrite=self.overwrite,
            templates=self.templates,
        )


def _check_layer(
    tree: Tree, layer_path: Path, header: Header, render: _Render
) -> LayerCheck:
    layer_path = _absolute(layer_path)
    try:
        test_path = tree.partner(layer_path, header.partner)
        spec_path = tree.spec(layer_path, header.spec)
    except UnsafeReference as exc:
        return _unsafe(layer_path, layer_path, exc)
    check = LayerCheck(layer_path, test_path, spec_path, Drift.OK)
    if not spec_path.exists():
        check.drift = Drift.SPEC_MISSING
        check.detail = f"its spec {header.spec} does not exist"
        return check
    try:
        spec = render.load(spec_path)
    except LayergenError as exc:
        check.drift, check.detail = Drift.SPEC_INVALID, str(exc)
        return check
    check.class_name = spec.name
    generated = render.generate(spec, layer_path.parent, test_path.parent)
    check.regenerated = generated
    layer_file, test_file = generated.files
    if all(f.status == IDENTICAL for f in generated.files):
        return check
    check.diffs = generated.diff()
    if layer_file.hand_edited or test_file.hand_edited:
        check.drift = Drift.HAND_EDITED
        edited = layer_path if layer_file.hand_edited else test_path
        check.detail = (
            f"{edited.name} was edited by hand since it was generated; "
            "`--fix --force` overwrites the edits"
        )
    elif header.spec_hash != sha256(spec.spec_text):
        check.drift = Drift.SPEC_CHANGED
        if all(_same_body(f) for f in generated.files):
            check.detail = (
                "only its comments or layout changed: the code is the same, "
                "the headers' spec-sha256 is not"
            )
    elif not test_path.exists():
        check.drift = Drift.MISSING_TEST
    else:
        check.drift = Drift.STALE_TEMPLATES
        others = [s.spec for s in spec.sublayers] + [p.spec for p in spec.params]
        used = sorted({str(other.spec_path) for other in others if other})
        if used:
            # Its own spec is unchanged: what it imports may come from another.
            check.detail = (
                "this layergen generates other code, or a spec its sublayers "
                f"or layer params use changed ({', '.join(used)})"
            )
    if test_file.status == CONFLICT and check.drift != Drift.HAND_EDITED:
        check.detail = f"{test_path.name}: {test_file.reason}"
    return check


def _same_body(file: PlannedFile) -> bool:
    """Whether the file on disk has the planned file's code under an older header."""
    old, new = read_header(file.old or ""), read_header(file.content)
    return old is not None and new is not None and old.body == new.body


def _not_generated(
    spec_path: Path, out_dir: Path, tests_dir: Path, render: _Render
) -> LayerCheck:
    try:
        spec = render.load(spec_path)
    except LayergenError as exc:
        missing = out_dir / f"{spec_path.stem}.py"
        return LayerCheck(
            missing, missing, spec_path, Drift.SPEC_INVALID, detail=str(exc)
        )
    generated = render.generate(spec, out_dir, tests_dir)
    return LayerCheck(
        _absolute(generated.layer_file.path),
        _absolute(generated.test_file.path),
        spec_path,
        Drift.NOT_GENERATED,
        class_name=spec.name,
        detail=f"no {generated.layer_file.path.name} in {out_dir}",
        diffs=generated.diff(),
        regenerated=generated,
    )
