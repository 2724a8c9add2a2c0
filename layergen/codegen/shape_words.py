"""Names in words for the axes of a layer's inputs and output, as Keras's
docstrings write shapes (``(batch_size, ..., units)``): rebuilt from the
checked shape expressions, never from the spec's source text. The Input
shape and Output shape sections of :mod:`layergen.codegen.docstrings` are
written with them."""

from __future__ import annotations

import ast
from typing import Any

from layergen.spec import expressions as ex
from layergen.spec.model import LayerSpec

# Where an input's rank leaves the number of axes open.
ELLIPSIS = "..."


class AxisWords:
    """Names in words for the axes of the inputs: ``batch_size`` first, the
    last ``input_dim`` (``query_dim`` for one of several inputs), the others
    ``d1``, ``d2``... (counted from the end, ``d_minus2``, for an input of no
    fixed rank). An input of no fixed rank is shown as the axes the spec
    names from its start, ``...``, and those it names from its end."""

    def __init__(self, spec: LayerSpec) -> None:
        self.spec = spec
        self.inputs = {i.name: i for i in spec.inputs}
        self.taken = {p.name for p in spec.params}
        self.head = {name: 1 for name in self.inputs}
        self.tail = {name: 1 for name in self.inputs}
        nodes = [d.node for w in spec.weights for d in w.shape]
        nodes += [d.node for s in spec.states for d in s.shape]
        nodes += [e.node for e in spec.checks.values()]
        nodes += [d.node for d in spec.output_shape or ()]
        for node in nodes:
            for name, axis in _axes_read(node, self.inputs):
                self._reach(name, axis + 1 if axis >= 0 else axis)

    def _reach(self, name: str, bound: int | None) -> None:
        if bound is None:
            return
        if bound >= 0:
            self.head[name] = max(self.head[name], bound)
        else:
            self.tail[name] = max(self.tail[name], -bound)

    def name(self, input_name: str, axis: int) -> str:
        item = self.inputs[input_name]
        if item.rank:
            axis %= item.rank
            if axis == item.rank - 1 and item.rank > 1:
                axis = -1
        if axis == 0:
            return "batch_size"
        several = len(self.inputs) > 1
        word = "dim" if axis == -1 else f"d{axis}" if axis > 0 else f"d_minus{-axis}"
        candidates = [] if several else ["input_dim" if axis == -1 else word]
        where = f"minus{-axis}" if axis < 0 else str(axis)
        candidates += [f"{input_name}_{word}", f"{input_name}_axis_{where}"]
        return next((c for c in candidates if c not in self.taken), candidates[-1])

    def shape(self, input_name: str) -> list[str]:
        """The input's whole shape in words."""
        return self.sliced(input_name, None, None)

    def sliced(
        self, input_name: str, lower: int | None, upper: int | None
    ) -> list[str]:
        """The axes ``x[lower:upper]`` in words; ``...`` where the input's
        rank leaves their number open."""
        item = self.inputs[input_name]
        if item.rank:
            return [self.name(input_name, a) for a in range(item.rank)][lower:upper]
        head = [self.name(input_name, a) for a in range(self.head[input_name])]
        tail = [self.name(input_name, -a) for a in range(self.tail[input_name], 0, -1)]
        start = 0 if lower is None else lower
        if start >= 0 and (upper is None or upper < 0):
            end = len(tail) if upper is None else len(tail) + upper
            return head[start:] + [ELLIPSIS] + tail[:end]
        if start >= 0:
            return head[start:upper]
        if upper is None or upper < 0:
            return tail[len(tail) + start : len(tail) + upper if upper else None]
        return [ELLIPSIS]

    def dim(self, node: ast.AST) -> list[str]:
        """One output shape entry in words (a ``*x[a:b]`` entry gives several)."""
        if isinstance(node, ast.Starred):
            return self.sliced(*ex.star_slice(node))
        if isinstance(node, ast.IfExp):
            # A dimension that depends on a condition (a convolution's padding)
            # is named, as Keras's docstrings do: `new_steps`, here `new_d1`.
            # Without input dims, a param one branch gives names it
            # (`vocabulary_size`, else the embedding's `input_dim`).
            read = _axes_read(node, self.inputs)
            if read:
                return [f"new_{self.name(*read[0])}"]
            named = [b.id for b in (node.body, node.orelse) if isinstance(b, ast.Name)]
            return [named[0] if named else "new_dim"]
        return [ast.unparse(_Worded(self).visit(_copy(node)))]


class _Worded(ast.NodeTransformer):
    """Input dimensions (``x[-1]``) replaced by their names in words."""

    def __init__(self, words: AxisWords) -> None:
        self.words = words

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        if isinstance(node.value, ast.Name) and node.value.id in self.words.inputs:
            axis = ast.literal_eval(node.slice)
            return ast.Name(self.words.name(node.value.id, axis), ast.Load())
        return self.generic_visit(node)


def _copy(node: ast.AST) -> ast.AST:
    return ast.parse(ast.unparse(node), mode="eval").body


def _axes_read(node: ast.AST, inputs: dict[str, Any]) -> list[tuple[str, int]]:
    """The input axes a shape entry or check reads, slice bounds included
    (``*x[1:-1]`` reads up to axis 1 from the start and -1 from the end)."""
    found = []
    for sub in ast.walk(node):
        if not (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in inputs
        ):
            continue
        if isinstance(sub.slice, ast.Slice):
            # A slice from or to `a` needs the axes before `a` named (a >= 0),
            # or the last -a (a < 0).
            for bound in (sub.slice.lower, sub.slice.upper):
                value = 0 if bound is None else ast.literal_eval(bound)
                if value:
                    found.append((sub.value.id, value - 1 if value > 0 else value))
        else:
            try:
                axis = ast.literal_eval(sub.slice)
            except ValueError:
                continue
            if isinstance(axis, int) and not isinstance(axis, bool):
                found.append((sub.value.id, axis))
    return found
