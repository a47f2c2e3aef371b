"""Matched-rate search on one image: the rate point of a codec nearest a target bpp or a target metric
value (for equal-rate visual comparisons), by the bisection of bench.adapters.search. Codecs with
discrete points (learned checkpoints) return the nearest ladder point.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import metrics as metric_table
from ..adapters import load_codec
from ..adapters.search import bisect, numeric
from ..errors import BenchError


@dataclass
class Match:
    """The result of a matched-rate search: the point found, its bpp (and value), every evaluation made."""
    codec: str
    point: object
    bpp: float
    value: float | None  # the metric's value when matching on a metric
    evaluations: list = field(default_factory=list)  # (point, bpp, value)


def _evaluate(codec, img, point, metric):
    e = codec.adapter.encode(img, point)
    bpp = 8 * e.rate_bytes / (img.shape[0] * img.shape[1])
    val = None
    if metric:
        rec = codec.adapter.decode(e.data, point, shape=img.shape)
        val = metric_table.score(metric, img, rec)
    return bpp, val


def match(codec_id: str, img: np.ndarray, *, bpp: float | None = None, metric: str | None = None,
          value: float | None = None, max_evals: int = 40) -> Match:
    """The rate point of a codec nearest a target bpp or metric value on one image, by bisection."""
    if (bpp is None) == (value is None):
        raise BenchError("give exactly one target: a bpp, or a metric value (with its metric)")
    if value is not None and not metric:
        raise BenchError("a target value needs --metric")
    codec = load_codec(codec_id)
    pts = codec.ladder
    key = (lambda b, v: b) if bpp is not None else (lambda b, v: v)
    target = bpp if bpp is not None else value
    evals = []

    def f(p):
        b, v = _evaluate(codec, img, p, metric)
        evals.append((p, b, v))
        return key(b, v)

    if not numeric(pts):  # discrete checkpoints
        best = min(pts, key=lambda p: abs(f(p) - target))
        b, v = next((b, v) for p, b, v in evals if p == best)
        return Match(codec_id, best, b, v, evals)
    best, _ = bisect(codec.card, pts, f, target, max_evals)
    b, v = next((b, v) for p, b, v in evals if p == best)
    return Match(codec_id, best, b, v, evals)


def match_image(codec_id: str, image: str, dataset: str | None = None, data_dir=None, **target) -> Match:
    """`bench match`: `match` on an image file, or on an image of a dataset by name."""
    from ..datasets import image as find

    return match(codec_id, find(image, dataset, data_dir).pixels, **target)
