"""Visual crops at matched rate: the same region of one image from every codec at (or nearest to) a
target bpp, enlarged with nearest-neighbour, labelled with codec, actual bpp and metric values, the
original beside them; one figure (PNG + PDF) and each crop as a lossless PNG."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from .plots import _rc, codec_style


@dataclass
class Crop:
    """One codec's crop: the reconstruction, its bpp and point, how it was found, its scores."""
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
    """'X,Y,W,H' as a box inside an image of `shape`; an error naming the fix otherwise."""
    from ..errors import BenchError

    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise BenchError(f"--box {text!r}: give x,y,w,h in pixels, e.g. 200,120,128,128") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > shape[1] or y + h > shape[0]:
        raise BenchError(f"--box {text}: outside the {shape[1]}x{shape[0]} image")
    return x, y, w, h


def enlarge(a: np.ndarray, k: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor (no smoothing that hides artefacts)."""
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def figure(out: Path, name: str, original: np.ndarray, crops: list[Crop], box, target_bpp: float,
           metric_names: list[str]) -> list[Path]:
    """The crops figure (PNG + PDF) and each crop as a lossless PNG; returns the files."""
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
        return f"{metric_table.get(metric).label} n/a"
    row = metric_table.get(metric)
    return f"{row.label} {v:.2f} {row.unit}".strip() if row.unit else f"{row.label} {v:.3f}"


def crops(run, image: str, bpp: float, *, box: str | None = None, codecs=None, out=None,
          data_dir=None) -> tuple[list, list]:
    """`bench crops`: each codec's reconstruction of one image at (or nearest to) `bpp`, cropped and
    enlarged; returns (files written, one line per codec saying how its point was found)."""
    from ..errors import UnknownName

    encs = [e for e in run.encodings if e["image"] == image]
    px = run.original(image, data_dir)
    run_codecs = sorted({e["codec"] for e in encs})
    for c in codecs or []:
        if c not in run_codecs:
            raise UnknownName("codec of this run", c, run_codecs)
    names = [m for m in run.metrics if metric_table.get(m).kind != "set"]
    made, lines = [], []
    # a one-point reference codec (identity: the original itself) is shown as "original" already
    for cid in codecs or [c for c in run_codecs if _ladder_length(c) > 1]:
        crop = _crop_of(run, cid, px, [e for e in encs if e["codec"] == cid], bpp, names)
        made.append(crop)
        lines.append(f"{cid}: {crop.bpp:.4f} bpp (target {bpp:g}, off by {crop.bpp - bpp:+.4f}) at point "
                     f"{crop.point!r}: {crop.how}")
    b = parse_box(box, px.shape) if box else detailed_box(px)
    out = Path(out) if out else run.dir
    out.mkdir(parents=True, exist_ok=True)
    return figure(out, image, px, made, b, bpp, names), lines


def _ladder_length(codec_id: str) -> int:
    from ..runner.task import codec

    return len(codec(codec_id).ladder)


def _crop_of(run, codec_id: str, px, encs: list, bpp: float, names: list) -> Crop:
    """One codec's crop: a matched-rate search on a numeric ladder, else the nearest stored point."""
    from ..analysis.match import match
    from ..errors import BenchError
    from ..runner.task import codec as load

    codec = load(codec_id)
    if all(isinstance(p, (int, float)) for p in codec.ladder) and codec.adapter.available()[0]:
        m = match(codec_id, px, bpp=bpp)
        enc = codec.adapter.encode(px, m.point)
        rec = codec.adapter.decode(enc.data, m.point, shape=px.shape)
        got, point = 8 * enc.rate_bytes / (px.shape[0] * px.shape[1]), m.point
        how = f"matched-rate search ({len(m.evaluations)} encodes)"
    else:
        e = min(encs, key=lambda e: abs(e["bpp"] - bpp))
        rec, got, point = run.reconstruction(e), e["bpp"], json.loads(e["point"])
        how = "nearest stored point (discrete ladder)"
    scores = {}
    for n in names:
        try:
            scores[n] = metric_table.score(n, px, rec)
        except BenchError:
            scores[n] = None
    return Crop(codec_id, rec, got, point, how, scores)
