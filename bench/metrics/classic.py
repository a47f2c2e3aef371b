"""Weight-free classical metrics: PSNR (numpy), SSIM and MS-SSIM (pytorch-msssim's operations, tiled).

Inputs are uint8 H x W x 3 RGB arrays (reference, distorted); values in [0, 255].
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from ..errors import MetricError

# MATLAB rgb2gray weights: the official SSIM / MS-SSIM MATLAB code works on this grey image,
# rounded to 8 bits (rgb2gray of uint8 returns uint8); this reproduces results_official.csv.
MATLAB_GREY = np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
MS_SSIM_MIN_SIDE = 161  # pytorch-msssim: 5 scales with an 11-px window need side > 10 * 2**4


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


def psnr_plane(ref: np.ndarray, dist: np.ndarray, plane: int = 0, matrix: str = "bt709", peak: float = 255.0) -> float:
    """PSNR of one plane (0 = Y', 1 = Cb, 2 = Cr) of the 8-bit Y'CbCr both images convert to (full range,
    4:4:4, rounded half-up to 8 bits, as the libvmaf rows and the CTC tables see them), peak 255."""
    from ..images import ycbcr8

    return psnr(ycbcr8(ref, matrix)[..., plane].astype(np.float64), ycbcr8(dist, matrix)[..., plane].astype(np.float64),
                peak)


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
    _check_size(ref, dist, "ssim", 11, "one 11-px window")
    f = _grey if colour == "grey" else (lambda a: a)
    a, b = f(ref), f(dist)
    with _one_thread():
        return float(_ssim_maps(a, b, _window(a), 255.0, last=True)[0].mean())  # pytorch_msssim.ssim, tiled


def ms_ssim(ref: np.ndarray, dist: np.ndarray, colour: str = "rgb") -> float:
    """MS-SSIM (Wang 2003 weights), pytorch-msssim, data_range 255.

    colour='rgb': per-channel MS-SSIM averaged over R, G, B (CompressAI's convention, the
    leaderboard default); colour='grey': on the MATLAB grey image (official IQA convention).
    Images with a side under 161 px raise MetricError (no silent NaN, no silent fallback).
    """
    _check_size(ref, dist, "ms-ssim", MS_SSIM_MIN_SIDE, "5 scales of an 11-px window; use ssim for small images")
    f = _grey if colour == "grey" else (lambda a: a)
    with _one_thread():
        return _ms_ssim_tiled(f(ref), f(dist))


@contextlib.contextmanager
def _one_thread():
    """SSIM and MS-SSIM on one torch thread: their tiles are too small to share (measured: a second
    thread gave 1.25x the speed for 2x the CPU on Kodak, 1.0x at 12 MP); the bits do not depend on
    it (tested). The thread policy's other threads stay for the networks."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _ms_ssim_tiled(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """pytorch_msssim.ms_ssim (its defaults: 11-tap sigma-1.5 window, Wang 2003 weights, K) on
    H x W x C arrays, its operations in its order on the same tensor layouts, with the maps
    computed a tile of rows at a time: the same bits at any thread count (tested), a fraction of
    the memory. Why: oneDNN writes a convolution's output with the channels padded to 16 (5x the
    image, 1 GB for a 12 MP RGB plane) and float32 copies of the whole image stay alive; here the
    first level is read from the 8-bit arrays tile by tile and only the maps are whole (their
    means must be torch's own reduction)."""
    import torch

    weights = torch.tensor([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    win = _window(a)
    X, Y, mcs = a, b, []
    for level in range(len(weights)):
        ssim, cs = _ssim_maps(X, Y, win, data_range, last=level == len(weights) - 1)
        if ssim is None:
            mcs.append(torch.relu(cs))
            X, Y = _pool(X), _pool(Y)
    return float(torch.prod(torch.stack(mcs + [torch.relu(ssim)], dim=0) ** weights.view(-1, 1, 1), dim=0).mean())


def _window(a: np.ndarray):
    """pytorch-msssim's default window (11 taps, sigma 1.5), one per channel of the H x W (x C) array."""
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    return _fspecial_gauss_1d(11, 1.5).repeat([1 if a.ndim == 2 else a.shape[2], 1, 1, 1])


TILE_PIXELS = 2**16  # map pixels per tile: small tiles keep oneDNN's padded outputs in cache (4x faster)


def _rows(src, r0: int, r1: int):
    """Rows r0:r1 as pytorch-msssim sees them: a permuted (channels-last) float32 view of the array."""
    return _tensor(src[r0:r1]) if isinstance(src, np.ndarray) else src[..., r0:r1, :]


def _pool(src):
    """pytorch-msssim's 2x2 average pool between levels; from the 8-bit array one channel at a time
    (a pooled pixel depends on its own channel only; torch returns it contiguous either way)."""
    import torch
    import torch.nn.functional as F

    if not isinstance(src, np.ndarray):
        return F.avg_pool2d(src, kernel_size=2, padding=[s % 2 for s in src.shape[2:]])
    padding = [s % 2 for s in src.shape[:2]]
    planes = [src] if src.ndim == 2 else [src[..., c:c + 1] for c in range(src.shape[2])]
    return torch.cat([F.avg_pool2d(_tensor(p), kernel_size=2, padding=padding) for p in planes], dim=1)


def _like(t, h: int):
    """An empty map of h rows in t's memory layout (a channels-last input makes channels-last maps)."""
    import torch

    fmt = torch.contiguous_format if t.is_contiguous() else torch.channels_last
    return torch.empty((*t.shape[:2], h, t.shape[3]), memory_format=fmt)


def _ssim_maps(X, Y, win, data_range, last, K=(0.01, 0.03)):
    """pytorch_msssim.ssim._ssim on tiles of map rows (valid filtering: r map rows read r + 10 image
    rows). Returns (ssim, cs) per channel at the last level, (None, cs) before."""
    import torch
    from pytorch_msssim.ssim import gaussian_filter

    C1, C2 = (K[0] * data_range) ** 2, (K[1] * data_range) ** 2
    k = win.shape[-1] - 1
    H, W = (X.shape[:2] if isinstance(X, np.ndarray) else X.shape[2:])
    h, w = H - k, W - k
    rows = max(2, TILE_PIXELS // w)
    cs_map = ssim_map = None
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        x, y = _rows(X, r0, r1 + k), _rows(Y, r0, r1 + k)
        mu1, mu2 = gaussian_filter(x, win), gaussian_filter(y, win)
        mu1_sq, mu2_sq, mu1_mu2 = mu1.pow(2), mu2.pow(2), mu1 * mu2
        sigma1_sq = gaussian_filter(x * x, win) - mu1_sq
        sigma2_sq = gaussian_filter(y * y, win) - mu2_sq
        sigma12 = gaussian_filter(x * y, win) - mu1_mu2
        cs = (2 * sigma12 + C2) / (sigma1_sq + sigma2_sq + C2)
        ssim = ((2 * mu1_mu2 + C1) / (mu1_sq + mu2_sq + C1)) * cs if last else None
        if cs_map is None:  # the whole maps in the layouts torch gives these operations (a mean's order follows it)
            cs_map, ssim_map = (_like(t, h) if t is not None else None for t in (cs, ssim))
        cs_map[..., r0:r1, :] = cs
        if last:
            ssim_map[..., r0:r1, :] = ssim
    cs = torch.flatten(cs_map, 2).mean(-1)
    return (torch.flatten(ssim_map, 2).mean(-1) if last else None), cs
