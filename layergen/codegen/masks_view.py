"""What ``compute_mask`` returns: the output's mask (``[mask] expr``), or
with several outputs a list aligned with them, as Keras pairs a list of
masks with a layer's outputs (None where an output carries none)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from layergen.codegen.literals import Code
from layergen.spec import expressions as ex
from layergen.spec.model import Expr, LayerSpec, MaskMode


def mask_needs_previous(spec: LayerSpec) -> bool:
    """Whether compute_mask returns None when no mask came in: every mask it
    computes reads the incoming one."""
    exprs = [o.mask for o in spec.outputs] or [spec.mask_expr]
    given = [e for e in exprs if e is not None]
    return bool(given) and all("mask" in ex.names_in(e.node) for e in given)


def mask_code(spec: LayerSpec, code: Callable[[Expr | ast.AST], Code]) -> Code | str:
    """What compute_mask returns (``code`` writes a checked expression): with
    several outputs, ``[mask, None]`` for "propagate" (the first output keeps
    the input's mask), each output's ``mask`` for "compute" (one that reads
    an absent incoming mask is None)."""
    if not spec.outputs:
        return code(spec.mask_expr) if spec.mask_expr else ""
    if spec.mask_mode == MaskMode.PROPAGATE:
        return Code(f"[{', '.join(['mask'] + ['None'] * (len(spec.outputs) - 1))}]")
    guard = not mask_needs_previous(spec)
    masks = []
    for output in spec.outputs:
        if output.mask is None:
            masks.append("None")
            continue
        mask = code(output.mask)
        if guard and "mask" in ex.names_in(output.mask.node):
            mask = f"None if mask is None else {mask}"
        masks.append(mask)
    return Code(f"[{', '.join(masks)}]")
