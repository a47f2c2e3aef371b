"""BD-rate with the `bjontegaard` package: the one place that knows the sign convention.

Rates are integrated in log10; the quality axis is the metric, negated for lower-is-better
metrics so that quality always rises with rate. The result is the average rate difference
of the test codec at equal quality, in percent (negative = the test codec needs fewer bits).
Integration runs over the overlap of the two quality ranges, which is always reported.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import BDRateError

METHODS = ("pchip", "akima", "cubic")
MIN_POINTS = 4


@dataclass
class BDResult:
    value: float  # percent
    overlap: tuple  # (low, high) in metric units
    overlap_fraction: float  # overlap length / union length on the quality axis
    method: str


def _curve(rates, values, higher_is_better: bool, who: str):
    r = np.asarray(rates, dtype=float)
    q = np.asarray(values, dtype=float)
    if len(r) < MIN_POINTS:
        raise BDRateError(f"{who}: {len(r)} rate points, BD-rate needs at least {MIN_POINTS}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q))) or np.any(r <= 0):
        raise BDRateError(f"{who}: non-finite value or non-positive rate on the curve")
    order = np.argsort(r)
    r, q = r[order], q[order]
    if not higher_is_better:
        q = -q
    if np.any(np.diff(q) <= 0):
        raise BDRateError(f"{who}: quality is not strictly monotone in rate, BD-rate is undefined")
    return r, q


def bd_rate(anchor_rates, anchor_values, test_rates, test_values, *, higher_is_better: bool,
            method: str = "pchip") -> BDResult:
    """BD-rate of test vs anchor in percent. Raises BDRateError when undefined."""
    if method not in METHODS:
        raise BDRateError(f"unknown BD interpolation {method!r}; valid: {', '.join(METHODS)}")
    ra, qa = _curve(anchor_rates, anchor_values, higher_is_better, "anchor")
    rt, qt = _curve(test_rates, test_values, higher_is_better, "test")
    lo, hi = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if hi <= lo:
        raise BDRateError("no overlap between the curves' quality ranges, BD-rate is undefined")
    union = max(qa.max(), qt.max()) - min(qa.min(), qt.min())
    import bjontegaard

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = bjontegaard.bd_rate(ra, qa, rt, qt, method=method, require_matching_points=False,
                                min_overlap=0)
    if not math.isfinite(v):
        raise BDRateError("BD-rate integration gave a non-finite value")
    overlap = (float(lo), float(hi)) if higher_is_better else (float(-hi), float(-lo))
    return BDResult(float(v), overlap, float((hi - lo) / union), method)
