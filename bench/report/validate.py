"""`bench validate-metrics CARD`: how well each metric agrees with the people who rated a set."""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from .. import metrics as metric_table
from ..analysis.agreement import agreement, agreement_2afc
from ..datasets import data_dirs
from ..errors import BenchError
from ..images import read_image
from ..rated import load

REFERENCES = "references/metric_human_correlations.csv"
MIN_PAIRS = 5


def published(dataset: str | None, metric: str, data_dir=None) -> dict | None:
    """The published SRCC / PLCC / KRCC of a metric on a set, from the shared references CSV."""
    if not dataset:
        return None
    for d in data_dirs(data_dir):
        p = d / REFERENCES
        if p.is_file():
            for r in csv.DictReader(open(p, newline="")):
                if r["dataset"] == dataset and r["metric"] in (metric, metric.replace("-", "_")):
                    return r
    return None


def validate(card, metric_names, *, resamples=1000, seed=0, data_dir=None, progress=True):
    """Each metric's agreement with a rated set's human judgements: (rated set, [Agreement])."""
    rs = load(card)
    if rs.kind == "pairs" and len(rs.items) < MIN_PAIRS:
        raise BenchError(f"{rs.card}: {len(rs.items)} rated pair(s); agreement needs at least {MIN_PAIRS} (PLCC fits a "
                         "4-parameter logistic)")
    for m in metric_names:
        if metric_table.get(m).kind != "fr":
            raise BenchError(f"{m}: validate-metrics compares full-reference metrics with ratings of (reference, "
                             "distorted) pairs")
    cache: dict = {}

    def px(p: Path):
        if p not in cache:
            if len(cache) > 64:  # references repeat, distorted images do not
                cache.clear()
            cache[p] = read_image(p).pixels
        return cache[p]

    results, t0 = [], time.monotonic()
    for m in metric_names:
        hib = metric_table.get(m).higher_is_better
        sign = 1.0 if hib else -1.0
        if rs.kind == "pairs":
            x = [sign * metric_table.score(m, px(ref), px(dist)) for ref, dist, _s, _g in rs.items]
            y = [s if rs.higher_is_better else -s for _r, _d, s, _g in rs.items]
            res = agreement(m, x, y, resamples=resamples, seed=seed)
        else:  # a distance-like reading: the smaller, the closer to the reference
            da = [-sign * metric_table.score(m, px(ref), px(a)) for ref, a, _b, _p in rs.items]
            db = [-sign * metric_table.score(m, px(ref), px(b)) for ref, _a, b, _p in rs.items]
            res = agreement_2afc(m, da, db, [p for *_, p in rs.items], resamples=resamples, seed=seed)
        res.published = published(rs.published, m, data_dir)
        results.append(res)
        if progress:
            print(f"validate-metrics: {m} done ({len(rs.items)} items, {time.monotonic() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    return rs, results


def table(rs, results) -> str:
    """The agreement of each metric as a Markdown table, with the published values beside ours."""
    lines = [f"# {rs.id}: agreement with human ratings ({len(rs.items)} {'triplets' if rs.kind == '2afc' else 'pairs'})",
             ""]
    if rs.kind == "pairs":
        lines += ["| metric | SROCC [95 % CI] | KROCC [95 % CI] | PLCC (logistic) [95 % CI] | published SROCC / PLCC / KROCC |",
                  "|---|---|---|---|---|"]
        for r in results:
            cells = [f"{r.values[k]:.4f} [{r.ci[k][0]:.4f}, {r.ci[k][1]:.4f}]" if r.ci.get(k) else f"{r.values[k]:.4f}"
                     for k in ("srocc", "krocc", "plcc")]
            pub = r.published
            ref = f"{pub['srcc']} / {pub['plcc']} / {pub['krcc']}" if pub else "–"
            lines.append(f"| {r.metric} | " + " | ".join(cells) + f" | {ref} |")
        lines += ["", "Signs: metrics on a quality axis and DMOS negated, so positive = agrees with people. PLCC after "
                  "the VQEG 4-parameter logistic fit. Intervals: bootstrap over rated pairs."]
        if any(r.published for r in results):
            lines.append("Published: " + "; ".join(sorted({r.published['source'] for r in results if r.published})))
    else:
        lines += ["| metric | 2AFC agreement [95 % CI] |", "|---|---|"]
        lines += [f"| {r.metric} | {r.values['2afc']:.4f} [{r.ci['2afc'][0]:.4f}, {r.ci['2afc'][1]:.4f}] |"
                  for r in results]
        lines += ["", "2AFC: the share of human judgements the metric agrees with (BAPPS' score; people agree "
                  "with each other on about 0.74 of BAPPS val triplets)."]
    return "\n".join(lines) + "\n"


def validate_table(card, metric_names, **options) -> str:
    """`bench validate-metrics`: validate, then the table."""
    return table(*validate(card, metric_names, **options))
