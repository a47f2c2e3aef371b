"""BD-rate and BD-metric with the `bjontegaard` package: the one place that knows the sign
convention, and the other readings of an RD curve (quality at a rate, rate at a quality, hull).

Rates are integrated in log10; the quality axis is the metric, negated for lower-is-better
metrics so that quality always rises with rate. BD-rate is the average rate difference of the
test codec at equal quality, in percent (negative = the test codec needs fewer bits),
integrated over the overlap of the two quality ranges. BD-metric is the average quality
difference (test - anchor) at equal rate in the metric's own units (BD-PSNR in dB: positive =
better; for a lower-is-better metric such as LPIPS, negative = better), integrated over the
overlap of the log-rate ranges. Both overlaps are always reported.
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
    """A BD-rate or BD-metric value with the quality overlap it was integrated over."""
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


def _bd(kind: str, anchor_rates, anchor_values, test_rates, test_values, higher_is_better: bool,
        method: str) -> BDResult:
    """kind 'rate': integrate log10 rate over the quality overlap; 'metric': quality over the
    log-rate overlap. The sign convention lives here and nowhere else."""
    if method not in METHODS:
        raise BDRateError(f"unknown BD interpolation {method!r}; valid: {', '.join(METHODS)}")
    ra, qa = _curve(anchor_rates, anchor_values, higher_is_better, "anchor")
    rt, qt = _curve(test_rates, test_values, higher_is_better, "test")
    xa, xt = (qa, qt) if kind == "rate" else (np.log10(ra), np.log10(rt))
    lo, hi = max(xa.min(), xt.min()), min(xa.max(), xt.max())
    what = "BD-rate" if kind == "rate" else "BD-metric"
    if hi <= lo:
        axis = "quality" if kind == "rate" else "rate"
        raise BDRateError(f"no overlap between the curves' {axis} ranges, {what} is undefined")
    union = max(xa.max(), xt.max()) - min(xa.min(), xt.min())
    import bjontegaard

    fn = bjontegaard.bd_rate if kind == "rate" else bjontegaard.bd_psnr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = fn(ra, qa, rt, qt, method=method, require_matching_points=False, min_overlap=0)
    if not math.isfinite(v):
        raise BDRateError(f"{what} integration gave a non-finite value")
    if kind == "rate":
        overlap = (float(lo), float(hi)) if higher_is_better else (float(-hi), float(-lo))
    else:
        overlap, v = (float(10 ** lo), float(10 ** hi)), (v if higher_is_better else -v)
    return BDResult(float(v), overlap, float((hi - lo) / union), method)


def bd_rate(anchor_rates, anchor_values, test_rates, test_values, *, higher_is_better: bool,
            method: str = "pchip") -> BDResult:
    """BD-rate of test vs anchor in percent. Raises BDRateError when undefined."""
    return _bd("rate", anchor_rates, anchor_values, test_rates, test_values, higher_is_better, method)


def bd_metric(anchor_rates, anchor_values, test_rates, test_values, *, higher_is_better: bool,
              method: str = "pchip") -> BDResult:
    """BD-metric of test vs anchor in the metric's units (BD-PSNR for PSNR). Raises BDRateError."""
    return _bd("metric", anchor_rates, anchor_values, test_rates, test_values, higher_is_better, method)


def quality_axis(values, higher_is_better: bool) -> np.ndarray:
    """The metric as a quality that rises with rate (negated when lower is better)."""
    q = np.asarray(values, dtype=float)
    return q if higher_is_better else -q


def hull(rates, values, higher_is_better: bool) -> list[int]:
    """Indices of the points on the upper convex hull of (rate, quality) in *linear* rate, up to the best
    quality: the operational RD hull of the AV2 CTC convex-hull scripts (`convex_hull` on (bitrate,
    quality) points). Settings below the hull (inefficient) are dropped; a monotone curve with
    diminishing returns (concave in rate) keeps every point. In log rate most real curves are convex,
    so a hull there would drop ordinary points."""
    r = np.asarray(rates, dtype=float)
    q = quality_axis(values, higher_is_better)
    order = sorted(range(len(r)), key=lambda i: (r[i], -q[i]))
    keep: list[int] = []
    for i in order:
        while len(keep) >= 2:
            a, b = keep[-2], keep[-1]
            cross = (r[b] - r[a]) * (q[i] - q[a]) - (q[b] - q[a]) * (r[i] - r[a])
            if cross > 1e-9 * abs((r[i] - r[a]) * (q[i] - q[a])):  # b below a-i (collinear points stay)
                keep.pop()
            else:
                break
        keep.append(i)
    best = max(range(len(keep)), key=lambda k: q[keep[k]])
    return sorted(keep[:best + 1], key=lambda i: r[i])


def quality_at(rates, values, bpp: float) -> tuple[float, bool]:
    """The metric at a given bpp: pchip in log10 rate (as BD); (value, extrapolated?)."""
    from scipy.interpolate import PchipInterpolator

    r = np.asarray(rates, dtype=float)
    o = np.argsort(r)
    r, v = np.log10(r[o]), np.asarray(values, dtype=float)[o]
    if len(r) < 2 or np.any(np.diff(r) <= 0):
        raise BDRateError("quality at a rate needs at least 2 points with distinct rates")
    x = math.log10(bpp)
    return float(PchipInterpolator(r, v)(x)), not (r[0] <= x <= r[-1])


def rate_at(rates, values, target: float, *, higher_is_better: bool) -> tuple[float, bool]:
    """The bpp at which the curve reaches `target`: pchip of log10 rate over quality; (bpp, extrapolated?)."""
    from scipy.interpolate import PchipInterpolator

    r, q = _curve(rates, values, higher_is_better, "curve") if len(rates) >= MIN_POINTS else (None, None)
    if r is None:
        raise BDRateError(f"rate at a quality needs at least {MIN_POINTS} points")
    x = target if higher_is_better else -target
    return float(10 ** PchipInterpolator(q, np.log10(r))(x)), not (q[0] <= x <= q[-1])
