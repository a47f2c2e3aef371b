#!/usr/bin/env python
"""How much the harness costs over the libraries it calls, printed as ratios next to their goals
(a benchmark, not a test; issue #15). Every number is the min and median of interleaved
repetitions, each in a fresh process, so imports and start-up count as they do for a user.

1. CPU of `bench run` / CPU of a plain loop of the same library calls (imagecodecs encode +
   decode, numpy PSNR, pytorch-msssim, the lpips network), whole process and grid only, on a cheap
   grid (Kodak x JPEG x 8 points x PSNR) and an expensive one (+ MS-SSIM + LPIPS), 1 worker;
   the cheap grid at 8 / 48 / 192 tasks.                                        goal <= 1.05
2. wall time, 2 workers vs the best single worker (1 or 2 threads) on two CPU-bound grids of 192
   tasks (24 Kodak x JPEG 2000 x 8 points x PSNR + MS-SSIM, and x PSNR).         goal >= 1.8x
3. CPU of `bench run` / CPU of `python -m compressai.utils.bench jpeg` on the same sweep (4 Kodak
   images x 9 qualities, PSNR + MS-SSIM, one process each), numbers compared.   goal <= 0.67
4. wall time of `bench --help`, `bench list datasets`, a name error, an unchanged re-run of the
   64-task default run.                                                         goal <= 1-2 s
5. outputs (tables + plots) of that unchanged re-run.                           goal <= 0.5 s
6. peak memory of a 4000 x 3000 image through JPEG + PSNR + MS-SSIM.            goal <= 10 x RGB + models
Usage: scripts/bench_speed.py [--reps 3] [--only 1,2,3,4,5,6]  (Kodak via BENCH_DATA_DIR)
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PY = sys.executable
BENCH = [PY, "-m", "bench.cli"]
ROOT = Path(__file__).resolve().parents[1]


def child(cmd, env=None, cwd=None) -> tuple[float, float, int, str]:
    """(wall s, CPU s of the process and its children, peak RSS kB, stdout) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, r.stdout


def stats(xs) -> str:
    return f"min {min(xs):7.2f}  median {statistics.median(xs):7.2f}"


def kodak_dir() -> Path:
    d = Path(os.environ.get("BENCH_DATA_DIR", ROOT.parent / "shared" / "datasets")) / "kodak"
    if not d.is_dir():
        raise SystemExit(f"Kodak not found at {d}: set BENCH_DATA_DIR")
    return d


def subset(n: int, tmp: Path) -> Path:
    d = tmp / f"kodak{n}"
    if not d.is_dir():
        d.mkdir()
        for i in range(1, n + 1):
            shutil.copy(kodak_dir() / f"kodim{i:02d}.png", d / f"kodim{i:02d}.png")
    return d


# -- 1. the raw loop, run as its own process (`--raw DIR METRICS`) ---------------------------------
RAW = r'''
import sys, time, numpy as np, imagecodecs
from pathlib import Path
d, metrics, t_cpu = Path(sys.argv[1]), sys.argv[2].split(","), None
net = None
if "ms-ssim" in metrics or "lpips" in metrics:
    import torch
    from pytorch_msssim import ms_ssim
    torch.set_num_threads(1)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]
if "lpips" in metrics:
    import lpips
    net = lpips.LPIPS(net="alex", verbose=False).eval()
c0 = time.process_time()
for p in sorted(d.glob("*.png")):
    x = imagecodecs.imread(p)
    for q in (5, 10, 20, 35, 50, 65, 80, 90):
        y = imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(x, level=q, optimize=True))
        e = x.astype(np.float64) - y
        10 * np.log10(255 ** 2 / np.mean(e * e))
        if "ms-ssim" in metrics:
            with torch.inference_mode():
                ms_ssim(t(x), t(y), data_range=255.0)
        if net is not None:
            with torch.inference_mode():
                net(t(y) / 127.5 - 1, t(x) / 127.5 - 1)
print(time.process_time() - c0)
'''

DRIVER = r'''
import sys, time, json
from bench.report.outputs import after_run
from bench.runner.run import RunConfig, run
s = run(RunConfig(dataset=sys.argv[1], codecs=["jpeg"], metrics=sys.argv[2].split(","), anchor="jpeg",
                  out=sys.argv[3], progress=False, workers=1))
after_run(s)
print(json.dumps({"grid_cpu": s.cpu_s, "outputs_cpu": s.outputs_cpu_s, "outputs_s": s.outputs_s, "tasks": s.tasks}))
'''


def harness_vs_raw(tmp: Path, reps: int):
    print("\n1. harness CPU / raw library calls (1 worker, 1 thread; fresh process each; JPEG x 8 points)")
    env = {"BENCH_THREADS": "1", "BENCH_OFFLINE": "1"}
    for metrics, sizes in (("psnr", (1, 6, 24)), ("psnr,ms-ssim,lpips", (4,))):
        for n in sizes:
            d = subset(n, tmp)
            whole, grid = [], []
            for r in range(reps):  # interleaved: raw, harness, raw, harness ...
                _, raw_cpu, _, out = child([PY, "-c", RAW, str(d), metrics], env)
                raw_loop = float(out.strip().splitlines()[-1])
                out_dir = tmp / f"h{n}-{r}-{metrics.count(',')}"
                _, h_cpu, _, out = child([PY, "-c", DRIVER, str(d), metrics, str(out_dir)], env, cwd=ROOT)
                info = json.loads(out.strip().splitlines()[-1])
                whole.append(h_cpu / raw_cpu)
                grid.append(info["grid_cpu"] / raw_loop)
            print(f"   {metrics:20s} {n * 8:4d} tasks  whole process {stats(whole)}   grid only {stats(grid)}"
                  f"   (goal <= 1.05; last: raw loop {raw_loop:.2f} s, grid {info['grid_cpu']:.2f} s, outputs"
                  f" {info['outputs_cpu']:.2f} s CPU)")


def workers(tmp: Path, reps: int):
    """Two grids of 192 tasks: one whose single worker can use a second core (MS-SSIM's torch
    threads) and one whose single worker cannot (JPEG 2000 is pinned to one thread by its card,
    PSNR is numpy). With 2 cores, perfect scaling of the 1-thread worker bounds the speed-up over
    the best single worker at 2 x wall(best single) / wall(1 thread) (2 when 1 thread is best)."""
    d = subset(24, tmp)
    for metrics in (["psnr", "ms-ssim"], ["psnr"]):
        print(f"\n2. 2 workers vs the best single worker: 24 Kodak x JPEG 2000 x 8 points x {' + '.join(metrics).upper()}"
              " (192 tasks), wall s")
        res = {"1 worker, 1 thread": [], "1 worker, 2 threads": [], "2 workers x 1 thread": []}
        for r in range(reps):
            for label, w, th in (("1 worker, 1 thread", 1, "1"), ("1 worker, 2 threads", 1, "2"),
                                 ("2 workers x 1 thread", 2, "1")):
                out = tmp / f"w-{r}-{w}-{th}-{len(metrics)}"
                wall, *_ = child(BENCH + ["run", "--dataset", str(d), "--codec", "jpeg2000", "--out", str(out),
                                          "--no-progress", "--workers", str(w)] + [a for m in metrics for a in ("--metric", m)],
                                 {"BENCH_THREADS": th})
                res[label].append(wall)
        for k, v in res.items():
            print(f"   {k:22s} {stats(v)}")
        one, two = min(res["1 worker, 1 thread"]), min(res["1 worker, 2 threads"])
        best, pair = min(one, two), res["2 workers x 1 thread"]
        med = min(statistics.median(res["1 worker, 1 thread"]), statistics.median(res["1 worker, 2 threads"]))
        print(f"   speed-up 2 workers / best single: min-wall {best / min(pair):.2f}x, median "
              f"{med / statistics.median(pair):.2f}x"
              f" (goal >= 1.8x); vs 1 thread {one / min(pair):.2f}x; bound with perfect scaling {2 * best / one:.2f}x")


def compressai(tmp: Path, reps: int):
    print("\n3. bench run / compressai.utils.bench jpeg, CPU of the whole process (4 Kodak, 9 qualities, PSNR + MS-SSIM)")
    d = subset(4, tmp)
    qs = [10, 20, 30, 40, 50, 60, 70, 80, 90]
    cards = tmp / "cards" / "codecs"
    cards.mkdir(parents=True, exist_ok=True)
    # the sweep CompressAI's JPEG runs: libjpeg(-turbo) at each quality, default settings, 4:2:0
    (cards / "jpeg-pil.toml").write_text('id = "jpeg-pil"\nadapter = "imagecodecs"\n[params]\nformat = "jpeg8"\n'
                                         '[params.encode]\noptimize = false\n[ladder]\nparam = "level"\n'
                                         f"points = {qs}\n")
    ours, theirs, numbers = [], [], None
    for r in range(reps):
        _, c_cpu, _, out = child([PY, "-m", "compressai.utils.bench", "jpeg", str(d), "-q", ",".join(map(str, qs))])
        theirs.append(c_cpu)
        ref = json.loads(out)["results"]
        o = tmp / f"cai-{r}"
        _, b_cpu, _, _ = child(BENCH + ["run", "--dataset", str(d), "--codec", "jpeg-pil", "--metric", "psnr", "--metric",
                                        "ms-ssim", "--out", str(o), "--no-progress"], {"BENCH_CARDS": str(tmp / "cards")})
        ours.append(b_cpu)
        import csv

        pts = {(row["metric"], int(row["point_index"])): (float(row["bpp_mean"]), float(row["value_mean"]))
               for row in csv.DictReader(open(o / "rd_points.csv"))}
        numbers = max(max(abs(pts[("psnr", i)][1] - ref["psnr-rgb"][i]), abs(pts[("ms-ssim", i)][1] - ref["ms-ssim-rgb"][i]),
                          abs(pts[("psnr", i)][0] - ref["bpp"][i])) for i in range(len(qs)))
    ratios = [a / b for a, b in zip(ours, theirs)]
    print(f"   compressai CPU s {stats(theirs)}\n   bench CPU s      {stats(ours)}\n   ratio            {stats(ratios)}"
          f"  (goal <= 0.67); largest difference in bpp / PSNR / MS-SSIM means: {numbers:.2e}")


def cli(tmp: Path, reps: int):
    print("\n4./5. command latency, wall s")
    out = tmp / "default64"
    child(BENCH + ["run", "--out", str(out), "--no-progress"])
    rows = {"bench --help": BENCH + ["--help"], "bench list datasets": BENCH + ["list", "datasets"],
            "bench run --codec jpg (name error)": BENCH + ["run", "--codec", "jpg"],
            "unchanged re-run, 64 tasks": BENCH + ["run", "--out", str(out), "--no-progress"]}
    for label, cmd in rows.items():
        walls = []
        for _ in range(reps):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True)
            walls.append(time.perf_counter() - t)
        print(f"   {label:36s} {stats(walls)}  (goal <= 1-2 s)")
    t = time.perf_counter()
    r = subprocess.run([PY, "-c", "from bench.report.stored import StoredRun; from bench.report.outputs import write_outputs;"
                        f"import time; t=time.perf_counter(); write_outputs(StoredRun.open({str(out)!r}));"
                        "print(time.perf_counter()-t)"],
                       capture_output=True, text=True, cwd=ROOT)
    print(f"   outputs of the unchanged run: {float(r.stdout.strip()):.3f} s (goal <= 0.5 s)")


def memory(tmp: Path, reps: int):
    print("\n6. peak memory, one 4000 x 3000 image, JPEG (8 points) + PSNR + MS-SSIM, 1 worker")
    from PIL import Image

    def peak(name, size):
        d = tmp / name
        d.mkdir(exist_ok=True)
        Image.open(kodak_dir() / "kodim01.png").resize(size, Image.BICUBIC).save(d / f"{name}.png")
        _, _, rss, out = child([PY, "-c", "import resource,subprocess,sys; subprocess.run(sys.argv[1:], check=True);"
                                "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)", *BENCH, "run",
                                "--dataset", str(d), "--codec", "jpeg", "--metric", "psnr", "--metric", "ms-ssim",
                                "--out", str(tmp / f"{name}out"), "--no-progress"], {"BENCH_THREADS": "1"})
        return int(out.split()[-1]) / 1024

    # the libraries and models: the same command on a Kodak-sized image loads the same code
    base, big = peak("small", (768, 512)), peak("big", (4000, 3000))
    rgb = 4000 * 3000 * 3 / 2**20
    print(f"   peak RSS {big:.0f} MiB; the same run on a 768 x 512 image (libraries + models) {base:.0f} MiB;"
          f" the difference {big - base:.0f} MiB = {(big - base) / rgb:.1f} x the image's RGB size ({rgb:.0f} MiB)"
          " (goal <= 10 x)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", default="1,2,3,4,6")
    a = ap.parse_args()
    parts = {"1": harness_vs_raw, "2": workers, "3": compressai, "4": cli, "6": memory}
    tmp = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    try:
        for k in a.only.split(","):
            parts[k](tmp, a.reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n(GPU throughput per metric: scripts/bench_metrics.py --throughput, on a machine with a GPU)")


if __name__ == "__main__":
    main()
