"""Network-based full-reference metrics: LPIPS (lpips package) and DISTS (piq).

Each network is built once per process (lru_cache) from the weights that bench.weights
resolves, and evaluated under torch.inference_mode, one image at a time, or several same-shape
images in one pass (`*_many`: what a worker does on a GPU; on a CPU batching full images is
slower per image).
"""
from __future__ import annotations

import functools

import numpy as np


def to_tensor(a: np.ndarray, lo: float = 0.0, hi: float = 1.0, device: str = "cpu"):
    """uint8 H x W x 3 -> float32 1 x 3 x H x W in [lo, hi] (scaled on the CPU, then moved)."""
    import torch

    t = torch.from_numpy(np.array(a, copy=True)).permute(2, 0, 1)[None].float() / 255.0
    t = t * (hi - lo) + lo
    return t if device == "cpu" else t.to(device)


def _device() -> str:
    from ..devices import device

    return device()


def lpips_model(net: str = "alex", train: bool = False):
    """lpips.LPIPS with torchvision backbone weights from the resolved hub dir, on the run's device
    (a training loss is its own CPU instance: bench train places it itself)."""
    return _lpips_model(net, train, "cpu" if train else _device())


@functools.lru_cache(maxsize=None)
def _lpips_model(net: str, train: bool, device: str):
    import warnings

    from .. import weights

    weights.configure()
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = lpips.LPIPS(net=net, verbose=False)
    m.eval()
    for p in m.parameters():
        p.requires_grad_(False)
    return m.to(device)


def lpips(ref: np.ndarray, dist: np.ndarray, net: str = "alex") -> float:
    """LPIPS of one pair (8-bit RGB, scaled to [-1, 1] inside)."""
    return lpips_many([ref], [dist], net)[0]


def lpips_many(refs, dists, net: str = "alex") -> list[float]:
    """LPIPS of several pairs of one shape in one forward pass."""
    import torch

    m, d = lpips_model(net), _device()
    with torch.inference_mode():
        x = torch.cat([to_tensor(a, -1, 1, d) for a in dists])
        y = torch.cat([to_tensor(a, -1, 1, d) for a in refs])
        return m(x, y).flatten().tolist()


@functools.lru_cache(maxsize=None)
def _dists_model(device: str):
    from .. import weights

    weights.configure()
    import piq

    return piq.DISTS(reduction="none").eval().to(device)


def dists(ref: np.ndarray, dist: np.ndarray, resize: bool = False) -> float:
    """DISTS at full resolution (the official values' convention), or with piq's resize of the
    shorter side to 256 px (resize=True: ~4x faster, different numbers, its own row)."""
    return dists_many([ref], [dist], resize)[0]


def dists_many(refs, dists, resize: bool = False) -> list[float]:
    """DISTS (piq) of several pairs of one shape in one forward pass."""
    import piq
    import torch

    d = _device()
    m = _dists_model(d)
    x = torch.cat([to_tensor(a, 0, 1, d) for a in dists])
    y = torch.cat([to_tensor(a, 0, 1, d) for a in refs])
    with torch.inference_mode():
        if resize:
            return m(x, y).flatten().tolist()
        # piq.DISTS.forward = resize + (1 - ContentLoss.forward); skip only the resize (the
        # subtraction in double precision, as the calibrated values were computed)
        return [1 - v for v in piq.perceptual.ContentLoss.forward(m, x, y).flatten().tolist()]
