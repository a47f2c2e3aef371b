"""Our learned codecs: a CompressAI mean-scale hyperprior trained with one of three objectives.

    loss = bpp + lambda * D,   D = 255^2 * MSE                         (objective "mse")
                               D = 1 - MS-SSIM                          (objective "msssim")
                               D = alpha * (1 - MS-SSIM) + beta * LPIPS-alex   ("dpc")

Everything else (architecture, data, crops, optimiser, schedule) is shared, so the three
families differ only in what they were asked to preserve. Inference checkpoints are plain
tensors + metadata (loadable with torch.load(weights_only=True)); float weights are stored in
fp16 and cast back to fp32 at load, after which the entropy coders' CDF tables are rebuilt.
"""
from __future__ import annotations

import os
from pathlib import Path

ARCHS = {"mean_scale_hyperprior": "compressai.models:MeanScaleHyperprior"}
OBJECTIVES = ("mse", "msssim", "dpc")
# MS-SSIM on 128-px training crops: pytorch-msssim asserts side > (win - 1) * 16, so training
# uses a 7-px window and 4 scales (Wang's first four weights); evaluation uses the standard form.
TRAIN_MSSSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363]
TRAIN_MSSSIM_WIN = 7


def build(arch: str = "mean_scale_hyperprior", N: int = 64, M: int = 96):
    """A fresh model of an architecture at widths N and metric_table."""
    import importlib

    mod, _, cls = ARCHS[arch].partition(":")
    return getattr(importlib.import_module(mod), cls)(N=N, M=M)


class Objective:
    """The rate-distortion loss; returns (loss, logged terms)."""

    def __init__(self, name: str, lmbda: float, alpha: float = 1.0, beta: float = 1.0, device: str = "cpu"):
        if name not in OBJECTIVES:
            from ..errors import BenchError

            raise BenchError(f"unknown objective {name!r}; valid: {', '.join(OBJECTIVES)}")
        self.name, self.lmbda, self.alpha, self.beta = name, lmbda, alpha, beta
        self.lpips = None
        if name == "dpc":
            from .. import metrics as metric_table
            from .. import weights
            from ..metrics.deep import lpips_model

            weights.require(metric_table.get("lpips").weights, "lpips")  # a clear error offline, not a failed download

            self.lpips = lpips_model("alex", train=True).to(device)

    def __call__(self, out, x):
        import math

        import torch
        from pytorch_msssim import ms_ssim

        n, _, h, w = x.shape
        bpp = sum(torch.log(lk).sum() for lk in out["likelihoods"].values()) / (-math.log(2) * n * h * w)
        x_hat = out["x_hat"]
        mse = torch.mean((x_hat - x) ** 2)
        terms = {"bpp": bpp, "mse": mse}
        if self.name == "mse":
            d = 255.0 ** 2 * mse
        else:
            msssim = ms_ssim(x_hat, x, data_range=1.0, win_size=TRAIN_MSSSIM_WIN, weights=TRAIN_MSSSIM_WEIGHTS)
            terms["msssim"] = msssim
            d = 1 - msssim
            if self.name == "dpc":
                lp = self.lpips(x_hat * 2 - 1, x * 2 - 1).mean()
                terms["lpips"] = lp
                d = self.alpha * (1 - msssim) + self.beta * lp
        terms["loss"] = bpp + self.lmbda * d
        return terms["loss"], {k: float(v.detach()) for k, v in terms.items()}


# Entropy-coder tables are a deterministic function of the weights (model.update()), rebuilt at
# load on both sides, so they are not shipped (the Gaussian CDF table alone is 0.8 MB).
REBUILT = ("_quantized_cdf", "_offset", "_cdf_length")


def export(model, path, meta: dict) -> None:
    """Write the inference checkpoint (fp16 float weights, no entropy tables) atomically."""
    import torch

    sd = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()
          if not k.endswith(REBUILT)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"format": "percept-bench/learned-codec/1", "meta": meta, "state_dict": sd}, tmp)
    os.replace(tmp, path)


def safe_load(path):
    """torch.load(weights_only=True); a pickle that would run code, or a file that is no
    checkpoint at all, is a clear CodecError."""
    import pickle
    import zipfile

    import torch

    from ..errors import CodecError

    with open(path, "rb") as f:
        head = f.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch zip, or a legacy pickle
        raise CodecError(f"{path}: not a PyTorch checkpoint (the file starts with {head!r}); "
                         "replace it with the checkpoint the card names")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).splitlines()[0]
        if "Weights only load failed" in first or "Unsupported global" in str(e):
            raise CodecError(f"{path}: refused to load: it holds pickled objects that could run code "
                             f"({first}); only tensor checkpoints are accepted") from None
        raise CodecError(f"{path}: not a readable PyTorch checkpoint ({first}); replace it") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as e:
        raise CodecError(f"{path}: truncated or corrupt checkpoint ({str(e).splitlines()[0]}); replace it") from None


def load(path):
    """Load an inference checkpoint safely (weights_only) and rebuild the entropy tables."""
    from ..errors import CodecError

    ckpt = safe_load(path)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CodecError(f"{path}: not a percept-bench learned-codec checkpoint (no state_dict)")
    meta = ckpt.get("meta", {})
    model = build(meta.get("arch", "mean_scale_hyperprior"), meta.get("N", 64), meta.get("M", 96))
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()
          if not k.endswith(REBUILT)}
    # CompressAI's load_state_dict insists on the table buffers: give it the empty ones, rebuilt below
    sd.update({k: v for k, v in model.state_dict().items() if k.endswith(REBUILT) and k not in sd})
    expected = f"{meta.get('arch', 'mean_scale_hyperprior')} N={meta.get('N', 64)} M={meta.get('M', 96)}"
    try:
        missing, unexpected = model.load_state_dict(sd, strict=False)
    except RuntimeError as e:  # size mismatches
        lines = [ln.strip() for ln in str(e).splitlines() if "size mismatch" in ln]
        raise CodecError(f"{path}: its weights do not fit the architecture its metadata declares ({expected}): "
                         f"{'; '.join(lines[:2]) or str(e).splitlines()[0]}") from None
    bad = list(missing) + list(unexpected)
    if bad:
        raise CodecError(f"{path}: does not match {expected}: {', '.join(bad[:5])}")
    model.update(force=True)
    return model.eval(), meta

