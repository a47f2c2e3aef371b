"""`bench analyze disagreement | realism | probe RUN`: the perception analyses of a stored run,
written as a table (any format of `bench table`) and a figure beside the run."""
from __future__ import annotations

from pathlib import Path

from .. import metrics as metric_table
from ..errors import BenchError
from .stored import StoredRun


def _trained_for(man: dict, codecs) -> dict:
    out = {}
    for c in codecs:
        card = man.get("codec_cards", {}).get(c) or {}
        tf = card.get("trained_for")
        if tf is None:
            from ..runner.task import codec

            try:
                tf = codec(c).card.get("trained_for")
            except BenchError:
                tf = None
        if tf:
            out[c] = list(tf)
    return out


def _corr(c) -> list:
    """(spearman, kendall, n) as table cells; n/a when there was too little to correlate."""
    return [f"{c[0]:+.3f}", f"{c[1]:+.3f}", c[2]] if c else ["n/a", "n/a", 0]


def disagreement(run: StoredRun, *, fmt: str = "md", out=None, metrics=None, board=None) -> tuple[str, list, object]:
    """Do the run's metrics rank its codecs alike? (table text, figure files, the analysis).
    `board`: a leaderboard of the run already built (the report's), else one is built here."""
    from ..analysis.perception import disagreement as analyse
    from .perception_plots import heatmap
    from .tables import grid_table

    board = board or run.leaderboard(metrics=metrics, resamples=0)
    lb, title, cvs, man = board.leaderboard, board.title, board.curves, run.manifest
    ms = board.metrics
    if len(ms) < 2:
        raise BenchError("disagreement needs at least two metrics in the run")
    ours = {k: v for k, v in cvs.items() if v.source is None}
    bd = {(c, col.metric): lb.cells[(c, col.key)].value for c in lb.rows for col in lb.columns
          if col.kind == "bd_rate" and c not in lb.sources}
    d = analyse(ours, bd, ms, _trained_for(man, {c for c, _ in bd}))
    header = ["metric A", "metric B", "BD-rate Spearman", "BD-rate Kendall", "codecs",
              "per-image Spearman", "per-image Kendall", "samples"]
    body = []
    for m1 in ms:
        for m2 in ms[ms.index(m1) + 1:]:
            b = d.bd_corr.get((m1, m2))
            i = d.image_corr.get((m1, m2))
            body.append([m1, m2, *_corr(b), *_corr(i)])
    notes = [f"Rank correlations over codecs of their BD-rates vs {lb.options.anchor}, and over (image, codec) "
             f"scores at a matched rate per image (median {d.matched_bpp:.3f} bpp; each image's own curve, pchip in log "
             "rate); "
             "scores on quality axes, so +1 = the metrics agree, -1 = they invert."
             if d.matched_bpp else "No rate is shared by every codec: per-image correlations not computed."]
    notes += [f"Rank spread {s} for {c}: best on {b}, worst on {w}." for c, s, b, w in d.movers[:3] if s > 0]
    for c, t, rt, rh, gap, flag in d.trained:
        notes.append(f"{c} (trained for {', '.join(t)}): mean rank {rt:.1f} there, {rh:.1f} on held-out metrics "
                     f"(gap {gap:+.1f}){' — FLAG: wins only where it was trained' if flag else ''}.")
    text = grid_table(f"Metric disagreement: {title}", header, body, fmt, notes)
    out = Path(out) if out else run.dir
    out.mkdir(parents=True, exist_ok=True)
    files = heatmap(out / "disagreement", d)
    return text, files, d


def realism(run: StoredRun, *, distortion: str, realism_metric: str, fmt: str = "md", out=None, board=None,
            data_dir=None):
    """Rate, distortion and a realism score per rate point, against the originals' level: (table text,
    figure files). The realism metric is no-reference (the originals' level: the `identity` codec when the
    run has it, else the same metric measured here on the dataset's originals) or set-level (FID / KID
    of each rate point's patches against the originals' patches: the originals' level is 0)."""
    from ..analysis.perception import realism as analyse
    from .perception_plots import realism_plot
    from .tables import grid_table

    kind = metric_table.get(realism_metric).kind
    if kind not in ("nr", "set"):
        raise BenchError(f"--realism {realism_metric}: a no-reference metric (e.g. niqe, brisque) or a set-level "
                         "one (fid, kid)")
    board = board or run.leaderboard(resamples=0)
    lb, title = board.leaderboard, board.title
    for m in (distortion, realism_metric):
        if not any(k[1] == m for k in lb.all_curves):
            raise BenchError(f"{m}: not scored in this run; rerun `bench run` with --metric {m}")
    pts, ref = analyse({k: v for k, v in lb.all_curves.items() if v.source is None}, distortion, realism_metric)
    if kind == "set":
        ref, source = 0.0, "a set-level distance to the originals' own patches, 0 by definition"
    elif ref is not None:
        source = "identity codec, through the same pipeline"
    else:
        ref = _originals_level(run, realism_metric, data_dir)
        source = f"measured here on the {len(run.images())} original images (no identity codec in the run)"
    r = metric_table.get(realism_metric)
    body = [[p.codec, p.point_index, f"{p.bpp:.4f}", f"{p.distortion:.4f}", f"{p.realism:.4f}",
             f"{p.realism - ref:+.4f}"] for p in pts]
    header = ["codec", "point", "bpp", distortion, realism_metric, f"{realism_metric} - originals"]
    notes = [f"Originals ({source}): {realism_metric} = {ref:.4f} "
             f"({'higher' if r.higher_is_better else 'lower'} is more natural by this metric)."]
    text = grid_table(f"Rate-distortion-realism: {title}", header, body, fmt, notes)
    out = Path(out) if out else run.dir
    out.mkdir(parents=True, exist_ok=True)
    return text, realism_plot(out / f"realism_{distortion}_{realism_metric}", pts, ref, distortion, realism_metric)


def _originals_level(run: StoredRun, metric: str, data_dir=None) -> float:
    """The mean no-reference score of the run's original images (found as the run found them)."""
    import numpy as np

    return float(np.mean([metric_table.score(metric, None, run.original(name, data_dir)) for name in run.images()]))


def probe(run: StoredRun, *, image: str, codec: str, point: int, metrics=None, steps: int = 40, step: float = 0.5,
          seed: int = 0, size: int = 192, out=None, data_dir=None, fmt: str = "md") -> tuple[str, list]:
    """Gradient steps on one decoded image's pixels that improve one metric, the others recorded:
    (table text, figure files)."""
    from ..analysis.probe import run_probe
    from .crops import detailed_box
    from .perception_plots import probe_plot
    from .tables import grid_table

    if image is None or codec is None or point is None:
        raise BenchError("bench analyze probe needs --image, --codec and --point (the rate point index)")
    enc = next((e for e in run.encodings if e["image"] == image and e["codec"] == codec and e["point_index"] == point),
               None)
    if enc is None:
        raise BenchError(f"no encoding of {image} by {codec} at point {point} in run {run.run_id}")
    ref = run.original(image, data_dir)
    rec = run.reconstruction(enc)
    x, y, w, h = detailed_box(ref, size)
    ref, rec = ref[y:y + h, x:x + w], rec[y:y + h, x:x + w]
    result = run_probe(ref, rec, metrics or ["psnr", "ms-ssim", "lpips", "dists"], steps=steps, step=step, seed=seed)
    out = Path(out) if out else run.dir
    out.mkdir(parents=True, exist_ok=True)
    files = probe_plot(out / f"probe_{image}_{codec}_{point}", result, rec)
    watched = list(result[0].scores)
    body = [[t.probed, f"{t.gameability:.4g}"] + [f"{t.gain(m):+.4g}" for m in watched] for t in result]
    text = grid_table(f"Blind-spot probe: {image}, {codec} point {point}, region {(x, y, w, h)}",
                      ["probed", "gameability"] + [f"final change {m}" for m in watched], body, fmt,
                      [f"{steps} signed-gradient steps of {step:g} grey levels on the decoded pixels (seed {seed}); "
                       "changes toward better in each metric's units; gameability = the largest share of its error "
                       "the probed metric sheds while most other metrics are worse than at the start."])
    return text, files
