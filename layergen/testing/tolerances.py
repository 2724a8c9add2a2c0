"""Tolerances of the comparisons the checks make."""

from __future__ import annotations

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


XLA_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


GPU_TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}


MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
