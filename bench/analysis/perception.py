"""Perception analyses on a stored run: where metrics disagree, which codecs win only on the metrics
they were trained for, and distortion against realism.

- Disagreement: for every pair of metrics, the rank correlation (Spearman, Kendall) of the codecs'
  BD-rates and of the per-image scores at a matched rate; the codecs whose rank moves most.
- Trained-for gap: a codec card may say `trained_for = ["lpips", "ms-ssim"]`; its mean rank on
  those metrics is compared with its mean rank on the held-out ones, and a codec that ranks in the
  top third where it was trained but in the bottom half elsewhere is flagged.
- Realism: per codec and rate point, a distortion metric against a realism (no-reference) metric,
  with the originals' realism (the `identity` codec) as the reference level.
Metric directions come from the metric table: scores are put on quality axes first, so a
positive correlation always means agreement.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .. import metrics as metric_table
from .bdrate import quality_axis


@dataclass
class Disagreement:
    """How a run's metrics rank its codecs: BD-rates, ranks, rank correlations, movers, trained-for gaps."""
    metrics: list
    codecs: list
    bd: dict  # (codec, metric) -> BD-rate or None
    ranks: dict  # (codec, metric) -> rank (1 = best) among codecs with a BD-rate
    bd_corr: dict  # (m1, m2) -> (spearman, kendall, n codecs)
    image_corr: dict  # (m1, m2) -> (spearman, kendall, n samples)
    matched_bpp: float | None  # the median over images of each image's matched rate
    movers: list  # (codec, rank spread, best metric, worst metric)
    trained: list = field(default_factory=list)  # (codec, trained, mean rank trained, held-out, gap, flagged)


def _rank(values: dict) -> dict:
    """1 = best (lowest BD-rate); ties share the lower rank."""
    order = sorted(values, key=lambda c: values[c])
    return {c: 1 + sum(values[o] < values[c] for o in order) for c in values}


def matched_rates(cvs: dict, metrics: list) -> np.ndarray | None:
    """Per image, a rate every codec's curve of that image reaches: the geometric middle of the
    shared range (NaN where the ranges do not overlap)."""
    los, his = [], []
    for (_c, m), cv in cvs.items():
        if m in metrics and cv.image_bpp is not None and cv.source is None and len(cv.bpp) >= 2:
            los.append(cv.image_bpp.min(axis=1))
            his.append(cv.image_bpp.max(axis=1))
    if not los:
        return None
    lo, hi = np.max(los, axis=0), np.min(his, axis=0)
    return np.where(lo < hi, np.sqrt(lo * hi), np.nan)


def _at_rate(cv, bpp: np.ndarray) -> np.ndarray:
    """Each image's score at its matched rate, pchip in log rate along its own curve."""
    from scipy.interpolate import PchipInterpolator

    out = np.full(cv.image_bpp.shape[0], np.nan)
    for i, (b, v) in enumerate(zip(cv.image_bpp, cv.image_value)):
        o = np.argsort(b)
        lb = np.log10(b[o])
        if np.isfinite(bpp[i]) and np.all(np.diff(lb) > 0) and lb[0] <= np.log10(bpp[i]) <= lb[-1]:
            out[i] = float(PchipInterpolator(lb, v[o])(np.log10(bpp[i])))
    return out


def disagreement(cvs: dict, bd: dict, metrics: list, trained_for: dict | None = None) -> Disagreement:
    """bd: (codec, metric) -> BD-rate (None where undefined), e.g. from the leaderboard model."""
    codecs = sorted({c for c, m in bd if m in metrics})
    ranks = {}
    for m in metrics:
        vals = {c: bd[(c, m)] for c in codecs if bd.get((c, m)) is not None}
        ranks.update({(c, m): r for c, r in _rank(vals).items()})
    bd_corr, image_corr = {}, {}
    bpp = matched_rates(cvs, metrics)
    at = {}
    if bpp is not None and np.isfinite(bpp).any():
        for (c, m), cv in cvs.items():
            if m in metrics and cv.image_value is not None and cv.source is None and len(cv.bpp) >= 2:
                at[(c, m)] = quality_axis(_at_rate(cv, bpp), metric_table.get(m).higher_is_better)
    for m1, m2 in itertools.combinations(metrics, 2):
        both = [c for c in codecs if bd.get((c, m1)) is not None and bd.get((c, m2)) is not None]
        if len(both) >= 3:
            x, y = [bd[(c, m1)] for c in both], [bd[(c, m2)] for c in both]
            bd_corr[(m1, m2)] = (float(stats.spearmanr(x, y)[0]), float(stats.kendalltau(x, y)[0]), len(both))
        xs = [at[(c, m1)] for c in codecs if (c, m1) in at and (c, m2) in at]
        ys = [at[(c, m2)] for c in codecs if (c, m1) in at and (c, m2) in at]
        if xs:
            x, y = np.concatenate(xs), np.concatenate(ys)
            ok = np.isfinite(x) & np.isfinite(y)
            if ok.sum() >= 3:
                image_corr[(m1, m2)] = (float(stats.spearmanr(x[ok], y[ok])[0]),
                                        float(stats.kendalltau(x[ok], y[ok])[0]), int(ok.sum()))
    movers = []
    for c in codecs:
        rs = {m: ranks[(c, m)] for m in metrics if (c, m) in ranks}
        if len(rs) >= 2:
            best, worst = min(rs, key=rs.get), max(rs, key=rs.get)
            movers.append((c, rs[worst] - rs[best], best, worst))
    movers.sort(key=lambda t: -t[1])
    med = float(np.nanmedian(bpp)) if bpp is not None and np.isfinite(bpp).any() else None
    out = Disagreement(metrics, codecs, bd, ranks, bd_corr, image_corr, med, movers)
    out.trained = trained_gap(ranks, codecs, metrics, trained_for or {})
    return out


def trained_gap(ranks: dict, codecs: list, metrics: list, trained_for: dict) -> list:
    """Per codec that declares what it was trained for: (codec, trained metrics, mean rank there,
    mean rank on held-out metrics, gap, flagged) — flagged when it ranks in the top third where it
    was trained and in the bottom half on the held-out metrics."""
    n = len(codecs)
    out = []
    for c in codecs:
        t = [m for m in trained_for.get(c, []) if m in metrics and (c, m) in ranks]
        h = [m for m in metrics if m not in trained_for.get(c, []) and (c, m) in ranks]
        if not t or not h:
            continue
        rt, rh = float(np.mean([ranks[(c, m)] for m in t])), float(np.mean([ranks[(c, m)] for m in h]))
        out.append((c, t, rt, rh, rh - rt, rt <= max(1.0, n / 3) and rh > n / 2))
    return out


@dataclass
class RealismPoint:
    """One rate point on the rate-distortion-realism plane."""
    codec: str
    point_index: int
    bpp: float
    distortion: float
    realism: float


def realism(cvs: dict, distortion: str, realism_metric: str, identity: str = "identity"):
    """([RealismPoint], the originals' realism level or None)."""
    pts, ref = [], None
    for c in sorted({c for c, _ in cvs}):
        d, r = cvs.get((c, distortion)), cvs.get((c, realism_metric))
        if r is None or not r.bpp:
            continue
        if c == identity:
            ref = float(np.mean(r.value))
            continue
        if d is None:
            continue
        dv = dict(zip(d.point_index, d.value))
        pts += [RealismPoint(c, i, b, dv[i], v) for i, b, v in zip(r.point_index, r.bpp, r.value) if i in dv]
    return pts, ref
