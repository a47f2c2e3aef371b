"""Visual crops at matched rate: the same region of one image from every codec at (or nearest to) a
target bpp, enlarged with nearest-neighbour, labelled with codec, actual bpp and metric values, the
original beside them; one figure (PNG + PDF) and each crop as a lossless PNG."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import metrics as M
from .plots import _rc, codec_style


@dataclass
class Crop:
    codec: str
    pixels: np.ndarray  # the full reconstruction
    bpp: float
    point: object
    how: str  # "matched-rate search (N encodes)" or "nearest stored point"
    scores: dict


def detailed_box(img: np.ndarray, size: int | None = None) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the square window with the highest local variance of luma: where coding
    artefacts show first."""
    from scipy.ndimage import uniform_filter

    h, w = img.shape[:2]
    size = size or max(32, min(h, w) // 4)
    size = min(size, h, w)
    g = img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    mean = uniform_filter(g, size, mode="reflect")
    var = uniform_filter(g * g, size, mode="reflect") - mean * mean
    half = size // 2
    valid = var[half:h - (size - half) + 1, half:w - (size - half) + 1]
    cy, cx = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(cx), int(cy), size, size


def parse_box(text: str, shape) -> tuple[int, int, int, int]:
    from ..errors import BenchError

    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise BenchError(f"--box {text!r}: give x,y,w,h in pixels, e.g. 200,120,128,128") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
        raise BenchError(f"--box {text}: outside the {shape[1]}x{shape[0]} image")
    return x, y, w, h


def enlarge(a: np.ndarray, k: int) -> np.ndarray:
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def figure(out: Path, name: str, original: np.ndarray, crops: list[Crop], box, target_bpp: float,
           metric_names: list[str]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    from ..images import write_png

    x, y, w, h = box
    k = max(1, 256 // max(w, h))
    panels = [("original", original, "lossless", "")] + [
        (c.codec, c.pixels, f"{c.bpp:.3f} bpp", _lines([_fmt(m, c.scores.get(m)) for m in metric_names]))
        for c in crops]
    cols = min(4, len(panels) + 1)
    rows = -(-(len(panels) + 1) // cols)
    stem = f"crops_{name}_{target_bpp:g}bpp"
    crop_dir = out / stem
    written = []
    with plt.rc_context(_rc(8)):
        n_lines = 2 + (len(metric_names) + 1) // 2
        fig, axes = plt.subplots(rows, cols, figsize=(2.0 * cols, (2.0 + 0.17 * n_lines) * rows), squeeze=False)
        ax0 = axes.flat[0]
        ax0.imshow(original, interpolation="lanczos")
        ax0.add_patch(patches.Rectangle((x, y), w, h, fill=False, ec="#D55E00", lw=1.5))
        ax0.set_title(f"{name}: region {w}x{h} at ({x},{y})", fontsize=7)
        for ax, (label, px, rate, scores) in zip(list(axes.flat)[1:], panels):
            crop = px[y:y + h, x:x + w]
            big = enlarge(crop, k)
            ax.imshow(big, interpolation="nearest")
            colour = "black" if label == "original" else codec_style(label)[0]
            ax.set_title(f"{label}\n{rate}" + (f"\n{scores}" if scores else ""), fontsize=6.5, color=colour)
            write_png(crop_dir / f"{label}.png", big)
            written.append(crop_dir / f"{label}.png")
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        for ax in list(axes.flat)[len(panels) + 1:]:
            ax.set_visible(False)
        fig.suptitle(f"{name} at {target_bpp:g} bpp (nearest-neighbour x{k})", fontsize=8)
        fig.tight_layout()
        for ext in ("png", "pdf"):
            p = out / f"{stem}.{ext}"
            fig.savefig(p, dpi=200)
            written.append(p)
        plt.close(fig)
    return written


def _lines(parts: list[str], per_line: int = 2) -> str:
    return "\n".join(" · ".join(parts[i:i + per_line]) for i in range(0, len(parts), per_line))


def _fmt(metric: str, v) -> str:
    if v is None:
        return f"{M.get(metric).label} n/a"
    row = M.get(metric)
    return f"{row.label} {v:.2f} {row.unit}".strip() if row.unit else f"{row.label} {v:.3f}"
