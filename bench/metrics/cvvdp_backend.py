"""ColorVideoVDP (Mantiuk et al., SIGGRAPH 2024) through its authors' own package `cvvdp` (pycvvdp): the
8-bit sRGB images shown on one of its display models (default `standard_4k`: a 30-inch 4K SDR display,
200 cd/m2, seen from 0.7 m in a dim room), the quality in JOD (10 = no visible difference). Its display
models and CSF tables ship in its wheel: no download. The network runs where --device says."""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=4)
def _metric(display: str, device: str):
    import pycvvdp
    import torch

    return pycvvdp.cvvdp(display_name=display, device=torch.device(device), quiet=True)


def score(ref: np.ndarray, dist: np.ndarray, display: str = "standard_4k") -> float:
    """ColorVideoVDP quality of `dist` against `ref` (H x W x 3 uint8 sRGB) in JOD."""
    import torch

    from ..devices import device

    with torch.inference_mode():
        jod, _ = _metric(display, device()).predict(np.ascontiguousarray(dist), np.ascontiguousarray(ref),
                                                     dim_order="HWC")
    return float(jod)
