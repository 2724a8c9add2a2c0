"""``layergen explain --format mermaid``: the dataflow of a spec as a Mermaid
flowchart (inputs, weights, sublayers, each statement of ``call``, output).

Spec text is untrusted, and Mermaid renders labels as HTML: node ids are
layergen's own (``i0``, ``w1``, ``s2``...), and every label is quoted with
each character outside a small safe set written as a Mermaid entity code
(``#34;`` for ``"``), so a label can neither end its string nor carry markup.
"""

from __future__ import annotations

import string

from layergen.explain.model import Explanation, StepInfo, Value

_SAFE = frozenset(string.ascii_letters + string.digits + " _.,:()[]=+-*/")
_SHAPES = {  # node kind -> (opening, closing) of its Mermaid shape
    "input": ('[/"', '"/]'),
    "weight": ('[("', '")]'),
    "sublayer": ('[["', '"]]'),
    "step": ('["', '"]'),
    "output": ('(["', '"])'),
    "mask": ('{{"', '"}}'),
    "update": ('["', '"]'),
    "state": ('(["', '"])'),
}


def escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: entity codes for the rest."""
    return "".join(ch if ch in _SAFE else f"#{ord(ch)};" for ch in text)


def _node(node_id: str, kind: str, *lines: str) -> str:
    opening, closing = _SHAPES[kind]
    label = "<br/>".join(escape(line) for line in lines)
    return f"    {node_id}{opening}{label}{closing}"


def _shape(value: Value | None) -> str:
    return "-" if value is None else str(value)


def render(result: Explanation) -> str:
    """The flowchart, for a ```` ```mermaid ```` block."""
    lines = ["flowchart TD"]
    edges: list[str] = []
    source: dict[str, str] = {}  # name -> the node that last bound it
    for n, named in enumerate(result.inputs):
        source[named.name] = f"i{n}"
        lines.append(_node(f"i{n}", "input", named.name, _shape(named.values[0])))
    for n, weight in enumerate(result.weights):
        if weight.value is not None:
            source[weight.name] = f"w{n}"
            lines.append(_node(f"w{n}", "weight", weight.name, str(weight.value)))
    for n, sub in enumerate(result.sublayers):
        source[sub.name] = f"l{n}"
        kind = sub.layer if sub.count is None else f"{sub.count} x {sub.layer}"
        lines.append(_node(f"l{n}", "sublayer", f"{sub.name}: {kind}"))
    failed = {e.place.key for e in result.errors if e.code and e.trace == "test"}
    for n, step in enumerate(result.steps):
        node_id = f"s{n}"
        lines.append(_node(node_id, step.kind, *_step_lines(step)))
        if step.place.key in failed:
            lines[-1] += ":::fails"
        scope = dict(source)
        if step.kind == "mask" and "mask" not in scope and result.inputs:
            scope["mask"] = "i0"  # the first input's mask
        for name in step.reads:
            if name in scope:
                edges.append(f"    {scope[name]} --> {node_id}")
        if step.kind == "update":
            target = source.get(step.binds[0].name)
            if target:
                edges.append(f"    {node_id} -.-> {target}")
        elif step.kind == "step":
            for named in step.binds:
                source[named.name] = node_id
    lines += edges
    if failed:
        lines.append("    classDef fails stroke:#c00,stroke-width:3px")
    return "\n".join(lines) + "\n"


def _step_lines(step: StepInfo) -> list[str]:
    prefix = {"output": "return ", "update": "assign ", "mask": "mask: "}
    lines = [prefix.get(step.kind, "") + step.code]
    lines += [f"{named.name}: {_shape(named.values[0])}" for named in step.binds]
    return lines
