"""A param holding a layer (issue 13 item 10, keras-hub's MaskedLMHead):
``type = "layer"`` with ``spec`` naming its class; expressions call it and
read its params; the generated layer checks its class, tracks its weights,
serializes it in ``get_config`` and deserializes it in ``from_config``; the
generated tests make a fresh one from its ``[test]`` arguments."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from layergen.codegen.generate import load_specs
from layergen.errors import SpecError

EMBEDDING = """
[layer]
name = "Table"
package = "layer_params"
doc = "A lookup table with a reverse projection."
[params]
input_dim = { type = "int", min = 1 }
output_dim = { type = "int", min = 1 }
scale = { type = "float", default = 1.0 }
[inputs]
inputs = { min_rank = 1, dtype = "int32" }
[call.args]
reverse = { type = "bool", default = false }
[weights.embeddings]
shape = ["input_dim", "output_dim"]
[call]
expr = "ops.take(embeddings, inputs, axis=0) if not reverse else ops.matmul(inputs, ops.transpose(embeddings)) * scale"
[test]
params = { input_dim = 10, output_dim = 4 }
input_shapes = { inputs = [2, 5] }
call_args = { reverse = false }
reference = "embeddings[inputs]"
"""

HEAD = """
[layer]
name = "Head"
package = "layer_params"
doc = "Logits over a vocabulary, tied to a table when one is given."
[params]
vocabulary_size = { type = "int", optional = true, min = 1 }
table = { type = "layer", spec = "table.toml", optional = true }
[checks]
either = "vocabulary_size is not None or table is not None"
same = "vocabulary_size is None or table is None or vocabulary_size == table.input_dim"
[inputs]
x = { rank = 3 }
[weights.kernel]
shape = ["x[-1]", "vocabulary_size"]
if = "table is None"
[weights.bias]
shape = ["BIAS"]
[call]
expr = "(ops.matmul(x, kernel) if table is None else table(x, reverse=True)) + bias"
[output]
shape = ["*x[:-1]", "vocabulary_size if table is None else table.input_dim"]
[test]
params = TEST
input_shapes = { x = [2, 3, 4] }
"""

TIED = "{ table = { input_dim = 10, output_dim = 4 } }"


def head(
    bias: str = "vocabulary_size if table is None else table.input_dim",
    test: str = TIED,
) -> str:
    return HEAD.replace("BIAS", bias).replace("TEST", test)


def errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_specs([path])
    return [f"{d.key}: {d.message}" for d in caught.value.diagnostics]


def test_a_layer_param_reads_its_specs_params(write_spec) -> None:
    write_spec(EMBEDDING, "table.toml")
    specs = load_specs([write_spec(head(), "head.toml")])
    table = specs[0].param("table")
    assert table is not None and table.spec is specs[1]
    assert specs[0].test is not None
    assert repr(specs[0].test.params["table"]) == "Table(input_dim=10, output_dim=4)"


def test_attributes_are_the_specs_params(write_spec) -> None:
    write_spec(EMBEDDING, "table.toml")
    spec = write_spec(head(bias="table.input_dimm if table is not None else 3"))
    assert errors(spec) == [
        "weights.bias.shape[0]: `table.input_dimm`: `input_dimm` is not a "
        "required int param of the layer's spec (those are: `input_dim`, "
        "`output_dim`) (in `table.input_dimm if table is not None else 3`)"
    ]
    misspelled = head().replace("table(x, reverse=True)", "x * table.scal")
    assert errors(write_spec(misspelled)) == [
        "call.expr: `table.scal`: `Table` has no param `scal` - did you mean "
        "`scale`? (its params: `input_dim`, `output_dim`, `scale`) (in "
        "`(ops.matmul(x, kernel) if table is None else x * table.scal) + bias`)"
    ]


def test_calls_take_the_specs_call_arguments(write_spec) -> None:
    write_spec(EMBEDDING, "table.toml")
    misspelled = head().replace("reverse=True", "revers=True")
    assert errors(write_spec(misspelled)) == [
        "call.expr: `Table` takes no call argument `revers` - did you mean "
        "`reverse`? (it takes `inputs`, `reverse`) (in `(ops.matmul(x, kernel) "
        "if table is None else table(x, revers=True)) + bias`)"
    ]


def test_a_dimension_of_an_optional_layer_needs_a_condition(write_spec) -> None:
    write_spec(EMBEDDING, "table.toml")
    assert errors(write_spec(head(bias="table.input_dim"))) == [
        "weights.bias.shape[0]: `table` may be None: read `table.input_dim` "
        "where a condition rules it out, like `table.input_dim if table is not "
        "None else ...` (in `table.input_dim`)"
    ]
    # Without the check `either`, `vocabulary_size` may be None where
    # `table` is: the weight's `if` alone does not rule it out.
    unchecked = head().replace('either = "', 'unrelated = "True or ')
    found = errors(write_spec(unchecked))
    assert found[0].startswith("weights.kernel.shape[1]: `vocabulary_size` may be None")


def test_the_test_value_is_a_table_of_the_specs_arguments(write_spec) -> None:
    write_spec(EMBEDDING, "table.toml")
    bad = "{ table = { input_dim = 10, output_dimm = 4 } }"
    assert errors(write_spec(head(test=bad))) == [
        "test.params.table.output_dimm: `Table` has no param `output_dimm` - "
        "did you mean `output_dim`?",
        "test.params.table: `Table` requires `output_dim` (no default)",
    ]
    assert errors(write_spec(head(test="{ table = 3 }"))) == [
        "test.params.table: expected a table of `Table`'s arguments, like "
        "`{ input_dim = ..., output_dim = ... }`, found an integer",
    ]


def _import(directory: Path, module: str, name: str) -> type:
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    spec = importlib.util.spec_from_file_location(module, directory / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def test_the_generated_layer_holds_tracks_and_serializes_the_layer(
    write_spec, cli, tmp_path: Path
) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from layergen import testing

    write_spec(EMBEDDING, "table.toml")
    out = tmp_path / "out"
    made = cli("new", str(write_spec(head(), "head.toml")), "-o", str(out), "--no-test")
    assert made.exit_code == 0, made.output
    source = (out / "head.py").read_text()
    assert "from table import Table" in source
    assert "not isinstance(table, Table)" in source
    assert '"table": keras.layers.serialize(self.table),' in source
    assert 'config["table"] = keras.layers.deserialize(config["table"])' in source
    Head = _import(out, "head", "Head")
    Table = sys.modules["table"].Table

    table = Table(10, 4, name="table")
    layer = Head(table=table)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    y = layer(x)
    assert tuple(y.shape) == (2, 3, 10)
    # Weight tying: the table's matrix is one of the head's weights.
    assert any(w is table.embeddings for w in layer.weights)
    assert not hasattr(layer, "kernel") or layer.kernel is None

    config = layer.get_config()
    assert config["table"]["registered_name"] == "layer_params>Table"
    revived = Head.from_config(config)
    assert isinstance(revived.table, Table) and revived.table is not table
    assert Head.from_config(Head(vocabulary_size=5).get_config()).table is None

    with pytest.raises(ValueError, match="Expected `table` to be a `Table` layer"):
        Head(table=keras.layers.Dense(3))
    with pytest.raises(ValueError, match="check `either`"):
        Head()
    # The error shows the attribute a failed check read (`table` is not None).
    with pytest.raises(ValueError, match=r"vocabulary_size=5, table.input_dim=10"):
        Head(vocabulary_size=5, table=Table(10, 4))

    model = keras.Sequential([keras.Input((3, 4)), layer])
    path = tmp_path / "head.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded(x), model(x), rtol=1e-6, atol=1e-6)

    # The generated tests make a fresh table for each layer they build.
    new = testing.NewLayer("layer_params>Table", {"input_dim": 10, "output_dim": 4})
    case = testing.LayerCase(Head, {"table": new}, {"x": (2, 3, 4)})
    first, second = case.make_layer(), case.make_layer(dtype="float64")
    assert first.table is not second.table
    assert second.table.dtype_policy.name == "float64"


def test_explain_makes_the_layer_it_is_given(write_spec, cli) -> None:
    pytest.importorskip("keras")
    write_spec(EMBEDDING, "table.toml")
    explained = cli("explain", str(write_spec(head(), "head.toml")))
    assert explained.exit_code == 0, explained.output
    assert "table='Table(input_dim=10, output_dim=4)'" in explained.output
    assert "kernel  not created" in explained.output
