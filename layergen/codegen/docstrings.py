"""The generated layer's docstrings, laid out as Keras's own layers lay
theirs out: summary, Args, Call arguments, Input shape, Output shape and an
Example built from the ``[test]`` values.

Everything here is text: spec text (the summary, a param's ``doc``, ``str``
defaults) is placed in it as text, and only :func:`literals.docstring` turns
the whole into source. Shapes are written in words (``(batch_size, ...,
units)``) by :mod:`.shape_words`, from the checked shape expressions, never
from the spec's source text."""

from __future__ import annotations

import textwrap
from typing import Any

from layergen.codegen import literals as lit
from layergen.codegen.shape_words import ELLIPSIS, AxisWords
from layergen.spec.evaluation import test_output_shape
from layergen.spec.model import Expr, LayerSpec, LayerValue, MaskMode, Param
from layergen.spec.validate.schema import mask_alias, mask_names

# Docstring lines sit 4 (class body) + 4 (section) deep: 80 more make 88.
WIDTH = 80


def summary_text(text: str, width: int = WIDTH) -> str:
    """The spec's ``doc`` as the docstring's summary: paragraphs wrapped to
    ``width`` (the text is any text: :func:`literals.docstring` quotes it)."""
    paragraphs = [
        textwrap.fill(p, width, break_long_words=False, break_on_hyphens=False)
        for p in text.strip().split("\n\n")
    ]
    return inert("\n\n".join(paragraphs))


def inert(text: str) -> str:
    """Spec text that doctest will not run: a line that would start with
    ``>>>`` (an example to doctest, and to ``pytest --doctest-modules``) gets
    a no-break space before it, which doctest's prompt does not allow."""
    return "\n".join(
        (
            line.replace(">>>", "\u00a0>>>", 1)
            if line.lstrip(" ").startswith(">>>")
            else line
        )
        for line in text.split("\n")
    )


def class_doc(spec: LayerSpec, params: list[dict[str, str]]) -> str:
    """The class docstring's text, as Keras's layers lay it out."""
    args = [f"{p['name']}: {p['doc']}" for p in params]
    if spec.uses_random:
        args.append("seed: Optional int seed for the layer's random operations.")
    args.append("**kwargs: Base layer keyword arguments, such as `name` and `dtype`.")
    axes = AxisWords(spec)
    sections = [
        summary_text(spec.doc),
        "Args:\n" + indented(args),
        "Call arguments:\n" + indented(call_doc(spec)),
        "Input shape:\n" + indented(input_doc(spec, axes)),
        "Output shape:\n" + indented([output_doc(spec, axes)]),
    ]
    example = example_doc(spec)
    if example:
        sections.append("Example:\n\n" + "\n".join(example))
    return "\n\n".join(sections)


# --- Args ---------------------------------------------------------------------


def param_doc(p: Param, expected: str | None = None) -> str:
    """An ``Args:`` entry after ``name: ``: the spec's ``doc``, then what the
    argument must be and its default, wrapped to fit the docstring.
    ``expected`` (the error message's wording, with ``repr`` quotes) is not
    used: :func:`expected_text` says the same with the docstring's quotes."""
    sentences = []
    if p.doc is not None:
        sentences.append(_sentence(p.doc))
    sentences.append(expected_text(p) + ".")
    if p.has_default:
        sentences.append(f"Defaults to `{shown(p.default)}`.")
    else:
        sentences.append("Required.")
    lines = textwrap.wrap(
        f"{p.name}: " + " ".join(sentences),
        WIDTH,
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return inert("\n".join(lines))[len(p.name) + 2 :]


def expected_text(p: Param) -> str:
    """What the argument must be, as the constructor checks it:
    ``An int >= 1``, ``A string, one of "sum" or "mean"``, ``An int, or
    `None` `` for an optional param."""
    text = _value_text(p)
    return f"{text}, or `None`" if p.optional else text


def _value_text(p: Param) -> str:
    if p.object_module:
        return f"A Keras {p.type} identifier or object"
    if p.is_layer:
        return "A Keras layer" if p.spec is None else f"A `{p.spec.name}` layer"
    kinds = {"int": "int", "float": "number", "bool": "bool", "str": "string"}
    if p.type.startswith("list["):
        return f"A list of {kinds[p.type[5:-1]]}s"
    kind = kinds[p.type]
    text = ("An " if kind[0] in "aeiou" else "A ") + kind
    limits = []
    if p.min is not None:
        limits.append(f">= {shown(p.min)}")
    if p.max is not None:
        limits.append(f"<= {shown(p.max)}")
    text += "".join(f" {limit}" for limit in limits[:1])
    text += "".join(f" and {limit}" for limit in limits[1:])
    if p.choices is not None:
        choices = [shown(c) for c in p.choices]
        if len(choices) == 1:
            text += f", {choices[0]}"
        else:
            text += f", one of {', '.join(choices[:-1])} or {choices[-1]}"
    return text


def shown(value: Any) -> str:
    """A value as a docstring shows it, in Python syntax with the double
    quotes Keras's docstrings use: ``"relu"``, ``True``, ``[64, 32]``.
    Text that is not printable is shown escaped, as ``repr`` shows it."""
    if isinstance(value, LayerValue):
        args = ", ".join(f"{k}={shown(v)}" for k, v in value.args)
        return f"{value.spec.name}({args})"
    if isinstance(value, str):
        return '"' + "".join(_string_char(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(shown(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict) and "class_name" in value:  # a Keras object
        args = ", ".join(f"{k}={shown(v)}" for k, v in value.get("config", {}).items())
        return f"{value['class_name']}({args})"
    return lit.value(value)


def _string_char(char: str) -> str:
    if char in '"\\':
        return "\\" + char
    if char.isprintable():
        return char
    return repr(char)[1:-1]


# --- Call arguments -------------------------------------------------------------


def call_doc(spec: LayerSpec) -> list[str]:
    """The arguments of ``call``, as Keras's layers describe them, in the
    order of its signature."""
    lines: dict[str, str] = {}
    for item in spec.inputs:
        what = "The input at one time step" if spec.is_cell else "Input tensor"
        if len(spec.inputs) > 1 and not spec.is_cell:
            what = f"The `{item.name}` input tensor"
        if item.optional:
            what = f"Optional `{item.name}` tensor"
        dtype = f", of dtype `{item.dtype}`" if item.dtype else ""
        text = f"{item.name}: {what}{dtype}."
        if item.doc is not None:
            text = f"{item.name}: {_sentence(item.doc)}"
            text += f" Of dtype `{item.dtype}`." if item.dtype else ""
        if item.optional:
            text += " Defaults to `None`."
        lines[item.name] = inert(wrapped(text))
    if spec.is_cell:
        states = ", ".join(f"`{s.name}`" for s in spec.states)
        lines["states"] = wrapped(
            f"states: The states from the previous time step ({states})."
        )
    if spec.training:
        text = (
            "training: Python boolean indicating whether the layer should "
            "behave in training mode or in inference mode."
        )
        if spec.updates:
            updated = ", ".join(f"`{name}`" for name in spec.updates)
            text += f" Only in training mode does it update {updated}."
        lines["training"] = wrapped(text)
    if spec.mask_mode == MaskMode.CONSUME or spec.uses_mask:
        for item, name in zip(spec.main_inputs, mask_names(spec), strict=True):
            lines[name] = wrapped(
                f"{name}: Optional boolean mask of `{item.name}`, `True` "
                "where a value is kept, as Keras passes it from an earlier "
                "layer (`Masking`, `Embedding(mask_zero=True)`). Defaults "
                "to `None`."
            )
        alias = mask_alias(spec)
        if alias is not None:
            lines[alias] = wrapped(
                f"{alias}: The same mask, as Keras passes it when the call "
                "also gets an optional tensor. Defaults to `None`."
            )
    lines.update({a.name: f"{a.name}: {param_doc(a)}" for a in spec.call_args})
    return [lines[name] for name in spec.in_call_order(list(lines))]


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def wrapped(text: str) -> str:
    return "\n".join(textwrap.wrap(text, WIDTH, subsequent_indent="    "))


# --- Input shape, Output shape --------------------------------------------------


def _shape_text(words: list[str]) -> str:
    inner = ", ".join(words)
    return f"`({inner},)`" if len(words) == 1 else f"`({inner})`"


def _tensor(words: list[str]) -> str:
    if ELLIPSIS in words:
        return "tensor"
    return f"{len(words)}D tensor"


def input_doc(spec: LayerSpec, axes: AxisWords) -> list[str]:
    lines = []
    for item in spec.inputs:
        words = axes.shape(item.name)
        if item.rank:
            what = f"{item.rank}D tensor"
        elif item.min_rank:
            what = f"tensor of rank >= {item.min_rank}"
        else:
            what = "tensor of any rank"
        dtype = f", of dtype `{item.dtype}`" if item.dtype else ""
        comma = "," if dtype or not item.rank else ""
        text = f"A {what}{dtype}{comma} with shape {_shape_text(words)}."
        if len(spec.inputs) > 1:
            text = f"{item.name}: {text}"
        lines.append(wrapped(text))
    return lines


def output_doc(spec: LayerSpec, axes: AxisWords | None = None) -> str:
    if spec.is_cell:
        return "A step's output and the list of new states."
    axes = axes or AxisWords(spec)
    if spec.outputs:
        lines = []
        for output in spec.outputs:
            text = f"{output.name}: {_shape_doc(output.shape, axes)}"
            if output.when:
                text += f" Returned only when `{output.when}` is true."
            lines.append(wrapped(text))
        return "\n".join(lines)
    if spec.output_shape is None:
        return "As computed by `call` (inferred by Keras)."
    lines = [wrapped(_shape_doc(spec.output_shape, axes))]
    for flag, shape in spec.flag_shapes.items():
        text = _shape_doc(shape, axes)
        lines.append(wrapped(f"With `{flag}=True`: {text[0].lower()}{text[1:]}"))
    return "\n".join(lines)


def _shape_doc(shape: tuple[Expr, ...], axes: AxisWords) -> str:
    words = [word for d in shape for word in axes.dim(d.node)]
    article = "An" if _tensor(words)[0] == "8" else "A"
    return f"{article} {_tensor(words)} with shape {_shape_text(words)}."


# --- Example --------------------------------------------------------------------


def example_doc(spec: LayerSpec) -> list[str]:
    """A doctest built from the ``[test]`` params and input shapes, which
    ``validate`` has checked: the layer made with them, called on ones, and
    the output shape when the spec declares one. None for a cell, a layer
    with integer or boolean inputs (ones might not be valid values), or one
    whose lines would not fit."""
    test = spec.test
    if test is None or spec.is_cell or not spec.inputs:
        return []
    if any(i.dtype and "float" not in i.dtype for i in spec.main_inputs):
        return []
    kwargs = [
        f"{p.name}={shown(test.params[p.name])}"
        for p in spec.params
        if p.name in test.params
        and (not p.has_default or test.params[p.name] != p.default)
    ]
    tensors = []
    for item in spec.main_inputs:
        dtype = f", dtype={shown(item.dtype)}" if item.dtype else ""
        tensors.append(f"keras.ops.ones({shown(test.input_shapes[item.name])}{dtype})")
    lines = _call_lines(f"layer = {spec.name}", kwargs)
    lines += _call_lines("y = layer", tensors)
    shape = test_output_shape(spec)
    if shape is not None:
        lines += [">>> tuple(y.shape)", shown(shape)]
    if any(len(line) > WIDTH + 4 for line in lines):
        return []
    return lines


def _call_lines(prefix: str, args: list[str]) -> list[str]:
    one = f">>> {prefix}({', '.join(args)})"
    if len(one) <= WIDTH + 4 or not args:
        return [one]
    return [f">>> {prefix}(", *(f"...     {a}," for a in args), "... )"]


def indented(lines: list[str]) -> str:
    return "\n".join("    " + line.replace("\n", "\n    ") for line in lines)
