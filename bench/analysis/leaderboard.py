"""The leaderboard as data: one row per codec (ours and imported published curves), columns per
metric and quantity (BD-rate, BD-metric, quality at a bpp, bpp at a quality), each cell with its
value, 95 % bootstrap interval, overlap and message. `bench/report/tables.py` renders it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import metrics as metric_table
from ..errors import BDRateError
from . import bootstrap
from .bdrate import MIN_POINTS, bd_metric, bd_rate, hull, quality_at, quality_axis, rate_at


@dataclass
class Options:
    """What a leaderboard shows: anchor, method, metrics, extra columns, hull, resampling."""
    anchor: str
    method: str = "pchip"
    metrics: list | None = None  # subset, in this order
    bd_metric: bool = False
    at_bpp: tuple = ()
    at_quality: tuple = ()  # (metric, value)
    hull: bool = False
    resamples: int = bootstrap.DEFAULT_RESAMPLES
    seed: int = bootstrap.DEFAULT_SEED
    sort: str | None = None  # a metric: rows by its BD-rate, best first
    times: bool = False  # encode / decode seconds per image as columns (the store's per-image timings)
    headline: tuple = ()  # metrics whose BD-rates are averaged into one headline column (a profile's)
    per_image: bool = False  # BD values per image, then their mean (the AOM CTC's per-sequence averaging)
    notes: tuple = ()  # lines the caller adds under the table (a profile's description)


@dataclass
class Column:
    """One column of the leaderboard: a metric and a quantity (BD-rate, BD-metric, quality at bpp, bpp at quality)."""
    key: str
    metric: str
    kind: str  # bd_rate | bd_metric | at_bpp | bpp_at
    label: str
    unit: str
    lower_is_better: bool
    target: float | None = None


@dataclass
class Cell:
    """One value of the leaderboard with its interval, overlap, flags and message."""
    value: float | None = None
    ci: tuple | None = None
    overlap: tuple | None = None
    overlap_fraction: float | None = None
    message: str = ""
    flags: list = field(default_factory=list)  # "extrapolated", "hull: k dropped", ...
    resampled_ok: int | None = None
    delta: float | None = None  # quality at a bpp: this codec's value minus the anchor's, paired interval
    delta_ci: tuple | None = None
    draws: object = field(default=None, repr=False)  # the BD value of every bootstrap draw (a headline averages them)


@dataclass
class Extra:
    """A column of one codec-level value per row (with its interval) that another step computed: a human
    study's BD-rate, a learned codec's kMAC per pixel. `key` names its CSV / JSON fields."""
    head: str
    key: str
    cells: dict  # codec -> Cell
    lower_is_better: bool = True
    kind: str = "bd_rate"  # how its numbers print (bench.report.tables._num): bd_rate (+1.2) or value (12.3)
    ranked: bool = True  # the best value in bold (not for a cost such as kMAC/px)


@dataclass
class Leaderboard:
    """The leaderboard model: rows (codecs), columns, cells, notes and provenance; every table renders it."""
    options: Options
    rows: list
    columns: list
    cells: dict
    sources: dict  # codec -> source of an imported curve
    bpp_range: dict
    notes: list = field(default_factory=list)
    provenance: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)  # metric -> (codec, value) of one-point reference codecs
    all_curves: dict = field(default_factory=dict)  # every curve, reference levels included
    times: dict = field(default_factory=dict)  # codec -> (mean encode s, mean decode s) per image, when asked
    headline: dict = field(default_factory=dict)  # codec -> Cell: the mean BD-rate over Options.headline
    extras: list = field(default_factory=list)  # Extra columns another stage adds (a study's human BD-rate)

    def row_label(self, codec: str) -> str:
        """The codec's row label, tagged anchor and/or published."""
        tags = (["anchor"] if codec == self.options.anchor else []) + (["published"] if codec in self.sources else [])
        return codec + (f" ({', '.join(tags)})" if tags else "")


RESAMPLED = ("95 % intervals: bootstrap over images ({n} resamples, seed {seed}): images drawn with "
             "replacement, per-point means and the BD value recomputed, the same draw for both curves; "
             "imported curves are fixed, so against one the interval is unpaired (wider: the image mix "
             "is not cancelled)")


def _points(cv, use_hull: bool, hib: bool):
    idx = list(range(len(cv.bpp)))
    if use_hull and len(idx) >= 2:
        idx = hull(cv.bpp, cv.value, hib)
    return idx


def _means(cv, w, idx):
    """Per-point mean bpp and quality for image weights w (resamples x images); a curve without
    per-image data (an imported one) is the same in every resample."""
    if cv.resample is not None:
        return cv.resample(w, idx)
    if cv.image_value is None:
        return (np.broadcast_to(np.asarray(cv.bpp)[idx], (len(w), len(idx))),
                np.broadcast_to(np.asarray(cv.value)[idx], (len(w), len(idx))))
    return w @ cv.image_bpp[:, idx], w @ cv.image_value[:, idx]


def _draw_values(a, ia, t, it, hib, kind, opts):
    """The BD-rate (kind 'rate') or BD-metric ('metric') of every bootstrap draw (NaN where undefined), or
    None when neither curve has per-image data. The draws depend only on the image count, resamples and
    seed, so the cells of one row share them (a mean over metrics is paired)."""
    if opts.resamples <= 0 or not (a.resampled or t.resampled):
        return None
    n_img = len((t if t.resampled else a).images)
    w = bootstrap.draws(n_img, opts.resamples, opts.seed)
    (ra, va), (rt, vt) = _means(a, w, ia), _means(t, w, it)
    qa, qt = quality_axis(va, hib), quality_axis(vt, hib)
    if kind == "rate":
        avg, _ = bootstrap.bd_batch(qa, np.log10(ra), qt, np.log10(rt), opts.method)
        return (10 ** avg - 1) * 100
    avg, _ = bootstrap.bd_batch(np.log10(ra), qa, np.log10(rt), qt, opts.method)
    return avg if hib else -avg


def _percentiles(vals) -> tuple[tuple | None, int]:
    ok = np.isfinite(vals)
    if ok.sum() < 0.5 * len(vals):
        return None, int(ok.sum())
    lo, hi = np.percentile(vals[ok], [2.5, 97.5])
    return (float(lo), float(hi)), int(ok.sum())


def _headline(codecs: list, cells: dict, opts: Options) -> dict:
    """{codec: Cell}: the mean BD-rate over the headline metrics (a profile's), its interval from the same
    bootstrap draws averaged across metrics; n/a, naming the metric, when one BD-rate is undefined."""
    out = {}
    for c in codecs:
        row = [cells.get((c, f"bd_rate:{m}")) for m in opts.headline]
        missing = [m for m, cell in zip(opts.headline, row) if cell is None or cell.value is None]
        if missing:
            out[c] = Cell(message=f"no BD-rate for {', '.join(missing)}")
        elif c == opts.anchor:
            out[c] = Cell(0.0, (0.0, 0.0), message="anchor")
        else:
            ci = None
            if all(cell.draws is not None for cell in row):
                ci, _ = _percentiles(np.mean([cell.draws for cell in row], axis=0))
            out[c] = Cell(float(np.mean([cell.value for cell in row])), ci)
    return out


def _at_bpp_intervals(cell: Cell, a, t, it, bpp: float, hib: bool, opts: Options) -> None:
    """95 % bootstrap interval of the quality at `bpp`, and, against a resampled anchor, of the
    paired difference test - anchor (same image draw): a matched-rate comparison with its error."""
    if opts.resamples <= 0 or not t.resampled:
        return
    w = bootstrap.draws(len(t.images), opts.resamples, opts.seed)

    def at(cv, idx):
        r, v = _means(cv, w, idx)
        lr = np.log10(r)
        o = np.argsort(lr, axis=1)
        lr, v = np.take_along_axis(lr, o, 1), np.take_along_axis(v, o, 1)
        ok = (np.diff(lr, axis=1) > 0).all(1)
        with np.errstate(all="ignore"):
            return np.where(ok, bootstrap.pchip_at(lr, v, np.log10(bpp)), np.nan)

    vt = at(t, it)
    if np.isfinite(vt).sum() >= 0.5 * len(vt):
        cell.ci = tuple(float(x) for x in np.nanpercentile(vt, [2.5, 97.5]))
    if a is None or not a.resampled or a.images != t.images or len(a.bpp) < 2:
        return
    ia = _points(a, opts.hull, hib)
    d = vt - at(a, ia)
    va, _ = quality_at([a.bpp[i] for i in ia], [a.value[i] for i in ia], bpp)
    if np.isfinite(d).sum() >= 0.5 * len(d):
        cell.delta, cell.delta_ci = cell.value - va, tuple(float(x) for x in np.nanpercentile(d, [2.5, 97.5]))


def build(cvs: dict, opts: Options, provenance: dict | None = None) -> Leaderboard:
    """From {(codec, metric): Curve} (ours and imported) to the leaderboard model."""
    metrics = opts.metrics or sorted({m for _, m in cvs}, key=lambda m: [k for _, k in cvs].index(m))
    codecs = sorted({c for c, _ in cvs}, key=lambda c: (c != opts.anchor, c))
    sources = {c: cv.source for (c, _), cv in cvs.items() if cv.source}
    columns = []
    for m in metrics:
        row = metric_table.get(m)
        lib = not row.higher_is_better
        columns.append(Column(f"bd_rate:{m}", m, "bd_rate", f"{m} BD-rate", "%", True))
        if opts.bd_metric:
            columns.append(Column(f"bd_metric:{m}", m, "bd_metric", f"BD-{m}", row.unit or m, lib))
        for b in opts.at_bpp:
            columns.append(Column(f"at_bpp:{m}:{b:g}", m, "at_bpp", f"{m} @ {b:g} bpp",
                                  row.unit, lib, b))
    for m, v in opts.at_quality:
        columns.append(Column(f"bpp_at:{m}:{v:g}", m, "bpp_at", f"bpp @ {m} = {v:g}", "bpp", True, v))
    cells = {}
    for col in columns:
        hib = metric_table.get(col.metric).higher_is_better
        a = cvs.get((opts.anchor, col.metric))
        for c in codecs:
            t = cvs.get((c, col.metric))
            cells[(c, col.key)] = _cell(col, a, t, hib, opts, is_anchor=c == opts.anchor)
    bpp_range = {c: (min(b for (cc, _), cv in cvs.items() if cc == c for b in cv.bpp),
                     max(b for (cc, _), cv in cvs.items() if cc == c for b in cv.bpp))
                 for c in codecs if any(cv.bpp for (cc, _), cv in cvs.items() if cc == c)}
    if opts.sort:
        key = f"bd_rate:{opts.sort}"
        if key not in {c.key for c in columns}:
            raise BDRateError(f"--sort {opts.sort}: not a metric of this table ({', '.join(metrics)})")
        codecs.sort(key=lambda c: (cells[(c, key)].value is None,
                                   cells[(c, key)].value if cells[(c, key)].value is not None else 0))
    notes = list(opts.notes) + [f"{cv.codec} / {cv.metric}: {n}" for cv in cvs.values() for n in cv.notes]
    lb = Leaderboard(opts, codecs, columns, cells, sources, bpp_range, notes, provenance or {})
    if opts.headline:
        lb.headline = _headline(codecs, cells, opts)
    return lb


MARGIN = 0.1  # a target may lie this far beyond the measured range (a factor 1.1 in rate, 10 % of the quality span)


def _beyond_margin(col: Column, bpp: list, values: list) -> str:
    """Why a target is too far outside the measured range to extrapolate to ('' when it is not)."""
    if col.kind == "at_bpp":
        lo, hi = min(bpp), max(bpp)
        if not lo / (1 + MARGIN) <= col.target <= hi * (1 + MARGIN):
            return (f"{col.target:g} bpp is outside the measured {lo:.3g}-{hi:.3g} bpp by more than {MARGIN:.0%}: "
                    "not extrapolated")
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) * MARGIN
    if not lo - span <= col.target <= hi + span:
        return (f"{col.metric} {col.target:g} is outside the measured {lo:.4g}-{hi:.4g} by more than {MARGIN:.0%} of "
                "that span: not extrapolated")
    return ""


def _cell(col: Column, a, t, hib: bool, opts: Options, is_anchor: bool) -> Cell:
    if t is None:
        return Cell(message=f"no {col.metric} curve")
    if not t.bpp:
        return Cell(message="no complete rate points")
    it = _points(t, opts.hull, hib)
    flags = [f"hull: {len(t.bpp) - len(it)} point(s) dropped"] if opts.hull and len(it) < len(t.bpp) else []
    try:
        if col.kind in ("at_bpp", "bpp_at"):
            far = _beyond_margin(col, [t.bpp[i] for i in it], [t.value[i] for i in it])
            if far:
                return Cell(message=far, flags=flags)
        if col.kind == "at_bpp":
            v, ext = quality_at([t.bpp[i] for i in it], [t.value[i] for i in it], col.target)
            cell = Cell(v, flags=flags + (["extrapolated"] if ext else []))
            _at_bpp_intervals(cell, a if a is not None and a.bpp and not is_anchor else None, t, it, col.target, hib, opts)
            return cell
        if col.kind == "bpp_at":
            v, ext = rate_at([t.bpp[i] for i in it], [t.value[i] for i in it], col.target, higher_is_better=hib)
            return Cell(v, flags=flags + (["extrapolated"] if ext else []))
        if a is None or not a.bpp:
            return Cell(message=f"anchor {opts.anchor} has no complete points")
        if is_anchor:
            return Cell(0.0, (0.0, 0.0), flags=flags, message="anchor")
        ia = _points(a, opts.hull, hib)
        fn = bd_rate if col.kind == "bd_rate" else bd_metric
        if opts.per_image:
            return _per_image(fn, a, ia, t, it, hib, opts, flags)
        r = fn([a.bpp[i] for i in ia], [a.value[i] for i in ia], [t.bpp[i] for i in it], [t.value[i] for i in it],
               higher_is_better=hib, method=opts.method)
    except BDRateError as e:
        msg = str(e)
        if opts.hull is False and "not strictly monotone" in msg:
            msg += " (--hull keeps the convex hull of the points)"
        if len(it) < MIN_POINTS and opts.hull:
            msg = f"{len(it)} points on the hull, BD needs at least {MIN_POINTS}"
        return Cell(message=msg, flags=flags)
    draws = _draw_values(a, ia, t, it, hib, "rate" if col.kind == "bd_rate" else "metric", opts)
    ci, n_ok = _percentiles(draws) if draws is not None else (None, None)
    if ci is not None and a.resampled != t.resampled:
        flags.append("unpaired interval")  # only one side resampled: the image mix is not cancelled
    return Cell(r.value, ci, r.overlap, r.overlap_fraction, flags=flags, resampled_ok=n_ok, draws=draws)


PER_IMAGE = ("BD values per image (each image's own curve against the anchor's on that image), then their mean over "
             "images, as the AOM CTC averages per-sequence BD-rates; 95 % intervals: bootstrap over images of that mean")


def _per_image(fn, a, ia, t, it, hib: bool, opts: Options, flags: list) -> Cell:
    """The mean over images of per-image BD values, with a bootstrap-over-images interval; n/a, naming the
    images, when one image's BD value is undefined (never a mean over fewer images)."""
    if a.image_value is None or t.image_value is None or a.images != t.images:
        return Cell(message="per-image BD needs both curves measured on the same images (an imported or set-level "
                            "curve has no per-image data)", flags=flags)
    values, bad = [], []
    for k, name in enumerate(t.images):
        ab, av, tb, tv = a.image_bpp[k, ia], a.image_value[k, ia], t.image_bpp[k, it], t.image_value[k, it]
        if opts.hull:  # each image's own hull: its curve, not the mean curve, is what is integrated
            ka, kt = hull(list(ab), list(av), hib), hull(list(tb), list(tv), hib)
            ab, av, tb, tv = ab[ka], av[ka], tb[kt], tv[kt]
        try:
            values.append(fn(ab, av, tb, tv, higher_is_better=hib, method=opts.method).value)
        except BDRateError as e:
            bad.append(f"{name}: {e}")
    if bad:
        hint = "; --hull keeps each image's convex hull" if not opts.hull and any("monotone" in b for b in bad) else ""
        return Cell(message=f"per-image BD undefined on {len(bad)} of {len(t.images)} images ({'; '.join(bad[:2])}"
                            + ("; ..." if len(bad) > 2 else "") + f"){hint}", flags=flags)
    v = np.array(values)
    draws = bootstrap.draws(len(v), opts.resamples, opts.seed) @ v if opts.resamples > 0 else None
    ci, n_ok = _percentiles(draws) if draws is not None else (None, None)
    return Cell(float(v.mean()), ci, flags=flags, resampled_ok=n_ok, draws=draws)
