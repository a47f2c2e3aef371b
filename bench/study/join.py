"""What a study adds to its run's outputs: the human column in `bench table` (a BD-rate on the human
scale against the table's anchor), the human score vs bpp figure in `bench plot`, a section in
`bench report` (scores, figure, the pairs where metrics and people disagree most, as images), and
`bench validate-metrics STUDY` (each metric against the judgements)."""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from ..analysis.leaderboard import Cell, Extra
from ..errors import BenchError
from ..images import atomic_write
from ..report.stored import StoredRun
from .results import Results, fit_study, human_bd_rates, number, render
from .store import Study


def _fitted(study_dir, run: StoredRun | None = None, resamples: int = 1000) -> tuple[Study, Results]:
    study = Study.open(study_dir)
    if run is not None and Path(study.spec.get("run") or "").resolve() != run.dir.resolve():
        raise BenchError(f"{study_dir}: this study was made from {study.spec.get('run')}, not {run.dir}")
    return study, fit_study(study, resamples=resamples, run=run)


def human_extra(res: Results, anchor: str) -> Extra:
    """The human column of a leaderboard: each codec's BD-rate on the human scale against `anchor`."""
    cells = {anchor: Cell(value=0.0, message="anchor")}
    for b in human_bd_rates(res, anchor):
        ci = (b["lo"], b["hi"]) if math.isfinite(b["lo"]) else None
        cells[b["codec"]] = Cell(value=b["bd_rate"] if math.isfinite(b["bd_rate"]) else None, ci=ci,
                                 message="" if math.isfinite(b["bd_rate"]) else
                                 "no overlap of human scores, or a score that falls with rate")
    return Extra(head=f"human BD-rate (%) vs {anchor} ↓", key="human_bd_rate", cells=cells)


def table(run: StoredRun, study_dir, fmt: str | None, out=None, **options) -> tuple[str, str | None]:
    """`bench table RUN --study STUDY`: the rendered leaderboard with the human column."""
    from ..report.outputs import checked_output, table_format
    from ..report.tables import render as render_table

    if fmt is None and not out:
        raise BenchError("--study adds a column to a rendered table: add --format md (or --out FILE)")
    fmt = table_format(fmt, out)
    board = run.leaderboard(**options)
    _, res = _fitted(study_dir, run, options.get("resamples", 1000))
    lb = dataclasses.replace(board.leaderboard, extras=[human_extra(res, board.leaderboard.options.anchor)],
                             notes=board.leaderboard.notes + [f"Human column: {res.notes[0]}"])
    text = render_table(lb, fmt, board.title)
    if out:
        atomic_write(checked_output(out), text.encode())
        return f"{fmt} table written to {Path(out).resolve()}\n", out
    return text, None


def plot(study_dir, out, *, formats=("png", "pdf"), preset: str = "default", run: StoredRun | None = None) -> list:
    """rd_human.<fmt>: each codec's human score (Elo) against bpp, with its 95 % interval."""
    return _draw(_fitted(study_dir, run)[1], out, formats, preset)


def _draw(res: Results, out, formats, preset: str) -> list:
    """rd_human.<fmt> of a fitted study."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..report.formats import FIGURE_PRESETS
    from ..report.plots import _rc, codec_style

    w, h, font = FIGURE_PRESETS[preset]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with plt.rc_context(_rc(font)):
        fig, ax = plt.subplots(figsize=(w, h))
        for codec in sorted({c["codec"] for c in res.conditions if c["bpp"] is not None}):
            cs = sorted((c for c in res.conditions if c["codec"] == codec), key=lambda c: c["bpp"])
            colour, marker, dashes = codec_style(codec)
            x, y = [c["bpp"] for c in cs], np.array([c["elo"] for c in cs])
            err = np.array([[e - c["lo"] for c, e in zip(cs, y)], [c["hi"] - e for c, e in zip(cs, y)]])
            ax.errorbar(x, y, yerr=np.nan_to_num(np.maximum(err, 0)), color=colour, marker=marker, ls=dashes,
                        capsize=2, label=codec)
        ax.set_xlabel("Rate [bpp]")
        ax.set_ylabel(f"Human preference [Elo vs {res.anchor}]")
        ax.legend(frameon=False)
        fig.tight_layout()
        for ext in formats:
            p = out / f"rd_human.{ext}"
            fig.savefig(p, dpi=150)
            written.append(p)
        plt.close(fig)
    return written


def report_sections(study_dir, run: StoredRun, tmp: Path) -> list:
    """The report's human-study sections: (title, HTML, figure) each."""
    import html

    study, res = _fitted(study_dir, run)
    fig = _draw(res, tmp, ("png",), "default")[0]  # the fit above, not a second one
    md = render(res, "md")
    body = "<pre>" + html.escape(md) + "</pre>"
    out = [("Human study: scores against rate", body, fig)]
    if res.disagreements:
        out.append(("Where metrics and people disagree most", _pairs_caption(res), _pairs_figure(study, res, tmp)))
    return out


def _pairs_caption(res: Results) -> str:
    import html

    items = "".join(f"<li>{html.escape(d['image'])}: {html.escape(d['a'])} vs {html.escape(d['b'])} — people prefer "
                    f"the first {100 * d['people']:.0f} % of {d['judgements']} times; {html.escape(d['metric'])} prefers "
                    f"{html.escape(d['metric_prefers'])}</li>" for d in res.disagreements)
    return f"<ol>{items}</ol>"


def _pairs_figure(study: Study, res: Results, tmp: Path) -> Path:
    """The disagreeing pairs as images: original, first, second per row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    rows = res.disagreements
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.5, 2.6 * len(rows)), squeeze=False)
    items = {(i["image"], i["condition"]): i for i in study.spec["items"]}
    for ax_row, d in zip(axes, rows):
        for ax, cond in zip(ax_row, ("original", d["a"], d["b"])):
            with Image.open(study.dir / items[(d["image"], cond)]["file"]) as im:
                ax.imshow(np.asarray(im), interpolation="nearest")
            ax.set_title(f"{d['image']}: {cond}", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    p = tmp / "study_disagreements.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p


def validate(study_dir, metrics=None, resamples: int = 1000) -> str:
    """`bench validate-metrics STUDY`: each metric of the study's run against its judgements."""
    _, res = _fitted(study_dir, None, resamples)
    if not res.metrics:
        raise BenchError(f"{study_dir}: no metric to check: the study has no run (an imported one) or its run "
                         "scored no full-reference metric")
    rows = [m for m in res.metrics if not metrics or m["metric"] in metrics]
    f = lambda v: number(v, 3)  # noqa: E731
    out = ["| metric | pairwise agreement | 95 % interval | Kendall τ | 95 % interval | judgements |",
           "|---|---:|---|---:|---|---:|"]
    out += [f"| {m['metric']} | {f(m['agreement'])} | [{f(m['lo'])}, {f(m['hi'])}] | {f(m['tau'])} | "
            f"[{f(m['tau_lo'])}, {f(m['tau_hi'])}] | {m['judgements']} |" for m in rows]
    return "\n".join(out + ["", f"*{res.notes[0]}*", "*Agreement: share of judgements where the metric prefers "
                            "what the person preferred (ties half); τ: metric ranking of the conditions against "
                            "the Bradley–Terry one.*"]) + "\n"
