"""Figures of the perception analyses: disagreement heat map, rate-distortion-realism, probe trajectories."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from .plots import _rc, codec_style


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, stem: Path) -> list[Path]:
    out = []
    for ext in ("png", "pdf"):
        p = stem.with_suffix(f".{ext}")
        fig.savefig(p, dpi=200)
        out.append(p)
    return out


def heatmap(stem: Path, d) -> list[Path]:
    """Spearman of BD-rates (upper triangle) and of per-image scores at matched rate (lower)."""
    plt = _plt()
    n = len(d.metrics)
    a = np.full((n, n), np.nan)
    for i, m1 in enumerate(d.metrics):
        a[i, i] = 1.0
        for j, m2 in enumerate(d.metrics):
            if i < j and (m1, m2) in d.bd_corr:
                a[i, j] = d.bd_corr[(m1, m2)][0]
            if i > j and (m2, m1) in d.image_corr:
                a[i, j] = d.image_corr[(m2, m1)][0]
    with plt.rc_context(_rc(8)):
        fig, ax = plt.subplots(figsize=(1.2 + 0.75 * n, 1.0 + 0.65 * n))
        im = ax.imshow(a, cmap="RdBu", vmin=-1, vmax=1)
        labels = [metric_table.get(m).label for m in d.metrics]
        ax.set_xticks(range(n), labels, rotation=45, ha="right")
        ax.set_yticks(range(n), labels)
        ax.grid(False)
        for i in range(n):
            for j in range(n):
                if np.isfinite(a[i, j]):
                    ax.text(j, i, f"{a[i, j]:+.2f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(a[i, j]) > 0.6 else "black")
        fig.colorbar(im, ax=ax, shrink=0.8, label="Spearman")
        ax.set_title("upper: BD-rates over codecs\nlower: per-image at matched rate", fontsize=7)
        fig.tight_layout()
        files = _save(fig, stem)
        plt.close(fig)
    return files


def realism_plot(stem: Path, pts, ref: float, distortion: str, realism: str) -> list[Path]:
    """The rate-distortion-realism figure against the originals' level."""
    plt = _plt()
    with plt.rc_context(_rc(8)):
        fig, ax = plt.subplots(figsize=(4.2, 3.2))
        for c in sorted({p.codec for p in pts}):
            ps = sorted((p for p in pts if p.codec == c), key=lambda p: p.bpp)
            colour, marker, _ = codec_style(c)
            ax.plot([p.distortion for p in ps], [p.realism for p in ps], color=colour, lw=0.8, alpha=0.6)
            sc = ax.scatter([p.distortion for p in ps], [p.realism for p in ps], c=[p.bpp for p in ps],
                            cmap="viridis", marker=marker, edgecolors=colour, s=22, label=c, vmin=0,
                            vmax=max(p.bpp for p in pts))
        ax.axhline(ref, color="black", ls="--", lw=1, label="originals")
        dm, rm = metric_table.get(distortion), metric_table.get(realism)
        ax.set_xlabel(f"{dm.label}{f' [{dm.unit}]' if dm.unit else ''} ({'higher' if dm.higher_is_better else 'lower'} = closer)")
        ax.set_ylabel(f"{rm.label} ({'higher' if rm.higher_is_better else 'lower'} = more natural)")
        fig.colorbar(sc, ax=ax, label="Rate [bpp]")
        ax.legend(fontsize=6, frameon=False)
        fig.tight_layout()
        files = _save(fig, stem)
        plt.close(fig)
    return files


def probe_plot(stem: Path, trajectories, start: np.ndarray) -> list[Path]:
    """The probe's score trajectories and the probed crops."""
    plt = _plt()
    n = len(trajectories)
    with plt.rc_context(_rc(7)):
        fig, axes = plt.subplots(n, 3, figsize=(7.0, 1.9 * n), squeeze=False,
                                 gridspec_kw={"width_ratios": [2.2, 1, 1]})
        for row, t in zip(axes, trajectories):
            for m, vals in t.scores.items():
                shares = [t.error_removed(m, k) for k in range(len(vals))]
                ax = row[0]
                ax.plot(t.steps, shares, marker="o", ms=2, lw=1.6 if m == t.probed else 0.9,
                        label=metric_table.get(m).label + (" (probed)" if m == t.probed else ""))
            row[0].axhline(0, color="black", lw=0.6)
            row[0].set_xlabel("step")
            row[0].set_ylabel("share of error removed")
            row[0].set_title(f"improving {metric_table.get(t.probed).label}: gameability {t.gameability:.3g}", fontsize=7)
            row[0].legend(fontsize=6, frameon=False)
            row[1].imshow(start)
            row[1].set_title("decoded", fontsize=7)
            row[2].imshow(t.final)
            row[2].set_title(f"after {t.steps[-1]} steps", fontsize=7)
            for ax in row[1:]:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.grid(False)
        fig.tight_layout()
        files = _save(fig, stem)
        plt.close(fig)
    return files
