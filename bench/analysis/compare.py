"""`bench compare BASELINE CANDIDATE`: the regression gate on metric scores.

For every codec x metric present on both sides: the BD-rate of the candidate against the
baseline (same codec id), the change of the aggregated score at every shared rate point (same
ladder entry), and where both sides have per-image data the paired bootstrap interval of both and
the images that moved most. A cell *regresses* when the candidate needs more bits for equal
quality beyond its tolerance (BD-rate > tol %) or a score at a shared point worsens beyond its
tolerance (metric units, direction from the metric table); with per-image data the change must
also lie outside its 95 % interval (so float noise between executors never fails a build).
Improvements are the mirror image. Tolerances: DEFAULTS by metric kind, overridden by a TOML
file and `--tol`.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from ..errors import BDRateError, BenchError
from . import bootstrap
from .bdrate import bd_rate, quality_axis

DEFAULT_BD_RATE = 1.0  # percent, every metric
DEFAULT_POINT_DB = 0.05  # dB, PSNR-like metrics
DEFAULT_POINT_UNIT = 0.002  # metrics in [0, 1] (SSIM, MS-SSIM, LPIPS, DISTS ...)
DEFAULT_POINT_REL = 0.01  # others: 1 % of the baseline value


class CompareInputError(BenchError):
    """Unusable input for a comparison (exit 2, a corrupt store included)."""


@dataclass
class Tolerances:
    """How far a candidate may move before the gate calls it a regression: BD-rate and point tolerances."""
    bd_rate: float = DEFAULT_BD_RATE
    per_metric: dict = field(default_factory=dict)  # metric -> {"bd_rate", "point"}
    per_codec: dict = field(default_factory=dict)  # codec -> metric -> {"bd_rate", "point"}

    def get(self, codec: str, metric: str, what: str, baseline_value: float | None = None) -> float:
        """The tolerance of one kind for a codec and metric (codec, then metric, then the default)."""
        for scope in (self.per_codec.get(codec, {}).get(metric, {}), self.per_metric.get(metric, {})):
            if what in scope:
                return float(scope[what])
        if what == "bd_rate":
            return self.bd_rate
        row = metric_table.get(metric)
        if row.unit == "dB":
            return DEFAULT_POINT_DB
        if row.range == (0, 1):
            return DEFAULT_POINT_UNIT
        return DEFAULT_POINT_REL * abs(baseline_value or 0.0)

    @classmethod
    def load(cls, path: str | None, overrides=()) -> Tolerances:
        """Tolerances from a TOML file and KEY=VALUE overrides."""
        t = cls()
        if path:
            try:
                data = tomllib.loads(Path(path).read_text())
            except (OSError, tomllib.TOMLDecodeError) as e:
                raise CompareInputError(f"{path}: cannot read the tolerance file ({e})") from None
            t.bd_rate = float(data.get("default", {}).get("bd_rate", t.bd_rate))
            t.per_metric = {m: dict(v) for m, v in data.get("metric", {}).items()}
            t.per_codec = {c: {m: dict(v) for m, v in d.get("metric", {}).items()} for c, d in data.get("codec", {}).items()}
            for m in list(t.per_metric) + [m for d in t.per_codec.values() for m in d]:
                metric_table.get(m)
        for o in overrides:
            key, sep, val = o.partition("=")
            try:
                v = float(val)
            except ValueError:
                v = None
            if not sep or v is None:
                raise CompareInputError(f"--tol {o!r}: give bd_rate=PCT, METRIC=POINT_TOL or METRIC.bd_rate=PCT")
            if key == "bd_rate":
                t.bd_rate = v
            else:
                m, _, what = key.partition(".")
                metric_table.get(m)
                t.per_metric.setdefault(m, {})[what or "point"] = v
        return t


@dataclass
class Side:
    """One side of a comparison: curves with per-image data where the source has it."""
    label: str
    curves: dict  # (codec, metric) -> Curve
    dataset: str | None
    images: dict  # image sha256 -> name ({} when unknown)
    per_image: bool


@dataclass
class Result:
    """The verdict on one codec x metric cell of a comparison."""
    codec: str
    metric: str
    status: str  # regression | improvement | unchanged | not compared
    bd_rate: float | None = None
    ci: tuple | None = None
    tol_bd: float = 0.0
    tol_point: float = 0.0
    points: list = field(default_factory=list)  # (point, baseline, candidate, change toward worse, ci, tolerance)
    worst: tuple | None = None
    moved: list = field(default_factory=list)  # (image, change toward worse, averaged over shared points)
    reasons: list = field(default_factory=list)
    message: str = ""


def _check_same_data(a: Side, b: Side) -> list[str]:
    if a.dataset and b.dataset and a.dataset != b.dataset:
        raise CompareInputError(f"different datasets: baseline {a.dataset!r}, candidate {b.dataset!r}")
    if a.images and b.images and set(a.images) != set(b.images):
        only_a = sorted(a.images[k] for k in set(a.images) - set(b.images))
        only_b = sorted(b.images[k] for k in set(b.images) - set(a.images))
        raise CompareInputError("different image sets (by pixel sha256): only in the baseline: "
                                f"{', '.join(only_a) or '-'}; only in the candidate: {', '.join(only_b) or '-'}")
    if not (a.images and b.images):
        return ["one side has no per-image data: its image set could not be checked"]
    return []


def compare(base: Side, cand: Side, tol: Tolerances, resamples: int = bootstrap.DEFAULT_RESAMPLES,
            seed: int = bootstrap.DEFAULT_SEED) -> tuple[list[Result], list[str]]:
    """Compare a candidate's curves with a baseline's cell by cell: (results, notes)."""
    notes = _check_same_data(base, cand)
    keys = sorted(set(base.curves) & set(cand.curves))
    keys = [k for k in keys if base.curves[k].bpp and cand.curves[k].bpp]
    if not keys:
        raise CompareInputError(f"no codec x metric with results on both sides (baseline: "
                                f"{', '.join(sorted({f'{c}/{m}' for c, m in base.curves})) or 'none'}; candidate: "
                                f"{', '.join(sorted({f'{c}/{m}' for c, m in cand.curves})) or 'none'})")
    out = [_cell(base.curves[k], cand.curves[k], tol, resamples, seed) for k in keys]
    for k in sorted(set(base.curves) ^ set(cand.curves)):
        side = "baseline" if k in base.curves else "candidate"
        out.append(Result(k[0], k[1], "not compared", message=f"only in the {side}"))
    return out, notes


def _cell(a, t, tol: Tolerances, resamples: int, seed: int) -> Result:
    hib = metric_table.get(a.metric).higher_is_better
    r = Result(a.codec, a.metric, "unchanged", tol_bd=tol.get(a.codec, a.metric, "bd_rate"))
    paired = a.image_value is not None and t.image_value is not None and a.images == t.images
    w = bootstrap.draws(len(a.images), resamples, seed) if paired else None
    # BD-rate of the candidate against the baseline
    try:
        r.bd_rate = bd_rate(a.bpp, a.value, t.bpp, t.value, higher_is_better=hib).value
        if paired:
            avg, _ = bootstrap.bd_batch(quality_axis(w @ a.image_value, hib), np.log10(w @ a.image_bpp),
                                quality_axis(w @ t.image_value, hib), np.log10(w @ t.image_bpp))
            vals = (10 ** avg[np.isfinite(avg)] - 1) * 100
            if len(vals) >= 0.5 * len(avg):
                r.ci = tuple(float(x) for x in np.percentile(vals, [2.5, 97.5]))
    except BDRateError as e:
        r.message = f"BD-rate undefined: {e}"
    # scores at every shared rate point (the same ladder entry on both sides)
    shared = [(i, j) for i, p in enumerate(a.params) for j, q in enumerate(t.params) if p == q and p is not None]
    worse = 1.0 if not hib else -1.0  # change toward worse = sign * (candidate - baseline)
    for i, j in shared:
        tp = tol.get(a.codec, a.metric, "point", a.value[i])  # a relative tolerance differs by point
        r.tol_point = max(r.tol_point, tp)
        change = worse * (t.value[j] - a.value[i])
        ci = None
        if paired:
            d = worse * (t.image_value[:, j] - a.image_value[:, i])
            ci = tuple(float(x) for x in np.percentile(w @ d, [2.5, 97.5]))
        r.points.append((a.params[i], a.value[i], t.value[j], change, ci, tp))
    # verdict: beyond tolerance, and outside the interval where there is one
    if r.bd_rate is not None and r.bd_rate > r.tol_bd and (r.ci is None or r.ci[0] > 0):
        r.reasons.append(f"BD-rate {r.bd_rate:+.2f} % > {r.tol_bd:g} %")
    bad = [p for p in r.points if p[3] > p[5] and (p[4] is None or p[4][0] > 0)]
    if bad:
        worst = max(bad, key=lambda p: p[3])
        r.worst = worst
        r.reasons.append(f"{len(bad)} point(s) worse by more than {worst[5]:g}; worst at {worst[0]}: "
                         f"{worst[1]:.6g} -> {worst[2]:.6g}")
    good_bd = r.bd_rate is not None and r.bd_rate < -r.tol_bd and (r.ci is None or r.ci[1] < 0)
    good_pts = [p for p in r.points if p[3] < -p[5] and (p[4] is None or p[4][1] < 0)]
    if r.reasons:
        r.status = "regression"
    elif good_bd or good_pts:
        r.status = "improvement"
        if good_bd:
            r.reasons.append(f"BD-rate {r.bd_rate:+.2f} % < -{r.tol_bd:g} %")
        if good_pts:
            r.reasons.append(f"{len(good_pts)} point(s) better by more than {r.tol_point:g}")
    if paired:
        r.moved = _moved(a, t, hib)
    return r


def _moved(a, t, hib: bool, n: int = 3) -> list:
    """The images whose own curve moved most: per-image BD-rate (candidate vs baseline)."""
    qa, qt = quality_axis(a.image_value, hib), quality_axis(t.image_value, hib)
    avg, _ = bootstrap.bd_batch(qa, np.log10(a.image_bpp), qt, np.log10(t.image_bpp))
    vals = (10 ** avg - 1) * 100
    order = [i for i in np.argsort(-np.abs(np.nan_to_num(vals, nan=0.0))) if np.isfinite(vals[i])][:n]
    return [(a.images[i], float(vals[i])) for i in order if abs(vals[i]) > 1e-9]
