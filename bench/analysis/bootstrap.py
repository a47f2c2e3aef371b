"""Confidence intervals for BD-rate and BD-metric by bootstrap over images.

A BD-rate is a statement about a dataset: resample its images with replacement, recompute each
rate point's mean bpp and mean quality, and the BD value again; the 2.5 / 97.5 % quantiles of
the resampled values are the 95 % interval. Only codecs with per-image data are resampled (an
imported published curve is a fixed curve), with the same image draw for anchor and test so
that the pairing of images survives. Resamples whose curve stops being monotone are left out
and counted.

For pchip (the default) the interpolation and its integral are computed here in closed form for
all resamples at once (scipy's PchipInterpolator derivatives, Hermite-cubic antiderivative),
checked against `bjontegaard` in tests/test_leaderboard.py; akima / cubic call `bjontegaard`
once per resample.
"""
from __future__ import annotations

import numpy as np

DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0


def _pchip_slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """scipy.interpolate.PchipInterpolator's derivatives, batched over the first axis."""
    h = np.diff(x, axis=1)
    delta = np.diff(y, axis=1) / h
    n = x.shape[1]
    d = np.zeros_like(y)
    if n == 2:
        d[:, 0] = d[:, 1] = delta[:, 0]
        return d
    w1 = 2 * h[:, 1:] + h[:, :-1]
    w2 = h[:, 1:] + 2 * h[:, :-1]
    same = np.sign(delta[:, 1:]) * np.sign(delta[:, :-1]) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        whm = (w1 + w2) / (w1 / delta[:, :-1] + w2 / delta[:, 1:])
    d[:, 1:-1] = np.where(same, whm, 0.0)
    d[:, 0] = _edge(h[:, 0], h[:, 1], delta[:, 0], delta[:, 1])
    d[:, -1] = _edge(h[:, -1], h[:, -2], delta[:, -1], delta[:, -2])
    return d


def _edge(h0, h1, m0, m1):
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    d = np.where(np.sign(d) != np.sign(m0), 0.0, d)
    return np.where((np.sign(m0) != np.sign(m1)) & (np.abs(d) > 3 * np.abs(m0)), 3 * m0, d)


def _antiderivative(t, y0, y1, d0, d1, h):
    """Integral over [0, t] (in x units) of the Hermite cubic on one interval."""
    t2, t3, t4 = t * t, t ** 3, t ** 4
    return h * (y0 * (t4 / 2 - t3 + t) + h * d0 * (t4 / 4 - 2 * t3 / 3 + t2 / 2)
                + y1 * (-t4 / 2 + t3) + h * d1 * (t4 / 4 - t3 / 3))


def pchip_at(x: np.ndarray, y: np.ndarray, xq: float) -> np.ndarray:
    """The pchip through (x, y) at xq, per row (x strictly increasing; outside the range the end
    interval's cubic, as scipy's PchipInterpolator extrapolates)."""
    d = _pchip_slopes(x, y)
    k = np.clip((x < xq).sum(axis=1) - 1, 0, x.shape[1] - 2)
    r = np.arange(len(x))
    h = x[r, k + 1] - x[r, k]
    t = (xq - x[r, k]) / h
    h00, h10, h01, h11 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t, -2 * t**3 + 3 * t**2, t**3 - t**2
    return h00 * y[r, k] + h10 * h * d[r, k] + h01 * y[r, k + 1] + h11 * h * d[r, k + 1]


def pchip_integral(x: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integral of the pchip through (x, y) from lo to hi, per row; x strictly increasing."""
    d = _pchip_slopes(x, y)
    h = np.diff(x, axis=1)
    x0, x1 = x[:, :-1], x[:, 1:]
    a = np.clip(lo[:, None], x0, x1)
    b = np.clip(hi[:, None], x0, x1)
    args = (y[:, :-1], y[:, 1:], d[:, :-1], d[:, 1:], h)
    return (_antiderivative((b - x0) / h, *args) - _antiderivative((a - x0) / h, *args)).sum(axis=1)


def bd_batch(xa, ya, xt, yt, method: str = "pchip") -> tuple[np.ndarray, np.ndarray]:
    """Average of (test - anchor) of y over the overlap of the x ranges, per row (the core of
    bjontegaard's bd_linear). Rows that are not strictly increasing in x give NaN. Returns
    (average difference, overlap fraction)."""
    xa, ya, xt, yt = (np.atleast_2d(np.asarray(v, dtype=float)) for v in (xa, ya, xt, yt))
    oa, ot = np.argsort(xa, axis=1), np.argsort(xt, axis=1)
    xa, ya = np.take_along_axis(xa, oa, 1), np.take_along_axis(ya, oa, 1)
    xt, yt = np.take_along_axis(xt, ot, 1), np.take_along_axis(yt, ot, 1)
    ok = (np.diff(xa, axis=1) > 0).all(1) & (np.diff(xt, axis=1) > 0).all(1)
    ok &= (np.diff(ya, axis=1) > 0).all(1) & (np.diff(yt, axis=1) > 0).all(1)  # monotone in rate too
    lo = np.maximum(xa[:, 0], xt[:, 0])
    hi = np.minimum(xa[:, -1], xt[:, -1])
    union = np.maximum(xa[:, -1], xt[:, -1]) - np.minimum(xa[:, 0], xt[:, 0])
    ok &= hi > lo
    out = np.full(len(xa), np.nan)
    if method == "pchip":
        with np.errstate(all="ignore"):
            avg = (pchip_integral(xt, yt, lo, hi) - pchip_integral(xa, ya, lo, hi)) / (hi - lo)
        out[ok] = avg[ok]
    else:
        from bjontegaard.interpolation import interpolate

        for i in np.flatnonzero(ok):
            fa, ft = interpolate(xa[i], ya[i], method), interpolate(xt[i], yt[i], method)
            out[i] = (ft.integrate(lo[i], hi[i]) - fa.integrate(lo[i], hi[i])) / (hi[i] - lo[i])
    return out, np.where(union > 0, np.maximum(hi - lo, 0) / union, 0.0)


def draws(n_images: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Resampling weights: (resamples, n_images) counts / n, seeded."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_images, size=(resamples, n_images))
    w = np.zeros((resamples, n_images))
    np.add.at(w, (np.arange(resamples)[:, None], idx), 1.0)
    return w / n_images
