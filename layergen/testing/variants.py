"""Every check on each way a case calls its layer: with the default call
arguments, and with its optional tensors passed and other flag values
(:meth:`LayerCase.variants`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from layergen.testing.case import BuiltModel, LayerCase

Check = TypeVar("Check", bound=Callable[..., None])


def for_each_call(check: Check | None = None, *, every: bool = True) -> Any:
    """Run ``check`` on each variant of its case (``every=False``: the
    default call and the one with everything given, for the slow checks); a
    model built for the first (a ``BuiltModel`` argument) is not reused by
    the others, and a failure of a later one says how that call differs."""
    if check is None:
        return functools.partial(for_each_call, every=every)

    @functools.wraps(check)
    def run(case: LayerCase, *args: Any, **kwargs: Any) -> None:
        skipped: list[BaseException] = []
        variants = case.variants(every=every)
        for index, variant in enumerate(variants):
            if index:
                args = tuple(a for a in args if not isinstance(a, BuiltModel))
                kwargs.pop("built", None)
            try:
                check(variant, *args, **kwargs)
            except AssertionError as exc:
                if index:
                    exc.add_note(f"(calling the layer with {variant.describe_call()})")
                raise
            except pytest.skip.Exception as exc:
                # A call that does not apply (integer ids) leaves the others
                # (vectors, with a flag) to check; skipped only if all do.
                skipped.append(exc)
        if len(skipped) == len(variants):
            raise skipped[0]

    return run
