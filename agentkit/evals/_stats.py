"""Intervals for pass rates: Wilson's score interval and Newcombe's interval for a difference.

Runs are treated as independent samples (repetitions of one case are not, quite: read the
interval as a guide to whether a difference could be noise, not as a proof).

>>> low, high = wilson(10, 20)
>>> round(low, 3), round(high, 3)
(0.299, 0.701)
>>> delta, low, high = difference(20, 20, 10, 20)
>>> round(delta, 3), round(low, 3), round(high, 3)
(-0.5, -0.701, -0.243)
"""

from __future__ import annotations

import math

__all__ = ["Z95", "difference", "wilson"]

#: The normal quantile of a two-sided 95 % interval.
Z95 = 1.959964


def wilson(passed: int, runs: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for ``passed`` successes of ``runs`` (``(0, 1)`` when there are none)."""
    if runs <= 0:
        return 0.0, 1.0
    p = passed / runs
    scale = 1 + z * z / runs
    centre = (p + z * z / (2 * runs)) / scale
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / scale
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(
    base_passed: int, base_runs: int, passed: int, runs: int, z: float = Z95
) -> tuple[float, float, float]:
    """``(delta, low, high)``: the pass rate minus the baseline's, with Newcombe's hybrid score interval."""
    p0 = base_passed / base_runs if base_runs else 0.0
    p1 = passed / runs if runs else 0.0
    l0, u0 = wilson(base_passed, base_runs, z)
    l1, u1 = wilson(passed, runs, z)
    delta = p1 - p0
    low = delta - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = delta + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return delta, low, high
