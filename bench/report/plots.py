"""RD plots: one figure per metric, PNG and PDF, every codec a curve (bpp on x)."""
from __future__ import annotations

from pathlib import Path

from .. import metrics as M


def rd_plots(out: Path, cvs: dict, metric_names: list[str], *, anchor: str | None, title: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    codecs = sorted({c for c, _ in cvs})
    for m in metric_names:
        row = M.get(m)
        fig, ax = plt.subplots(figsize=(5.5, 4), dpi=120)
        for c in codecs:
            cv = cvs.get((c, m))
            if cv is not None and cv.bpp:
                tag = " (anchor)" if c == anchor else (" (published)" if cv.source else "")
                ax.plot(cv.bpp, cv.value, marker="x" if cv.source else "o", ms=3, lw=2.2 if c == anchor else 1.4,
                        ls="--" if c == anchor else (":" if cv.source else "-"), label=c + tag)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(f"{m} ({'higher' if row.higher_is_better else 'lower'} is better)")
        ax.set_title(f"{title}: {m}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        for ext in ("png", "pdf"):
            p = out / f"rd_{m}.{ext}"
            fig.savefig(p)
            written.append(p)
        plt.close(fig)
    return written
