"""Metrics against people, for a study made from a run: for every judged pair, which side each metric of
the run prefers (its score of the full reconstruction, as stored by the run: a cropped study shows a
window of the same image); the share of judgements it agrees with (ties half), the Kendall tau between
its ranking of the conditions and the human one, and the pairs where it and people disagree most."""
from __future__ import annotations

import numpy as np

from .. import metrics as metric_table
from ..analysis import pairwise
from ..report.stored import StoredRun
from .store import Study


def metric_agreement(study: Study, rows, conds: list[str], elo: np.ndarray, elo_draws: np.ndarray, seed: int = 0,
                     resamples: int = 1000, worst: int = 5, run: StoredRun | None = None) -> tuple[list[dict], list[dict]]:
    """([per-metric agreement and tau with intervals], [most disagreeing pairs]). `run`: the caller's open run,
    used when it is the study's own (same run id), else the study's run is opened here."""
    mine = run is None or study.spec.get("run_id") is None or run.run_id != study.spec["run_id"]
    if mine:
        run = StoredRun.open(study.spec["run"], study.spec.get("run_id"))
    try:
        values = {}
        for r in run.records:
            values[(r["encoding_key"], r["metric"])] = r["value"]
        item = {(i["image"], i["condition"]): i for i in study.spec["items"]}
        images = sorted({r["image"] for r in rows})
        img_idx = np.array([images.index(r["image"]) for r in rows])
        y = np.array([r["y"] for r in rows])
        rng = np.random.default_rng(seed)
        picks = [np.bincount(rng.integers(0, len(images), len(images)), minlength=len(images)) for _ in range(resamples)]
        out, worst_pairs = [], []
        for m in run.metrics:
            row = metric_table.get(m)
            if row.kind != "fr":
                continue
            score = lambda im, c, m=m: _value(item[(im, c)], m, values)  # noqa: E731
            pref = []
            for r in rows:
                va, vb = score(r["image"], r["a"]), score(r["image"], r["b"])
                if va is None or vb is None or not np.isfinite([va, vb]).all():
                    pref.append(np.nan)
                else:
                    pref.append(0.5 if va == vb else float((va > vb) == row.higher_is_better))
            pref = np.array(pref)
            ok = np.isfinite(pref)
            if not ok.any():
                continue
            agree = pairwise.preference_agreement(pref[ok], y[ok])
            w_img = img_idx[ok]
            share = float(agree.mean())
            boots = [np.average(agree, weights=p[w_img]) for p in picks if p[w_img].sum() > 0]
            mean_m = [np.nanmean([score(im, c) for im in images if score(im, c) is not None] or [np.nan]) for c in conds]
            sign = 1 if row.higher_is_better else -1
            tau = pairwise.kendall_tau(sign * np.array(mean_m), elo)
            taus = [pairwise.kendall_tau(sign * np.array(mean_m), d) for d in elo_draws] or [np.nan]
            out.append({"metric": m, "agreement": share, "lo": float(np.percentile(boots, 2.5)),
                        "hi": float(np.percentile(boots, 97.5)), "tau": tau, "tau_lo": float(np.nanpercentile(taus, 2.5)),
                        "tau_hi": float(np.nanpercentile(taus, 97.5)), "judgements": int(ok.sum())})
            worst_pairs += _disagreements(rows, pref, m, item)
        worst_pairs.sort(key=lambda d: -d["gap"])
        return out, worst_pairs[:worst]
    finally:
        if mine:
            run.close()


def _value(item: dict, metric: str, values: dict):
    """A study item's metric value: scored at creation (a matched-rate encoding), else the run's record."""
    if "scores" in item:
        return item["scores"].get(metric)
    return values.get((item["encoding"], metric))


def _disagreements(rows, pref, metric: str, item: dict) -> list[dict]:
    """Per (image, pair): the share of people preferring the first side vs the metric's choice."""
    agg: dict = {}
    for r, p in zip(rows, pref):
        if not np.isfinite(p):
            continue
        first, second = sorted((r["a"], r["b"]))
        yy, pp = (r["y"], p) if r["a"] == first else (1 - r["y"], 1 - p)
        agg.setdefault((r["image"], first, second), [[], pp])[0].append(yy)
    out = []
    for (im, a, b), (ys, pp) in agg.items():
        people = float(np.mean(ys))
        if pp != 0.5 and len(ys) >= 2:
            out.append({"image": im, "a": a, "b": b, "people": people, "metric": metric,
                        "metric_prefers": a if pp == 1 else b, "gap": abs(people - pp), "judgements": len(ys),
                        "files": [item[(im, a)]["file"], item[(im, b)]["file"]]})
    return out
