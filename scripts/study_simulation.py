#!/usr/bin/env python
"""The study estimator and sampler in simulation (a benchmark, not a test; issue #27).

1. Coverage: judgements simulated from known Bradley–Terry strengths (each image perturbs them a little,
   as real images do); how often the 95 % bootstrap intervals of the Elo scores cover the truth, for
   the three resampling schemes.
2. Active sampling: judgements needed until the mean Elo standard error (Laplace, against condition 0) is below a
   target, choosing pairs actively (bench.analysis.pairwise.next_pair) or uniformly at random.
Usage: scripts/study_simulation.py [--reps 200] [--only 1,2]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.analysis import pairwise as pw  # noqa: E402


def simulate(rng, true, k, images=12, raters=8, image_sd=0.0, pairs=None):
    """k judgements: random pairs (or the given ones), each on a random image and rater."""
    n = len(true)
    if pairs is None:
        a = rng.integers(0, n, k)
        b = (a + rng.integers(1, n, k)) % n
    else:
        a, b = pairs
    img = rng.integers(0, images, len(a))
    per_image = true + image_sd * rng.standard_normal((images, n))
    p = 1 / (1 + np.exp(-(per_image[img, a] - per_image[img, b])))
    y = (rng.random(len(a)) < p).astype(float)
    return pw.Judgements.of(a, b, y, img, rng.integers(0, raters, len(a)), n=n)


def coverage(reps: int, resamples: int = 200, image_sd: float = 0.0, k: int = 600, seed: int = 0) -> dict:
    """Share of (repetition, condition) intervals that cover the true Elo, per resampling scheme."""
    true = np.linspace(-1.2, 1.2, 6)
    te = pw.elo(true, 0)
    out = {}
    for by in (("judgement",), ("image",), ("image", "rater")):
        rng, hits = np.random.default_rng(seed), []
        for r in range(reps):
            j = simulate(rng, true, k, image_sd=image_sd)
            lo, hi = pw.interval(pw.elo(pw.bootstrap(j, resamples, seed=r, by=by), 0))
            hits += list(((lo <= te) & (te <= hi))[1:])
        out["+".join(by)] = float(np.mean(hits))
    return out


def needed(rng, true, active: bool, target_se: float, check_every: int = 10, cap: int = 5000) -> int:
    """Judgements until the mean Elo standard error against condition 0 is below target_se."""
    n = len(true)
    cands = [(i, k) for i in range(n) for k in range(i + 1, n)]
    a, b, y = [], [], []
    counts = {}
    while len(a) < cap:
        j = pw.Judgements.of(a, b, y, n=n)
        if active:
            i, k = cands[pw.next_pair(j, cands, counts)]
        else:
            i, k = cands[rng.integers(len(cands))]
        counts[(i, k)] = counts.get((i, k), 0) + 1
        p = 1 / (1 + np.exp(-(true[i] - true[k])))
        a.append(i), b.append(k), y.append(float(rng.random() < p))
        if len(a) % check_every == 0:
            j = pw.Judgements.of(a, b, y, n=n)
            cov = pw.covariance(j, pw.fit(j))
            se = np.sqrt(np.maximum(np.diag(cov) + cov[0, 0] - 2 * cov[0], 0))[1:] * pw.ELO
            if se.mean() < target_se:
                return len(a)
    return cap


SCENARIOS = {"8 close conditions": np.array([-2.0, -1.5, -1.0, -0.2, 0.0, 0.1, 0.9, 2.2]),
             "12 conditions spread like 4 codecs x 3 rates": np.linspace(-3, 3, 12)}


def saving(reps: int, true: np.ndarray, target_se: float = 60.0, seed: int = 0) -> tuple[float, float, float]:
    """(mean judgements random, mean judgements active, factor) over reps simulated studies."""
    rnd, act = [], []
    for r in range(reps):
        rnd.append(needed(np.random.default_rng(seed + r), true, False, target_se))
        act.append(needed(np.random.default_rng(seed + r), true, True, target_se))
    return float(np.mean(rnd)), float(np.mean(act)), float(np.mean(rnd) / np.mean(act))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--only", default="1,2")
    a = ap.parse_args()
    if "1" in a.only:
        for sd in (0.0, 0.3):
            t = time.perf_counter()
            c = coverage(a.reps, image_sd=sd)
            print(f"1. coverage of 95 % intervals ({a.reps} simulated studies x 5 conditions, 600 judgements, "
                  f"12 images, 8 raters, image effect sd {sd}): " +
                  ", ".join(f"{k} {v:.3f}" for k, v in c.items()) + f"  ({time.perf_counter() - t:.0f} s)")
    if "2" in a.only:
        for name, true in SCENARIOS.items():
            r, act, f = saving(max(5, a.reps // 4), true)
            print(f"2. {name}: judgements to bring the mean Elo standard error (vs condition 0) under 60: random pairs "
                  f"{r:.0f}, active {act:.0f}: active sampling needs {f:.2f}x fewer")


if __name__ == "__main__":
    main()
