"""Paired-comparison maths for human studies: Bradley–Terry maximum likelihood (a tie is half a win for
each side), Elo scale, a bootstrap that resamples images and raters, the next most informative pair,
and how well a metric's preferences agree with people's.

Model: P(i preferred to j) = 1 / (1 + exp(-(s_i - s_j))). The fit maximises the log-likelihood minus
`penalty * sum(s**2)` (choix's convention; the small default keeps a condition that never lost finite
and is otherwise negligible). Scores are reported on the Elo scale, 400 log10(e) (s_i - s_anchor):
+400 means 10:1 odds of being preferred to the anchor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ELO = 400 / math.log(10)  # logits -> Elo points
PENALTY = 1e-3


@dataclass
class Judgements:
    """Paired judgements as arrays: condition indices a, b; y = 1 when a was preferred, 0 when b was,
    0.5 for a tie; the image and rater index of each."""
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    image: np.ndarray
    rater: np.ndarray
    n: int  # number of conditions

    @classmethod
    def of(cls, a, b, y, image=None, rater=None, n=None) -> Judgements:
        """Arrays from lists; image and rater default to one of each."""
        a, b = np.asarray(a, dtype=int), np.asarray(b, dtype=int)
        k = len(a)
        return cls(a, b, np.asarray(y, dtype=float), np.zeros(k, int) if image is None else np.asarray(image, int),
                   np.zeros(k, int) if rater is None else np.asarray(rater, int),
                   int(n if n is not None else (max(a.max(initial=-1), b.max(initial=-1)) + 1)))


def fit(j: Judgements, weights=None, penalty: float = PENALTY, start=None, tol: float = 1e-10) -> np.ndarray:
    """Bradley–Terry strengths (logits, mean zero) by Newton's method on the penalised log-likelihood."""
    w = np.ones(len(j.a)) if weights is None else np.asarray(weights, dtype=float)
    s = np.zeros(j.n) if start is None else np.array(start, dtype=float)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(s[j.a] - s[j.b])))
        r = w * (j.y - p)
        g = np.bincount(j.a, r, j.n) - np.bincount(j.b, r, j.n) - 2 * penalty * s
        h = _information(j, w, p, penalty)
        step = np.linalg.solve(h + 1 / j.n, g)  # + 11'/n fixes the mean: the unpenalised fit is defined up to a shift
        s += step
        if np.max(np.abs(step)) < tol:
            break
    return s - s.mean()


def _information(j: Judgements, w, p, penalty: float) -> np.ndarray:
    """The negative Hessian of the penalised log-likelihood (Fisher information)."""
    v = w * p * (1 - p)
    h = np.zeros((j.n, j.n))
    np.add.at(h, (j.a, j.a), v)
    np.add.at(h, (j.b, j.b), v)
    np.add.at(h, (j.a, j.b), -v)
    np.add.at(h, (j.b, j.a), -v)
    return h + 2 * penalty * np.eye(j.n)


def covariance(j: Judgements, s: np.ndarray, penalty: float = PENALTY) -> np.ndarray:
    """The Laplace (inverse information) covariance of the strengths at s (the mean fixed: only
    differences of strengths are meaningful)."""
    p = 1 / (1 + np.exp(-(s[j.a] - s[j.b])))
    return np.linalg.inv(_information(j, np.ones(len(j.a)), p, penalty) + 1 / j.n) - 1 / j.n


def elo(s: np.ndarray, anchor: int) -> np.ndarray:
    """Strengths on the Elo scale, the anchor condition at 0."""
    s = np.asarray(s, dtype=float)
    return ELO * (s - s[..., anchor:anchor + 1])


def bootstrap(j: Judgements, resamples: int = 1000, seed: int = 0, by=("image", "rater"),
              penalty: float = PENALTY) -> np.ndarray:
    """(resamples, n) strengths refitted on resampled data: images and raters drawn with replacement
    (a judgement weighs as often as both its image and its rater were drawn), or single judgements."""
    rng = np.random.default_rng(seed)
    s0 = fit(j, penalty=penalty)
    out = np.empty((resamples, j.n))
    for r in range(resamples):
        w = np.ones(len(j.a))
        if "judgement" in by:
            w = np.bincount(rng.integers(0, len(j.a), len(j.a)), minlength=len(j.a)).astype(float)
        for key in ("image", "rater"):
            if key in by:
                ids = getattr(j, key)
                uniq, inv = np.unique(ids, return_inverse=True)
                counts = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))
                w = w * counts[inv]
        out[r] = fit(j, w, penalty=penalty, start=s0)
    return out


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of bootstrap draws along axis 0."""
    lo, hi = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)], axis=0)
    return lo, hi


def next_pair(j: Judgements, candidates: list[tuple[int, int]], counts: dict | None = None,
              penalty: float = PENALTY) -> int:
    """The index, in candidates, of the most informative pair to ask next (in the spirit of CLIC's and
    ASAP's active sampling): the one whose answer is expected to shrink the total variance of the
    strengths most under the current fit (A-optimal: with d = e_i - e_j, Fisher information
    I = p (1 - p) and Laplace covariance C, the trace falls by I |C d|^2 / (1 + I d'C d)); ties go to
    the pair asked least."""
    if len(j.a):
        s = fit(j, penalty=penalty)
        cov = covariance(j, s, penalty)
    else:
        s, cov = np.zeros(j.n), np.eye(j.n)
    counts = counts or {}
    best, key = 0, None
    for k, (a, b) in enumerate(candidates):
        p = 1 / (1 + math.exp(-(s[a] - s[b])))
        info, cd = p * (1 - p), cov[:, a] - cov[:, b]
        gain = info * float(cd @ cd) / (1 + info * (cd[a] - cd[b]))
        kk = (round(gain, 12), -counts.get((min(a, b), max(a, b)), 0))
        if key is None or kk > key:
            best, key = k, kk
    return best


def kendall_tau(x, y) -> float:
    """Kendall's tau-b between two score vectors."""
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)


def preference_agreement(metric_prefers_a: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per judgement: 1 when the metric prefers what the person preferred, 0 when not, 0.5 when either
    the person or the metric called it a tie (metric_prefers_a: 1, 0 or 0.5)."""
    m, y = np.asarray(metric_prefers_a, float), np.asarray(y, float)
    out = np.where(m == y, 1.0, 0.0)
    return np.where((m == 0.5) | (y == 0.5), 0.5, out)


def linear_bd_rate(anchor_bpp, anchor_q, test_bpp, test_q) -> float:
    """BD-rate (percent) with piecewise-linear log-rate as a function of quality, over the overlap of the
    quality ranges: for human scores at two or three rates, where a cubic fit has too few points. NaN
    without overlap or with a non-increasing curve."""
    def inv(bpp, q):
        o = np.argsort(bpp)  # in rate order, the score must rise
        q, lr = np.asarray(q, float)[o], np.log10(np.asarray(bpp, float))[o]
        return (q, lr) if len(q) >= 2 and np.all(np.diff(q) > 0) else None

    A, T = inv(anchor_bpp, anchor_q), inv(test_bpp, test_q)
    if A is None or T is None:
        return math.nan
    lo, hi = max(A[0][0], T[0][0]), min(A[0][-1], T[0][-1])
    if hi <= lo:
        return math.nan
    grid = np.linspace(lo, hi, 201)
    diff = np.interp(grid, *T) - np.interp(grid, *A)
    return float((10 ** (np.trapezoid(diff, grid) / (hi - lo)) - 1) * 100)
