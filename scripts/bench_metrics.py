#!/usr/bin/env python
"""Seconds per Kodak image for each metric: our path vs the obvious alternative.

Ours: bench.metrics.score (network built once per process, inference_mode, one image at a time).
Alternative: pyiqa.create_metric(name) called per image, as a hand-written loop would do.
Prints one line per metric with both timings and their ratio (alternative / ours).
--throughput: Kodak images/s per metric on each device there is (cpu, and cuda where torch sees
one), one image at a time and batched (score_many, --batch same-shape images per pass): the
GPU-vs-CPU numbers issue 15 asks for, on a machine with a GPU.
Usage: scripts/bench_metrics.py [--images N] [--metric NAME ...] [--throughput [--batch 8]]
       (needs Kodak: BENCH_DATA_DIR)
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
    ap.add_argument("--throughput", action="store_true", help="images/s per device, one by one and batched")
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    weights.configure()
    import imagecodecs
    import torch

    torch.set_num_threads(a.threads)
    ds = resolve("kodak", select=[f"kodim{i:02d}" for i in range(1, a.images + 1)])
    refs = [im.pixels for _, im in ds.images()]
    dists = [imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(x, level=30)) for x in refs]
    names = a.metric or [n for n in PYIQA_NAME if M.availability(n)[0]]
    if a.throughput:
        return throughput(names, refs, dists, a.batch)
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


def throughput(names, refs, dists, batch):
    import os

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"images/s on {len(refs)} Kodak images; batched = {batch} same-shape images per pass"
          + ("" if "cuda" in devices else " (no CUDA device here: CPU only)"))
    print(f"{'metric':10s} " + " ".join(f"{d + ' one':>10s} {d + ' batched':>12s}" for d in devices))
    shaped = {}
    for r, d in zip(refs, dists):
        shaped.setdefault(r.shape, []).append((r, d))
    for n in names:
        cells = []
        for dev in devices:
            os.environ["BENCH_DEVICE"] = dev
            M.score(n, refs[0], dists[0])  # warm-up (model built, kernels chosen for both passes)
            first = next(iter(shaped.values()))[:batch]
            M.score_many(n, [r for r, _ in first], [d for _, d in first])
            sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
            t = time.perf_counter()
            for r, d in zip(refs, dists):
                M.score(n, r, d)
            sync()
            one = len(refs) / (time.perf_counter() - t)
            t = time.perf_counter()
            for pairs in shaped.values():
                for i in range(0, len(pairs), batch):
                    chunk = pairs[i:i + batch]
                    M.score_many(n, [r for r, _ in chunk], [d for _, d in chunk])
            sync()
            cells.append(f"{one:10.2f} {len(refs) / (time.perf_counter() - t):12.2f}")
        print(f"{n:10s} " + " ".join(cells))


if __name__ == "__main__":
    main()
