"""How ``layergen check`` shows its findings: drift lines with diffs, a progress bar
while tests run (rich, on a terminal only), then a table or JSON."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from layergen.check.drift import Drift, LayerCheck
from layergen.files.plan import unsafe_characters
from layergen.files.reading import GENERATED_LIMIT, read_text
from layergen.run.runner import TestResult, TestRun

_TEST_FUNCTION = re.compile(r"^def test_", re.MULTILINE)


def shown_path(path: Path | None) -> str:
    """A path relative to the working directory when it is below it; one with
    control characters (a newline, a terminal escape) is shown escaped."""
    if path is None:
        return "-"
    try:
        shown = os.path.relpath(path)
    except ValueError:
        shown = str(path)
    return ascii(shown) if unsafe_characters(shown) else shown


def print_drift(checks: Sequence[LayerCheck]) -> None:
    """One line per layer that drifted, with the diff regeneration would apply."""
    for check in checks:
        if check.drift == Drift.OK:
            continue
        name = check.class_name or shown_path(check.spec_path)
        click.echo(f"{shown_path(check.layer_path)}: {check.drift}: {name}")
        if check.detail:
            for line in check.detail.splitlines():
                click.echo(f"    {line}")
        click.echo("".join(check.diffs), nl=False)


def expected_tests(test_files: Sequence[Path]) -> int:
    """How many test functions the test files hold (for the progress bar)."""
    total = 0
    for test_file in test_files:
        try:
            text = read_text(test_file, limit=GENERATED_LIMIT, follow_symlinks=False)
        except (OSError, UnicodeDecodeError):
            continue
        total += len(_TEST_FUNCTION.findall(text))
    return total


class Progress:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("running generated tests"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                transient=True,
            )
            self._task = self._bar.add_task("", total=total or None)

    def __enter__(self) -> Callable[[TestResult], None]:
        if self._bar is not None:
            self._bar.start()
        return self.advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, result: TestResult) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=result.test_file.name)


def rows(checks: Sequence[LayerCheck], runs: Sequence[TestRun]) -> list[dict[str, Any]]:
    """One JSON-ready record per layer, and per backend when tests ran."""
    records = []
    for check in checks:
        base = {
            "path": shown_path(check.layer_path),
            "test_path": shown_path(check.test_path),
            "class": check.class_name,
            "spec": shown_path(check.spec_path),
            "drift": check.drift,
            "detail": check.detail,
            "values_checked": check.values_checked,
        }
        for run in runs or [None]:
            counts = run.counts(check.test_path) if run else {}
            records.append(
                {
                    **base,
                    "backend": run.backend if run else None,
                    "tests": {
                        k: counts.get(k, 0) for k in ("passed", "failed", "skipped")
                    },
                    "device": run.device if run else None,
                    "seconds": round(run.seconds(check.test_path), 3) if run else None,
                }
            )
    return records


def print_json(records: list[dict[str, Any]]) -> None:
    click.echo(json.dumps(records, indent=2))


def print_table(
    records: list[dict[str, Any]], *, runs: Sequence[TestRun], rich: bool
) -> None:
    """The summary: layer, file, drift, and tests and time when they ran."""
    by_backend = len(runs) > 1
    header = ["layer", "file", "drift"]
    header += (["backend"] if by_backend else []) + (
        ["tests", "seconds"] if runs else []
    )
    table = []
    for r in records:
        row = [r["class"] or "?", r["path"], r["drift"]]
        row += [r["backend"] or "default"] if by_backend else []
        if runs:
            row += [_tests_cell(r["tests"]), f"{r['seconds']:.1f}"]
        table.append(row)
    if rich:
        from rich.console import Console
        from rich.table import Table

        shown = Table(*header)
        for row in table:
            shown.add_row(*row)
        Console().print(shown)
    else:
        widths = [
            max(len(c) for c in column) for column in zip(header, *table, strict=True)
        ]
        for row in [header, *table]:
            click.echo(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )
    unchecked = dict.fromkeys(
        r["class"] for r in records if r["values_checked"] is False
    )
    for name in unchecked:
        click.echo(
            f"note: {name}: no `reference` or `properties` in its spec: its "
            "tests never check the values it computes"
        )
    for run in runs:
        on = f" ({run.backend})" if by_backend else ""
        click.echo(f"device{on}: {run.device}")


def _tests_cell(tests: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in tests.items() if n) or "none ran"
