"""Distribution realism: FID and KID between patches of originals and of reconstructions.

Patches follow the HiFiC protocol (Mentzer et al. 2020): non-overlapping 256 x 256 patches from
the top-left corner, plus, when the shorter side is at least 1.5 x 256 px, a second grid shifted
by 128 px in both directions. Features are computed per image (so workers can do it) and the
set-level statistic is computed from the pooled features of all images of a rate point.

Two feature extractors, never confused:
- `fid` / `kid`: the standard Inception-v3 pool3 features (2048-d, pytorch-fid's FID weights
  pt_inception-2015-12-05-6726825d.pth, through piq's InceptionV3) — comparable to published FIDs.
- `fid-vgg16` / `kid-vgg16`: ImageNet VGG16 conv5_3 (after ReLU) features, global-average
  pooled (512-d), ImageNet normalisation — the same maths on weights available offline here;
  NOT comparable to published FID numbers.
"""
from __future__ import annotations

import functools

import numpy as np

from ..errors import MetricError

PATCH = 256
MIN_PATCHES = {"fid": 100, "kid": 50}
INCEPTION = "checkpoints/pt_inception-2015-12-05-6726825d.pth"


def patches(img: np.ndarray, size: int = PATCH) -> list[np.ndarray]:
    """The patches of an image that set-level metrics pool (non-overlapping, plus shifted ones when large)."""
    h, w = img.shape[:2]
    out = [img[y:y + size, x:x + size] for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
    if min(h, w) >= 1.5 * size:
        s = size // 2
        out += [img[y:y + size, x:x + size] for y in range(s, h - size + 1, size)
                for x in range(s, w - size + 1, size)]
    return out


@functools.lru_cache(maxsize=None)
def _vgg16(device: str = "cpu"):
    import torch
    import torchvision

    from .. import weights

    weights.configure()
    p = weights.require(["checkpoints/vgg16-397923af.pth"], "fid-vgg16")
    net = torchvision.models.vgg16(weights=None)
    sd = (torch.load(p[0], map_location="cpu", weights_only=True) if p
          else torchvision.models.VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False))
    net.load_state_dict({k: v for k, v in sd.items() if k.startswith("features.")}, strict=False)
    return net.features[:30].eval().to(device)  # up to relu5_3


@functools.lru_cache(maxsize=None)
def _inception(device: str = "cpu"):
    from .. import weights

    weights.configure()
    import piq

    return piq.feature_extractors.InceptionV3(resize_input=False, normalize_input=True).eval().to(device)


def features(img: np.ndarray, extractor: str) -> np.ndarray:
    """Per-patch features (n_patches x d, float64) of one image; for `detect:<detector>`, its
    detections (bench.metrics.detection rows)."""
    if extractor.startswith("detect:"):
        from .detectors import detect

        return detect(img, extractor.partition(":")[2])
    import torch

    ps = patches(img)
    if not ps:
        return np.zeros((0, 512 if extractor == "vgg16" else 2048))
    from ..devices import device

    d = device()
    x = torch.from_numpy(np.stack(ps)).permute(0, 3, 1, 2).float() / 255.0
    rows = []
    with torch.inference_mode():
        for i in range(len(ps)):  # one patch at a time: faster per patch on a CPU
            xi = x[i:i + 1].to(d)
            if extractor == "vgg16":
                mean = torch.tensor([0.485, 0.456, 0.406], device=d).view(1, 3, 1, 1)
                std = torch.tensor([0.229, 0.224, 0.225], device=d).view(1, 3, 1, 1)
                f = _vgg16(d)((xi - mean) / std).mean((2, 3))
            else:
                f = _inception(d)(xi)[0].flatten(1)
            rows.append(f.double().cpu().numpy())
    return np.concatenate(rows)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between two Gaussian fits of feature sets (FID's formula)."""
    from scipy import linalg

    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():  # singular product: standard epsilon fix (pytorch-fid)
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> float:
    """KID: unbiased MMD^2 with the cubic polynomial kernel (x.y / d + 1)^3, mean over subsets."""
    rng = np.random.default_rng(seed)
    d = a.shape[1]
    m = min(len(a), len(b), subset_size)
    vals = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        vals.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                    - 2 * kxy.mean())
    return float(np.mean(vals))


def set_score(name: str, ref_feats: np.ndarray, dist_feats: np.ndarray) -> float:
    """FID or KID from the reference and distorted feature sets; MetricError when too few patches."""
    kind = name.split("-")[0]
    n = min(len(ref_feats), len(dist_feats))
    need = MIN_PATCHES[kind]
    if n < need:
        raise MetricError(f"{name}: {n} patches of {PATCH}x{PATCH} px, needs at least {need}; "
                          "use more or larger images")
    return frechet_distance(ref_feats, dist_feats) if kind == "fid" else kernel_distance(ref_feats, dist_feats)
