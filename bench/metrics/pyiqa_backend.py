"""Metrics computed by pyiqa (optional extra `percept-bench[pyiqa]`, PolyForm Noncommercial).

Used only for the rows where pyiqa reproduces the official values and no lean backend does
(VIF, NLPD, NIQE, BRISQUE, IL-NIQE, and the learned no-reference rows when their weights exist).
pyiqa reads its weight cache dir when it is imported, so bench.weights.configure() runs first.
"""
from __future__ import annotations

import functools

import numpy as np

from .deep import _device, to_tensor


@functools.lru_cache(maxsize=None)
def _metric(name: str, device: str, **opts):  # lru_cache keys on the options too
    import warnings

    from .. import weights

    weights.configure()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pyiqa

        return pyiqa.create_metric(name, device=device, **opts)


def fr(ref: np.ndarray, dist: np.ndarray, name: str, **opts) -> float:
    """A pyiqa full-reference metric of one pair."""
    import torch

    with torch.inference_mode():
        d = _device()
        return float(_metric(name, d, **opts)(to_tensor(dist, device=d), to_tensor(ref, device=d)))


def nr(img: np.ndarray, name: str, **opts) -> float:
    """`opts` go to pyiqa.create_metric (the table row's extra params)."""
    import torch

    with torch.inference_mode():
        d = _device()
        return float(_metric(name, d, **opts)(to_tensor(img, device=d)))
