#!/usr/bin/env python
"""Seconds per Kodak image for each metric: our path vs the obvious alternative.

Ours: bench.metrics.score (network built once per process, inference_mode, one image at a time).
Alternative: pyiqa.create_metric(name) called per image, as a hand-written loop would do.
Prints one line per metric with both timings and their ratio (alternative / ours).
Usage: scripts/bench_metrics.py [--images N] [--metric NAME ...]   (needs Kodak: BENCH_DATA_DIR)
"""
import argparse
import time

import numpy as np

from bench import metrics as M
from bench import weights
from bench.datasets import resolve

# our metric -> pyiqa's name for the same metric
PYIQA_NAME = {"psnr": "psnr", "ssim": "ssim", "ms-ssim": "ms_ssim", "lpips": "lpips", "lpips-vgg": "lpips-vgg",
              "dists": "dists", "fsim": "fsim", "gmsd": "gmsd", "vsi": "vsi", "vif": "vif", "nlpd": "nlpd",
              "niqe": "niqe", "brisque": "brisque", "haarpsi": None, "ilniqe": "ilniqe"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=3)
    ap.add_argument("--metric", action="append")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 = per-core numbers)")
    a = ap.parse_args()
    weights.configure()
    import imagecodecs
    import torch

    torch.set_num_threads(a.threads)
    ds = resolve("kodak", select=[f"kodim{i:02d}" for i in range(1, a.images + 1)])
    refs = [im.pixels for _, im in ds.images()]
    dists = [imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(x, level=30)) for x in refs]
    names = a.metric or [n for n in PYIQA_NAME if M.availability(n)[0]]
    print(f"torch threads: {torch.get_num_threads()}; {len(refs)} Kodak images (768x512), JPEG q30 vs original")
    print(f"{'metric':10s} {'ours s/img':>11s} {'pyiqa per-image create':>23s} {'ratio':>7s}")
    for n in names:
        M.score(n, refs[0], dists[0])  # warm-up: model built once per process
        t = time.perf_counter()
        for r, d in zip(refs, dists):
            M.score(n, r, d)
        ours = (time.perf_counter() - t) / len(refs)
        alt = float("nan")
        if PYIQA_NAME.get(n):
            try:
                import pyiqa

                tt = lambda x: torch.from_numpy(x.copy()).permute(2, 0, 1)[None].float() / 255  # noqa: E731
                t = time.perf_counter()
                for r, d in zip(refs, dists):
                    m = pyiqa.create_metric(PYIQA_NAME[n], device="cpu")
                    m(tt(d), tt(r)) if m.metric_mode == "FR" else m(tt(d))
                alt = (time.perf_counter() - t) / len(refs)
            except Exception as e:  # noqa: BLE001
                print(f"  (pyiqa {PYIQA_NAME[n]} failed: {e})")
        ratio = alt / ours if np.isfinite(alt) else float("nan")
        print(f"{n:10s} {ours:11.3f} {alt:23.3f} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
