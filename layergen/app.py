"""What ``layergen new``, ``check`` and ``explain`` do, without a command line.

``run_new`` and ``run_check`` take an ``Options`` and a ``Reporter`` (told of
progress as it happens; the CLI's prints, the default prints nothing) and
return a result with its exit code. Errors are raised as
``layergen.errors.LayergenError`` subclasses; nothing here prints or exits.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from layergen.check.drift import FIXABLE, INVALID, Drift, LayerCheck, check_tree
from layergen.codegen.generate import (
    GeneratedLayer,
    check_output_dirs,
    generate_layer,
    import_roots,
    load_specs,
    plan_layers,
)
from layergen.errors import Diagnostic, TestRunError, UnsafePathError
from layergen.explain import Explanation, explain_spec
from layergen.files.plan import (
    CONFLICT,
    IDENTICAL,
    NOTHING_EDITED,
    Overwrite,
    PlannedFile,
    read_header,
    sha256,
    unsafe_characters,
)
from layergen.files.writer import locked, write_plan
from layergen.run.runner import CROSS_BACKEND_ENV, TestResult, TestRun, run_tests
from layergen.spec.validate import DEFAULT_PACKAGE


@dataclass(frozen=True)
class Options:
    """Everything a run of ``new`` or ``check`` may be told.

    ``backends`` are those to run the generated tests on (``None``: whatever
    Keras picks); empty runs no tests."""

    out_dir: Path = Path("generated")
    tests_dir: Path | None = None
    backends: tuple[str | None, ...] = ()
    overwrite: Overwrite = NOTHING_EDITED
    dry_run: bool = False
    fix: bool = False
    diff: bool = False  # check: what fix would write, as a diff; write nothing
    durations: int = 5
    # Registers specs that name no `package` ([tool.layergen] package).
    package: str = DEFAULT_PACKAGE
    # Modules a sublayer's class may come from ([tool.layergen] allow-imports).
    allow_imports: tuple[str, ...] = ()
    # The user's template overrides (a checked directory), or None.
    templates: Path | None = None


class Reporter(Protocol):
    """What a run tells its caller while it works."""

    def warnings(self, diagnostics: Sequence[Diagnostic]) -> None: ...

    def planned(self, layers: Sequence[GeneratedLayer], *, dry_run: bool) -> None: ...

    def generated(self, seconds: float) -> None: ...

    def checked(self, checks: Sequence[LayerCheck]) -> None: ...

    def fixed(self, fixes: Sequence[FileFix]) -> None:
        """``check --fix`` rewrote these files (called before ``checked``)."""
        ...

    def tests_started(
        self, test_files: Sequence[Path], backend: str | None
    ) -> AbstractContextManager[Callable[[TestResult], None] | None]:
        """Entered while the tests run; may give a callback for each result."""
        ...

    def tests_ran(self, run: TestRun, layers: Mapping[Path, str]) -> None:
        """``layers``: each test file run, with its layer's class name."""
        ...


class QuietReporter:
    """A reporter that says nothing (for use from Python)."""

    def warnings(self, diagnostics: Sequence[Diagnostic]) -> None:
        """Nothing."""

    def planned(self, layers: Sequence[GeneratedLayer], *, dry_run: bool) -> None:
        """Nothing."""

    def generated(self, seconds: float) -> None:
        """Nothing."""

    def checked(self, checks: Sequence[LayerCheck]) -> None:
        """Nothing."""

    def fixed(self, fixes: Sequence[FileFix]) -> None:
        """Nothing."""

    def tests_started(
        self, test_files: Sequence[Path], backend: str | None
    ) -> AbstractContextManager[None]:
        return nullcontext()

    def tests_ran(self, run: TestRun, layers: Mapping[Path, str]) -> None:
        """Nothing."""


@dataclass
class NewResult:
    layers: list[GeneratedLayer]
    written: list[PlannedFile] = field(default_factory=list)
    generation_seconds: float = 0.0
    runs: list[TestRun] = field(default_factory=list)
    exit_code: int = 0


@dataclass(frozen=True)
class FileFix:
    """One file ``check --fix`` rewrites (or, with ``--diff``, would rewrite).

    ``reason``: "spec changed", "templates changed", "missing test file",
    "not generated" or "hand-edited"; ``discarded_lines``: for a hand-edited
    file overwritten with ``--force``, the lines of its diff (added + removed)."""

    path: Path
    reason: str
    created: bool
    discarded_lines: int
    diff: str


@dataclass
class CheckResult:
    checks: list[LayerCheck]
    runs: list[TestRun] = field(default_factory=list)
    exit_code: int = 0
    fixed: list[FileFix] = field(default_factory=list)
    # With ``Options.diff``: what ``--fix`` would write (nothing is written).
    pending: list[FileFix] = field(default_factory=list)


def run_new(
    specs: Sequence[Path], options: Options, reporter: Reporter | None = None
) -> NewResult:
    """Generate each spec's layer and tests, write them, run the tests.

    Planning and writing hold a lock on the output directories, so concurrent
    runs into them are serialised; the write is all or nothing."""
    reporter = reporter or QuietReporter()
    started = time.perf_counter()
    check_output_dirs(options.out_dir, options.tests_dir)
    loaded = load_specs(
        specs, default_package=options.package, allow_imports=options.allow_imports
    )
    directories = [options.out_dir, options.tests_dir or options.out_dir]
    with nullcontext() if options.dry_run else locked(directories):
        layers = plan_layers(
            loaded,
            options.out_dir,
            options.tests_dir,
            options.overwrite,
            options.templates,
        )
        for spec in loaded:
            reporter.warnings(spec.warnings)
        files = [f for layer in layers for f in layer.files]
        if options.dry_run:
            reporter.planned(layers, dry_run=True)
            conflict = any(f.status == CONFLICT for f in files)
            return NewResult(layers, exit_code=2 if conflict else 0)
        written = write_plan(files)
    result = NewResult(layers, written, time.perf_counter() - started)
    reporter.planned(layers, dry_run=False)
    reporter.generated(result.generation_seconds)
    names = {layer.test_file.path: layer.spec.name for layer in layers}
    layer_files = [layer.layer_file.path for layer in layers]
    with _cross_backend_env(options.backends) as env:
        for backend in options.backends:
            run = _run(names, layer_files, backend, reporter, env)
            result.runs.append(run)
            result.exit_code = max(result.exit_code, 0 if run.exit_code == 0 else 1)
    return result


def run_check(
    roots: Sequence[Path],
    specs: Sequence[Path],
    options: Options,
    reporter: Reporter | None = None,
) -> CheckResult:
    """The drift of every generated layer under ``roots`` (and of ``specs``),
    fixed when ``options.fix``, then the tests of those that have them."""
    reporter = reporter or QuietReporter()
    checks = check_tree(
        roots,
        specs,
        overwrite=options.overwrite,
        default_package=options.package,
        allow_imports=options.allow_imports,
        tests_dir=options.tests_dir,
        templates=options.templates,
    )
    if options.diff:
        pending = [
            file_fix
            for check in checks
            if _fixable(check, options.overwrite) and check.regenerated is not None
            for file_fix in _file_fixes(check, check.regenerated.files)
        ]
        drifted = check_exit_code(checks, [])
        return CheckResult(checks, exit_code=drifted, pending=pending)
    result = CheckResult(checks)
    if options.fix:
        result.fixed = fix(checks, roots, options.overwrite, options.templates)
        if (fixed := getattr(reporter, "fixed", None)) is not None:
            fixed(result.fixed)
    reporter.checked(checks)
    runnable = [c for c in checks if c.has_tests and c.drift != Drift.UNSAFE_HEADER]
    names = {c.test_path: c.class_name for c in runnable}
    layer_files = [c.layer_path for c in runnable]
    with _cross_backend_env(options.backends) as env:
        for backend in options.backends if runnable else ():
            result.runs.append(_run(names, layer_files, backend, reporter, env))
    result.exit_code = check_exit_code(checks, result.runs)
    return result


def run_explain(
    spec: Path, options: Options, reporter: Reporter | None = None
) -> Explanation:
    """Trace one spec on Keras's symbolic tensors, on ``options.backends[0]``
    (none given: ``KERAS_BACKEND``, else Keras's default); Keras is imported
    only here, on that backend."""
    loaded, *_ = load_specs(
        [spec], default_package=options.package, allow_imports=options.allow_imports
    )
    (reporter or QuietReporter()).warnings(loaded.warnings)
    return explain_spec(loaded, options.backends[0] if options.backends else None)


def fix(
    checks: Sequence[LayerCheck],
    roots: Sequence[Path],
    overwrite: Overwrite,
    templates: Path | None = None,
) -> list[FileFix]:
    """Regenerate the layers that drifted in a way ``--fix`` may repair (hand
    edits only when ``overwrite.hand_edited``), planning again under the lock,
    and writing only files inside ``roots``; returns each file rewritten."""
    fixes: list[FileFix] = []
    for check in checks:
        if not _fixable(check, overwrite) or check.regenerated is None:
            continue
        layer_dir, tests_dir = check.layer_path.parent, check.test_path.parent
        for path in (check.layer_path, check.test_path):
            if not _inside(path, roots):
                raise UnsafePathError(
                    f"{path}: refusing to write outside {', '.join(map(str, roots))}"
                )
        with locked([layer_dir, tests_dir]):
            fresh = generate_layer(
                check.regenerated.spec,
                layer_dir,
                tests_dir,
                overwrite=overwrite,
                templates=templates,
            )
            write_plan(fresh.files)
        fixes += _file_fixes(check, fresh.files)
        check.detail = f"regenerated (was: {check.drift})"
        check.drift, check.diffs = Drift.OK, []
    return fixes


def _fixable(check: LayerCheck, overwrite: Overwrite) -> bool:
    return check.drift in FIXABLE or (
        check.drift == Drift.HAND_EDITED and overwrite.hand_edited
    )


def _file_fixes(check: LayerCheck, files: Sequence[PlannedFile]) -> list[FileFix]:
    """Why each file of a regenerated layer is (re)written, with its diff."""
    spec_hash = sha256(check.regenerated.spec.spec_text) if check.regenerated else ""
    fixes = []
    for planned in files:
        if planned.status in (IDENTICAL, CONFLICT):  # conflicts are never written
            continue
        header = read_header(planned.old) if planned.old is not None else None
        if planned.old is None:
            missing_test = check.drift == Drift.MISSING_TEST
            reason = "missing test file" if missing_test else "not generated"
        elif planned.hand_edited:
            reason = "hand-edited"
        elif header is not None and header.spec_hash != spec_hash:
            reason = "spec changed"
        else:
            reason = "templates changed"
        diff = _full_diff(planned)
        changed = sum(
            1
            for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
        )
        fixes.append(
            FileFix(
                planned.path,
                reason,
                created=planned.old is None,
                discarded_lines=changed if planned.hand_edited else 0,
                diff=diff,
            )
        )
    return fixes


def shown_path(path: Path) -> str:
    """A path relative to the working directory when below it; a path with
    control characters escaped."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        relative = str(path)
    shown = relative if not relative.startswith("..") else str(path)
    return ascii(shown) if unsafe_characters(shown) else shown


def _full_diff(planned: PlannedFile) -> str:
    """The whole unified diff from the file on disk to what is written, as
    ``ruff format --diff`` prints it (``a/``-less names, relative paths)."""
    name = shown_path(planned.path)
    return "".join(
        difflib.unified_diff(
            (planned.old or "").splitlines(keepends=True),
            planned.content.splitlines(keepends=True),
            fromfile=name if planned.old is not None else "/dev/null",
            tofile=name,
        )
    )


def check_exit_code(checks: Sequence[LayerCheck], runs: Sequence[TestRun]) -> int:
    """2 for bad input (an invalid spec, an unsafe header), 1 for drift or a
    failed test, else 0."""
    if any(c.drift in INVALID for c in checks):
        return 2
    failed = any(run.exit_code == 1 for run in runs)
    drifted = any(c.drift != Drift.OK for c in checks)
    return 1 if failed or drifted else 0


def _inside(path: Path, roots: Sequence[Path]) -> bool:
    target = os.path.abspath(path)
    return any(
        os.path.commonpath([target, os.path.abspath(root)]) == os.path.abspath(root)
        for root in roots
    )


@contextlib.contextmanager
def _cross_backend_env(backends: Sequence[str | None]) -> Iterator[dict[str, str]]:
    """With several backends, a scratch directory where the first records each
    layer's numbers and the others compare (``testing.checks.backends``)."""
    if len(backends) < 2:
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="layergen-backends-") as scratch:
        yield {CROSS_BACKEND_ENV: scratch}


def _run(
    layers: Mapping[Path, str],
    layer_files: Sequence[Path],
    backend: str | None,
    reporter: Reporter,
    env: Mapping[str, str],
) -> TestRun:
    """One pytest process over the test files in ``layers``; its exit codes
    0, 1 and 5 (no tests) are results, any other means it could not run them."""
    with reporter.tests_started(list(layers), backend) as on_result:
        run = run_tests(
            list(layers),
            import_paths=import_roots(layer_files),
            backend=backend,
            on_result=on_result,
            extra_env=env,
        )
    if run.exit_code not in (0, 1, 5):
        raise TestRunError(
            f"pytest could not run the generated tests (exit {run.exit_code})",
            run.output,
        )
    reporter.tests_ran(run, layers)
    return run
