"""Weight-free classical metrics: PSNR (numpy), SSIM and MS-SSIM (pytorch-msssim).

Inputs are uint8 H x W x 3 RGB arrays (reference, distorted); values in [0, 255].
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import MetricError

# MATLAB rgb2gray weights: the official SSIM / MS-SSIM MATLAB code works on this grey image,
# rounded to 8 bits (rgb2gray of uint8 returns uint8); this reproduces results_official.csv.
MATLAB_GREY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
MS_SSIM_MIN_SIDE = 161  # pytorch-msssim: 5 scales with an 11-px window need side > 10 * 2**4
MS_SSIM_BY_CHANNEL = 4_000_000  # pixels above which MS-SSIM runs one channel at a time (memory)


def mse(ref: np.ndarray, dist: np.ndarray) -> float:
    """Mean squared error. 8-bit inputs: int16 differences and an exact int64 sum of squares (a
    quarter of the float64 copies' memory, 4x faster); the sum is below 2**53, so the result is
    the float64 mean's, bit for bit."""
    if ref.dtype == np.uint8 and dist.dtype == np.uint8:
        d = np.subtract(ref, dist, dtype=np.int16).ravel()
        return int(np.einsum("i,i->", d, d, dtype=np.int64)) / d.size
    d = ref.astype(np.float64) - dist.astype(np.float64)
    return float(np.mean(d * d))


def psnr(ref: np.ndarray, dist: np.ndarray, peak: float = 255.0) -> float:
    """RGB PSNR: MSE over all pixels and channels, peak 255. Identical images give inf."""
    m = mse(ref, dist)
    return math.inf if m == 0 else 10.0 * math.log10(peak * peak / m)


BT601_LUMA = np.array([0.299, 0.587, 0.114])


def psnr_y(ref: np.ndarray, dist: np.ndarray, peak: float = 255.0) -> float:
    """PSNR of BT.601 luma Y' = 0.299 R' + 0.587 G' + 0.114 B' computed from the 8-bit RGB values
    in full range (0-255, not rounded to 8 bits), peak 255 — the Y' PSNR that published tables
    (tensorflow-compression, JPEG AI) report beside RGB PSNR. Identical images give inf."""
    return psnr(ref.astype(np.float64) @ BT601_LUMA, dist.astype(np.float64) @ BT601_LUMA, peak)


def _tensor(a: np.ndarray):
    import torch

    if a.ndim == 2:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None, None]
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]


def _grey(a: np.ndarray) -> np.ndarray:
    return np.rint(a.astype(np.float64) @ MATLAB_GREY)


def _check_size(ref, dist, name, min_side, why):
    if ref.shape != dist.shape:
        raise MetricError(f"{name}: reference {ref.shape} and distorted {dist.shape} differ in shape")
    if min(ref.shape[:2]) < min_side:
        raise MetricError(
            f"{name}: image {ref.shape[1]}x{ref.shape[0]} is smaller than the {min_side} px per side it needs ({why})")


def ssim(ref: np.ndarray, dist: np.ndarray, colour: str = "grey") -> float:
    """SSIM, Gaussian 11x11 sigma 1.5, 'valid' filtering, no downsampling.

    colour='grey': MATLAB rgb2gray, 8-bit (the official / IQA convention);
    colour='rgb': mean over the three RGB channels.
    """
    from pytorch_msssim import ssim as _ssim

    _check_size(ref, dist, "ssim", 11, "one 11-px window")
    f = _grey if colour == "grey" else (lambda a: a)
    return float(_ssim(_tensor(f(ref)), _tensor(f(dist)), data_range=255.0).item())


def ms_ssim(ref: np.ndarray, dist: np.ndarray, colour: str = "rgb") -> float:
    """MS-SSIM (Wang 2003 weights), pytorch-msssim, data_range 255.

    colour='rgb': per-channel MS-SSIM averaged over R, G, B (CompressAI's convention, the
    leaderboard default); colour='grey': on the MATLAB grey image (official IQA convention).
    Images with a side under 161 px raise MetricError (no silent NaN, no silent fallback).
    """
    from pytorch_msssim import ms_ssim as _ms_ssim

    _check_size(ref, dist, "ms-ssim", MS_SSIM_MIN_SIDE, "5 scales of an 11-px window; use ssim for small images")
    f = _grey if colour == "grey" else (lambda a: a)
    a, b = f(ref), f(dist)
    if a.ndim == 3 and a.shape[0] * a.shape[1] > MS_SSIM_BY_CHANNEL:
        return _ms_ssim_by_channel(a, b)
    return float(_ms_ssim(_tensor(a), _tensor(b), data_range=255.0).item())


def _ms_ssim_by_channel(a: np.ndarray, b: np.ndarray) -> float:
    """Large images: pytorch-msssim on one channel at a time and the mean of the three, as it
    averages them itself: a third of the float32 maps alive at once, the same bits. One torch
    thread: with two, torch splits a single channel's mean differently (1 ulp; tested)."""
    import torch
    from pytorch_msssim import ms_ssim as _ms_ssim

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vals = [_ms_ssim(_tensor(a[..., c:c + 1]), _tensor(b[..., c:c + 1]), data_range=255.0) for c in range(a.shape[2])]
    finally:
        torch.set_num_threads(n)
    return float(torch.stack(vals).mean().item())
