"""Weight-free metrics computed by piq (Apache-2.0), float32 inputs in [0, 1].

piq converts RGB to its own luminance / YIQ internally where the metric's definition says so
(FSIM, GMSD, VSI, HaarPSI work on luminance plus chroma as in their papers).
"""
from __future__ import annotations

import numpy as np

from .deep import to_tensor


def score(ref: np.ndarray, dist: np.ndarray, fn: str, ref_first: bool = False, **kw) -> float:
    """A piq metric of one pair (8-bit RGB, scaled to [0, 1]); `ref_first` for the asymmetric ones whose
    first argument is the reference (IW-SSIM: its information weights come from the reference, as in the
    authors' MATLAB iwssim(oimg, img))."""
    import piq
    import torch

    a, b = (ref, dist) if ref_first else (dist, ref)
    with torch.inference_mode():
        return float(getattr(piq, fn)(to_tensor(a), to_tensor(b), data_range=1.0, **kw))
