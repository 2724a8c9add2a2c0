"""What ``layergen new`` and ``layergen check`` print as they run: the
reporters :mod:`layergen.app` calls at each step (:class:`NewReporter`,
:class:`CheckReporter`), spec warnings, and ``check --diff``'s output. The
check table and progress bar they use live in :mod:`layergen.check.report`."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import click

from layergen import app
from layergen.check import report
from layergen.check.drift import Drift, LayerCheck
from layergen.codegen.generate import GeneratedLayer
from layergen.errors import Diagnostic
from layergen.explain import Explanation
from layergen.explain import mermaid as explain_mermaid
from layergen.explain import text as explain_text
from layergen.files.plan import IDENTICAL
from layergen.run.runner import TestResult, TestRun


def print_explanation(result: Explanation, output_format: str) -> None:
    """``layergen explain``: the table, the Mermaid chart or the JSON on
    stdout; errors and warnings on stderr (in the JSON, inside it)."""
    if output_format == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
        return
    view = explain_mermaid if output_format == "mermaid" else explain_text
    click.echo(view.render(result), nl=False)
    for error in result.errors:
        click.echo(str(error), err=True)


def print_pending(result: app.CheckResult, *, force: bool) -> int:
    """``check --diff``: the diffs on stdout; what they leave out, and a count,
    on stderr. Exit 1 when there is a diff or drift, 2 for bad input."""
    for file_fix in result.pending:
        click.echo(file_fix.diff, nl=False)
    pending_layers = {f.path for f in result.pending}
    for check in result.checks:
        if check.drift == Drift.OK or {check.layer_path, check.test_path} & (
            pending_layers
        ):
            continue
        name = check.class_name or report.shown_path(check.spec_path)
        why = (
            " (--force would overwrite it)" if check.drift == Drift.HAND_EDITED else ""
        )
        click.echo(
            f"{report.shown_path(check.layer_path)}: {check.drift}: {name}: "
            f"not in the diff{why}",
            err=True,
        )
    for file_fix in result.pending:
        if file_fix.discarded_lines:
            click.echo(discard_line(file_fix, done=False), err=True)
    count = len(result.pending)
    if count:
        click.echo(f"{count} file(s) would be rewritten by --fix", err=True)
    else:
        click.echo("nothing for --fix to write", err=True)
    return max(result.exit_code, 1 if count else 0)


def discard_line(file_fix: app.FileFix, *, done: bool) -> str:
    lines = file_fix.discarded_lines
    verb = "discarded" if done else "would discard"
    return (
        f"warning: {report.shown_path(file_fix.path)}: --force {verb} its hand "
        f"edits ({lines} changed line{'s' * (lines != 1)} of diff)"
    )


def print_warnings(warnings: Sequence[Diagnostic]) -> None:
    for warning in warnings:
        click.echo(str(warning), err=True)


class NewReporter:
    """What ``layergen new`` prints as it goes."""

    def __init__(self, durations: int) -> None:
        self.durations = durations

    def warnings(self, diagnostics: Sequence[Diagnostic]) -> None:
        print_warnings(diagnostics)

    def planned(self, layers: Sequence[GeneratedLayer], *, dry_run: bool) -> None:
        for layer in layers:
            for planned in layer.files:
                status = planned.status if planned.status != IDENTICAL else "unchanged"
                reason = f"  ({planned.reason})" if planned.reason else ""
                click.echo(f"{status:>9}  {planned.path}{reason}")
                if dry_run and planned.old is not None and planned.status != IDENTICAL:
                    click.echo("".join(planned.diff()), nl=False)

    def generated(self, seconds: float) -> None:
        click.echo(f"generated in {seconds:.2f} s")

    @contextlib.contextmanager
    def tests_started(
        self, test_files: Sequence[Path], backend: str | None
    ) -> Iterator[None]:
        on = f" on {backend}" if backend else ""
        count = len(test_files)
        click.echo(f"running the generated tests of {count} layer(s){on}...")
        yield

    def tests_ran(self, run: TestRun, layers: Mapping[Path, str]) -> None:
        for test_file, name in layers.items():
            counts = run.counts(test_file)
            summary = ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))
            mark = "FAIL" if counts.get("failed") else "ok"
            click.echo(f"{mark:>9}  {name}: {summary or 'no tests ran'}")
        if run.exit_code != 0:
            click.echo(run.failure_details.rstrip("\n"))
        click.echo(f"device: {run.device}")
        click.echo(
            f"time: start-up and imports {run.startup_seconds:.1f} s, "
            f"tests {run.tests_seconds:.1f} s, exit {run.exit_seconds:.1f} s"
        )
        slowest = sorted(run.results, key=lambda r: r.seconds, reverse=True)
        for result in slowest[: self.durations] if self.durations else slowest:
            click.echo(
                f"{result.seconds:>7.2f} s  {result.test_file.name}::{result.name}"
            )


class CheckReporter:
    """What ``layergen check`` prints as it goes: drift with diffs, a progress
    bar on a terminal, pytest's output when a test failed (table format)."""

    def __init__(self, *, verbose: bool) -> None:
        self.verbose = verbose
        self.failed_runs: list[TestRun] = []

    def warnings(self, diagnostics: Sequence[Diagnostic]) -> None:
        """Spec warnings belong to ``validate`` and ``new``."""

    def planned(self, layers: Sequence[GeneratedLayer], *, dry_run: bool) -> None:
        """``check`` shows drift instead, through ``checked``."""

    def generated(self, seconds: float) -> None:
        """``check`` times its tests instead."""

    def fixed(self, fixes: Sequence[app.FileFix]) -> None:
        """One line per file ``--fix`` wrote and why, and a warning per hand
        edit ``--force`` discarded (on stderr with ``--format json``)."""
        to_stderr = not self.verbose
        for file_fix in fixes:
            verb = "created" if file_fix.created else "rewrote"
            shown = report.shown_path(file_fix.path)
            click.echo(f"{verb:>9}  {shown}  ({file_fix.reason})", err=to_stderr)
            if file_fix.discarded_lines:
                click.echo(discard_line(file_fix, done=True), err=True)

    def checked(self, checks: Sequence[LayerCheck]) -> None:
        if self.verbose:
            report.print_drift(checks)

    @contextlib.contextmanager
    def tests_started(
        self, test_files: Sequence[Path], backend: str | None
    ) -> Iterator[Callable[[TestResult], None]]:
        rich = self.verbose and sys.stdout.isatty()
        with report.Progress(report.expected_tests(test_files), rich) as on_result:
            yield on_result

    def tests_ran(self, run: TestRun, layers: Mapping[Path, str]) -> None:
        """Failures are shown after the table (``print_failures``)."""
        if run.exit_code == 1 and self.verbose:
            self.failed_runs.append(run)

    def print_failures(self) -> None:
        for run in self.failed_runs:
            on = f" on {run.backend}" if run.backend else ""
            click.echo(f"\nwhat failed{on}:")
            click.echo(run.failure_details.rstrip("\n"))
