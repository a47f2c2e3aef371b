"""SSIMULACRA 2 (Sneyers, Cloudinary; the April 2023 version of libjxl's tools/ssimulacra2.cc), written
again in numpy from the reference source: sRGB -> linear -> XYB (libjxl's opsin absorbance, cube root,
then rescaled to ~0..1 with B-Y), at 6 scales (downsampled 2x2 in linear RGB, while the current scale is
at least 8 pixels wide and high) an SSIM map without the luma gamma term and two edge-difference maps
(ringing, blurring) blurred with libjxl's recursive Gaussian (Charalampidis 2016, sigma 1.5, zero
outside the image), 1- and 4-norms, the 108 tuned weights and the final polynomial.

Checked against the C++ tool's scores published as test data by the Rust port imazen/ssimulacra2
(`src/reference_data.rs`, 22 synthetic pairs regenerated here bit for bit; tests/test_ssimulacra2.py).
The PyPI package `ssimulacra2` (0.3.0) was checked the same way and is off by up to 635 points
(6 on 256 x 256 images): not used."""
from __future__ import annotations

import math

import numpy as np

# lib/jxl/cms/opsin_params.h
OPSIN = np.array([[0.30, 0.622, 0.078], [0.23, 0.692, 0.078],
                  [0.24342268924547819, 0.20476744424496821, 0.5518098665095536]])
BIAS = 0.0037930732552754493
C2 = 0.0009
SCALES = 6
SIGMA = 1.5

# tools/ssimulacra2.cc, Msssim::Score (2023): per channel X, Y, B; per scale; per norm (1, 4): SSIM, ringing, blur
WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
    1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
    0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
    0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0, 0.0,
    0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0, 8.826982764996862,
    23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493,
    171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537])


def _recursive_gaussian(sigma: float):
    """(radius, [(n2, d1)] for k = 1, 3, 5): libjxl's CreateRecursiveGaussian."""
    radius = round(3.2795 * sigma + 0.2546)
    omega = [k * math.pi / (2 * radius) for k in (1, 3, 5)]
    p = [1 / math.tan(0.5 * omega[0]), -1 / math.tan(0.5 * omega[1]), 1 / math.tan(0.5 * omega[2])]
    r = [p[0] ** 2 / math.sin(omega[0]), -p[1] ** 2 / math.sin(omega[1]), p[2] ** 2 / math.sin(omega[2])]
    rho = [math.exp(-0.5 * sigma * sigma * w * w) / radius for w in omega]
    d13, d35, d51 = p[0] * r[1] - r[0] * p[1], p[1] * r[2] - r[1] * p[2], p[2] * r[0] - r[2] * p[0]
    z15, z35 = d35 / d13, d51 / d13
    a = np.array([p, r, [z15, z35, 1.0]])
    beta = np.linalg.solve(a, [1.0, radius * radius - sigma * sigma, z15 * rho[0] + z35 * rho[1] + rho[2]])
    return radius, [(-beta[i] * math.cos(omega[i] * (radius + 1)), -2 * math.cos(omega[i])) for i in range(3)]


RADIUS, POLES = _recursive_gaussian(SIGMA)


def _blur_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """One pass of the recursive Gaussian along an axis: y_k[n] = n2_k (in[n-N-1] + in[n+N-1]) - d1_k
    y_k[n-1] - y_k[n-2] from n = -N+1, the input zero outside the image; the output is the sum over k."""
    from scipy.signal import lfilter

    n = RADIUS
    x = np.moveaxis(x, axis, -1)
    size = x.shape[-1]
    pad = np.zeros(x.shape[:-1] + (size + 4 * n,))
    pad[..., 2 * n:2 * n + size] = x  # pad[j] = in[j - 2N]
    m = np.arange(size + n - 1)  # output index n = m - N + 1, from -N + 1
    drive = pad[..., m] + pad[..., m + 2 * n]  # in[n - N - 1] + in[n + N - 1]
    out = sum(lfilter([n2], [1.0, d1, 1.0], drive, axis=-1) for n2, d1 in POLES)
    return np.moveaxis(out[..., n - 1:], -1, axis)


def _blur(x: np.ndarray) -> np.ndarray:
    return _blur_axis(_blur_axis(x, 1), 0)


def _linear(srgb8: np.ndarray) -> np.ndarray:
    v = srgb8.astype(np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _xyb(lin: np.ndarray) -> np.ndarray:
    """libjxl's ToXYB, then MakePositiveXYB (X*14+0.42, Y+0.01, B-Y+0.55)."""
    mixed = np.maximum(lin @ OPSIN.T + BIAS, 0.0)
    t = np.cbrt(mixed) - np.cbrt(BIAS)
    x, y, b = 0.5 * (t[..., 0] - t[..., 1]), 0.5 * (t[..., 0] + t[..., 1]), t[..., 2]
    return np.stack([x * 14 + 0.42, y + 0.01, (b - y) + 0.55], axis=-1)


def _downsample(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    if h % 2 or w % 2:  # the last row / column repeats (libjxl clamps the index)
        img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return 0.25 * (img[0::2, 0::2] + img[1::2, 0::2] + img[0::2, 1::2] + img[1::2, 1::2])


def _norms(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the mean and the 4-norm of a non-negative error map."""
    return d.mean(axis=(0, 1)), np.sqrt(np.sqrt((d ** 4).mean(axis=(0, 1))))


def score(ref: np.ndarray, dist: np.ndarray) -> float:
    """SSIMULACRA 2 of two 8-bit sRGB images (H x W x 3): 100 = identical, 90 = visually lossless at 1:1,
    50 = medium quality, negative for severe distortion."""
    lin1, lin2 = _linear(ref), _linear(dist)
    feats = []  # per scale: ssim (3 ch x 2 norms), ringing and blur (3 ch x 2 norms)
    for scale in range(SCALES):
        if lin1.shape[0] < 8 or lin1.shape[1] < 8:
            break
        if scale:
            lin1, lin2 = _downsample(lin1), _downsample(lin2)
        i1, i2 = _xyb(lin1), _xyb(lin2)
        mu1, mu2 = _blur(i1), _blur(i2)
        s11, s22, s12 = _blur(i1 * i1), _blur(i2 * i2), _blur(i1 * i2)
        num_m = 1.0 - (mu1 - mu2) ** 2
        num_s = 2 * (s12 - mu1 * mu2) + C2
        den_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + C2
        ssim = _norms(np.maximum(1.0 - num_m * num_s / den_s, 0.0))
        d1 = (1.0 + np.abs(i2 - mu2)) / (1.0 + np.abs(i1 - mu1)) - 1.0
        ring, blur = _norms(np.maximum(d1, 0.0)), _norms(np.maximum(-d1, 0.0))
        feats.append((ssim, ring, blur))
    total, i = 0.0, 0
    for c in range(3):
        for ssim, ring, blur in feats:
            for n in range(2):
                for v in (ssim[n][c], ring[n][c], blur[n][c]):
                    total += WEIGHTS[i] * abs(v)
                    i += 1
    s = total * 0.9562382616834844
    s = 2.326765642916932 * s - 0.020884521182843837 * s * s + 6.248496625763138e-05 * s ** 3
    return float(100.0 - 10.0 * s ** 0.6276336467831387) if s > 0 else 100.0
