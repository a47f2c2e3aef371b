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

The gate fails closed: every cell the baseline has is judged on the candidate. A baseline cell or
rate point the candidate lacks is `missing`, a BD-rate that cannot be computed (no overlap, too few
points, a non-monotone curve) is `undefined`; both fail unless allowed (`allow_missing`,
`allow_undefined`), and an incomplete run on either side fails. When ladders differ, BD-rate is
computed on the shared points only (a subset of a ladder is not an improvement).
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from ..errors import BDRateError, BenchError
from . import bootstrap
from .bdrate import MIN_POINTS, bd_rate, quality_axis

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
        """Tolerances from a TOML file and KEY=VALUE overrides; unknown keys and values that are not
        finite and non-negative are errors (a NaN tolerance would switch the gate off)."""
        t = cls()
        if path:
            try:
                data = tomllib.loads(Path(path).read_text())
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
                raise CompareInputError(f"{path}: cannot read the tolerance file ({e})") from None
            _known(data, TOLERANCE_TABLES, f"{path}: top-level table")
            default = data.get("default", {})
            _known(default, TOLERANCE_KEYS, f"{path}: [default] key")
            t.bd_rate = _tolerance(default.get("bd_rate", t.bd_rate), f"{path}: [default] bd_rate")
            t.per_metric = {m: _scope(v, f"{path}: [metric.{m}]") for m, v in data.get("metric", {}).items()}
            t.per_codec = {}
            for c, d in data.get("codec", {}).items():
                _known(d, ("metric",), f"{path}: [codec.{c}] table")
                t.per_codec[c] = {m: _scope(v, f"{path}: [codec.{c}.metric.{m}]") for m, v in d.get("metric", {}).items()}
            for m in list(t.per_metric) + [m for d in t.per_codec.values() for m in d]:
                metric_table.get(m)
        for o in overrides:
            key, sep, val = o.partition("=")
            if not sep:
                raise CompareInputError(f"--tol {o!r}: give bd_rate=PCT, METRIC=POINT_TOL or METRIC.bd_rate=PCT")
            v = _tolerance(val, f"--tol {o!r}")
            if key == "bd_rate":
                t.bd_rate = v
                continue
            m, _, what = key.partition(".")
            if m not in metric_table.names():
                raise CompareInputError(f"--tol {o!r}: {m!r} is neither bd_rate nor a metric; valid keys: bd_rate, "
                                        "METRIC, METRIC.bd_rate, METRIC.point")
            if what and what not in TOLERANCE_KEYS:
                raise CompareInputError(f"--tol {o!r}: {what!r} unknown; valid: {', '.join(TOLERANCE_KEYS)}")
            t.per_metric.setdefault(m, {})[what or "point"] = v
        return t


TOLERANCE_TABLES = ("default", "metric", "codec")
TOLERANCE_KEYS = ("bd_rate", "point")


def _known(table, valid, what: str) -> None:
    if not isinstance(table, dict):
        raise CompareInputError(f"{what}: expected a table")
    bad = [k for k in table if k not in valid]
    if bad:
        raise CompareInputError(f"{what} {', '.join(map(repr, bad))} unknown; valid: {', '.join(valid)}")


def _tolerance(value, what: str) -> float:
    """A tolerance: a finite number >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v < 0:
        raise CompareInputError(f"{what}: tolerance {value!r} must be a finite number >= 0")
    return v


def _scope(table, what: str) -> dict:
    _known(table, TOLERANCE_KEYS, f"{what} key")
    return {k: _tolerance(v, f"{what} {k}") for k, v in table.items()}


@dataclass
class Side:
    """One side of a comparison: curves with per-image data where the source has it."""
    label: str
    curves: dict  # (codec, metric) -> Curve
    dataset: str | None
    images: dict  # image sha256 -> name ({} when unknown)
    per_image: bool
    problems: list = field(default_factory=list)  # what makes this side fail the gate (an unfinished run)


@dataclass
class Result:
    """The verdict on one codec x metric cell of a comparison."""
    codec: str
    metric: str
    status: str  # regression | undefined | missing | improvement | unchanged | not compared
    bd_rate: float | None = None
    ci: tuple | None = None
    tol_bd: float = 0.0
    tol_point: float = 0.0
    points: list = field(default_factory=list)  # (point, baseline, candidate, change toward worse, ci, tolerance)
    worst: tuple | None = None
    moved: list = field(default_factory=list)  # (image, change toward worse, averaged over shared points)
    reasons: list = field(default_factory=list)
    message: str = ""
    missing_points: list = field(default_factory=list)  # baseline rate points the candidate lacks
    undefined: str = ""  # why the BD-rate could not be computed (when the baseline's could)
    absent: bool = False  # the whole cell is missing from the candidate
    regressed: bool = False
    better: bool = False


# the statuses that fail the gate, in the order the verdict counts them ("incomplete": a whole side's run
# did not finish, a cell the gate adds beside the compared ones)
FAILING = ("regression", "missing", "undefined", "incomplete")


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
            seed: int = bootstrap.DEFAULT_SEED, *, allow_missing: bool = False,
            allow_undefined: bool = False) -> tuple[list[Result], list[str]]:
    """Judge every baseline cell on the candidate: (results, notes). Missing cells and points and
    undefined BD-rates fail unless allowed (then they are notes)."""
    notes = _check_same_data(base, cand)
    for who, side in (("baseline", base), ("candidate", cand)):
        dropped = sum(cv.dropped for cv in side.curves.values())
        if dropped:
            notes.append(f"{who}: {dropped} incomplete rate point(s) left out of its curves (missing images or "
                         "non-finite values)")
    if not any(base.curves[k].bpp and k in cand.curves and cand.curves[k].bpp for k in base.curves):
        raise CompareInputError(f"no codec x metric with results on both sides (baseline: "
                                f"{', '.join(sorted({f'{c}/{m}' for c, m in base.curves})) or 'none'}; candidate: "
                                f"{', '.join(sorted({f'{c}/{m}' for c, m in cand.curves})) or 'none'})")
    out = []
    for k in sorted(base.curves):
        if not base.curves[k].bpp:
            notes.append(f"baseline {k[0]}/{k[1]} has no complete rate point: nothing to judge")
        elif k not in cand.curves or not cand.curves[k].bpp:
            why = "no complete rate point in the candidate" if k in cand.curves else "absent from the candidate"
            out.append(Result(k[0], k[1], "missing", message=f"in the baseline, {why}", reasons=[why], absent=True))
        else:
            out.append(_cell(base.curves[k], cand.curves[k], tol, resamples, seed))
    for k in sorted(set(cand.curves) - set(base.curves)):
        out.append(Result(k[0], k[1], "not compared", message="only in the candidate"))
    for r in out:
        if r.status != "not compared":
            r.status = _status(r, allow_missing, allow_undefined)
            for kind, allowed in (("missing", allow_missing), ("undefined", allow_undefined)):
                if allowed and _is(r, kind):
                    notes.append(f"{r.codec}/{r.metric}: {kind} ({r.message}), allowed by --allow-{kind}")
    return out, notes


def _is(r: Result, kind: str) -> bool:
    """Whether a cell is missing (whole, or some of its rate points) or its BD-rate undefined."""
    return bool(r.absent or r.missing_points) if kind == "missing" else bool(r.undefined)


def _status(r: Result, allow_missing: bool, allow_undefined: bool) -> str:
    """A judged cell's status, the most serious first."""
    if r.regressed:
        return "regression"
    if _is(r, "missing") and not allow_missing:
        return "missing"
    if r.undefined and not allow_undefined:
        return "undefined"
    return "improvement" if r.better else "unchanged"


def _shared(a, t) -> tuple[list, list, list]:
    """Indices of the rate points both curves have (the same ladder entry), and the baseline's points the
    candidate lacks. Curves without ladder entries (published JSON) are taken whole."""
    if any(p is None for p in a.params) or any(q is None for q in t.params):
        return list(range(len(a.bpp))), list(range(len(t.bpp))), []
    tj = {json_key(q): j for j, q in enumerate(t.params)}
    ia = [i for i, p in enumerate(a.params) if json_key(p) in tj]
    return ia, [tj[json_key(a.params[i])] for i in ia], [p for p in a.params if json_key(p) not in tj]


def json_key(point) -> str:
    """A rate point (ladder entry) as a comparable key: 40 and 40.0 alike, dicts by their items."""
    import json

    return json.dumps(point, sort_keys=True, default=str) if not isinstance(point, (int, float)) else repr(float(point))


def _cell(a, t, tol: Tolerances, resamples: int, seed: int) -> Result:
    hib = metric_table.get(a.metric).higher_is_better
    r = Result(a.codec, a.metric, "unchanged", tol_bd=tol.get(a.codec, a.metric, "bd_rate"))
    ia, it, r.missing_points = _shared(a, t)
    if r.missing_points:
        r.message = (f"the candidate lacks {len(r.missing_points)} of the baseline's {len(a.bpp)} rate point(s) "
                     f"({', '.join(map(str, r.missing_points))}); BD-rate on the {len(ia)} shared")
        r.reasons.append(r.message)
    # resamples 0: no intervals, the verdict rests on the tolerances alone
    paired = a.image_value is not None and t.image_value is not None and a.images == t.images and resamples > 0
    w = bootstrap.draws(len(a.images), resamples, seed) if paired else None
    _bd(r, a, t, ia, it, hib, paired, w)
    _points(r, a, t, ia, it, hib, paired, w, tol)
    if paired and len(ia) >= MIN_POINTS:
        r.moved = _moved(a, t, hib, ia, it)
    return r


def _bd(r: Result, a, t, ia, it, hib, paired, w) -> None:
    """The candidate's BD-rate against the baseline on the shared points, with its paired interval."""
    def pick(cv, idx, what):
        return [getattr(cv, what)[i] for i in idx]

    if len(ia) < MIN_POINTS and len(a.bpp) < MIN_POINTS:
        r.message = r.message or f"{len(a.bpp)} rate point(s) in the baseline: judged at its points (no BD-rate)"
        return
    try:
        r.bd_rate = bd_rate(pick(a, ia, "bpp"), pick(a, ia, "value"), pick(t, it, "bpp"), pick(t, it, "value"),
                            higher_is_better=hib).value
    except BDRateError as e:
        r.undefined = f"BD-rate undefined: {e}"
        r.message = "; ".join(x for x in (r.message, r.undefined) if x)
        r.reasons.append(r.undefined)
        return
    if paired:
        try:
            avg, _ = bootstrap.bd_batch(quality_axis(w @ a.image_value[:, ia], hib), np.log10(w @ a.image_bpp[:, ia]),
                                        quality_axis(w @ t.image_value[:, it], hib), np.log10(w @ t.image_bpp[:, it]))
        except (BDRateError, IndexError, ValueError):
            return
        vals = (10 ** avg[np.isfinite(avg)] - 1) * 100
        if len(vals) >= 0.5 * len(avg):
            r.ci = tuple(float(x) for x in np.percentile(vals, [2.5, 97.5]))
    if r.bd_rate > r.tol_bd and (r.ci is None or r.ci[0] > 0):
        r.regressed = True
        r.reasons.append(f"BD-rate {r.bd_rate:+.2f} % > {r.tol_bd:g} %")
    elif r.bd_rate < -r.tol_bd and (r.ci is None or r.ci[1] < 0):
        r.better = True


def _points(r: Result, a, t, ia, it, hib, paired, w, tol: Tolerances) -> None:
    """The change of the score at every shared rate point, judged against its tolerance and interval."""
    if a.params and all(p is None for p in a.params):
        return  # published curves: no ladder entries to pair
    worse = 1.0 if not hib else -1.0  # change toward worse = sign * (candidate - baseline)
    for i, j in zip(ia, it):
        tp = tol.get(a.codec, a.metric, "point", a.value[i])  # a relative tolerance differs by point
        r.tol_point = max(r.tol_point, tp)
        change = worse * (t.value[j] - a.value[i])
        ci = None
        if paired:
            d = worse * (t.image_value[:, j] - a.image_value[:, i])
            ci = tuple(float(x) for x in np.percentile(w @ d, [2.5, 97.5]))
        r.points.append((a.params[i], a.value[i], t.value[j], change, ci, tp))
    bad = [p for p in r.points if p[3] > p[5] and (p[4] is None or p[4][0] > 0)]
    if bad:
        r.worst = max(bad, key=lambda p: p[3])
        r.regressed = True
        r.reasons.append(f"{len(bad)} point(s) worse by more than {r.worst[5]:g}; worst at {r.worst[0]}: "
                         f"{r.worst[1]:.6g} -> {r.worst[2]:.6g}")
    good = [p for p in r.points if p[3] < -p[5] and (p[4] is None or p[4][1] < 0)]
    if r.better and not r.regressed:
        r.reasons.append(f"BD-rate {r.bd_rate:+.2f} % < -{r.tol_bd:g} %")
    if good and not r.regressed:
        r.better = True
        r.reasons.append(f"{len(good)} point(s) better by more than {r.tol_point:g}")


def _moved(a, t, hib: bool, ia: list, it: list, n: int = 3) -> list:
    """The images whose own curve moved most: per-image BD-rate (candidate vs baseline) on the shared points."""
    qa, qt = quality_axis(a.image_value[:, ia], hib), quality_axis(t.image_value[:, it], hib)
    avg, _ = bootstrap.bd_batch(qa, np.log10(a.image_bpp[:, ia]), qt, np.log10(t.image_bpp[:, it]))
    vals = (10 ** avg - 1) * 100
    order = [i for i in np.argsort(-np.abs(np.nan_to_num(vals, nan=0.0))) if np.isfinite(vals[i])][:n]
    return [(a.images[i], float(vals[i])) for i in order if abs(vals[i]) > 1e-9]
