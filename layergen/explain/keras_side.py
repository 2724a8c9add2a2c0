"""The Keras side of ``layergen explain``: import Keras on the chosen backend,
make the layer from the module ``layergen new`` would write, build it on the
``[test]`` values, and describe symbolic tensors as plain ``Value`` data.

Keras is imported here only, and only when explain runs; its backend is fixed
before that import (``KERAS_BACKEND``), so a run on JAX or PyTorch never
imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import types
from collections.abc import Iterator, Sequence
from typing import Any

from layergen.codegen.render import render_layer
from layergen.errors import LayergenError
from layergen.explain.model import Value
from layergen.run.runner import BACKENDS, QUIET_ENV
from layergen.spec.model import LayerSpec, LayerValue

_REPR_LIMIT = 60


def import_keras(backend: str | None) -> Any:
    """``keras`` on ``backend`` (None: ``KERAS_BACKEND``, else Keras's own
    default); refuses a Keras already imported on another backend."""
    if "keras" in sys.modules:
        keras = sys.modules["keras"]
        active = keras.backend.backend()
        if backend is not None and active != backend:
            raise LayergenError(
                f"Keras is already imported on the {active} backend in this "
                f"process; cannot explain on {backend}"
            )
        return keras
    if backend is not None:
        if backend not in BACKENDS:
            raise LayergenError(f"unknown backend {backend!r}")
        os.environ["KERAS_BACKEND"] = backend
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    with _native_stderr_held():
        import keras

    return keras


@contextlib.contextmanager
def _native_stderr_held() -> Iterator[None]:
    """Hold what native code writes to stderr while Keras imports, and show it
    only if the import fails: TensorFlow 2.21's start-up lines (absl, oneDNN,
    CUDA stubs) ignore ``TF_CPP_MIN_LOG_LEVEL`` and would come before explain's
    table."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def layer_class(spec: LayerSpec) -> Any:
    """The layer class of the module ``layergen new`` writes for ``spec``
    (rendered, not formatted: the same code), loaded into a module of its own
    that is not registered in ``sys.modules``."""
    return getattr(_module(spec, {}), spec.name)


def make_layer(spec: LayerSpec, params: dict[str, Any]) -> Any:
    """``spec``'s layer made with ``params``; a ``layer`` param's value
    (:class:`LayerValue`) is made first, from the class the module imports."""
    module = _module(spec, {})
    kwargs = {
        name: (
            getattr(module, value.spec.name)(**dict(value.args))
            if isinstance(value, LayerValue)
            else value
        )
        for name, value in params.items()
    }
    return getattr(module, spec.name)(**kwargs)


def _module(spec: LayerSpec, made: dict[str, types.ModuleType]) -> types.ModuleType:
    """``spec``'s module, executed after the modules of the other specs its
    sublayers use, which its imports find in ``sys.modules`` only meanwhile."""
    used = [s.spec for s in spec.sublayers] + [p.spec for p in spec.params]
    for other in used:
        if other is not None and other.module not in made:
            made[other.module] = _module(other, made)
    module = types.ModuleType(f"layergen_explain_{spec.module}")
    code = compile(render_layer(spec), f"<layergen: {spec.module}.py>", "exec")
    imported = {other.module for other in used if other is not None}
    saved = {name: sys.modules.get(name) for name in imported}
    sys.modules.update({name: made[name] for name in imported})
    try:
        exec(
            code, module.__dict__
        )  # noqa: S102 - the generated layer, as `new` writes it
    finally:
        for name, old in saved.items():
            if old is None:
                del sys.modules[name]
            else:
                sys.modules[name] = old
    return module


def build(layer: Any, spec: LayerSpec, shapes: Sequence[tuple[int, ...]]) -> None:
    """Build ``layer`` on the ``[test]`` input shapes. A layer with sublayers
    traces ``call`` in ``build`` after creating its weights; a step that fails
    there is reported at that step by the trace, so the failure is kept only
    when a weight is missing."""
    try:
        if spec.is_cell or len(shapes) == 1:
            layer.build(shapes[0])
        else:
            layer.build(*shapes)
    except Exception:
        created = all(hasattr(layer, w.name) for w in spec.weights) and spec.sublayers
        if not created:
            raise


def symbolic(keras: Any, shape: Sequence[int | None], dtype: str) -> Any:
    return keras.KerasTensor(tuple(shape), dtype=dtype)


def value(keras: Any, obj: Any) -> Value:
    """A tensor's shape and dtype (a dimension that is not a plain int while
    traced is unknown: None), or a plain value's short repr."""
    if _is_tensor(obj):
        shape = tuple(_dim(d) for d in obj.shape)
        return Value(shape=shape, dtype=keras.backend.standardize_dtype(obj.dtype))
    return Value(python=_plain(keras, obj))


def _is_tensor(obj: Any) -> bool:
    return (
        hasattr(obj, "shape")
        and hasattr(obj, "dtype")
        and not isinstance(obj, type | int | float | bool)
    )


def _dim(dim: Any) -> int | None:
    if isinstance(dim, int):
        return dim
    try:
        return int(dim)  # numpy ints, TensorFlow's Dimension
    except Exception:
        return None  # None, or a symbolic dimension (JAX)


def _plain(keras: Any, obj: Any) -> str:
    if obj is None or isinstance(obj, int | float | bool | str):
        text = repr(obj)
    elif isinstance(obj, list | tuple):
        parts = [
            str(value(keras, o)) if _is_tensor(o) else _plain(keras, o) for o in obj
        ]
        text = ", ".join(parts)
        text = (
            f"[{text}]" if isinstance(obj, list) else f"({text}{',' * (len(obj) == 1)})"
        )
    elif type(obj).__module__.startswith("jax"):
        text = "None"  # a dimension JAX traces symbolically: unknown
    elif hasattr(obj, "__index__"):
        text = repr(_dim(obj))  # a numpy int
    else:
        text = f"<{type(obj).__name__}>"
    if len(text) > _REPR_LIMIT:
        text = text[: _REPR_LIMIT - 3] + "..."
    return text.encode("ascii", "backslashreplace").decode()


def common(values: Sequence[Value]) -> Value:
    """What several traces of one value agree on: differing dimensions (and
    differing plain values) are unknown."""
    first = values[0]
    if all(v == first for v in values):
        return first
    if first.shape is not None and all(
        v.shape is not None and len(v.shape) == len(first.shape) for v in values
    ):
        dims = tuple(
            d if all(v.shape[i] == d for v in values) else None  # type: ignore[index]
            for i, d in enumerate(first.shape)
        )
        return Value(shape=dims, dtype=first.dtype)
    return Value(python="None")


def message(exc: BaseException) -> str:
    """An exception as one short line of printable ASCII (it may quote spec
    text: a control character, an escape sequence, is shown escaped)."""
    text = " ".join(str(exc).split()) or "(no message)"
    text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    text = text.encode("ascii", "backslashreplace").decode()
    if len(text) > 400:
        text = text[:397] + "..."
    return f"{type(exc).__name__}: {text}"
