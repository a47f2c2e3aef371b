"""Leaderboard (Markdown + CSV) and the per-rate-point table (CSV)."""
from __future__ import annotations

import csv
from pathlib import Path

from .. import metrics as M
from ..analysis.aggregate import METHOD
from ..analysis.bdrate import BDResult


def _cell(r) -> str:
    if isinstance(r, BDResult):
        return f"{r.value:+.1f} (ov {100 * r.overlap_fraction:.0f}%)"
    return f"n/a: {r}"


def leaderboard_md(bd: dict, cvs: dict, *, anchor: str, metric_names: list[str], title: str,
                   method: str, failures: int = 0, notes=()) -> str:
    codecs = sorted({c for c, _ in cvs}, key=lambda c: (c != anchor, c))
    nr = [m for m in metric_names if M.get(m).kind == "nr"]
    head = [f"{m}{'†' if m in nr else ''} {'↑' if M.get(m).higher_is_better else '↓'}" for m in metric_names]
    lines = [f"# {title}", ""] + [f"**{n}**\n" for n in notes] + [
             f"BD-rate vs **{anchor}** in % (negative = fewer bits for the same quality); "
             "`ov` = overlap of the quality ranges as a share of their union.", "",
             "| codec | bpp range | " + " | ".join(head) + " |",
             "|---|---|" + "---|" * len(head)]
    for c in codecs:
        bpps = [b for (cc, _), cv in cvs.items() if cc == c for b in cv.bpp]
        rng = f"{min(bpps):.3f}–{max(bpps):.3f}" if bpps else "–"
        name = f"{c} (anchor)" if c == anchor else c
        lines.append(f"| {name} | {rng} | " + " | ".join(_cell(bd[(c, m)]) for m in metric_names) + " |")
    dropped = sum(cv.dropped for cv in cvs.values())
    lines += ["", f"Method: {METHOD.format(method=method)}."]
    if nr:
        lines.append(f"† {', '.join(nr)}: no-reference realism scores of the decoded image alone, not fidelity "
                     "to the original; their BD-rate compares the bits needed for equal realism scores.")
    for cv in cvs.values():
        lines += [f"{cv.codec} / {cv.metric}: {n}" for n in cv.notes]
    if dropped:
        lines.append(f"Incomplete rate points dropped from curves: {dropped} (see failures).")
    if failures:
        lines.append(f"Failures recorded in this run: {failures} (`failures` table of bench.sqlite).")
    return "\n".join(lines) + "\n"


def write_leaderboard(out: Path, bd: dict, cvs: dict, **kw) -> str:
    md = leaderboard_md(bd, cvs, **kw)
    anchor = kw["anchor"]
    (out / "leaderboard.md").write_text(md)
    with open(out / "leaderboard.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["codec", "metric", "anchor", "bd_rate_percent", "overlap_low", "overlap_high",
                    "overlap_fraction", "method", "message"])
        for (c, m), r in sorted(bd.items()):
            if isinstance(r, BDResult):
                w.writerow([c, m, anchor, f"{r.value:.4f}", f"{r.overlap[0]:.6g}", f"{r.overlap[1]:.6g}",
                            f"{r.overlap_fraction:.4f}", r.method, ""])
            else:
                w.writerow([c, m, anchor, "", "", "", "", kw["method"], r])
    with open(out / "rd_points.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["codec", "metric", "point_index", "bpp_mean", "value_mean", "aggregation"])
        for (c, m), cv in sorted(cvs.items()):
            for i, b, v in zip(cv.point_index, cv.bpp, cv.value):
                w.writerow([c, m, i, f"{b:.6f}", f"{v:.6f}", "mean over images"])
    return md
