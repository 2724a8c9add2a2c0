"""Load a TOML layer spec and validate it into a :class:`LayerSpec`.

Every problem becomes a :class:`Diagnostic` with file, line, column and key
path; all of them (up to a cap) are raised together as one SpecError.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layergen.errors import Diagnostic, LayergenError, SpecError
from layergen.files.reading import read_spec
from layergen.spec import catalog, guards
from layergen.spec import expressions as ex
from layergen.spec.evaluation import TooLargeError, evaluate
from layergen.spec.model import (
    MASK_MODES,
    PARAM_TYPES,
    Expr,
    Input,
    LayerSpec,
    Param,
    Property,
    State,
    Sublayer,
    TestConfig,
    Weight,
)
from layergen.spec.source_map import SourceMap, format_path

MAX_ERRORS = 25
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
PASCAL_CASE = re.compile(r"^[A-Z][A-Za-z0-9]*\Z")
PACKAGE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
DTYPES = frozenset(
    [
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    ]
)
# Names the generated code itself uses, on top of Keras Layer attributes.
RESERVED = guards.GENERATED_NAMES
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "layer",
        "params",
        "checks",
        "inputs",
        "weights",
        "sublayers",
        "states",
        "call",
        "updates",
        "mask",
        "output",
        "test",
    ),
    "layer": ("name", "package", "module", "doc", "kind"),
    "param": ("type", "default", "min", "max", "choices"),
    "input": ("rank", "min_rank", "dtype"),
    "weight": (
        "shape",
        "initializer",
        "trainable",
        "dtype",
        "regularizer",
        "constraint",
        "if",
    ),
    "sublayer": ("layer", "args", "for_each"),
    "state": ("shape",),
    "call": ("training", "steps", "expr", "next_states"),
    "mask": ("mode", "expr"),
    "output": ("shape",),
    "property": ("expr", "when"),
    "test": (
        "params",
        "input_shapes",
        "reference",
        "properties",
        "training_changes_output",
        "differentiable",
        "unbiased_in_training",
    ),
}
# The test input's dims where [test] gives none (the first least_rank), and the
# highest rank an input may declare or a test shape have.
DEFAULT_TEST_DIMS = (2, 3, 4, 5, 6, 7, 2, 3)
MAX_RANK = len(DEFAULT_TEST_DIMS)
KeyPath = tuple[str | int, ...]


def snake_case(name: str) -> str:
    """``SelfAttention`` -> ``self_attention``, ``MLPBlock`` -> ``mlp_block``,
    ``CustomConv2D`` -> ``custom_conv2d``."""
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def load_spec(path: Path) -> LayerSpec:
    """Read, parse and validate one spec file."""
    try:
        text = read_spec(path)  # a regular file under 1 MiB, never a FIFO
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise LayergenError(f"{path}: cannot read spec: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([_toml_diagnostic(path, exc)]) from None
    except RecursionError:
        message = "invalid TOML: arrays or tables nested too deeply"
        raise SpecError([Diagnostic(str(path), 1, 1, "", message)]) from None
    return _Validator(path, text, data).run()


def _toml_diagnostic(path: Path, exc: tomllib.TOMLDecodeError) -> Diagnostic:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    line, column = (int(found[1]), int(found[2])) if found else (1, 1)
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
    return Diagnostic(str(path), line, column, "", f"invalid TOML: {message}")


class _Validator:
    """Checks one parsed document, collecting diagnostics instead of stopping."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path, self.text, self.data = path, text, data
        self.source = SourceMap(text)
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = []
        self.key_paths: dict[str, KeyPath] = {}  # an Expr's key -> its path
        self.exprs: list[tuple[KeyPath, ast.AST]] = []  # every checked one
        self._dim_names: tuple[frozenset[str], dict[str, Any]] | None = None

    def expr(self, source: str, node: ast.AST, path: KeyPath) -> Expr:
        """An Expr, remembering where it was written."""
        self.key_paths[format_path(path)] = path
        self.exprs.append((path, node))
        return Expr(source, node, format_path(path))

    # -- reporting -----------------------------------------------------------

    def error(self, path: KeyPath, message: str, *, warning: bool = False) -> None:
        line, column = self.source.locate(path)
        diag = Diagnostic(
            str(self.path),
            line,
            column,
            format_path(path),
            guards.one_line(message),
            "warning" if warning else "error",
        )
        (self.warnings if warning else self.errors).append(diag)

    def table(self, value: Any, path: KeyPath, schema: str | None) -> dict[str, Any]:
        """``value`` as a table, reporting a wrong type and unknown keys."""
        if not isinstance(value, dict):
            self.error(path, f"expected a table, found {_kind(value)}")
            return {}
        if schema is not None:
            allowed = TABLE_KEYS[schema]
            for key in value:
                if key not in allowed:
                    hint = difflib.get_close_matches(key, allowed, n=1)
                    suggestion = f" - did you mean `{hint[0]}`?" if hint else ""
                    expected = ", ".join(f"`{k}`" for k in allowed)
                    self.error(
                        (*path, key),
                        f"unknown key `{key}`{suggestion} (expected one of {expected})",
                    )
        return value

    def typed(
        self, table: dict[str, Any], key: str, path: KeyPath, kinds: tuple, what: str
    ) -> Any:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and bool not in kinds:
            self.error((*path, key), f"expected {what}, found {_kind(value)}")
            return None
        if not isinstance(value, kinds):
            self.error((*path, key), f"expected {what}, found {_kind(value)}")
            return None
        return value

    def expression(
        self, source: Any, path: KeyPath, scope: ex.Scope, what: str = "expression"
    ) -> Expr | None:
        if not isinstance(source, str):
            self.error(path, f"expected an {what} string, found {_kind(source)}")
            return None
        try:
            node = ex.parse_expression(source)
            ex.check_expression(node, scope, suggest=self.suggesting)
        except ex.ExpressionError as exc:
            self.error(path, f"{exc} (in `{source.strip()}`)")
            return None
        return self.expr(source, node, path)

    @property
    def suggesting(self) -> bool:
        """Whether a did-you-mean is still worth its time: only the first
        MAX_ERRORS errors are shown."""
        return len(self.errors) < MAX_ERRORS

    def hint(self, value: str, choices: Any) -> str:
        return _hint(value, choices) if self.suggesting else ""

    def identifier(self, name: str, path: KeyPath, what: str) -> bool:
        problem = guards.name_problem(name, what)
        if problem is not None:
            self.error(path, problem)
        elif not IDENTIFIER.match(name):
            self.error(path, f"{what} `{name}` is not a valid Python identifier")
        elif name in RESERVED or name in catalog.names("layer_attributes"):
            self.error(
                path,
                f"{what} `{name}` is reserved (it clashes with keras.layers.Layer "
                "or with names layergen generates)",
            )
        elif name.startswith("_"):
            self.error(path, f"{what} `{name}` must not start with `_`")
        else:
            return True
        return False

    # -- the whole document --------------------------------------------------

    def run(self) -> LayerSpec:
        doc = self.table(self.data, (), "")
        layer = self.table(doc.get("layer", {}), ("layer",), "layer")
        spec = self.layer_table(layer)
        self.names: dict[str, str] = {}
        spec.params = self.params(self.table(doc.get("params", {}), ("params",), None))
        self.params_by_name = {p.name: p for p in spec.params}
        spec.inputs = self.inputs(doc.get("inputs"), spec.is_cell)
        spec.checks = self.checks(spec, doc.get("checks", {}))
        spec.weights = self.weights(spec, doc.get("weights", {}))
        spec.sublayers = self.sublayers(spec, doc.get("sublayers", {}))
        if spec.is_cell:
            spec.states = self.states(spec, doc.get("states"))
        elif "states" in doc:
            self.error(("states",), '`[states]` is only for `kind = "cell"`')
        mask = self.table(doc.get("mask", {}), ("mask",), "mask")
        self.mask(spec, mask)
        if spec.mask_mode != "none":
            for path, message in guards.mask_clashes(spec, mask_names(spec)):
                self.error(path, message)
        self.call(spec, self.table(doc.get("call", {}), ("call",), "call"))
        self.updates(spec, self.table(doc.get("updates", {}), ("updates",), None))
        self.mask_expr(spec, mask)
        self.output(spec, self.table(doc.get("output", {}), ("output",), "output"))
        spec.test = self.test_config(spec, doc.get("test", {}))
        # Unbounded constants, whatever else is wrong; with the test's params,
        # once those are valid.
        reported = {(d.key, d.message) for d in self.errors}
        with_params = []
        for path, node in self.exprs:
            constant, problem = guards.oversized_constants(node, spec.test.params)
            if constant and (format_path(path), constant) not in reported:
                self.error(path, constant)
            elif problem:
                with_params.append((path, problem))
        if not self.errors:  # the values exist and have their types
            for path, message in guards.evaluation_problems(spec):
                self.error(path, message)
            for path, problem in with_params:
                if (format_path(path), problem) not in reported:
                    self.error(path, problem)
            for path, node in self.exprs:
                if problem := guards.oversized_tensor(node, spec.test.params):
                    self.error(path, problem)
        self.unused_weights(spec)
        self.float32_constants(spec)
        if self.errors:
            raise SpecError(self.errors[:MAX_ERRORS])
        spec.warnings = self.warnings
        return spec

    def layer_table(self, layer: dict[str, Any]) -> LayerSpec:
        name = self.typed(layer, "name", ("layer",), (str,), "a string")
        if "name" not in layer:
            self.error(("layer",), "missing required key `name` (the class name)")
        elif name is not None and (problem := guards.name_problem(name, "class name")):
            self.error(("layer", "name"), problem)
            name = None
        elif name is not None and not PASCAL_CASE.match(name):
            self.error(
                ("layer", "name"),
                f"`{name}` is not a PascalCase class name like `SimpleDense`",
            )
        elif name in RESERVED:
            self.error(("layer", "name"), f"class name `{name}` is reserved")
        name_ok = name is not None and PASCAL_CASE.match(name) is not None
        name = name or "Layer"
        module = self.typed(layer, "module", ("layer",), (str,), "a string")
        if module is not None and not IDENTIFIER.match(module):
            self.error(
                ("layer", "module"),
                f"`{module}` is not a module name (letters, digits, `_`; "
                "no `/`, `.` or `..`)",
            )
        elif (module or name_ok) and (
            problem := guards.module_problem(module or snake_case(name))
        ):  # a module named after a bad class name would repeat its error
            self.error(("layer", "module" if module else "name"), problem)
        package = self.typed(layer, "package", ("layer",), (str,), "a string")
        if package is not None and not PACKAGE.match(package):
            self.error(
                ("layer", "package"),
                f"`{package}` is not a dotted Python package name",
            )
        kind = self.typed(layer, "kind", ("layer",), (str,), "a string") or "layer"
        if kind not in ("layer", "cell"):
            self.error(("layer", "kind"), f'expected "layer" or "cell", found "{kind}"')
        doc = self.typed(layer, "doc", ("layer",), (str,), "a string")
        return LayerSpec(
            name=name,
            module=module or snake_case(name),
            package=package or "layergen",
            doc=doc or f"{name} layer.",
            kind=kind,
            spec_path=self.path,
            spec_text=self.text,
        )

    def declare(self, name: str, path: KeyPath, what: str) -> bool:
        """Claim ``name`` for one declaration; report clashes across sections."""
        if not self.identifier(name, path, what):
            return False
        if name in self.names:
            self.error(
                path, f"{what} `{name}` is already declared as a {self.names[name]}"
            )
            return False
        self.names[name] = what
        return True

    def params(self, table: dict[str, Any]) -> list[Param]:
        params = []
        for name, raw in table.items():
            path: KeyPath = ("params", name)
            entry = self.table(raw, path, "param")
            if not self.declare(name, path, "param") or not entry:
                continue
            ptype = entry.get("type")
            if ptype not in PARAM_TYPES:
                found = "missing" if ptype is None else f"`{ptype}`"
                self.error(
                    (*path, "type"),
                    f"{found} param type; expected one of "
                    + ", ".join(f'"{t}"' for t in PARAM_TYPES),
                )
                continue
            bounds = {}
            for bound in ("min", "max"):
                value = entry.get(bound)
                if value is not None and (
                    ptype not in ("int", "float") or not _is_number(value)
                ):
                    self.error(
                        (*path, bound),
                        f"`{bound}` needs an int or float param and a finite number",
                    )
                    value = None
                bounds[bound] = value
            choices = entry.get("choices")
            if choices is not None:
                if not isinstance(choices, list) or not choices:
                    self.error((*path, "choices"), "expected a non-empty array")
                    choices = None
                else:
                    for i, choice in enumerate(choices):
                        if not _fits_type(choice, ptype):
                            self.error(
                                (*path, "choices", i),
                                f"choice {choice!r} is not a {ptype}",
                            )
            if "default" not in entry and any(p.has_default for p in params):
                self.error(
                    path,
                    f"required param `{name}` (no `default`) must come before "
                    "the params that have defaults",
                )
            param = Param(
                name,
                ptype,
                entry.get("default"),
                "default" in entry,
                bounds["min"],
                bounds["max"],
                tuple(choices) if choices else None,
            )
            if param.has_default:
                problem = param_value_problem(param, param.default)
                if problem:
                    self.error((*path, "default"), f"default {problem}")
            params.append(param)
        return params

    def checks(self, spec: LayerSpec, raw: Any) -> dict[str, Expr]:
        """Conditions over params (checked in ``__init__``) and over input
        dimensions like ``x[-1] % 2 == 0`` (checked in ``build``)."""
        checks = {}
        scope = dict(_param_scope(spec))
        scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.inputs})
        ranks = {i.name: (i.rank, i.min_rank) for i in spec.inputs}
        for name, source in self.table(raw, ("checks",), None).items():
            path: KeyPath = ("checks", name)
            if not IDENTIFIER.match(name):
                self.error(path, f"check name `{name}` is not an identifier")
                continue
            expr = self.expression(source, path, scope, "check expression")
            if expr is None:
                continue
            try:
                ex.check_input_dims_only(expr.node, ranks)
            except ex.ExpressionError as exc:
                self.error(path, f"{exc} (in `{source.strip()}`)")
                continue
            checks[name] = expr
        return checks

    def inputs(self, raw: Any, is_cell: bool) -> list[Input]:
        if raw is None:
            return [Input("inputs", rank=2 if is_cell else None)]
        table = self.table(raw, ("inputs",), None)
        if not table:
            self.error(
                ("inputs",), "declare at least one input, like `x = { min_rank = 2 }`"
            )
        if is_cell and len(table) > 1:
            self.error(("inputs",), "a cell takes exactly one input")
        inputs = []
        for name, entry_raw in table.items():
            path: KeyPath = ("inputs", name)
            entry = self.table(entry_raw, path, "input")
            if not self.declare(name, path, "input"):
                continue
            rank = self.typed(entry, "rank", path, (int,), "an int")
            min_rank = self.typed(entry, "min_rank", path, (int,), "an int")
            for key, value in (("rank", rank), ("min_rank", min_rank)):
                if value is not None and value < 1:
                    self.error((*path, key), f"expected an int >= 1, found {value}")
                elif value is not None and value > MAX_RANK:
                    self.error(
                        (*path, key), f"{key} {value} is above the limit of {MAX_RANK}"
                    )
            if rank is not None and min_rank is not None:
                self.error(path, "give either `rank` or `min_rank`, not both")
            dtype = self.typed(entry, "dtype", path, (str,), "a string")
            if dtype is not None and dtype not in DTYPES:
                self.error(
                    (*path, "dtype"), f"unknown dtype `{dtype}`{_hint(dtype, DTYPES)}"
                )
            if is_cell and rank not in (None, 2):
                self.error((*path, "rank"), "a cell's input is one step: rank 2")
            inputs.append(Input(name, rank if not is_cell else 2, min_rank, dtype))
        return inputs

    def shape(
        self, spec: LayerSpec, raw: Any, path: KeyPath, *, allow_star: bool = False
    ) -> tuple[Expr, ...] | None:
        if not isinstance(raw, list):
            self.error(path, f"expected an array of dimensions, found {_kind(raw)}")
            return None
        int_params, ranks = self.dim_names(spec)
        dims: list[Expr] = []
        for index, dim in enumerate(raw):
            source = (
                str(dim) if isinstance(dim, int) and not isinstance(dim, bool) else dim
            )
            if not isinstance(source, str):
                self.error(
                    (*path, index), f"expected an int or a string, found {_kind(dim)}"
                )
                continue
            try:
                if allow_star and source.lstrip().startswith("*"):
                    node = ex.parse_expression(f"({source},)").elts[0]
                else:
                    node = ex.parse_expression(source)
                ex.check_shape_dim(
                    node,
                    int_params,
                    ranks,
                    allow_star=allow_star,
                    suggest=self.suggesting,
                )
            except ex.ExpressionError as exc:
                self.error((*path, index), f"{exc} (in `{source}`)")
                continue
            dims.append(self.expr(source, node, (*path, index)))
        return tuple(dims) if len(dims) == len(raw) else None

    def dim_names(self, spec: LayerSpec) -> tuple[frozenset[str], dict[str, Any]]:
        """The int params and input ranks a shape may use (computed once)."""
        if self._dim_names is None:
            self._dim_names = (
                frozenset(p.name for p in spec.params if p.type == "int"),
                {i.name: (i.rank, i.min_rank) for i in spec.inputs},
            )
        return self._dim_names

    def param_name_or_id(
        self, spec: LayerSpec, value: Any, path: KeyPath, ptype: str, namespace: str
    ) -> str | None:
        """A param of ``ptype`` or a Keras identifier from ``namespace``."""
        if not isinstance(value, str):
            self.error(path, f"expected a string, found {_kind(value)}")
            return None
        param = self.params_by_name.get(value)
        if param is not None:
            if param.type != ptype:
                self.error(
                    path, f"param `{value}` has type {param.type}, expected {ptype}"
                )
            return value
        if value not in catalog.names(namespace):
            hint = ""
            if self.suggesting:
                params = {p.name for p in spec.params if p.type == ptype}
                hint = _hint(value, catalog.names(namespace) | params)
            self.error(
                path,
                f"`{value}` is neither {_article(ptype)} {ptype} param "
                f"nor a Keras {ptype}{hint}",
            )
        return value

    def weights(self, spec: LayerSpec, raw: Any) -> list[Weight]:
        weights = []
        param_scope = _param_scope(spec)
        for name, entry_raw in self.table(raw, ("weights",), None).items():
            path: KeyPath = ("weights", name)
            entry = self.table(entry_raw, path, "weight")
            if not self.declare(name, path, "weight"):
                continue
            if "shape" not in entry:
                self.error(path, "missing required key `shape`")
                continue
            shape = self.shape(spec, entry["shape"], (*path, "shape"))
            initializer = self.param_name_or_id(
                spec,
                entry.get("initializer", "glorot_uniform"),
                (*path, "initializer"),
                "initializer",
                "initializers",
            )
            extras = {}
            for key, namespace in (
                ("regularizer", "regularizers"),
                ("constraint", "constraints"),
            ):
                if key in entry:
                    extras[key] = self.param_name_or_id(
                        spec, entry[key], (*path, key), key, namespace
                    )
            trainable = self.typed(entry, "trainable", path, (bool,), "true or false")
            dtype = self.typed(entry, "dtype", path, (str,), "a string")
            if dtype is not None and dtype not in DTYPES:
                self.error(
                    (*path, "dtype"), f"unknown dtype `{dtype}`{_hint(dtype, DTYPES)}"
                )
            condition = None
            if "if" in entry:
                condition = self.condition(
                    entry["if"], (*path, "if"), spec, param_scope
                )
            if shape is None or initializer is None:
                continue
            weights.append(
                Weight(
                    name,
                    shape,
                    initializer,
                    True if trainable is None else trainable,
                    dtype,
                    extras.get("regularizer"),
                    extras.get("constraint"),
                    condition,
                )
            )
        return weights

    def condition(
        self, raw: Any, path: KeyPath, spec: LayerSpec, scope: ex.Scope
    ) -> Expr | None:
        expr = self.expression(raw, path, scope, "`if` expression")
        if expr is None:
            return None
        node = expr.node
        if isinstance(node, ast.Name) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Name)
        ):
            name = node.id if isinstance(node, ast.Name) else node.operand.id
            param = spec.param(name)
            if param is not None and param.type != "bool":
                self.error(
                    path,
                    f"param `{name}` is {_article(param.type)} {param.type}, "
                    f"not a bool: compare it, like `{name} > 0`",
                )
                return None
        return expr

    def sublayers(self, spec: LayerSpec, raw: Any) -> list[Sublayer]:
        sublayers = []
        list_params = {p.name for p in spec.params if p.type.startswith("list[")}
        for name, entry_raw in self.table(raw, ("sublayers",), None).items():
            path: KeyPath = ("sublayers", name)
            entry = self.table(entry_raw, path, "sublayer")
            if not self.declare(name, path, "sublayer"):
                continue
            layer = entry.get("layer")
            if not isinstance(layer, str):
                self.error(path, "missing required key `layer` (a keras.layers class)")
                continue
            if layer not in catalog.names("layers"):
                self.error(
                    (*path, "layer"),
                    f"`{layer}` is not a keras.layers class"
                    f"{self.hint(layer, catalog.names('layers'))}",
                )
            elif problem := guards.sublayer_problem(layer):
                self.error((*path, "layer"), problem)
            scope = dict(_param_scope(spec))
            for_each = None
            if "for_each" in entry:
                for_each = self.expression(
                    entry["for_each"], (*path, "for_each"), scope
                )
                scope["item"] = ex.Symbol(ex.LOCAL)
            args = []
            for arg, value in self.table(
                entry.get("args", {}), (*path, "args"), None
            ).items():
                if not IDENTIFIER.match(arg) or keyword.iskeyword(arg):
                    self.error((*path, "args", arg), f"`{arg}` is not a keyword name")
                    continue
                expr = self.expression(value, (*path, "args", arg), scope)
                if expr is None:
                    continue
                problem = guards.sublayer_argument_problem(
                    layer, arg, expr.node, list_params
                )
                if problem is not None:
                    self.error((*path, "args", arg), problem)
                    continue
                args.append((arg, expr))
            sublayers.append(Sublayer(name, layer, tuple(args), for_each))
        return sublayers

    def states(self, spec: LayerSpec, raw: Any) -> list[State]:
        table = self.table(raw if raw is not None else {}, ("states",), None)
        if not table:
            self.error(
                ("states",) if raw is not None else ("layer", "kind"),
                'a cell needs a `[states]` table, like `h = { shape = ["units"] }`',
            )
        states = []
        for name, entry_raw in table.items():
            path: KeyPath = ("states", name)
            entry = self.table(entry_raw, path, "state")
            if not self.declare(name, path, "state"):
                continue
            if "shape" not in entry:
                self.error(path, "missing required key `shape`")
                continue
            shape = self.shape(spec, entry["shape"], (*path, "shape"))
            if shape is not None:
                inputs = {i.name for i in spec.inputs}
                if any(ex.input_axes(d.node, inputs) for d in shape):
                    self.error((*path, "shape"), "a state shape may use params only")
                else:
                    states.append(State(name, shape))
        return states

    def mask(self, spec: LayerSpec, table: dict[str, Any]) -> None:
        mode = self.typed(table, "mode", ("mask",), (str,), "a string") or "none"
        if mode not in MASK_MODES:
            self.error(
                ("mask", "mode"),
                f"unknown mask mode `{mode}`; expected one of "
                + ", ".join(f'"{m}"' for m in MASK_MODES),
            )
            mode = "none"
        spec.mask_mode = mode

    def call_scope(self, spec: LayerSpec) -> dict[str, ex.Symbol]:
        scope = dict(_param_scope(spec))
        scope.update({i.name: ex.Symbol(ex.INPUT) for i in spec.inputs})
        scope.update({w.name: ex.Symbol(ex.WEIGHT) for w in spec.weights})
        scope.update({s.name: ex.Symbol(ex.LOCAL) for s in spec.states})
        for sub in spec.sublayers:
            kind = ex.SUBLAYER_LIST if sub.for_each else ex.SUBLAYER
            scope[sub.name] = ex.Symbol(kind)
        scope["random"] = ex.Symbol(ex.MODULE, "random")
        if spec.training:
            scope["training"] = ex.Symbol(ex.FLAG)
        if spec.mask_mode != "none":
            for name in mask_names(spec):
                scope[name] = ex.Symbol(ex.LOCAL)
        return scope

    def call(self, spec: LayerSpec, table: dict[str, Any]) -> None:
        training = self.typed(table, "training", ("call",), (bool,), "true or false")
        spec.training = bool(training)
        scope = self.call_scope(spec)
        steps = table.get("steps", [])
        if not isinstance(steps, list):
            self.error(
                ("call", "steps"), f"expected an array of strings, found {_kind(steps)}"
            )
            steps = []
        for index, source in enumerate(steps):
            path: KeyPath = ("call", "steps", index)
            if not isinstance(source, str):
                self.error(path, f"expected a step string, found {_kind(source)}")
                continue
            try:
                stmt = ex.parse_step(source)
                guards.check_step_names(stmt, mask_names(spec))
                ex.check_step(stmt, scope, suggest=self.suggesting)
            except ex.ExpressionError as exc:
                self.error(path, f"{exc} (in `{source.strip()}`)")
                continue
            spec.steps.append(self.expr(source, stmt, path))
        self.scope_after_steps = scope
        if "expr" not in table:
            self.error(("call",), "missing required key `expr` (the returned value)")
        else:
            spec.expr = self.expression(table["expr"], ("call", "expr"), scope)
            if spec.expr is not None and isinstance(
                spec.expr.node, ast.Tuple | ast.List
            ):
                self.error(
                    ("call", "expr"),
                    "`expr` must be one tensor: a layer with several outputs "
                    "cannot be declared yet (stack or concatenate them, or "
                    "split the layer)",
                )
                spec.expr = None
        next_states = self.table(
            table.get("next_states", {}), ("call", "next_states"), None
        )
        if spec.is_cell:
            for state in spec.states:
                if state.name not in next_states:
                    self.error(
                        ("call", "next_states") if next_states else ("call",),
                        f"missing `[call.next_states]` entry for state `{state.name}`",
                    )
        elif next_states:
            self.error(
                ("call", "next_states"), '`next_states` is only for `kind = "cell"`'
            )
        for name, source in next_states.items():
            path = ("call", "next_states", name)
            if spec.is_cell and name not in {s.name for s in spec.states}:
                self.error(path, f"`{name}` is not a declared state")
                continue
            expr = self.expression(source, path, scope)
            if expr is not None:
                spec.next_states[name] = expr
        spec.uses_random = any(
            "random" in ex.names_in(e.node) for e in self.all_call_exprs(spec)
        )

    @staticmethod
    def all_call_exprs(spec: LayerSpec) -> list[Expr]:
        exprs = [*spec.steps, *spec.next_states.values(), *spec.updates.values()]
        return exprs + ([spec.expr] if spec.expr else [])

    def updates(self, spec: LayerSpec, table: dict[str, Any]) -> None:
        for name, source in table.items():
            path: KeyPath = ("updates", name)
            weight = spec.weight(name)
            if weight is None:
                self.error(
                    path,
                    f"`{name}` is not a declared weight"
                    + self.hint(name, [w.name for w in spec.weights]),
                )
                continue
            if weight.trainable:
                self.error(
                    path,
                    f"weight `{name}` is trainable: only `trainable = false` weights "
                    "can be updated in call",
                )
                continue
            expr = self.expression(source, path, self.scope_after_steps)
            if expr is not None:
                spec.updates[name] = expr
        if spec.updates:
            spec.training = True
        spec.uses_random = spec.uses_random or any(
            "random" in ex.names_in(e.node) for e in spec.updates.values()
        )
        spec.uses_mask = any(
            set(mask_names(spec)) & ex.names_in(e.node)
            for e in self.all_call_exprs(spec)
        )

    def mask_expr(self, spec: LayerSpec, table: dict[str, Any]) -> None:
        if "expr" in table and spec.mask_mode != "compute":
            self.error(
                ("mask", "expr"),
                f'`expr` needs `mode = "compute"` (mode is "{spec.mask_mode}")',
            )
        if spec.mask_mode != "compute":
            return
        if "expr" not in table:
            self.error(("mask",), 'mode "compute" needs `expr`, the output mask')
            return
        scope = dict(_param_scope(spec))
        scope[spec.inputs[0].name] = ex.Symbol(ex.INPUT)
        scope["mask"] = ex.Symbol(ex.LOCAL)
        spec.mask_expr = self.expression(table["expr"], ("mask", "expr"), scope)

    def output(self, spec: LayerSpec, table: dict[str, Any]) -> None:
        if "shape" in table:
            if spec.is_cell:
                self.error(("output", "shape"), "a cell's output shape comes from RNN")
                return
            spec.output_shape = self.shape(
                spec, table["shape"], ("output", "shape"), allow_star=True
            )
            drops_mask = spec.output_shape is not None and not _keeps_mask_axes(
                spec.output_shape, spec.inputs[0]
            )
            if spec.mask_mode == "propagate" and drops_mask:
                name = spec.inputs[0].name
                self.error(
                    ("mask", "mode"),
                    f'mode "propagate" passes on the mask of `{name}`, shaped '
                    f"like `{name}[:-1]`, but the output shape does not keep "
                    'those axes; use "consume" (the output carries no mask) '
                    'or "compute" (declare the output\'s mask)',
                )

    def test_config(self, spec: LayerSpec, raw: Any) -> TestConfig:
        table = self.table(raw, ("test",), "test")
        given = self.table(table.get("params", {}), ("test", "params"), None)
        values: dict[str, Any] = {}
        for param in spec.params:
            path: KeyPath = ("test", "params", param.name)
            if param.name in given:
                value = given[param.name]
                problem = param_value_problem(param, value)
                if problem:
                    self.error(path, problem)
                values[param.name] = value
            elif param.has_default:
                values[param.name] = param.default
            else:
                self.error(
                    ("params", param.name),
                    f"required param `{param.name}` needs a value in `[test] params`",
                )
        for name in given:
            if spec.param(name) is None:
                self.error(
                    ("test", "params", name), f"`{name}` is not a declared param"
                )
        shapes = self.test_shapes(spec, table.get("input_shapes", {}))
        self.checks_hold(spec, {**values, **shapes})
        reference = None
        if "reference" in table:
            reference = self.expression(
                table["reference"], ("test", "reference"), _numpy_scope(spec)
            )
        properties = self.properties(spec, table.get("properties", {}))
        if reference is None and not properties and "reference" not in table:
            self.error(
                ("test",) if "test" in self.data else (),
                "no `reference` or `properties` in `[test]`: the generated tests "
                "check shapes, dtypes, training, masks and saving, never the values "
                "the layer computes",
                warning=True,
            )
        flags = {
            key: self.typed(table, key, ("test",), (bool,), "true or false")
            for key in (
                "training_changes_output",
                "differentiable",
                "unbiased_in_training",
            )
        }
        return TestConfig(
            values,
            shapes,
            reference,
            properties,
            **{key: value for key, value in flags.items() if value is not None},
        )

    def properties(self, spec: LayerSpec, raw: Any) -> tuple[Property, ...]:
        """``[test.properties]``: NAME = "numpy expression", or
        NAME = { expr = "...", when = "training" } to check training calls."""
        found = []
        scope = _numpy_scope(spec)
        scope["output"] = ex.Symbol(ex.INPUT)
        for name, entry in self.table(raw, ("test", "properties"), None).items():
            path: KeyPath = ("test", "properties", name)
            if not IDENTIFIER.match(name) or keyword.iskeyword(name):
                self.error(path, f"property name `{name}` is not an identifier")
                continue
            if isinstance(entry, dict):
                entry = self.table(entry, path, "property")
                source, when = entry.get("expr"), entry.get("when", "inference")
                path_expr: KeyPath = (*path, "expr")
            else:
                source, when, path_expr = entry, "inference", path
            if when not in ("inference", "training"):
                self.error((*path, "when"), 'expected "inference" or "training"')
                continue
            if when == "training" and not spec.training:
                self.error(
                    (*path, "when"), '"training" needs `training = true` in `[call]`'
                )
                continue
            expr = self.expression(source, path_expr, scope, "property expression")
            if expr is not None:
                found.append(Property(name, expr, when == "training"))
        return tuple(found)

    def checks_hold(self, spec: LayerSpec, env: dict[str, Any]) -> None:
        """The test's params and input shapes must pass the spec's checks."""
        if self.errors:
            return  # a value may be missing or of the wrong type
        for name, check in spec.checks.items():
            try:
                holds = evaluate(check.node, env)
            except TooLargeError as exc:
                self.error(("checks", name), str(exc))
                continue
            except (ArithmeticError, TypeError, IndexError, ex.ExpressionError):
                holds = False
            if not holds:
                inputs = {i.name for i in spec.inputs}
                where = (
                    "input_shapes" if ex.input_axes(check.node, inputs) else "params"
                )
                given = where in self.data.get("test", {})
                self.error(
                    ("test", where) if given else ("test",),
                    f"the test's {where.replace('_', ' ')} break check `{name}` "
                    f"(`{check.source.strip()}`); give `[test] {where}` that pass it",
                )

    def test_shapes(self, spec: LayerSpec, raw: Any) -> dict[str, tuple[int, ...]]:
        given = self.table(raw, ("test", "input_shapes"), None)
        shapes = {}
        for name in given:
            if name not in {i.name for i in spec.inputs}:
                self.error(
                    ("test", "input_shapes", name), f"`{name}` is not a declared input"
                )
        for item in spec.inputs:
            path: KeyPath = ("test", "input_shapes", item.name)
            shape = given.get(item.name)
            if shape is None:
                shapes[item.name] = DEFAULT_TEST_DIMS[: item.least_rank]
                continue
            if not isinstance(shape, list) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
            ):
                self.error(path, "expected an array of positive ints, like [2, 5, 3]")
                continue
            if len(shape) > MAX_RANK:
                self.error(
                    path,
                    f"{len(shape)} dims; the generated tests take inputs of at "
                    f"most {MAX_RANK}",
                )
            elif item.rank is not None and len(shape) != item.rank:
                self.error(
                    path,
                    f"input `{item.name}` has rank {item.rank}, "
                    f"shape has {len(shape)} dims",
                )
            elif item.min_rank is not None and len(shape) < item.min_rank:
                self.error(
                    path,
                    f"input `{item.name}` has min_rank {item.min_rank}, "
                    f"shape has {len(shape)} dims",
                )
            elif problem := guards.too_many_elements(shape, f"input `{item.name}`"):
                self.error(path, problem)
            shapes[item.name] = tuple(shape)
        return shapes

    def float32_constants(self, spec: LayerSpec) -> None:
        tensors = {i.name for i in spec.inputs} | {w.name for w in spec.weights}
        tensors |= {s.name for s in spec.states} | set(mask_names(spec))
        for step in spec.steps:
            tensors |= set(ex.assigned_names(step.node))
        for expr in self.all_call_exprs(spec):
            for found in ex.float32_constants(expr.node, tensors):
                self.error(
                    self.key_paths[expr.key],
                    f"`{found}` makes a float32 tensor whatever the inputs' dtype: "
                    "under mixed precision TensorFlow refuses to combine it with "
                    "float16 tensors. Use Python numbers (`float(d) ** 0.5`), pass "
                    "`dtype=x.dtype`, or `ops.cast(..., x.dtype)`",
                    warning=True,
                )

    def unused_weights(self, spec: LayerSpec) -> None:
        used: set[str] = set()
        for expr in self.all_call_exprs(spec):
            used |= ex.names_in(expr.node)
        used |= set(spec.updates)
        for weight in spec.weights:
            if weight.name not in used:
                self.error(
                    ("weights", weight.name),
                    f"weight `{weight.name}` is never used in `[call]` or `[updates]`",
                    warning=True,
                )


def _keeps_mask_axes(shape: tuple[Expr, ...], item: Input) -> bool:
    """Whether an output shape starts with all but the last axis of ``item``
    (``*x[:-1]``, or ``x[0], x[1]`` for an input of rank 3), where Keras's
    masks live."""
    first = shape[0].node if shape else None
    if isinstance(first, ast.Starred):
        sub = first.value
        upper = sub.slice.upper
        whole = upper is None or ast.unparse(upper) == "-1"
        return sub.value.id == item.name and sub.slice.lower is None and whole
    if item.rank is None:
        return False
    kept = [ast.unparse(d.node).replace(" ", "") for d in shape[: item.rank - 1]]
    return len(kept) == item.rank - 1 and all(
        dim in (f"{item.name}[{axis}]", f"{item.name}[{axis - item.rank}]")
        for axis, dim in enumerate(kept)
    )


def mask_names(spec: LayerSpec) -> list[str]:
    """``mask`` for one input, ``<input>_mask`` for each of several."""
    if len(spec.inputs) == 1:
        return ["mask"]
    return [f"{i.name}_mask" for i in spec.inputs]


def _numpy_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    """What a ``[test]`` reference or property sees: inputs, weights and
    plain params as numpy values, and ``np``."""
    scope = {i.name: ex.Symbol(ex.INPUT) for i in spec.inputs}
    scope.update({w.name: ex.Symbol(ex.WEIGHT) for w in spec.weights})
    scope.update(
        {
            p.name: ex.Symbol(ex.PARAM, p.type)
            for p in spec.params
            if not p.object_module
        }
    )
    scope.update({b: ex.Symbol(ex.BUILTIN) for b in ex.SAFE_BUILTINS})
    scope["np"] = ex.Symbol(ex.MODULE, "numpy")
    return scope


def _param_scope(spec: LayerSpec) -> dict[str, ex.Symbol]:
    scope = {p.name: ex.Symbol(ex.PARAM, p.type) for p in spec.params}
    scope.update({b: ex.Symbol(ex.BUILTIN) for b in ex.SAFE_BUILTINS})
    scope["ops"] = ex.Symbol(ex.MODULE, "ops")
    scope["activations"] = ex.Symbol(ex.MODULE, "activations")
    return scope


def param_value_problem(param: Param, value: Any) -> str | None:
    """Why ``value`` is not acceptable for ``param``, or None."""
    if value is None and param.object_module:
        return None
    values = value if isinstance(value, list) else [value]
    if any(isinstance(v, float) and not math.isfinite(v) for v in values):
        return f"{value!r} is not a finite number"
    if not _fits_type(value, param.type):
        return f"{value!r} is not {_article(param.type)} {param.type}"
    namespace = param.object_module
    if namespace and value not in catalog.names(namespace):
        hint = _hint(value, catalog.names(namespace))
        return f"`{value}` is not a Keras {param.type}{hint}"
    if param.min is not None and value < param.min:
        return f"{value!r} is below min = {param.min}"
    if param.max is not None and value > param.max:
        return f"{value!r} is above max = {param.max}"
    if param.choices is not None and value not in param.choices:
        return f"{value!r} is not one of the choices {list(param.choices)}"
    return None


_SCALAR_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: _is_number(v),
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}


def _fits_type(value: Any, ptype: str) -> bool:
    if ptype.startswith("list["):
        inner = _SCALAR_CHECKS[ptype[5:-1]]
        return isinstance(value, list) and all(inner(v) for v in value)
    if ptype in _SCALAR_CHECKS:
        return _SCALAR_CHECKS[ptype](value)
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    """An int or a finite float (``nan`` and ``inf`` have no place in a layer's
    arguments, and no literal in generated code)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _hint(value: str, choices: Any) -> str:
    match = difflib.get_close_matches(value, list(choices), n=1)
    return f" - did you mean `{match[0]}`?" if match else ""


def _kind(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a float",
        str: "a string",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
