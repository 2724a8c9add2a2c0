"""The generated layer's docstrings, laid out as Keras's own layers lay
theirs out: summary, Args, Input shape, Output shape."""

from __future__ import annotations

import ast
import textwrap

from layergen.codegen import literals as lit
from layergen.spec.model import LayerSpec, Param


def summary_text(text: str, width: int = 80) -> str:
    """The spec's ``doc`` as the docstring's summary: paragraphs wrapped to
    ``width`` (the text is any text: :func:`literals.docstring` quotes it)."""
    paragraphs = [
        textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
        for p in text.strip().split("\n\n")
    ]
    return "\n\n".join(paragraphs)


def class_doc(spec: LayerSpec, params: list[dict[str, str]]) -> str:
    """The class docstring's text, as Keras's layers lay it out."""
    args = [f"{p['name']}: {p['doc']}" for p in params]
    if spec.uses_random:
        args.append("seed: Optional int seed for the layer's random operations.")
    args.append("**kwargs: Base layer keyword arguments, such as `name` and `dtype`.")
    sections = [
        summary_text(spec.doc),
        "Args:\n" + indented(args),
        "Input shape:\n" + indented(input_doc(spec)),
        "Output shape:\n" + indented([output_doc(spec)]),
    ]
    return "\n\n".join(sections)


def input_doc(spec: LayerSpec) -> list[str]:
    lines = []
    for item in spec.inputs:
        rank = (
            f"rank {item.rank}"
            if item.rank
            else f"rank >= {item.min_rank}" if item.min_rank else "any rank"
        )
        dtype = f", dtype {item.dtype}" if item.dtype else ""
        lines.append(f"`{item.name}`: tensor of {rank}{dtype}.")
    return lines


def output_doc(spec: LayerSpec) -> str:
    if spec.is_cell:
        return "A step's output and the list of new states."
    if spec.output_shape is None:
        return "As computed by `call` (inferred by Keras)."
    dims = [ast.unparse(d.node) for d in spec.output_shape]
    return f"({', '.join(dims)})."


def param_doc(p: Param, expected: str) -> str:
    default = (
        f" Defaults to `{lit.value(p.default)}`." if p.has_default else " Required."
    )
    text = f"{expected[0].upper()}{expected[1:]}.{default}"
    return "\n    ".join(textwrap.wrap(text, max(78 - len(p.name), 40)))


def indented(lines: list[str]) -> str:
    return "\n".join("    " + line.replace("\n", "\n    ") for line in lines)
