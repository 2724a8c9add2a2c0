"""``layergen explain`` as a table: weights and sublayers, then inputs and
every statement of ``call`` with what it binds, for the ``[test]`` shapes and
with unknown dimensions."""

from __future__ import annotations

from layergen.explain.model import Explanation, Named, StepInfo, Value

_SECTIONS = {
    "update": "updates (assigned in training)",
    "state": "next states",
}


def _cell(value: Value | None, failed: bool) -> str:
    if failed:
        return "fails (below)"
    return "-" if value is None else str(value)


def _label(step: StepInfo) -> str:
    """``27:10  h = ops.matmul(x, kernel)``; ``return ...``; ``h <- ...``."""
    target = step.binds[0].name if step.binds else ""
    prefix = {"output": "return ", "update": f"{target} <- ", "state": f"{target} <- "}
    if step.kind == "mask" and not step.code.startswith("("):
        prefix["mask"] = "mask = "
    where = f"{step.place.line}:{step.place.column}"
    return f"{where}  {prefix.get(step.kind, '')}{step.code}"


def render(result: Explanation) -> str:
    """The explanation as aligned text (its errors are printed apart)."""
    lines = [
        f"{result.layer} from {result.spec}, traced on {result.backend} with "
        "symbolic tensors (no data)",
        "params: "
        + (", ".join(f"{k}={v!r}" for k, v in result.params.items()) or "(none)"),
    ]
    if result.weights:
        made = [str(w.value) if w.value else "not created" for w in result.weights]
        width = max(len(w.name) for w in result.weights)
        made_width = max(map(len, made))
        lines.append("weights:")
        for w, shape in zip(result.weights, made, strict=True):
            notes = [f"shape {w.shape_expr}"]
            notes += [] if w.trainable else ["not trainable"]
            notes += [f"if {w.condition}"] if w.condition else []
            lines.append(
                f"  {w.name:<{width}}  {shape:<{made_width}}  ({', '.join(notes)})"
            )
    if result.sublayers:
        lines.append("sublayers:")
        for sub in result.sublayers:
            kind = sub.layer if sub.count is None else f"{sub.count} x {sub.layer}"
            owned = ", ".join(f"{name} {value}" for name, value in sub.weights)
            lines.append(f"  {sub.name}: {kind}" + (f"  ({owned})" if owned else ""))
    lines += ["", *_table(result)]
    return "\n".join(lines) + "\n"


def _table(result: Explanation) -> list[str]:
    """The two-column part: inputs, call, updates, next states, mask."""
    failed = {(e.place.key, e.trace) for e in result.errors if e.code}
    rows: list[tuple[str, ...]] = [("", "[test] shapes", "unknown dims"), ("inputs",)]
    rows += [_row(named, set()) for named in result.inputs]
    section = ""
    for step in result.steps:
        title = _section(step, result)
        if title != section:
            rows.append((title,))
            section = title
        rows.append(("  " + _label(step),))
        fails = {t for key, t in failed if key == step.place.key}
        rows += [_row(named, fails, indent="    ") for named in step.binds]
        if step.kind == "output" and result.declared_output:
            declared = Named("[output] declares", result.declared_output)
            rows.append(_row(declared, set(), indent="    "))
    if result.mask_mode == "none":
        rows.append(("mask: none (the layer does not support masking)",))
    elif result.mask_mode == "consume":
        rows.append(("mask: consumed by call(); the output carries none",))
    return _align(rows)


def _section(step: StepInfo, result: Explanation) -> str:
    if step.kind == "mask":
        return f"mask ({result.mask_mode})"
    if step.kind in _SECTIONS:
        return _SECTIONS[step.kind]
    return "call (at inference: training=False)"


def _row(named: Named, fails: set[str], indent: str = "  ") -> tuple[str, ...]:
    test, unknown = (*named.values, None, None)[:2]
    return (
        indent + named.name,
        _cell(test, "test" in fails),
        _cell(unknown, "unknown" in fails),
    )


def _align(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of three cells in columns; one-cell rows (titles, code) as is."""
    full = [r for r in rows if len(r) == 3]
    first = max(len(r[0]) for r in full) + 2
    second = max(len(r[1]) for r in full) + 2
    return [
        (f"{r[0]:<{first}}{r[1]:<{second}}{r[2]}".rstrip() if len(r) == 3 else r[0])
        for r in rows
    ]
