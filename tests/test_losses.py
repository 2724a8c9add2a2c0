"""``[call] losses``: scalars call() adds with ``self.add_loss`` (a VQ-VAE's
commitment loss, an activity penalty), checked like steps, and the generated
``test_adds_its_losses`` that holds them to ``[test] losses`` (numpy) or to
being finite scalars."""

from __future__ import annotations

import pytest

from layergen.codegen.render import render_layer, render_test
from layergen.codegen.test_view import LayerImport
from layergen.spec.validate import load_spec

from .test_spec_features import errors_of, load_layer

PENALIZED = """
[layer]
name = "Penalized"

[params]
rate = {{ type = "float", default = 0.5 }}

[inputs]
x = {{ min_rank = 2 }}

[call]
steps = ["h = ops.relu(x)"]
expr = "h"
losses = [{losses}]

[output]
shape = ["*x[:]"]

[test]
reference = "np.maximum(x, 0)"
{test}
"""
PENALTY = '"rate * ops.mean(ops.square(h))"'


def penalized(losses: str = PENALTY, test: str = "") -> str:
    return PENALIZED.format(losses=losses, test=test)


def test_each_loss_is_added_in_call_after_the_steps(write_spec) -> None:
    source = render_layer(load_spec(write_spec(penalized())))
    call = source[source.index("def call") :]
    assert call.index("h = ops.relu(x)") < call.index("self.add_loss(")
    assert "self.add_loss(self.rate * ops.mean(ops.square(h)))" in call
    assert call.index("self.add_loss(") < call.index("return h")


def test_a_loss_reads_the_names_of_call(write_spec) -> None:
    text = penalized('"rate * ops.mean(ops.square(g))"')
    assert "call.losses[0]: unknown name `g`" in errors_of(write_spec, text)


def test_loss_references_come_one_per_loss(write_spec) -> None:
    text = penalized(test='losses = ["1.0", "2.0"]')
    assert errors_of(write_spec, text).endswith(
        "test.losses: 2 loss references for the 1 `[call] losses`: give one "
        "per loss, in order"
    )


def test_a_wrong_loss_gets_no_knock_on_error_in_test(write_spec) -> None:
    text = penalized('"rate * ops.mean(ops.square(g))"', 'losses = ["0.0"]')
    assert "test.losses" not in errors_of(write_spec, text)


def test_the_generated_test_compares_with_numpy_or_checks_finite(
    write_spec,
) -> None:
    finite = rendered_tests(load_spec(write_spec(penalized())))
    assert "testing.check_losses(built, [None])" in finite
    text = penalized(test='losses = ["rate * np.mean(np.maximum(x, 0) ** 2)"]')
    compared = rendered_tests(load_spec(write_spec(text)))
    test = compared[compared.index("def test_adds_its_losses") :]
    assert 'rate = CASE.init_kwargs["rate"]' in test
    assert "check_losses(built, [rate * np.mean(np.maximum(x, 0) ** 2)])" in test


def rendered_tests(spec) -> str:
    return render_test(spec, LayerImport(file="penalized.py"))


def test_check_losses_holds_a_layer_to_its_losses(tmp_path, write_spec) -> None:
    from layergen import testing

    layer_class = load_layer(tmp_path, write_spec, penalized())
    case = testing.LayerCase(layer_class, {"rate": 0.5}, {"x": (2, 3)})
    built = testing.build_model(case)
    x = built.inputs[0]
    penalty = 0.5 * (x.clip(0) ** 2).mean()
    testing.check_losses(built, [penalty])
    testing.check_losses(built, [None])
    with pytest.raises(AssertionError, match="vs the numpy reference"):
        testing.check_losses(built, [penalty + 0.1])
    with pytest.raises(AssertionError, match="added 1 losses in an inference call"):
        testing.check_losses(built, [None, None])


def _penalty_layer(mode: str) -> type:
    """A layer adding ``mean(relu(x) ** 2)``: correctly (``mode`` "right"),
    only at inference ("inference_only"), or on its dropped-out input in
    training ("dropout_before")."""
    import keras

    class Penalty(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1)

        def call(self, x, training=None):
            h = keras.ops.relu(x)
            if training and mode == "dropout_before":
                h = keras.random.dropout(h, 0.5, seed=self.seed_generator)
            if not (training and mode == "inference_only"):
                self.add_loss(keras.ops.mean(keras.ops.square(h)))
            return keras.ops.relu(x)

    return Penalty


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("right", None),
        ("inference_only", "the layer added 0 losses in a training call"),
        ("dropout_before", "loss 0 in a training call vs the numpy reference"),
    ],
)
def test_check_losses_holds_the_losses_of_a_training_call(mode, message) -> None:
    from layergen import testing

    case = testing.LayerCase(
        _penalty_layer(mode), {}, {"x": (2, 3)}, uses_training=True
    )
    built = testing.build_model(case)
    seeds = [testing.to_numpy(v) for v in built.model.variables]
    penalty = (built.inputs[0].clip(0) ** 2).mean()
    if message is None:
        testing.check_losses(built, [penalty])
    else:
        with pytest.raises(AssertionError, match=message):
            testing.check_losses(built, [penalty])
    if mode == "dropout_before":
        # A loss the spec says training may change: finite only in training.
        testing.check_losses(built, [penalty], training_changes=[True])
    # The training call's seed draw is undone: other checks share `built`.
    after = [testing.to_numpy(v) for v in built.model.variables]
    assert all((a == b).all() for a, b in zip(seeds, after, strict=True))


def test_losses_after_training_dependent_steps_are_marked(write_spec) -> None:
    from layergen.codegen.training_losses import training_changes_losses

    text = penalized(
        '"rate * ops.mean(ops.square(h))", "ops.mean(d)", "ops.mean(x)"'
    ).replace(
        'steps = ["h = ops.relu(x)"]',
        'training = true\nsteps = ["h = ops.relu(x)", '
        '"d = random.dropout(h, rate) if training else h"]',
    )
    spec = load_spec(write_spec(text))
    assert training_changes_losses(spec) == [False, True, False]
    tests = rendered_tests(spec)
    assert "training_changes=[False, True, False]" in tests
    assert "training_changes" not in rendered_tests(load_spec(write_spec(penalized())))
