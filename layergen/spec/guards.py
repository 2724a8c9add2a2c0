"""What validation checks so that every valid spec generates working code:
names Python accepts and the generated code does not already use (classes,
modules, steps, sublayers and their arguments, mask arguments). Sizes, and
values that must compute for the test's params, are :mod:`.limits`'s.
``validate`` rejects everything ``new`` would fail on."""

from __future__ import annotations

import ast
import keyword
import sys
from collections.abc import Collection, Iterator

from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec

KeyPath = tuple[str | int, ...]
MAX_NAME_LENGTH = 64
# Names the templates emit in a scope where a spec name (a param, input,
# weight...) also lives: a spec name equal to one would shadow it.
# tests/test_guards.py renders specs that take every branch and checks that
# every name the templates emit is here, in LOCAL_NAMES, or the spec's own.
GENERATED_NAMES = frozenset(
    {"self", "super", "keras", "ops", "kwargs", "config", "isinstance", "any"}
    | {"list", "tuple", "int", "float", "bool", "str", "len", "ValueError"}
    | {"states", "training", "mask", "seed", "seed_generator", "item"}
    | {"random", "activations", "np", "pytest", "testing", "CASE", "built"}
    | {"expected", "holds", "output", "case"}
    # compute_output_shape's list of shapes, where several flags add outputs.
    | {"shapes"}
    # __init__ makes a sublayer list with enumerate(), where params are locals.
    | {"enumerate"}
    # An int or float param is checked against numbers.Integral or
    # numbers.Real in __init__.
    | {"numbers"}
    # What keras.layers.RNN reads from a cell: the template sets state_size
    # after the params are stored, and RNN calls the others if they exist.
    | {"state_size", "output_size", "get_initial_state"}
    | ex.SAFE_BUILTINS
)
# Names the templates bind where no spec name can clash with them (a
# comprehension's variable, a method of their own).
LOCAL_NAMES = frozenset(
    {"v", "w", "floats", "inputs", "outputs", "input_shape", "policy", "args"}
    | {"fresh_keras_state"}
    # A sublayer list's index, in its own comprehension scope.
    | {"i"}
)
# Names a step may not assign: the generated call() reads them (`training`
# and `mask` are its arguments, even where the spec does not read them: updates
# make call() take `training`, and run only when it is true; `outputs` holds
# the returned value while the updates run).
CALL_NAMES = frozenset({"self", "keras", "states", "training", "mask", "outputs"})
# Modules a generated module must not shadow: its tests import it from a
# directory on sys.path.
SHADOWED_MODULES = frozenset(
    {"keras", "numpy", "pytest", "layergen", "tensorflow", "jax", "torch"}
    | {"conftest", "ml_dtypes", "h5py", "optree", "absl", "hypothesis"}
    # Imported by Python itself at startup from a directory on sys.path.
    | {"sitecustomize", "usercustomize"}
    # Imported while the generated tests run (pytest puts the tests' directory
    # first on sys.path): a layer module `google` was imported by TensorFlow
    # in place of google.protobuf, and the test session crashed.
    | {"google", "packaging", "typing_extensions", "six", "wrapt", "scipy"}
    | {"jaxlib", "opt_einsum", "gast", "astunparse", "flatbuffers", "grpc"}
    | {"termcolor", "tensorboard", "tensorflow_io_gcs_filesystem", "tree"}
    | {"namex", "rich", "pygments", "markdown_it", "mdurl", "pluggy", "py"}
    | {"iniconfig", "xdist", "execnet", "setuptools", "pkg_resources", "pip"}
    | {"sortedcontainers", "attr", "attrs", "exceptiongroup", "tomli", "zipp"}
    | {"importlib_metadata", "click", "jinja2", "markupsafe", "black"}
    | {"platformdirs", "pathspec", "mypy_extensions", "filelock", "fsspec"}
    | {"sympy", "mpmath", "networkx", "functorch", "torchgen", "triton"}
    | {"nvidia", "certifi", "urllib3", "requests", "idna", "charset_normalizer"}
    | {"flax", "optax", "chex", "etils", "tf_keras", "pasta", "clang", "wheel"}
    | set(sys.stdlib_module_names)
)


def one_line(text: str, limit: int = 400) -> str:
    """``text`` with line breaks and other unprintable characters escaped, so
    that a diagnostic quoting spec text stays on its line, and cut to about
    ``limit`` characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def name_problem(name: str, what: str) -> str | None:
    """Why ``name`` cannot be a Python name in generated code, or None."""
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} of {len(name)} characters; the limit is {MAX_NAME_LENGTH}"
    if keyword.iskeyword(name):
        return f"{what} `{name}` is a Python keyword"
    return None


def step_name_problem(name: str, masks: Collection[str] = ()) -> str | None:
    """Why a step may not assign ``name`` (a local of the generated ``call``,
    or one of its mask arguments ``masks``)."""
    if name in CALL_NAMES or name in masks or name.startswith("_"):
        return (
            f"a step cannot assign `{name}`: the generated code uses that name "
            "(or it starts with `_`)"
        )
    return name_problem(name, "name")


def check_step_names(stmt: ast.stmt, masks: Collection[str] = ()) -> None:
    """Raise ExpressionError if a step assigns, or loops over, a name that
    the generated ``call`` needs (``masks``: its mask arguments)."""
    names = ex.assigned_names(stmt)
    if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
        names.append(stmt.target.id)
    for name in names:
        problem = step_name_problem(name, masks)
        if problem is not None:
            raise ex.ExpressionError(problem)


def module_problem(module: str) -> str | None:
    """Why ``module`` cannot be the generated module's name, or None."""
    if module.startswith("__") and module.endswith("__"):
        return (
            f"module `{module}` is a name Python gives a meaning to (`__init__` "
            "would make the output directory a package); give another `module` "
            "name in `[layer]`"
        )
    if module in SHADOWED_MODULES:
        return (
            f"module `{module}` would shadow the `{module}` module wherever its "
            "tests import it; give another `module` name in `[layer]`"
        )
    return name_problem(module, "module name")


# keras.layers classes a spec may not create: they run code or read files
# that the spec names (a SavedModel, a Python or JAX function, a torch module).
FOREIGN_CODE_LAYERS = {
    "TFSMLayer": "loads a TensorFlow SavedModel from a file",
    "Lambda": "wraps a Python function",
    "JaxLayer": "wraps a JAX function",
    "FlaxLayer": "wraps a Flax module",
    "TorchModuleWrapper": "wraps a torch module",
}
# Arguments that read a file when given a string (a path).
PATH_ARGUMENTS = {
    "StringLookup": ("vocabulary",),
    "IntegerLookup": ("vocabulary",),
    "TextVectorization": ("vocabulary",),
}


def sublayer_problem(layer: str) -> str | None:
    """Why a spec may not create a ``keras.layers.<layer>``, or None."""
    if layer in FOREIGN_CODE_LAYERS:
        return (
            f"`{layer}` {FOREIGN_CODE_LAYERS[layer]}: a spec's sublayers may "
            "not run code or read files"
        )
    return None


def sublayer_argument_problem(
    layer: str, arg: str, node: ast.AST, list_params: set[str]
) -> str | None:
    """Why ``arg = <node>`` cannot be an argument of a ``keras.layers.<layer>``
    sublayer, or None: a name the generated code cannot pass, or a value that
    may be a file path where the layer reads a file from one."""
    if arg.startswith("_"):
        return f"`{arg}`: sublayer arguments may not start with `_`"
    if arg == "name":
        return "`name` is the sublayer's entry name: layergen passes it itself"
    problem = name_problem(arg, "argument name")
    if problem is not None:
        return problem
    if arg in PATH_ARGUMENTS.get(layer, ()):
        literal = isinstance(node, ast.List | ast.Tuple)
        if not literal and not (isinstance(node, ast.Name) and node.id in list_params):
            return (
                f"`{layer}` reads `{arg}` from a file when given a path: give a "
                "list (a list literal or a list param), never a string"
            )
    return None


def mask_clashes(spec: LayerSpec, masks: list[str]) -> Iterator[tuple[KeyPath, str]]:
    """Declared names equal to a mask argument of ``call`` (``a_mask`` for
    input ``a``)."""
    declared = {i.name: "inputs" for i in spec.inputs}
    declared.update({p.name: "params" for p in spec.params})
    declared.update({w.name: "weights" for w in spec.weights})
    declared.update({s.name: "sublayers" for s in spec.sublayers})
    declared.update({s.name: "states" for s in spec.states})
    for item, mask in zip(spec.main_inputs, masks, strict=False):
        if mask in declared:
            yield (declared[mask], mask), (
                f"`{mask}` is also the mask argument of input `{item.name}` in "
                "`call`; rename it"
            )
