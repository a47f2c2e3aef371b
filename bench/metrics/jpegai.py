"""The JPEG AI common test conditions' metrics, computed as the JPEG AI quality framework computes them
(its reference software's `DataClass.load_image` and metric classes): optional extra `percept-bench[jpegai]`.

Conventions (they are the rows' `colour`, and they move numbers): the 8-bit RGB is scaled to [0, 1] and
rounded to 10 bits, converted to Y'CbCr with the **BT.709** matrix in full range (Cb, Cr centred on 0.5),
clamped to [0, 1] and rounded to **10 bits** again (round half to even, in float32, as torch does there).
Every metric but FSIM reads the Y' plane of that; FSIM reads the 10-bit-rounded RGB, as the framework does.
PSNR's peak is 1023 (the framework's default; `--jvet-psnr`'s 1020 is not used).
Backends are the framework's own: pytorch-msssim (MS-SSIM), IQA_pytorch (VIF: its spatial-domain `VIFs`;
NLPD), piq (FSIM; IW-SSIM, where the framework carries its own port of the authors' MATLAB), libvmaf
(VMAF v0.6.1 on 10-bit Y') and PSNR-HVS, written here in numpy (the framework calls psnr_hvsm, whose compiled
backend carries the GPL FFTW: it is a test-only reference, equal to this to 1e-9 dB).
"""
from __future__ import annotations

import hashlib
import math

import numpy as np

from ..errors import MetricUnavailable

BITS = 10
PEAK = (1 << BITS) - 1
BT709 = (0.2126, 0.7152, 0.0722, 1.8556, 1.5748)  # Kr, Kg, Kb, 2 (1 - Kb), 2 (1 - Kr): the framework's table
MIN_SIDE = 164  # the framework zero-pads smaller images to 164 px for MS-SSIM's five scales
IQA_PYTORCH = "pip install 'percept-bench[jpegai]' (IQA_pytorch, the JPEG AI framework's VIF and NLPD)"


def _round(t, bits: int = BITS):
    return t.mul((1 << bits) - 1).round().div((1 << bits) - 1)


def planes(rgb8: np.ndarray):
    """(RGB, Y'CbCr) of an 8-bit RGB image as the framework holds them: float32 tensors 1 x 3 x H x W in [0, 1],
    each rounded to 10 bits."""
    import torch

    rgb = _round(torch.tensor(np.asarray(rgb8), dtype=torch.float32).permute(2, 0, 1) / 255.0)[None]
    kr, kg, kb, d, e = BT709
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    y = kr * r + kg * g + kb * b
    yuv = torch.stack([y, (b - y) / d + 0.5, (r - y) / e + 0.5], 1).clamp(0, 1)
    return rgb, _round(yuv)


_CACHE: dict = {}  # image hash -> planes: a pair's rows share one conversion


def _planes(img: np.ndarray):
    key = hashlib.sha256(img.tobytes()).hexdigest() + str(img.shape)
    if key not in _CACHE:
        if len(_CACHE) >= 16:
            _CACHE.clear()
        _CACHE[key] = planes(img)
    return _CACHE[key]


def score(ref: np.ndarray, dist: np.ndarray, fn: str, plane: int = 0) -> float:
    """One JPEG AI metric of a pair of 8-bit RGB images (`fn`: psnr, ms-ssim, vif, nlpd, iw-ssim, fsim, vmaf, psnr-hvs)."""
    import torch

    (rgb_r, yuv_r), (rgb_d, yuv_d) = _planes(ref), _planes(dist)
    y_r, y_d = yuv_r[:, :1], yuv_d[:, :1]
    with torch.inference_mode():
        if fn == "psnr":
            mse = torch.mean((yuv_r[:, plane] * PEAK - yuv_d[:, plane] * PEAK) ** 2).item()
            return math.inf if mse == 0 else 20 * math.log10(PEAK) - 10 * math.log10(mse)
        if fn == "ms-ssim":
            from pytorch_msssim import ms_ssim

            pad = (0, max(MIN_SIDE - y_r.shape[-1], 0), 0, max(MIN_SIDE - y_r.shape[-2], 0))
            a, b = (torch.nn.functional.pad(t * PEAK, pad) for t in (y_r, y_d))
            return float(ms_ssim(a, b, data_range=PEAK))
        if fn in ("vif", "nlpd"):
            try:
                import IQA_pytorch
            except ImportError as exc:
                raise MetricUnavailable(f"jpegai-{fn} needs IQA_pytorch: {IQA_PYTORCH}") from exc
            model = IQA_pytorch.VIFs(channels=1) if fn == "vif" else IQA_pytorch.NLPD(channels=1)
            return float(model(y_d, y_r, as_loss=False))  # (distorted, reference), the framework's order
        if fn == "iw-ssim":
            import piq

            return float(piq.information_weighted_ssim(y_r * 255, y_d * 255, data_range=255.0))
        if fn == "fsim":
            import piq

            return float(piq.fsim(rgb_d, rgb_r, data_range=1.0))
        if fn == "psnr-hvs":
            return psnr_hvs(y_r[0, 0].double().numpy(), y_d[0, 0].double().numpy())
        if fn == "vmaf":
            from .vmaf_backend import vmaf_10bit

            return vmaf_10bit(yuv10(yuv_r), yuv10(yuv_d), ref.shape[1], ref.shape[0])
    raise ValueError(f"unknown JPEG AI metric {fn!r}")


def yuv10(yuv) -> bytes:
    """The 10-bit planes as yuv444p10le bytes (the framework's write_yuv, little-endian 16-bit words)."""
    return (yuv[0] * PEAK).round().numpy().astype("<u2").tobytes()


# PSNR-HVS (Egiazarian, Astola, Ponomarenko et al. 2006): the contrast sensitivity weights of the 64 DCT coefficients
# of an 8 x 8 block, as the authors' psnrhvsm.m gives them
CSF = np.array([
    [1.608443, 2.339554, 2.573509, 1.608443, 1.072295, 0.643377, 0.504610, 0.421887],
    [2.144591, 2.144591, 1.838221, 1.354478, 0.989811, 0.443708, 0.428918, 0.467911],
    [1.838221, 1.979622, 1.608443, 1.072295, 0.643377, 0.451493, 0.372972, 0.459555],
    [1.838221, 1.513829, 1.169777, 0.887417, 0.504610, 0.295806, 0.321689, 0.415082],
    [1.429727, 1.169777, 0.695543, 0.459555, 0.378457, 0.236102, 0.249855, 0.334222],
    [1.072295, 0.735288, 0.467911, 0.402111, 0.317717, 0.247453, 0.227744, 0.279729],
    [0.525206, 0.402111, 0.329937, 0.295806, 0.249855, 0.212687, 0.214459, 0.254803],
    [0.357432, 0.279729, 0.270896, 0.262603, 0.229778, 0.257351, 0.249855, 0.259950]])


def psnr_hvs(ref: np.ndarray, dist: np.ndarray) -> float:
    """PSNR-HVS of two planes in [0, 1] (peak 1): the CSF-weighted error of orthonormal 8 x 8 DCTs of
    non-overlapping blocks; sides are first padded to multiples of 8 by repeating the last row and column, as the
    JPEG AI framework does before calling psnr_hvsm. Identical planes give inf (psnr_hvsm: 100)."""
    from scipy.fft import dctn

    pad = ((0, -ref.shape[0] % 8), (0, -ref.shape[1] % 8))
    diff = np.pad(ref, pad, mode="edge") - np.pad(dist, pad, mode="edge")
    h, w = diff.shape
    blocks = diff.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3)
    err = float(np.mean((dctn(blocks, axes=(2, 3), norm="ortho") * CSF) ** 2))
    return math.inf if err == 0 else -10 * math.log10(err)
