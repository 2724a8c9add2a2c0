"""``[call] signature``: the order of call()'s arguments, where optional
inputs and ``[call.args]`` interleave (keras-hub's ``call(inputs,
start_index=0, positions=None)``). Read once ``[call]`` and ``[updates]`` say
whether call() takes ``training`` and masks."""

from __future__ import annotations

from typing import Any

from layergen.spec.model import LayerSpec, MaskMode
from layergen.spec.validate.reporting import Report, kind
from layergen.spec.validate.schema import KeyPath, mask_names

PATH: KeyPath = ("call", "signature")


def call_argument_names(spec: LayerSpec) -> list[str]:
    """call()'s arguments in the default order: the inputs, the optional
    inputs, ``training``, the masks, then the ``[call.args]``."""
    names = [i.name for i in spec.inputs]
    if spec.training:
        names.append("training")
    if spec.mask_mode == MaskMode.CONSUME or spec.uses_mask:
        names += mask_names(spec)
    return names + [a.name for a in spec.call_args]


def validate_signature(
    report: Report, spec: LayerSpec, table: dict[str, Any]
) -> tuple[str, ...]:
    """The names ``signature`` lists, each an argument of call(), every input
    and call argument among them, the required inputs first."""
    if "signature" not in table:
        return ()
    raw = table["signature"]
    if spec.is_cell:
        report.error(PATH, "a cell's call() takes its input and states, in order")
        return ()
    if not isinstance(raw, list):
        report.error(
            PATH, f"expected an array of call()'s argument names, found {kind(raw)}"
        )
        return ()
    known = call_argument_names(spec)
    ok = True
    for index, name in enumerate(raw):
        if not isinstance(name, str):
            report.error((*PATH, index), f"expected a name, found {kind(name)}")
            ok = False
        elif name not in known:
            report.error(
                (*PATH, index),
                f"`{name}` is not an argument of call(){report.hint(name, known)} "
                "(expected an input, a `[call.args]` entry, `training` or a mask)",
            )
            ok = False
        elif name in raw[:index]:
            report.error((*PATH, index), f"`{name}` is listed twice")
            ok = False
    missing = [
        n
        for n in [*(i.name for i in spec.inputs), *(a.name for a in spec.call_args)]
        if n not in raw
    ]
    if ok and missing:
        report.error(
            PATH,
            "missing " + ", ".join(f"`{n}`" for n in missing) + ": the signature "
            "lists every input and `[call.args]` entry",
        )
        ok = False
    main = [i.name for i in spec.main_inputs]
    if ok and list(raw[: len(main)]) != main:
        report.error(
            PATH,
            "the required inputs come first, in `[inputs]` order ("
            + ", ".join(f"`{n}`" for n in main)
            + "): Keras passes them by position",
        )
        ok = False
    return tuple(raw) if ok else ()
