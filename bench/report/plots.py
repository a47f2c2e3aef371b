"""RD figures for papers and slides: presets sized for print, labels with units, a colour and marker
fixed by each codec's id in every figure of every run, the anchor and published curves styled apart,
MS-SSIM in dB and a log-rate axis on request, a per-image inter-quartile band, several metrics in
one grid figure; PNG, PDF, SVG or PGF."""
from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from .formats import FIGURE_PRESETS as PRESETS  # inches and points: one column, two columns, 16:9 slides

# Okabe-Ito + tab10: distinguishable in print and for colour-blind readers
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
           "#8c564b", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#d62728", "#2ca02c", "#1f77b4"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p", "d", "H", "8"]
# our curves' own line patterns (the anchor is dashed, published curves dotted: neither pattern is here)
DASHES = ["-", (0, (7, 2)), (0, (5, 1.5, 1, 1.5)), (0, (9, 2, 2, 2)), (0, (4, 1, 1, 1, 1, 1)), (0, (12, 3))]


# the codecs we ship get distinct (colour, marker, line) once and for all, so that every one of them is told
# apart in greyscale too; any other id is hashed into the palette, markers and lines
FIXED = {"jpeg2000": (0, 0), "hevc-intra-444": (1, 1), "jpeg": (6, 2), "webp": (12, 3), "avif": (2, 4),
         "jpegxl": (4, 5), "mozjpeg": (9, 6), "hevc-intra-420": (3, 7), "dpc": (13, 8), "mse-hyperprior": (5, 9),
         "msssim-hyperprior": (14, 10), "bpg-444": (8, 11), "bpg-420": (10, 12)}


def codec_style(codec: str) -> tuple[str, str, object]:
    """(colour, marker, line pattern) from the codec id alone: the same in every figure, whatever else is shown."""
    h = int(hashlib.sha1(codec.encode()).hexdigest(), 16)
    colour, mark = FIXED.get(codec, (h % len(PALETTE), (h // len(PALETTE)) % len(MARKERS)))
    return PALETTE[colour], MARKERS[mark], DASHES[(mark if codec in FIXED else h // 7) % len(DASHES)]


def msssim_db(v):
    """MS-SSIM in dB: -10 log10(1 - MS-SSIM)."""
    v = np.asarray(v, dtype=float)
    return -10 * np.log10(np.maximum(1 - v, 1e-12))


def axis_label(metric: str, db: bool) -> str:
    """A metric's axis label with its unit (MS-SSIM in dB when asked)."""
    row = metric_table.get(metric)
    if db and metric.startswith("ms-ssim"):
        return f"{row.label} [dB]"
    arrow = "" if row.higher_is_better else " (lower is better)"
    return f"{row.label} [{row.unit}]{arrow}" if row.unit else f"{row.label}{arrow}"


def _rc(font: float) -> dict:
    # Computer Modern look without a LaTeX install (mathtext), vector text kept as text in PDF/SVG
    return {"font.size": font, "axes.labelsize": font, "axes.titlesize": font, "legend.fontsize": font - 1,
            "xtick.labelsize": font - 1, "ytick.labelsize": font - 1, "font.family": "serif",
            "font.serif": ["CMU Serif", "Computer Modern Roman", "DejaVu Serif"], "mathtext.fontset": "cm",
            "axes.unicode_minus": False, "pdf.fonttype": 42, "svg.fonttype": "none", "lines.linewidth": 1.2,
            "lines.markersize": 3.5, "axes.grid": True, "grid.alpha": 0.3, "pgf.texsystem": "pdflatex",
            "pgf.rcfonts": False, "text.parse_math": False}  # a `$` in a codec id or image name is text, not math


def _draw(ax, cvs: dict, metric: str, anchor: str | None, db: bool, log_rate: bool, spread: bool,
          levels: dict | None = None) -> int:
    n = 0
    if levels and metric in levels and metric_table.get(metric).kind != "fr":  # e.g. the originals' NIQE or mAP
        c, v = levels[metric]
        ax.axhline(v, color="0.4", ls="-.", lw=1, label=f"{c} (reference level)")
    f = msssim_db if (db and metric.startswith("ms-ssim")) else (lambda v: np.asarray(v, dtype=float))
    for c in sorted({c for c, _ in cvs}):
        cv = cvs.get((c, metric))
        if cv is None or not cv.bpp:
            continue
        colour, marker, dashes = codec_style(c)
        tag = " (anchor)" if c == anchor else (" (published)" if cv.source else "")
        ax.plot(cv.bpp, f(cv.value), color=colour, marker=marker, ls=":" if cv.source else ("--" if c == anchor else dashes),
                lw=1.8 if c == anchor else 1.2, mfc="none" if cv.source else colour, label=c + tag)
        n += 1
        if spread and cv.image_value is not None:
            lo, hi = np.percentile(f(cv.image_value), [25, 75], axis=0)
            ax.fill_between(cv.bpp, lo, hi, color=colour, alpha=0.15, lw=0)
    ours = [b for (c, m), cv in cvs.items() if m == metric and not cv.source for b in cv.bpp]
    if ours and any(cv.source for (c, m), cv in cvs.items() if m == metric):
        # a published curve does not stretch the axes past our rates
        right = max(ours) * 1.15
        ax.set_xlim(left=min(ours) / 1.15 if log_rate else 0, right=right)  # a log axis has no 0
        ys = [y for (c, m), cv in cvs.items() if m == metric for b, y in zip(cv.bpp, f(cv.value)) if b <= right]
        ys += [levels[metric][1]] if levels and metric in levels and metric_table.get(metric).kind != "fr" else []
        pad = 0.05 * (max(ys) - min(ys) or 1)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)
    if log_rate:
        import matplotlib
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.set_xscale("log")
        # labelled ticks at 1, 2, 5 x 10^k, or 1, 3 x 10^k at slide font sizes (labels on every minor tick overlap)
        large = float(matplotlib.rcParams["xtick.labelsize"]) >= 12
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 3.0) if large else (1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("Rate [bpp]")
    ax.set_ylabel(axis_label(metric, db))
    return n


def text_font() -> str:
    """The serif font matplotlib will set text in: CMU Serif when installed, else DejaVu Serif."""
    from matplotlib import font_manager

    return "CMU Serif" if any(f.name == "CMU Serif" for f in font_manager.fontManager.ttflist) else "DejaVu Serif"


def rd_plots(out: Path, cvs: dict, metric_names: list[str], *, anchor: str | None, title: str | None = None,
             preset: str = "default", formats=("png", "pdf"), grid: bool = False, msssim_in_db: bool = False,
             log_rate: bool = False, spread: bool = False, stem: str = "rd", levels: dict | None = None) -> list[Path]:
    """One figure per metric (rd_<metric>.<fmt>), or one grid figure of all of them (rd_grid.<fmt>)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    w, h, font = PRESETS[preset]
    written = []
    out = Path(out)
    with plt.rc_context(_rc(font)):
        if grid:
            n = len(metric_names)
            # wide presets: one row up to four panels, then two rows
            cols = (n if n <= 4 else math.ceil(n / 2)) if preset in ("paper-wide", "slides") or n <= 3 else 2
            rows = math.ceil(n / cols)
            fig, axes = plt.subplots(rows, cols, figsize=(w if preset != "paper" else 3.5 * min(cols, 2),
                                                         h * rows * (0.9 if cols > 1 else 1)), squeeze=False)
            for ax, m in zip(axes.flat, metric_names):
                _draw(ax, cvs, m, anchor, msssim_in_db, log_rate, spread, levels)
            for ax in list(axes.flat)[n:]:
                ax.set_visible(False)
            seen = {}
            for ax in axes.flat:
                for hnd, lab in zip(*ax.get_legend_handles_labels()):
                    seen.setdefault(lab, hnd)
            labels, handles = list(seen), list(seen.values())
            fig.legend(handles, labels, loc="lower center", ncol=min(4, len(labels)), frameon=False,
                       bbox_to_anchor=(0.5, 0.0))
            legend_in = (math.ceil(len(labels) / 4) * 1.5 * font + 6) / 72  # legend rows, in inches
            fig.tight_layout(rect=(0, min(0.5, legend_in / fig.get_figheight()), 1, 1))
            figs = [(fig, f"{stem}_grid")]
        else:
            figs = []
            for m in metric_names:
                fig, ax = plt.subplots(figsize=(w, h))
                if not _draw(ax, cvs, m, anchor, msssim_in_db, log_rate, spread, levels):
                    plt.close(fig)  # no curve of this metric: no empty figure
                    continue
                if title and preset in ("default", "slides"):
                    ax.set_title(f"{title}: {metric_table.get(m).label}")
                ax.legend(frameon=False)
                fig.tight_layout()
                figs.append((fig, f"{stem}_{m}"))
        for fig, name in figs:
            for ext in formats:
                p = out / f"{name}.{ext}"
                fig.savefig(p, dpi=300 if preset.startswith("paper") else 150)
                written.append(p)
            plt.close(fig)
    return written
