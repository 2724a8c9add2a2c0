"""What the layer's ``__init__`` prints for each param: the signature
entry, a check of the value's type, bounds and choices with the error it
raises, how the value is stored, how ``get_config`` writes it back, and its
Args entry. Decided in Python, as in :mod:`.layer_view`."""

from __future__ import annotations

from layergen.codegen import literals as lit
from layergen.codegen.docstrings import param_doc
from layergen.codegen.literals import Code
from layergen.spec.model import Param


def received(names: list[str], conversion: str = "r") -> list[str | lit.Shown]:
    """Message parts ``a=<a>, b=<b>`` showing the values of locals."""
    parts: list[str | lit.Shown] = []
    for name in names:
        parts += [", " if parts else "", f"{name}=", lit.Shown(name, conversion)]
    return parts


def param_entry(p: Param) -> dict[str, str]:
    """What ``__init__`` prints for one param: its signature entry, the check
    of its value and the error it raises, how it is stored and written back
    by ``get_config``, and its Args entry."""
    default = tuple(p.default) if isinstance(p.default, list) else p.default
    made = made_default(p)
    if made is not None:
        default = None  # a dict default would be shared (ruff B006)
    signature = f"{p.name}={lit.value(default)}" if p.has_default else p.name
    check, expected = param_check(p)
    store = p.name
    if made is not None:
        store = (
            f"{made} if {p.name} is None else " f"keras.{p.object_module}.get({p.name})"
        )
    elif p.object_module:
        store = f"keras.{p.object_module}.get({p.name})"
    elif p.type in ("int", "float"):
        store = f"{p.type}({p.name})"  # a numpy scalar too: configs are JSON
    elif p.type in ("list[int]", "list[float]"):
        store = f"[{p.type[5:-1]}(v) for v in {p.name}]"
    elif p.type.startswith("list["):
        store = f"list({p.name})"
    if p.optional and store != p.name and not p.object_module:
        store = f"None if {p.name} is None else {store}"
    config = f"self.{p.name}"
    if p.object_module:
        config = f"keras.{p.object_module}.serialize(self.{p.name})"
    elif p.is_layer:  # None too: serialize(None) is None
        config = f"keras.layers.serialize(self.{p.name})"
    error = lit.message(
        [f"Expected `{p.name}` to be {expected}. Received: ", *received([p.name])]
    )
    return {
        "name": Code(p.name),
        "signature": Code(signature),
        "check": Code(check),
        "error": error,
        "store": Code(store),
        "config": Code(config),
        # Text for the class docstring, which literals.docstring quotes.
        "doc": param_doc(p, expected),
    }


def made_default(p: Param) -> Code | None:
    """The Keras object a default with arguments stands for, built in
    ``__init__`` when the argument is None (its default in the signature):
    ``keras.initializers.TruncatedNormal(stddev=0.02)``. The class and
    argument names are Keras's (checked against its catalogue), the values
    literals."""
    if not (p.object_module and isinstance(p.default, dict)):
        return None
    config = p.default.get("config", {})
    args = ", ".join(f"{name}={lit.value(v)}" for name, v in config.items())
    return Code(f"keras.{p.object_module}.{p.default['class_name']}({args})")


def param_check(p: Param) -> tuple[str, str]:
    """A Python condition that is true for a bad value, and what is expected
    (None is not bad for an optional param)."""
    condition, expected = _value_check(p)
    if p.optional and condition:
        if " or " in condition:
            condition = f"({condition})"
        return f"{p.name} is not None and {condition}", f"{expected} or None"
    return condition, expected


def _value_check(p: Param) -> tuple[str, str]:
    name = p.name
    if p.object_module:
        return "", f"a Keras {p.type} identifier or object"
    if p.is_layer:
        cls = "keras.layers.Layer" if p.spec is None else p.spec.name
        shown = "a Keras layer" if p.spec is None else f"a `{p.spec.name}` layer"
        return f"not isinstance({name}, {cls})", shown
    kinds = {
        "int": (
            "isinstance({n}, bool) or not isinstance({n}, numbers.Integral)",
            "an int",
        ),
        "float": (
            "isinstance({n}, bool) or not isinstance({n}, numbers.Real)",
            "a number",
        ),
        "bool": ("not isinstance({n}, bool)", "a bool"),
        "str": ("not isinstance({n}, str)", "a string"),
    }
    if p.type.startswith("list["):
        inner_check, inner = kinds[p.type[5:-1]]
        element = inner_check.format(n="v")
        condition = (
            f"not isinstance({name}, (list, tuple)) or any({element} for v in {name})"
        )
        return condition, f"a list of {inner.split(' ', 1)[1]}s"
    condition, expected = kinds[p.type]
    parts, limits = [condition.format(n=name)], []
    if p.min is not None:
        parts.append(f"{name} < {lit.value(p.min)}")
        limits.append(f">= {lit.value(p.min)}")
    if p.max is not None:
        parts.append(f"{name} > {lit.value(p.max)}")
        limits.append(f"<= {lit.value(p.max)}")
    if p.choices is not None:
        parts.append(f"{name} not in {lit.value(p.choices)}")
        limits.append("one of " + ", ".join(lit.value(c) for c in p.choices))
    if limits:
        expected += " " + " and ".join(limits)
    return " or ".join(parts), expected


def deserialized(p: Param) -> dict[str, Code]:
    """How ``from_config`` turns a ``layer`` param's config back into a layer:
    the config's key, and whether it may be None (an optional param)."""
    return {"name": Code(p.name), "key": lit.value(p.name), "optional": p.optional}
