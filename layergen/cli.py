"""The ``layergen`` command line: Click wiring and exit codes, no logic.

Exit codes: 0 success, 1 a generated test failed or a layer drifted from its
spec, 2 bad input or usage.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from layergen import __version__
from layergen.check import report
from layergen.check.drift import (
    FIXABLE,
    HAND_EDITED,
    OK,
    SPEC_INVALID,
    LayerCheck,
    check_tree,
)
from layergen.codegen.generate import GeneratedLayer, generate, import_roots, load_specs
from layergen.errors import LayergenError, SpecError
from layergen.files.plan import CONFLICT, IDENTICAL, Overwrite
from layergen.files.writer import write_plan
from layergen.run.runner import TestRun, resolve_backends, run_tests

BACKEND = click.option(
    "--backend",
    type=click.Choice(["tensorflow", "jax", "torch", "all"]),
    default=None,
    help="Keras backend for the tests (default: KERAS_BACKEND, else tensorflow).",
)
SPECS = click.argument(
    "specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)


class _Group(click.Group):
    """Turns layergen's errors into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            for diagnostic in exc.diagnostics:
                click.echo(str(diagnostic), err=True)
            count = len(exc.diagnostics)
            click.echo(
                f"{count} error{'s' * (count != 1)}; nothing was written", err=True
            )
            ctx.exit(exc.exit_code)
        except LayergenError as exc:
            click.echo(
                f"error: {exc}" if "error:" not in str(exc) else str(exc), err=True
            )
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # layergen's own bug: say so, keep it short
            if ctx.params.get("debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} "
                "(rerun with `layergen --debug ...` for the traceback)",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="layergen")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def main(debug: bool) -> None:
    """Generate complete, tested Keras 3 layers from TOML specs."""


@main.command()
@SPECS
def validate(specs: Sequence[Path]) -> None:
    """Check specs and report every problem; write nothing."""
    for spec in load_specs(specs):
        _print_warnings(spec.warnings)
        click.echo(f"{spec.spec_path}: ok ({spec.name})")


@main.command()
@SPECS
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("generated"),
    show_default=True,
    help="Directory for the layer modules and their tests.",
)
@click.option(
    "--tests-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for the test files (default: beside the layers).",
)
@click.option("--no-test", is_flag=True, help="Do not import the layers or run tests.")
@click.option("--force", is_flag=True, help="Overwrite generated files edited by hand.")
@click.option(
    "--overwrite-foreign",
    is_flag=True,
    help="Also overwrite files that layergen did not generate.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--durations",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="List the N slowest tests with their times (0: every test).",
)
@BACKEND
def new(
    specs: Sequence[Path],
    out_dir: Path,
    tests_dir: Path | None,
    no_test: bool,
    force: bool,
    overwrite_foreign: bool,
    dry_run: bool,
    durations: int,
    backend: str | None,
) -> None:
    """Generate a layer and its tests from each SPEC, then run the tests."""
    backends = resolve_backends(backend) if not (no_test or dry_run) else []
    overwrite = Overwrite(hand_edited=force, foreign=overwrite_foreign)
    started = time.perf_counter()
    layers = generate(specs, out_dir, tests_dir=tests_dir, overwrite=overwrite)
    generation = time.perf_counter() - started
    for layer in layers:
        _print_warnings(layer.spec.warnings)
    if dry_run:
        _show_plan(layers, diffs=True)
        if any(f.status == CONFLICT for layer in layers for f in layer.files):
            sys.exit(2)
        return
    write_plan([f for layer in layers for f in layer.files])
    _show_plan(layers, diffs=False)
    click.echo(f"generated in {generation:.2f} s")
    if backends:
        sys.exit(max(_run_and_report(layers, b, durations) for b in backends))


def _print_warnings(warnings: Sequence[Any]) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


def _show_plan(layers: Sequence[GeneratedLayer], *, diffs: bool) -> None:
    for layer in layers:
        for planned in layer.files:
            status = planned.status if planned.status != IDENTICAL else "unchanged"
            reason = f"  ({planned.reason})" if planned.reason else ""
            click.echo(f"{status:>9}  {planned.path}{reason}")
            if diffs and planned.old is not None and planned.status != IDENTICAL:
                click.echo("".join(planned.diff()), nl=False)


def _run_and_report(
    layers: Sequence[GeneratedLayer], backend: str | None, durations: int
) -> int:
    test_files = [layer.test_file.path for layer in layers]
    on = f" on {backend}" if backend else ""
    click.echo(f"running the generated tests of {len(layers)} layer(s){on}...")
    layer_files = [layer.layer_file.path for layer in layers]
    run = run_tests(test_files, import_paths=import_roots(layer_files), backend=backend)
    _ensure_ran(run)
    if run.exit_code != 0:
        click.echo(run.output)
    for layer in layers:
        counts = run.counts(layer.test_file.path)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        mark = "FAIL" if counts.get("failed") else "ok"
        click.echo(f"{mark:>9}  {layer.spec.name}: {summary or 'no tests ran'}")
    click.echo(f"device: {run.device}")
    click.echo(
        f"time: start-up and imports {run.startup_seconds:.1f} s, "
        f"tests {run.tests_seconds:.1f} s, exit {run.exit_seconds:.1f} s"
    )
    slowest = sorted(run.results, key=lambda r: r.seconds, reverse=True)
    for result in slowest[:durations] if durations else slowest:
        click.echo(f"{result.seconds:>7.2f} s  {result.test_file.name}::{result.name}")
    return 0 if run.exit_code == 0 else 1


@main.command()
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)
@click.option("--no-run", is_flag=True, help="Check drift only; import nothing.")
@click.option("--fix", is_flag=True, help="Regenerate layers that drifted.")
@click.option("--force", is_flag=True, help="With --fix, also overwrite hand edits.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@BACKEND
def check(
    paths: Sequence[Path],
    no_run: bool,
    fix: bool,
    force: bool,
    output_format: str,
    backend: str | None,
) -> None:
    """Check generated layers under PATHS against their specs, then run their tests.

    PATHS are directories to search (recursively) and, optionally, spec files
    whose layers must exist there.
    """
    roots = [p for p in paths if p.is_dir()]
    specs = [p for p in paths if not p.is_dir()]
    if not roots:
        raise click.UsageError("give at least one directory to search")
    backends = [] if no_run else resolve_backends(backend)
    checks = check_tree(roots, specs, overwrite=Overwrite(hand_edited=force))
    if fix:
        _fix(checks, force=force)
    as_table = output_format == "table"
    if as_table:
        report.print_drift(checks)
    runs = [_run_checks(checks, b, verbose=as_table) for b in backends]
    runs = [run for run in runs if run is not None]
    records = report.rows(checks, runs)
    if as_table:
        report.print_table(records, runs=runs, rich=sys.stdout.isatty())
    else:
        report.print_json(records)
    sys.exit(_check_exit_code(checks, runs))


def _run_checks(
    checks: Sequence[LayerCheck], backend: str | None, *, verbose: bool
) -> TestRun | None:
    runnable = [c for c in checks if c.has_tests]
    if not runnable:
        return None
    rich = verbose and sys.stdout.isatty()
    with report.Progress(report.expected_tests(runnable), rich) as on_result:
        run = run_tests(
            [c.test_path for c in runnable],
            import_paths=import_roots([c.layer_path for c in runnable]),
            backend=backend,
            on_result=on_result,
        )
    _ensure_ran(run)
    if run.exit_code == 1 and verbose:
        click.echo(run.output)
    return run


def _ensure_ran(run: TestRun) -> None:
    """pytest's exit codes 0, 1 and 5 (no tests) are results; any other means
    it could not run the tests: show its output and stop."""
    if run.exit_code not in (0, 1, 5):
        click.echo(run.output, err=True)
        raise LayergenError(
            f"pytest could not run the generated tests (exit {run.exit_code})"
        )


def _fix(checks: Sequence[LayerCheck], *, force: bool) -> None:
    for check in checks:
        fixable = check.drift in FIXABLE or (check.drift == HAND_EDITED and force)
        if fixable and check.regenerated is not None:
            write_plan(check.regenerated.files)
            check.detail = f"regenerated (was: {check.drift})"
            check.drift, check.diffs = OK, []


def _check_exit_code(checks: Sequence[LayerCheck], runs: Sequence[TestRun]) -> int:
    if any(c.drift == SPEC_INVALID for c in checks):
        return 2
    failed = any(run.exit_code == 1 for run in runs)
    drifted = any(c.drift != OK for c in checks)
    return 1 if failed or drifted else 0
