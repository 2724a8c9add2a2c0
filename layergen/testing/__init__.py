"""Checks for Keras layers, used by the tests layergen generates and usable on
hand-written layers: ``check_layer(MyLayer, {"units": 4}, {"x": (2, 3)})``.

Each ``check_*`` function tests one property of a layer described by a
:class:`LayerCase` and raises ``AssertionError`` saying what is wrong, or
``pytest.skip`` where the property cannot be checked here (no GPU, a backend
without XLA). Only public Keras API is used, so the checks run on the
TensorFlow, JAX and PyTorch backends; the few backend-specific steps (input
gradients, devices, tf.distribute) are marked as such.

The checks live in ``layergen.testing.checks`` by family (shapes,
serialization, training, masks, precision, distribution, devices, source);
this module is their public face.
"""

from layergen.testing.case import (
    BuiltModel,
    LayerCase,
    NewLayer,
    build_model,
    load_layer,
)
from layergen.testing.checks.backends import check_same_numbers_across_backends
from layergen.testing.checks.devices import check_runs_on_gpu
from layergen.testing.checks.distribution import check_distribution
from layergen.testing.checks.gradients import check_input_gradient
from layergen.testing.checks.masks import check_mask
from layergen.testing.checks.precision import (
    check_computes_in_float32,
    check_mixed_precision,
    check_xla_matches_eager,
)
from layergen.testing.checks.properties import check_property
from layergen.testing.checks.randomness import (
    check_inference_leaves_state_alone,
    check_training_is_unbiased,
)
from layergen.testing.checks.reference import (
    check_losses,
    check_reference,
    sublayer_weights,
)
from layergen.testing.checks.serialization import (
    check_config_round_trip,
    check_save_and_load,
)
from layergen.testing.checks.shapes import (
    check_batch_polymorphism,
    check_build_and_weights,
    check_output_shapes,
)
from layergen.testing.checks.source import check_backend_neutral_source
from layergen.testing.checks.training import (
    check_fit_step,
    check_inference_is_deterministic,
    check_no_trainable_weights,
    check_training_changes_output,
    check_updates_only_in_training,
)
from layergen.testing.checks.weights import check_initial_weights_differ
from layergen.testing.devices import (
    configure_logical_cpus,
    configure_logical_devices,
    device_description,
    is_gpu_device,
    no_gpu_reason,
    tensor_device,
    visible_gpus,
)
from layergen.testing.inputs import (
    apply_mask,
    random_inputs,
    random_mask,
    reset_keras_state,
    to_numpy,
)
from layergen.testing.suite import applicable_checks, check_layer, layer_checks
from layergen.testing.tolerances import (
    GPU_TOLERANCE,
    MIXED_PRECISION_POLICIES,
    TOLERANCE,
    XLA_TOLERANCE,
)

__all__ = [
    "BuiltModel",
    "GPU_TOLERANCE",
    "LayerCase",
    "NewLayer",
    "MIXED_PRECISION_POLICIES",
    "TOLERANCE",
    "XLA_TOLERANCE",
    "applicable_checks",
    "apply_mask",
    "build_model",
    "check_backend_neutral_source",
    "check_batch_polymorphism",
    "check_build_and_weights",
    "check_config_round_trip",
    "check_distribution",
    "check_fit_step",
    "check_inference_is_deterministic",
    "check_inference_leaves_state_alone",
    "check_initial_weights_differ",
    "check_input_gradient",
    "check_layer",
    "check_mask",
    "check_computes_in_float32",
    "check_mixed_precision",
    "check_no_trainable_weights",
    "check_output_shapes",
    "check_property",
    "check_losses",
    "check_reference",
    "check_runs_on_gpu",
    "check_same_numbers_across_backends",
    "check_save_and_load",
    "check_training_changes_output",
    "check_training_is_unbiased",
    "check_updates_only_in_training",
    "check_xla_matches_eager",
    "configure_logical_cpus",
    "configure_logical_devices",
    "device_description",
    "is_gpu_device",
    "layer_checks",
    "load_layer",
    "no_gpu_reason",
    "random_inputs",
    "random_mask",
    "reset_keras_state",
    "sublayer_weights",
    "tensor_device",
    "to_numpy",
    "visible_gpus",
]
