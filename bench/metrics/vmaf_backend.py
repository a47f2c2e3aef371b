"""The libvmaf family (VMAF, VMAF-NEG, PSNR-HVS, CIEDE2000, CAMBI) through the static ffmpeg that the
`imageio-ffmpeg` wheel carries (built with libvmaf): optional extra `percept-bench[ctc]`.

Conventions, part of every row (they move VMAF by ~2.5 points, more than many codec differences):
8-bit RGB is converted here, in numpy, to Y'CbCr **BT.709, full range, 4:4:4, 8 bits**
(Y' = Kr R + Kg G + Kb B, Cb = 128 + (B - Y') / (2 (1 - Kb)), Cr = 128 + (R - Y') / (2 (1 - Kr)), each rounded
half-up and clipped to 0..255) and handed to libvmaf as raw yuv444p frames, so ffmpeg converts nothing.
One ffmpeg process per pair computes every feature of the family at once (cached per pair in the
process), with the v0.6.1 models built into libvmaf. A single image has no motion: VMAF's motion
feature is 0 by definition, as in the AOM CTC's still-image use.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import ffmpeg_wheel
from ..errors import MetricError, MetricUnavailable

# row fn parameter -> the key of libvmaf's pooled (or, for APSNR, aggregate) metrics
FEATURES = {"vmaf": "vmaf", "vmaf-neg": "vmaf_neg", "psnr-hvs-y": "psnr_hvs_y", "psnr-hvs": "psnr_hvs",
            "ciede2000": "ciede2000", "cambi": "cambi", "ssim-db": "float_ssim", "ms-ssim-db": "float_ms_ssim",
            "apsnr-y": "apsnr_y", "apsnr-cb": "apsnr_cb", "apsnr-cr": "apsnr_cr"}
# the features of libvmaf's `--aom_ctc v1.0` preset, with its options (libvmaf/tools/cli_parse.c), plus CAMBI
AOM_CTC = ("name=psnr\\:reduced_hbd_peak=true\\:enable_apsnr=true\\:min_sse=0.5"
           "|name=float_ssim\\:enable_db=true\\:clip_db=true|name=float_ms_ssim\\:enable_db=true\\:clip_db=true"
           "|name=psnr_hvs|name=ciede|name=cambi")


def ffmpeg() -> str:
    """The ffmpeg binary of the imageio-ffmpeg wheel; MetricUnavailable naming the extra when absent."""
    exe = ffmpeg_wheel.executable()
    if exe is None:
        raise MetricUnavailable(f"the libvmaf metrics need imageio-ffmpeg: {ffmpeg_wheel.INSTALL}")
    return exe


def yuv444_bt709_full(rgb: np.ndarray) -> bytes:
    """8-bit RGB (H x W x 3) as planar Y', Cb, Cr bytes: BT.709 matrix, full range, 4:4:4, rounded half-up."""
    from ..images import ycbcr8

    return np.ascontiguousarray(ycbcr8(rgb, "bt709").transpose(2, 0, 1)).tobytes()


def score(ref: np.ndarray, dist: np.ndarray, feature: str) -> float:
    """One feature of the libvmaf family for a pair of 8-bit RGB images."""
    pooled = pooled_metrics(ref, dist)
    key = FEATURES[feature]
    if key not in pooled:
        raise MetricError(f"libvmaf gave no {key} (it gave {', '.join(sorted(pooled))})")
    # libvmaf writes null for an infinite value: PSNR-HVS and CIEDE2000 of an exact reconstruction
    return float("inf") if pooled[key] is None else float(pooled[key])


def score_nr(dist: np.ndarray, feature: str) -> float:
    """A feature that reads the decoded image alone (CAMBI): libvmaf run with the image as both inputs."""
    return score(dist, dist, feature)


def _key(img: np.ndarray) -> str:
    return hashlib.sha256(img.tobytes()).hexdigest() + str(img.shape)


_CACHE: dict = {}  # (ref key, dist key) -> pooled metrics: the rows of one pair share one ffmpeg run


def pooled_metrics(ref: np.ndarray, dist: np.ndarray) -> dict:
    """libvmaf's pooled (mean over the one frame) metrics of a pair, every feature of the family at once."""
    key = (_key(ref), _key(dist))
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.clear()
        _CACHE[key] = run_libvmaf(yuv444_bt709_full(ref), yuv444_bt709_full(dist), ref.shape[1], ref.shape[0])
    return _CACHE[key]


def vmaf_10bit(ref_yuv: bytes, dist_yuv: bytes, width: int, height: int) -> float:
    """VMAF (v0.6.1) alone of yuv444p10le frames (the JPEG AI row)."""
    return float(run_libvmaf(ref_yuv, dist_yuv, width, height, "yuv444p10le", features="", neg=False)["vmaf"])


def run_libvmaf(ref_yuv: bytes, dist_yuv: bytes, width: int, height: int, pix_fmt: str = "yuv444p",
                features: str = AOM_CTC, neg: bool = True) -> dict:
    """libvmaf on raw frames (one image each): {metric: value} from its JSON log, pooled means and the
    aggregates (APSNR: PSNR of the SSE summed over the frames, here the one frame)."""
    with tempfile.TemporaryDirectory(prefix="bench-vmaf-") as tmp:
        t = Path(tmp)
        (t / "ref.yuv").write_bytes(ref_yuv)
        (t / "dist.yuv").write_bytes(dist_yuv)
        raw = ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}"]
        models = "version=vmaf_v0.6.1\\:name=vmaf" + ("|version=vmaf_v0.6.1neg\\:name=vmaf_neg" if neg else "")
        feats = f":feature='{features}'" if features else ""
        graph = f"[0:v][1:v]libvmaf=model='{models}'{feats}:n_threads=1:log_fmt=json:log_path=log.json"
        cmd = [ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", *raw, "-i", "dist.yuv", *raw, "-i",
               "ref.yuv", "-lavfi", graph, "-f", "null", "-"]
        res = subprocess.run(cmd, cwd=t, capture_output=True, text=True, timeout=600)
        if res.returncode != 0 or not (t / "log.json").is_file():
            raise MetricError(f"libvmaf failed ({res.returncode}): {res.stderr.strip()[-300:]}")
        log = json.loads((t / "log.json").read_text())
    return {**{k: v["mean"] for k, v in log.get("pooled_metrics", {}).items()}, **log.get("aggregate_metrics", {})}
