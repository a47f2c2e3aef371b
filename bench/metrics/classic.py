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
    """Large images: pytorch-msssim's MS-SSIM, one channel at a time and rows of the maps a tile at
    a time, the same bits as the whole image. Why: oneDNN writes a one-channel convolution's output
    padded to 16 channels (1 GB for a 12 MP plane); a tile's is a few MB. Valid filtering makes a
    tile of r map rows read r + 10 image rows, the direct convolution gives every tile's pixel the
    same bits (tested), the maps are assembled whole so the means are pytorch-msssim's own. One torch
    thread: with two, torch splits a single channel's mean differently (1 ulp; tested)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        vals = [_ms_ssim_lean(_tensor(a[..., c:c + 1]), _tensor(b[..., c:c + 1])) for c in range(a.shape[2])]
    finally:
        torch.set_num_threads(n)
    return float(torch.stack(vals).mean().item())


def _ms_ssim_lean(X, Y, data_range: float = 255.0):
    """pytorch_msssim.ms_ssim (its defaults: 11-tap sigma-1.5 window, Wang 2003 weights, K) on one
    channel, by `_ssim_maps`."""
    import torch
    import torch.nn.functional as F
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    weights = X.new_tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    win = _fspecial_gauss_1d(11, 1.5)[None]
    mcs = []
    for level in range(len(weights)):
        ssim, cs = _ssim_maps(X, Y, win, data_range, last=level == len(weights) - 1)
        if ssim is None:
            mcs.append(torch.relu(cs))
            padding = [s % 2 for s in X.shape[2:]]
            X, Y = F.avg_pool2d(X, kernel_size=2, padding=padding), F.avg_pool2d(Y, kernel_size=2, padding=padding)
    return torch.prod(torch.stack(mcs + [torch.relu(ssim)], dim=0) ** weights.view(-1, 1, 1), dim=0).mean()


TILE_PIXELS = 2**16  # map pixels per tile: oneDNN pads a one-channel output to 16; small tiles stay in cache (6x faster)
ONEDNN_MIN_NUMEL = 20480  # torch convolves inputs of at most this many elements without oneDNN (other bits)


def _ssim_maps(X, Y, win, data_range, last, K=(0.01, 0.03)):
    """pytorch_msssim.ssim._ssim, its operations in its order, on tiles of map rows. Returns
    (ssim, cs) per channel at the last level, (None, cs) before. A tile is never so small that
    torch would convolve it without oneDNN (ONEDNN_MIN_NUMEL) when the whole image would not be."""
    import torch
    from pytorch_msssim.ssim import gaussian_filter

    C1, C2 = (K[0] * data_range) ** 2, (K[1] * data_range) ** 2
    k = win.shape[-1] - 1
    h, w = X.shape[-2] - k, X.shape[-1] - k
    rows = max(TILE_PIXELS // w, ONEDNN_MIN_NUMEL // w + 1)
    starts = list(range(0, h, rows))
    if len(starts) > 1 and h - starts[-1] < rows:
        starts.pop()  # the short last tile joins the one before
    cs_map = torch.empty((1, 1, h, w))
    ssim_map = torch.empty((1, 1, h, w)) if last else None
    for r0, r1 in zip(starts, starts[1:] + [h]):
        x, y = X[..., r0:r1 + k, :], Y[..., r0:r1 + k, :]
        mu1, mu2 = gaussian_filter(x, win), gaussian_filter(y, win)
        mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
        sigma1_sq = gaussian_filter(x * x, win) - mu1_sq
        sigma2_sq = gaussian_filter(y * y, win) - mu2_sq
        sigma12 = gaussian_filter(x * y, win) - mu1_mu2
        cs = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
        cs_map[..., r0:r1, :] = cs
        if last:
            ssim_map[..., r0:r1, :] = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs
    cs = torch.flatten(cs_map, 2).mean(-1)
    return (torch.flatten(ssim_map, 2).mean(-1) if last else None), cs
