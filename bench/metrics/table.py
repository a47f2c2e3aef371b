"""The metric table: every metric is a row of data (variants are rows, not subclasses).

Columns: name, kind (fr = full-reference, nr = no-reference, set = distribution over a set),
direction, range, colour convention, input range, backend distribution, the function that
computes it ('module:function', imported lazily), its keyword parameters, weight files
(relative to the torch hub dir), the row version (bump it when numbers change) and a note.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # "fr" | "nr" | "set"
    higher_is_better: bool
    range: tuple  # (low, high); None = unbounded
    colour: str
    input_range: str
    backend: str  # the distribution whose code computes it
    fn: str
    params: dict = field(default_factory=dict)
    weights: tuple = ()
    ideal: float | None = None
    version: str = "1"
    note: str = ""


INF = None
ROWS = [
    Metric("psnr", "fr", True, (0, INF), "RGB", "[0,255]", "numpy", "bench.metrics.classic:psnr",
           ideal=float("inf"), note="MSE over all pixels and the 3 channels, peak 255; dB"),
    Metric("ssim", "fr", True, (0, 1), "grey (MATLAB rgb2gray, 8-bit)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ssim", {"colour": "grey"}, ideal=1.0,
           note="Wang et al. 11x11 Gaussian, valid filtering, no downsampling; matches the official MATLAB values"),
    Metric("ssim-rgb", "fr", True, (0, 1), "RGB (mean of channels)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ssim", {"colour": "rgb"}, ideal=1.0),
    Metric("ms-ssim", "fr", True, (0, 1), "RGB (mean of per-channel MS-SSIM)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ms_ssim", {"colour": "rgb"}, ideal=1.0,
           note="the learned-compression convention (CompressAI); needs sides >= 161 px"),
    Metric("ms-ssim-grey", "fr", True, (0, 1), "grey (MATLAB rgb2gray, 8-bit)", "[0,255]", "pytorch-msssim",
           "bench.metrics.classic:ms_ssim", {"colour": "grey"}, ideal=1.0,
           note="the IQA convention of the official MATLAB code; needs sides >= 161 px"),
]
