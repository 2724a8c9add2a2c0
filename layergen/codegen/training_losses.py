"""Which ``[call] losses`` a training call may change: those that read,
through the steps, ``training``, a ``random`` draw or a sublayer that may act
differently in training (a Dropout, a BatchNormalization, a layer of another
spec that takes ``training``). The others must be the same in training as at
inference, and the generated test holds them to their numpy values in both."""

from __future__ import annotations

from layergen.codegen.layer_kinds import SAME_IN_TRAINING, SAME_IN_TRAINING_PARTS
from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec, Sublayer


def training_changes_losses(spec: LayerSpec) -> list[bool]:
    """For each ``[call]`` loss, whether a training call may give another
    value than an inference call on the same inputs and weights."""
    changing = {"training", "random"}
    changing |= {s.name for s in spec.sublayers if _may_change(s)}
    for step in spec.steps:
        if ex.names_in(step.node) & changing:
            changing.update(ex.assigned_names(step.node))
    return [bool(ex.names_in(loss.node) & changing) for loss in spec.losses]


def _may_change(sub: Sublayer) -> bool:
    """Whether a sublayer's call may depend on ``training``."""
    if sub.spec is not None:
        return (
            sub.spec.training
            or sub.spec.uses_random
            or any(_may_change(s) for s in sub.spec.sublayers)
        )
    if sub.module is not None:
        return True
    return sub.layer not in SAME_IN_TRAINING and not any(
        part in sub.layer for part in SAME_IN_TRAINING_PARTS
    )
