#!/usr/bin/env python
"""Runner overhead and scaling, printed as ratios (a benchmark, not a test).

Grid: N Kodak images x {jpeg, jpeg2000} x 8 rate points x {psnr, ms-ssim, lpips}.
1. harness wall time with 1 worker / the sum of the raw library calls it makes
   (imagecodecs encode + decode, numpy PSNR, pytorch-msssim, the lpips network), goal <= 1.05;
2. wall time with 2 workers / with 1 worker, goal <= 0.56;
3. re-running the unchanged grid, goal <= 2 s.
Usage: scripts/bench_runner.py [--images 4]   (Kodak via BENCH_DATA_DIR or --data-dir)
"""
import argparse
import shutil
import tempfile
import time

import numpy as np


def raw_seconds(imgs, codecs):
    """The same work as the harness does, as direct library calls, timed call by call."""
    import imagecodecs
    import torch
    from pytorch_msssim import ms_ssim

    from bench.metrics.deep import lpips_model

    net = lpips_model("alex")
    t = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float()  # noqa: E731
    total = 0.0
    for x in imgs:
        for c in codecs:
            fmt, kw = c.adapter.format, c.adapter.encode_kwargs
            for p in c.ladder:
                t0 = time.perf_counter()
                data = getattr(imagecodecs, f"{fmt}_encode")(x, **{c.adapter.param: p}, **kw)
                y = getattr(imagecodecs, f"{fmt}_decode")(data, **c.adapter.decode_kwargs)
                d = x.astype(np.float64) - y
                10 * np.log10(255 ** 2 / np.mean(d * d))
                with torch.inference_mode():
                    ms_ssim(t(x), t(y), data_range=255.0)
                    net(t(y) / 127.5 - 1, t(x) / 127.5 - 1)
                total += time.perf_counter() - t0
    return total


def harness(ds_dir, names, out, workers):
    from bench.runner.run import RunConfig, run

    t0 = time.perf_counter()
    s = run(RunConfig(dataset="kodak", data_dir=ds_dir, images=names, codecs=["jpeg", "jpeg2000"],
                      metrics=["psnr", "ms-ssim", "lpips"], out=out, progress=False, workers=workers))
    assert not s.failures, s.failures
    total = time.perf_counter() - t0
    return total, total - s.outputs_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--data-dir")
    a = ap.parse_args()
    from bench import weights
    from bench.adapters import load_codec
    from bench.datasets import resolve

    weights.configure()
    names = [f"kodim{i:02d}" for i in range(1, a.images + 1)]
    imgs = [im.pixels for _, im in resolve("kodak", a.data_dir, names).images()]
    codecs = [load_codec("jpeg"), load_codec("jpeg2000")]
    raw_seconds(imgs[:1], codecs)  # warm caches and the network, as the harness's first task does
    raw = raw_seconds(imgs, codecs)
    tmp = tempfile.mkdtemp(prefix="bench-runner-")
    try:
        (h1, g1), (h2, g2) = harness(a.data_dir, names, f"{tmp}/w1", 1), harness(a.data_dir, names, f"{tmp}/w2", 2)
        again, _ = harness(a.data_dir, names, f"{tmp}/w1", 1)
    finally:
        shutil.rmtree(tmp)
    n = len(imgs) * sum(len(c.ladder) for c in codecs)
    print(f"grid: {len(imgs)} Kodak images x jpeg, jpeg2000 x 8 points = {n} tasks x psnr, ms-ssim, lpips")
    print(f"raw library calls        {raw:8.2f} s")
    print(f"harness, 1 worker        {h1:8.2f} s   ratio to raw   {h1 / raw:5.2f}  (goal <= 1.05; all of it: model"
          " loads, store writes, lossless recon PNGs, leaderboard and plots)")
    print(f"  of which the grid      {g1:8.2f} s   ratio to raw   {g1 / raw:5.2f}  (without the final tables and plots)")
    print(f"harness, 2 workers       {h2:8.2f} s   ratio to 1 w.  {h2 / h1:5.2f}  (goal <= 0.56; grid only:"
          f" {g2 / g1:.2f}; includes starting the worker processes)")
    print(f"re-run, unchanged grid   {again:8.2f} s   (goal <= 2 s)")


if __name__ == "__main__":
    main()
