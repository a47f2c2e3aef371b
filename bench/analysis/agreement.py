"""Agreement of a metric with human ratings: SROCC, KROCC and PLCC (after the VQEG 4-parameter
logistic fit) for rated pairs, 2AFC agreement for triplets, each with a 95 % bootstrap interval
over the rated items.

Signs: a metric's scores are put on a quality axis (negated when lower is better) and DMOS-like
ratings are negated too, so a positive correlation always means the metric agrees with people.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


def logistic4(x, b1, b2, b3, b4):
    """VQEG's 4-parameter logistic: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2."""
    return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2


def fit_logistic(x, y) -> np.ndarray:
    """The VQEG 4-parameter logistic fitted from metric scores to human scores."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    p0 = [y.max(), y.min(), np.median(x), (x.std() or 1.0) / 2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            p, _ = optimize.curve_fit(logistic4, x, y, p0=p0, maxfev=20000)
        except RuntimeError:
            p = np.array(p0)
    return p


def correlations(metric_scores, human_scores) -> dict:
    """SROCC, KROCC and PLCC (after the logistic fit) of metric scores against human scores."""
    x, y = np.asarray(metric_scores, float), np.asarray(human_scores, float)
    p = fit_logistic(x, y)
    return {"srocc": float(stats.spearmanr(x, y)[0]), "krocc": float(stats.kendalltau(x, y)[0]),
            "plcc": float(stats.pearsonr(logistic4(x, *p), y)[0])}


def two_afc(d_a, d_b, p_a) -> float:
    """BAPPS 2AFC score: with human preference p_a for A, a metric that prefers A (smaller distance)
    earns p_a, one that prefers B earns 1 - p_a, a tie earns 0.5."""
    d_a, d_b, p_a = (np.asarray(v, float) for v in (d_a, d_b, p_a))
    return float(np.mean(np.where(d_a < d_b, p_a, np.where(d_a > d_b, 1 - p_a, 0.5))))


@dataclass
class Agreement:
    """A metric's agreement with a rated set: values and bootstrap intervals by name."""
    metric: str
    n: int
    values: dict  # name -> value
    ci: dict  # name -> (low, high)
    published: dict | None = None  # the published correlations of this metric on this set


def agreement(metric: str, x, y, *, resamples: int = 1000, seed: int = 0) -> Agreement:
    """SROCC / KROCC / PLCC of metric scores x (quality axis) against ratings y (higher = better)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    vals = correlations(x, y)
    rng = np.random.default_rng(seed)
    boot = {k: [] for k in vals}
    for _ in range(resamples):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) == 0 or np.ptp(y[i]) == 0:
            continue
        for k, v in correlations(x[i], y[i]).items():
            boot[k].append(v)
    ci = {k: tuple(float(q) for q in np.percentile(v, [2.5, 97.5])) if v else None for k, v in boot.items()}
    return Agreement(metric, len(x), vals, ci)


def agreement_2afc(metric: str, d_a, d_b, p_a, *, resamples: int = 1000, seed: int = 0) -> Agreement:
    """The share of 2AFC judgements a metric's distances agree with (ties half), with a bootstrap interval."""
    d_a, d_b, p_a = (np.asarray(v, float) for v in (d_a, d_b, p_a))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(p_a), (resamples, len(p_a)))
    per = np.where(d_a < d_b, p_a, np.where(d_a > d_b, 1 - p_a, 0.5))
    boot = per[idx].mean(axis=1)
    return Agreement(metric, len(p_a), {"2afc": two_afc(d_a, d_b, p_a)},
                     {"2afc": tuple(float(q) for q in np.percentile(boot, [2.5, 97.5]))})
