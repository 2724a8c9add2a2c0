"""The ``layergen`` command line: options -> ``app.Options``, errors -> exit
codes; what the commands do lives in ``layergen.app``, what they print as
they run in ``layergen.reporters``.

Exit codes: 0 success, 1 a generated test failed or a layer drifted from its
spec, 2 bad input or usage, 130 / 143 interrupted by SIGINT / SIGTERM (what
was being written is rolled back), 141 the reader of the output went away
(``layergen check --diff | head``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from layergen import __version__, app, starters
from layergen.check import report
from layergen.codegen.generate import load_specs
from layergen.config import (
    ProjectConfig,
    checked_tree,
    load_config,
    template_overrides,
)
from layergen.config import shown as config_shown
from layergen.errors import Interrupted, LayergenError, SpecError
from layergen.files.plan import Overwrite
from layergen.files.writer import write_text
from layergen.reporters import (
    CheckReporter,
    NewReporter,
    print_explanation,
    print_pending,
    print_warnings,
)
from layergen.run.runner import resolve_backends
from layergen.spec import json_schema, reference
from layergen.spec.validate import DEFAULT_PACKAGE

BACKEND = click.option(
    "--backend",
    type=click.Choice(["tensorflow", "jax", "torch", "all"]),
    default=None,
    help="Keras backend for the tests (default: KERAS_BACKEND, else tensorflow).",
)
TEMPLATES = click.option(
    "--templates",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory of template overrides, inside the project "
    "(default: tool.layergen.templates).",
)
SPECS = click.argument(
    "specs", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)


# Commands that never write: their errors do not say that nothing was written
# (validate keeps saying it: it is a dry run of new).
READ_ONLY_COMMANDS = frozenset({"explain"})


class _Group(click.Group):
    """Turns layergen's errors and signals into one-line messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with _terminate_raises():
                code = super().invoke(ctx)
        except LayergenError as exc:
            reads_only = ctx.invoked_subcommand in READ_ONLY_COMMANDS
            if isinstance(exc, SpecError) and reads_only:
                lines = exc.report(writes=False)
            else:
                lines = exc.report()
            for line in lines:
                click.echo(line, err=True)
            code = exc.exit_code
        except KeyboardInterrupt:
            click.echo("interrupted (SIGINT)", err=True)
            code = 128 + signal.SIGINT
        except Interrupted as exc:
            click.echo(f"interrupted ({exc})", err=True)
            code = exc.exit_code
        except BrokenPipeError:
            # The reader went away (`layergen check --diff | head`): stop
            # quietly, as a process ended by SIGPIPE would, and keep the
            # interpreter's final flush of stdout from failing again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            code = 128 + signal.SIGPIPE
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
            code = 2
        ctx.exit(code or 0)


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """SIGTERM raises ``Interrupted`` (SIGINT raises KeyboardInterrupt), so that
    writes roll back and temporary files go before the process ends."""

    def raise_interrupted(signum: int, frame: object) -> NoReturn:
        raise Interrupted(signum)

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupted)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="layergen")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
def main(debug: bool) -> None:
    """Generate complete, tested Keras 3 layers from TOML specs."""


@main.command()
@click.argument("name", required=False)
@click.option(
    "--from",
    "kind",
    metavar="KIND",
    help="The kind of layer to start from (see --list).",
    shell_complete=lambda ctx, param, incomplete: [
        kind for kind in starters.KINDS if kind.startswith(incomplete)
    ],
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the spec (default: ./<module>.toml; a directory: in it).",
)
@click.option("--list", "list_kinds", is_flag=True, help="List the kinds and exit.")
def init(
    name: str | None, kind: str | None, output: Path | None, list_kinds: bool
) -> int:
    """Write a commented starter spec for class NAME, from a KIND of layer."""
    if list_kinds:
        width = max(map(len, starters.KINDS))
        for each, what in starters.KINDS.items():
            click.echo(f"{each:<{width}}  {what}")
        return 0
    if name is None or kind is None:
        raise click.UsageError(
            "give a class name and a kind: layergen init NAME --from KIND "
            "(layergen init --list shows the kinds)"
        )
    starter = starters.write_starter(kind, name, output)
    shown = report.shown_path(starter.path)
    click.echo(f"   create  {shown}  ({kind} starter for {name})")
    click.echo(f"next: edit it, then `layergen new {shown}`")
    return 0


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write it to FILE (default: standard output).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown"]),
    default="json",
    show_default=True,
    help="json: the JSON Schema; markdown: the spec reference (docs/spec.md).",
)
def schema(output: Path | None, output_format: str) -> int:
    """Print the JSON Schema of a spec, for editors and validators."""
    if output_format == "json":
        text = json_schema.schema_text()
    else:
        text = reference.markdown()
    if output is None:
        click.echo(text, nl=False)
        return 0
    # Replaces an earlier schema or reference only, never a spec or another file.
    head = text.splitlines()[:3]
    write_text(output, text, replaces=lambda old: old.splitlines()[:3] == head)
    click.echo(f"   wrote  {report.shown_path(output)}")
    return 0


@main.command()
@SPECS
def validate(specs: Sequence[Path]) -> int:
    """Check specs and report every problem; write nothing."""
    project = load_config()
    allowed = project.allow_imports if project is not None else ()
    for spec in load_specs(
        specs, default_package=_package(project), allow_imports=allowed
    ):
        print_warnings(spec.warnings)
        click.echo(f"{spec.spec_path}: ok ({spec.name})")
    return 0


@main.command()
@click.argument("specs", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for the layer modules and their tests "
    "(default: tool.layergen.output, else generated/).",
)
@click.option(
    "--tests-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for the test files "
    "(default: tool.layergen.tests-dir, else beside the layers).",
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
@TEMPLATES
def new(
    specs: Sequence[Path],
    out_dir: Path | None,
    tests_dir: Path | None,
    no_test: bool,
    force: bool,
    overwrite_foreign: bool,
    dry_run: bool,
    durations: int,
    backend: str | None,
    templates: Path | None,
) -> int:
    """Generate a layer and its tests from each SPEC, then run the tests.

    With no SPEC, every spec that ``specs`` of ``[tool.layergen]`` in
    pyproject.toml lists is generated."""
    project = load_config()
    if not specs:
        if project is None or not project.specs:
            raise click.UsageError(
                "give a spec, or list them in `specs` of [tool.layergen] in "
                "pyproject.toml"
            )
        specs = project.spec_paths()
    if project is not None:
        out_dir = out_dir or _shown(project.output)
        tests_dir = tests_dir or _shown(project.tests_dir)
        backend = backend or project.backend
    options = app.Options(
        package=_package(project),
        allow_imports=project.allow_imports if project is not None else (),
        templates=template_overrides(project, templates),
        out_dir=out_dir or Path("generated"),
        tests_dir=tests_dir,
        backends=tuple(resolve_backends(backend)) if not (no_test or dry_run) else (),
        overwrite=Overwrite(hand_edited=force, foreign=overwrite_foreign),
        dry_run=dry_run,
        durations=durations,
    )
    result = app.run_new(specs, options, NewReporter(durations))
    return result.exit_code


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--no-run", is_flag=True, help="Check drift only; import nothing.")
@click.option("--fix", is_flag=True, help="Regenerate layers that drifted.")
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Print what --fix would write, as a unified diff; write and run nothing.",
)
@click.option(
    "--force", is_flag=True, help="With --fix or --diff, also overwrite hand edits."
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@BACKEND
@TEMPLATES
def check(
    paths: Sequence[Path],
    no_run: bool,
    fix: bool,
    show_diff: bool,
    force: bool,
    output_format: str,
    backend: str | None,
    templates: Path | None,
) -> int:
    """Check generated layers under PATHS against their specs, then run their tests.

    PATHS are directories to search (recursively) and, optionally, spec files
    whose layers must exist there. With no PATHS, the output (and tests)
    directories of ``[tool.layergen]`` in pyproject.toml, with its specs.
    """
    project = load_config()
    if not paths and project is not None:
        paths = checked_tree(project)
    elif not paths:
        raise click.UsageError(
            "give the directories to check, or configure [tool.layergen] in "
            "pyproject.toml"
        )
    if project is not None:
        backend = backend or project.backend
    roots = [p for p in paths if p.is_dir()]
    specs = [p for p in paths if not p.is_dir()]
    if not roots:
        raise click.UsageError("give at least one directory to search")
    if show_diff and fix:
        raise click.UsageError(
            "give --fix or --diff, not both: --diff prints what --fix would write"
        )
    if force and not (fix or show_diff):
        raise click.UsageError(
            "--force needs --fix or --diff (it lets them rewrite hand-edited files)"
        )
    options = app.Options(
        package=_package(project),
        allow_imports=project.allow_imports if project is not None else (),
        templates=template_overrides(project, templates),
        # Where a missing layer's test file goes: the project's tests-dir.
        tests_dir=project.tests_dir if project is not None else None,
        backends=() if no_run or show_diff else tuple(resolve_backends(backend)),
        overwrite=Overwrite(hand_edited=force),
        fix=fix,
        diff=show_diff,
    )
    as_table = output_format == "table"
    reporter = CheckReporter(verbose=as_table)
    result = app.run_check(roots, specs, options, reporter)
    if not result.checks:  # a misspelled or emptied directory must not look green
        shown = ", ".join(report.shown_path(root) for root in roots)
        click.echo(f"warning: no layer generated by layergen under {shown}", err=True)
    if show_diff:
        return print_pending(result, force=force)
    records = report.rows(result.checks, result.runs)
    if as_table:
        report.print_table(records, runs=result.runs, rich=sys.stdout.isatty())
        reporter.print_failures()
    else:
        report.print_json(records)
    return result.exit_code


@main.command()
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "mermaid", "json"]),
    default="text",
    show_default=True,
    help="A table, a Mermaid flowchart of the dataflow, or JSON.",
)
@click.option(
    "--backend",
    type=click.Choice(["tensorflow", "jax", "torch"]),
    default=None,
    help="Keras backend to trace on (default: tool.layergen.backend, else "
    "KERAS_BACKEND, else tensorflow).",
)
def explain(spec: Path, output_format: str, backend: str | None) -> int:
    """Show what SPEC computes: each weight, and each step of call() with the
    shape and dtype it produces, traced on symbolic tensors (no data).

    Traced for the [test] input shapes and again with unknown (None) batch and
    free dimensions. Exit 1 when a step fails or the output contradicts
    [output]."""
    project = load_config()
    if project is not None and backend is None and project.backend != "all":
        backend = project.backend
    options = app.Options(
        package=_package(project),
        allow_imports=project.allow_imports if project is not None else (),
        backends=tuple(resolve_backends(backend)),
    )
    result = app.run_explain(spec, options, NewReporter(0))
    print_explanation(result, output_format)
    return result.exit_code


def _package(project: ProjectConfig | None) -> str:
    """Where specs that name no ``package`` register: the project's, else
    layergen's default."""
    if project is None or project.package is None:
        return DEFAULT_PACKAGE
    return project.package


def _shown(path: Path | None) -> Path | None:
    """A configured path as the command line would give it (relative to the
    working directory)."""
    return None if path is None else Path(config_shown(path))
