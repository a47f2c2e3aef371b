"""`bench report`: a stored run as one self-contained HTML file (leaderboard, RD figures, analyses,
crops, failures, manifest); the page itself is assembled by bench.report.html."""
from __future__ import annotations

import html
import tempfile
from pathlib import Path

from .. import metrics as metric_table
from ..errors import BenchError
from ..images import atomic_write
from .stored import StoredRun


def report(run: StoredRun, out=None, *, image: str | None = None, bpp: float | None = None, data_dir=None,
           sections=None) -> Path:
    """Write the run's HTML report (default RUN/report.html); the leaderboard is built once and shared
    by the table, the figures and the analyses. `sections(tmp)` -> [(title, HTML, figure)] adds sections
    another stage builds (a human study's) into the same temporary folder."""
    from .crops import crops
    from .html import page
    from .plots import rd_plots
    from .tables import html_table

    board = run.leaderboard()
    lb = board.leaderboard
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        figs = rd_plots(tmp, board.curves, board.metrics, anchor=lb.options.anchor, preset="paper-wide",
                        formats=("png",), grid=True, msssim_in_db=True, spread=True, levels=lb.levels)
        crop = None
        if image is not None:
            files, lines = crops(run, image, bpp if bpp is not None else 0.25, out=tmp, data_dir=data_dir)
            crop = (next(f for f in files if f.suffix == ".png" and f.parent == tmp), lines)
        analyses = _analyses(run, board, tmp) + (sections(tmp) if sections else [])
        text = page(title=board.title, table_html=html_table(lb, board.title), analyses=analyses,
                    figures=[("All metrics against rate; shaded: inter-quartile range over images; MS-SSIM in dB. "
                              "Dotted: imported published curves.", figs[0])],
                    crops=crop, failures=run.failures, skipped=run.manifest.get("skipped", {}),
                    manifest={**run.manifest, "provenance": lb.provenance}, warnings=lb.provenance.get("warnings", []))
    out = Path(out) if out else run.dir / "report.html"
    atomic_write(out, text.encode())
    return out


def _analyses(run: StoredRun, board, tmp: Path) -> list:
    """The perception analyses the run allows: disagreement (two or more metrics) and realism (a
    no-reference metric and an `identity` codec), on the report's own leaderboard."""
    from .perception import disagreement, realism

    names, out = board.metrics, []
    if len(names) >= 2:
        text, files, _ = disagreement(run, fmt="html", out=tmp, board=board)
        out.append(("Metric disagreement", text, next(f for f in files if f.suffix == ".png")))
    nr = [m for m in names if metric_table.get(m).kind == "nr"]
    fr = [m for m in names if metric_table.get(m).kind == "fr"]
    if nr and fr:
        try:
            text, files = realism(run, distortion=fr[0], realism_metric=nr[0], fmt="html", out=tmp, board=board)
            out.append(("Rate-distortion-realism", text, next(f for f in files if f.suffix == ".png")))
        except BenchError as e:  # no identity codec in this run: say so in the report
            out.append(("Rate-distortion-realism", f"<p class=\"note\">{html.escape(str(e))}</p>", None))
    return out
