"""guards.GENERATED_NAMES is complete: every name the templates emit, in the
layer module and its test module, is reserved (so no spec name can shadow it),
a harmless local, or a name the spec itself declared."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from layergen.codegen.generate import generate
from layergen.codegen.render import shape_var
from layergen.spec import catalog
from layergen.spec import expressions as ex
from layergen.spec.guards import GENERATED_NAMES, LOCAL_NAMES
from layergen.spec.model import LayerSpec
from layergen.spec.validate import mask_names

from .conftest import EXAMPLE_SPECS

# Branches the examples do not take: several inputs with consumed masks, a
# seeded random call, list and str params, checks, a conditional weight, an
# updates block, a reference and a property.
EVERY_BRANCH = """
[layer]
name = "Everything"
doc = "Takes the branches the examples do not."

[params]
units = { type = "int", default = 4, min = 1 }
sizes = { type = "list[int]", default = [2, 3] }
mode = { type = "str", default = "a", choices = ["a", "b"] }
use_bias = { type = "bool", default = true }
rate = { type = "float", default = 0.5, min = 0.0, max = 1.0 }

[checks]
even = "units % 2 == 0"

[inputs]
query = { rank = 3 }
value = { rank = 3 }

[weights.kernel]
shape = ["value[-1]", "units"]

[weights.bias]
shape = ["units"]
initializer = "zeros"
if = "use_bias"

[weights.moving]
shape = ["units"]
initializer = "zeros"
trainable = false

[sublayers.blocks]
layer = "Dense"
for_each = "sizes"
args = { units = "item" }

[call]
training = true
steps = [
  "h = ops.matmul(value, kernel)",
  "noise = random.uniform(ops.shape(h), dtype=h.dtype)",
  "h = h + bias if use_bias else h",
  "h = h * ops.cast(ops.expand_dims(query_mask, -1), h.dtype) if query_mask is not None else h",
]
expr = "h + noise * rate"

[updates]
moving = "0.9 * moving + 0.1 * ops.mean(h, axis=[0, 1])"

[mask]
mode = "consume"

[output]
shape = ["*query[:-1]", "units"]

[test]
params = { units = 4 }
input_shapes = { query = [2, 3, 5], value = [2, 3, 6] }
reference = "np.maximum(value @ kernel, -1e9)"
training_changes_output = true

[test.properties]
finite = "np.all(np.isfinite(output)) and units > 0"
"""


# What validation refuses as a spec name: Keras Layer attributes (the
# generated methods among them) and the names layergen generates.
RESERVED = GENERATED_NAMES | catalog.names("layer_attributes")


def _emitted_names(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("test_"):
            names.add(node.name)
    return names


def _spec_names(spec: LayerSpec) -> set[str]:
    names = {spec.name, *mask_names(spec)}
    names |= {shape_var(spec, i.name) for i in spec.inputs}
    names |= {p.name for p in spec.params} | {i.name for i in spec.inputs}
    names |= {w.name for w in spec.weights} | {s.name for s in spec.sublayers}
    names |= {s.name for s in spec.states}
    # The classes of other specs' layers, and the modules of imported ones.
    names |= {s.constructor.split(".")[0] for s in spec.sublayers}
    names |= {s.spec.module for s in spec.sublayers if s.spec is not None}
    names |= {a.name for a in spec.call_args}
    names |= {f"{o.name}_shape" for o in spec.outputs}
    for step in spec.steps:
        names |= ex.names_in(step.node)
    # build() and compute_output_shape() hold the shapes of inputs, locals and
    # sublayer outputs in <name>_shape (codegen.sublayer_shapes picks names
    # that clash with nothing).
    names |= {f"{n}_shape" for n in names} | {f"{n}_input_shape" for n in names}
    return names


@pytest.mark.parametrize(
    "spec_path", [*EXAMPLE_SPECS, None], ids=lambda p: p.stem if p else "every"
)
def test_every_emitted_name_is_reserved_local_or_the_specs(
    tmp_path: Path, spec_path: Path | None
) -> None:
    if spec_path is None:
        spec_path = tmp_path / "everything.toml"
        spec_path.write_text(EVERY_BRANCH)
    # A composed layer's run also generates the layers it uses: its own first.
    layer = generate([spec_path], tmp_path / "out")[0]
    emitted = _emitted_names(layer.layer_file.content)
    emitted |= _emitted_names(layer.test_file.content)
    unexplained = emitted - RESERVED - LOCAL_NAMES - _spec_names(layer.spec)
    unexplained = {n for n in unexplained if not n.startswith("_")}  # no spec name
    assert not unexplained, (
        f"names the templates emit but validation does not reserve: {unexplained}; "
        "add them to guards.GENERATED_NAMES (or LOCAL_NAMES if no spec name "
        "can clash with them)"
    )


def test_the_check_sees_a_name_missing_from_the_reserved_set(
    tmp_path: Path, monkeypatch
) -> None:
    spec_path = tmp_path / "everything.toml"
    spec_path.write_text(EVERY_BRANCH)
    (layer,) = generate([spec_path], tmp_path / "out")
    emitted = _emitted_names(layer.layer_file.content)
    reserved = RESERVED - {"isinstance"}
    assert "isinstance" in emitted - reserved - LOCAL_NAMES - _spec_names(layer.spec)


@pytest.mark.parametrize(
    ("condition", "present"),
    [("max(units, 1) > 2", True), ("min(units, 1) > 2", False), ("~flag == -1", True)],
)
def test_conditions_with_builtins_generate_and_decide_the_weights(
    tmp_path: Path, condition: str, present: bool
) -> None:
    # `validate` said ok and `new` ended in "internal error" on these.
    spec_path = tmp_path / "cond.toml"
    spec_path.write_text(
        '[layer]\nname = "Cond"\n[params]\nunits = { type = "int", default = 3 }\n'
        'flag = { type = "bool", default = false }\n[inputs]\nx = { min_rank = 2 }\n'
        f'[weights.k]\nshape = ["units"]\nif = "{condition}"\n'
        '[call]\nexpr = "x if k is None else x + ops.sum(k)"\n'
    )
    (layer,) = generate([spec_path], tmp_path / "out")
    test_code = layer.test_file.content
    assert ("absent_weights=['k']" in test_code.replace('"', "'")) != present
