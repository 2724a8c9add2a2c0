"""Format generated source with black, as the project's users would."""

from __future__ import annotations

import black

from layergen.errors import LayergenError

MODE = black.Mode(target_versions={black.TargetVersion.PY311})


def format_source(source: str, what: str) -> str:
    """Black-format ``source``; a parse failure is layergen's bug, reported as such."""
    try:
        return black.format_str(source, mode=MODE)
    except black.InvalidInput as exc:
        raise LayergenError(
            f"internal error: the code generated for {what} does not parse ({exc}); "
            "please report this with the spec"
        ) from exc
