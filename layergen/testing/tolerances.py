"""Tolerances of the comparisons the checks make."""

from __future__ import annotations

# Which policies the mixed-precision check runs is decided with the checks.
from layergen.checklist import MIXED_PRECISION_POLICIES

__all__ = ["GPU_TOLERANCE", "MIXED_PRECISION_POLICIES", "TOLERANCE", "XLA_TOLERANCE"]

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


XLA_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


GPU_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
