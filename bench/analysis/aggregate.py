"""Aggregation per rate point and the BD-rate table.

Method (written into every output): for each codec and rate point, bpp is the mean of the
per-image bpp and each metric is the mean of its per-image values (PSNR: mean of per-image dB;
`psnr_of_mean_mse` is also given, labelled). A rate point enters a metric's curve only when
every image of the run has a score there; incomplete points are dropped and counted. A
non-finite score (PSNR of an exact reconstruction is +inf by definition) stays in the store but
keeps its rate point out of the curve, with a note naming the images.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

METHOD = ("per rate point: mean over images of per-image bpp and of per-image metric values "
          "(PSNR = mean of per-image dB); BD-rate: bjontegaard {method}, log10 rate, "
          "integrated over the overlap of the quality ranges")


@dataclass
class Curve:
    """One codec's curve for one metric: per-point mean bpp and value, with the per-image data behind them."""
    codec: str
    metric: str
    bpp: list = field(default_factory=list)
    value: list = field(default_factory=list)
    point_index: list = field(default_factory=list)
    dropped: int = 0  # incomplete rate points
    notes: list = field(default_factory=list)  # why points were left out, naming images
    params: list = field(default_factory=list)  # the codec parameter (ladder entry) of each point
    images: list = field(default_factory=list)  # image names, the rows of the per-image matrices
    image_bpp: np.ndarray | None = None  # images x points; None: no per-image data (imported, set-level)
    image_value: np.ndarray | None = None
    source: str | None = None  # None for our runs; where an imported published curve came from
    # set-level metrics with per-image data (detection mAP): f(w, idx) -> (mean bpp, value), each
    # resamples x len(idx), for image weights w (resamples x images); None: no resampling
    resample: object = None

    @property
    def resampled(self) -> bool:
        """Whether the curve can be resampled by image (per-image data or a resampling function)."""
        return self.image_value is not None or self.resample is not None


def curves(encodings: list[dict], records: list[dict], metric_names: list[str], set_scores=()) -> dict:
    """{(codec, metric): Curve} from a run's encodings, records and set-level scores.

    A set-level metric (FID/KID) is one value per rate point over all images' patches."""
    images = {e["image_sha256"] for e in encodings}
    names = {e["image_sha256"]: e["image"] for e in encodings}
    order = sorted(images, key=lambda k: (names[k], k))
    bpp = defaultdict(dict)  # (codec, idx) -> {image: bpp}
    param = {}
    for e in encodings:
        bpp[(e["codec"], e["point_index"])][e["image_sha256"]] = e["bpp"]
        param[(e["codec"], e["point_index"])] = json.loads(e["point"]) if e.get("point") else None
    vals = defaultdict(dict)  # (codec, idx, metric) -> {image: value}
    for r in records:
        vals[(r["codec"], r["point_index"], r["metric"])][r["image_sha256"]] = r["value"]
    sets = {(r["codec"], r["point_index"], r["metric"]): r["value"] for r in set_scores}
    out = {}
    codecs = sorted({c for c, _ in bpp})
    for codec in codecs:
        idxs = sorted(i for c, i in bpp if c == codec)
        for m in metric_names:
            cv, cols = Curve(codec, m), []
            for i in idxs:
                b, v = bpp[(codec, i)], vals.get((codec, i, m), {})
                if (codec, i, m) in sets:  # set-level: one value for all images
                    v = {k: sets[(codec, i, m)] for k in b} if sets[(codec, i, m)] is not None else {}
                if set(b) != images or set(v) != images:
                    cv.dropped += 1
                    continue
                inf = sorted(names[k] for k, x in v.items() if not np.isfinite(x))
                if inf:
                    cv.dropped += 1
                    why = "exact reconstruction" if m.startswith("psnr") else "degenerate input"
                    cv.notes.append(f"point {i} left out of the mean and BD-rate: non-finite {m} "
                                    f"({', '.join(inf)}: {why})")
                    continue
                cv.bpp.append(float(np.mean(list(b.values()))))
                cv.value.append(float(np.mean(list(v.values()))))
                cv.point_index.append(i)
                cv.params.append(param[(codec, i)])
                cols.append(([b[k] for k in order], [v[k] for k in order]))
            if cols and (codec, cv.point_index[0], m) not in sets:
                cv.image_bpp = np.array([c[0] for c in cols]).T
                cv.image_value = np.array([c[1] for c in cols]).T
            cv.images = [names[k] for k in order]
            out[(codec, m)] = cv
    return out


def psnr_of_mean_mse(values) -> float:
    """PSNR of the mean MSE over images (the other aggregation, labelled as such), from per-image PSNRs."""
    mse = np.mean([255.0 ** 2 / 10 ** (v / 10) for v in values])
    return float("inf") if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))
