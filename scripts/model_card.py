#!/usr/bin/env python
"""Write the learned codecs' model cards from the training runs and a Kodak evaluation store:
codecs/learned/<codec>.md per family and the overview codecs/learned/MODEL_CARD.md.

Usage: scripts/model_card.py RUNS_DIR [--kodak OUT_DIR]
Reads RUNS_DIR/<stage>/config.json and log.csv (steps, final loss terms, wall time) and, with
--kodak, the mean bpp / PSNR / MS-SSIM / LPIPS / DISTS per checkpoint from that run's store.
"""
import argparse
import csv
import json
from pathlib import Path

FAMILIES = {"mse": "mse-hyperprior", "msssim": "msssim-hyperprior", "dpc": "dpc"}
METRICS = ["psnr", "ms-ssim", "lpips", "dists"]
ANCHORS = ["jpeg", "jpeg2000", "hevc-intra-444"]
# The base's first 4000 steps ran with 1 thread (session 1), the rest with config.json's threads.
BASE_ONE_THREAD_STEPS = 4000


def stage_rows(runs: Path):
    out = {}
    for d in sorted(runs.iterdir()):
        if (d / "config.json").is_file() and (d / "log.csv").is_file():
            cfg = json.loads((d / "config.json").read_text())
            rows = list(csv.DictReader(open(d / "log.csv")))
            if not rows:
                continue
            # one batch of 8 crops is noisy: report means over the last 10 % of the steps
            last = int(rows[-1]["step"])
            tail = [r for r in rows if int(r["step"]) > 0.9 * last]
            summary = {k: sum(float(r[k]) for r in tail) / len(tail) for k in ("bpp", "mse", "msssim", "lpips")}
            summary.update(step=last, wall_s=float(rows[-1]["wall_s"]))
            threads = cfg.get("threads", 1)
            if d.name == "base":
                w1 = next(float(r["wall_s"]) for r in rows if int(r["step"]) >= BASE_ONE_THREAD_STEPS)
                summary["cpu_s"] = w1 + threads * (summary["wall_s"] - w1)
            else:
                summary["cpu_s"] = threads * summary["wall_s"]
            out[d.name] = (cfg, summary)
    return out


def interp(x, xs, ys):
    """Linear in log-rate between the two nearest points; None outside the range."""
    import math

    pts = sorted(zip(xs, ys))
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= x <= x1:
            t = (math.log(x) - math.log(x0)) / (math.log(x1) - math.log(x0))
            return y0 + t * (y1 - y0)
    return None


def kodak_curves(out_dir: Path):
    """Curves (codec, metric) -> Curve of the store's last run, and per-point rows for the learned codecs."""
    from bench.analysis.aggregate import curves
    from bench.report.stored import StoredRun

    run = StoredRun.open(out_dir)
    cv = curves(run.encodings, run.records, METRICS)
    res = {}
    for (codec, m), c in cv.items():
        for i, b, v in zip(c.point_index, c.bpp, c.value):
            res.setdefault((codec, i), {"bpp": b})[m] = v
    return cv, res


def header(stages, total):
    ft = next(c for n, (c, _) in stages.items() if n != "base" and "base" in c["init"])
    ft4 = next((c for n, (c, _) in stages.items() if n.endswith("-4")), None)
    base_cfg = stages["base"][0]
    return [
        "Written by `scripts/model_card.py` from the training logs; reproduce with `scripts/train_learned.sh`.", "",
        f"- **Architecture**: CompressAI `MeanScaleHyperprior` (Minnen et al. 2018 without the context model), "
        f"N={base_cfg['N']}, M={base_cfg['M']}; inference checkpoints in fp16 (float weights) with exact integer "
        "entropy-coder tables rebuilt at load.",
        f"- **Data**: BSDS500 (all 500 images, train/val/test, JPEG as distributed), random {base_cfg['crop']}x"
        f"{base_cfg['crop']} crops with horizontal / vertical flips, batch {base_cfg['batch']}. Kodak is used "
        "only for evaluation.",
        f"- **Schedule**: one MSE base model (lambda {base_cfg['lmbda']}, lr {base_cfg['lr']}, "
        f"{stages['base'][1]['step']} steps), then each rate point of each family fine-tuned from it for "
        f"{ft['steps']} steps, lr {ft['lr']} divided by 10 from step {ft.get('lr_drop_at')}, with the family's "
        "objective; everything else (data, crops, seed, steps, schedule) equal across families."
        + (f" Point 4 of each family (a higher rate, added so that BD-rate has its four points) continued from "
           f"that family's point 3 for {ft4['steps']} steps, lr {ft4['lr']} / 10 from step {ft4['lr_drop_at']}."
           if ft4 else ""),
        "- **Objectives**: `mse`: bpp + lambda * 255^2 * MSE; `msssim`: bpp + lambda * (1 - MS-SSIM); `dpc`: "
        "bpp + lambda * (alpha * (1 - MS-SSIM) + beta * LPIPS-alex). Training MS-SSIM uses a "
        "7-px window and 4 scales (128-px crops); evaluation uses the standard 5-scale form.",
        "- **Hardware**: a 2-core x86 CPU (AMD EPYC, AVX2), no GPU; the base ran with 2 threads after its first "
        f"{BASE_ONE_THREAD_STEPS} steps, fine-tunes with 1 thread each, two at a time; all stages together "
        f"**{total / 3600:.2f} CPU-hours**.", ""]


def num(v, fmt=".4f"):
    return "-" if v != v else format(v, fmt)  # nan: the objective does not compute that term


def stage_table(stages, names):
    L = ["Training terms are means over the last 10 % of each stage's steps (BSDS500 crops, estimated bpp).", "",
         "| stage | objective | lambda | alpha | beta | steps | CPU (min) | bpp | MSE | MS-SSIM | LPIPS |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        cfg, r = stages[name]
        ab = (cfg["alpha"], cfg["beta"]) if cfg["objective"] == "dpc" else ("-", "-")
        L.append(f"| {name} | {cfg['objective']} | {cfg['lmbda']} | {ab[0]} | {ab[1]} | {r['step']} | "
                 f"{r['cpu_s'] / 60:.1f} | {r['bpp']:.4f} | {r['mse']:.5f} | {num(r['msssim'])} | {num(r['lpips'])} |")
    return L


def kodak_table(rows, codecs):
    L = ["| codec | point | bpp | PSNR | MS-SSIM | LPIPS | DISTS |", "|---|---|---|---|---|---|---|"]
    for (codec, i), r in sorted(rows.items()):
        if codec in codecs:
            L.append(f"| {codec} | {i + 1} | {r['bpp']:.3f} | {r.get('psnr', float('nan')):.2f} | "
                     f"{r.get('ms-ssim', float('nan')):.4f} | {r.get('lpips', float('nan')):.4f} | "
                     f"{r.get('dists', float('nan')):.4f} |")
    return L


def bd_lines(cv, codec):
    from bench.analysis.leaderboard import Options, build

    L = ["| anchor | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    for anchor in ANCHORS:
        if not any(c == anchor for c, _ in cv):
            continue
        lb = build(cv, Options(anchor=anchor, metrics=METRICS, resamples=0))
        cell = {m: lb.cells[(codec, f"bd_rate:{m}")] for m in METRICS}
        cells = [f"{cell[m].value:+.1f} % (ov {100 * cell[m].overlap_fraction:.0f} %)"
                 if cell[m].value is not None else f"n/a: {cell[m].message}" for m in METRICS]
        L.append(f"| {anchor} | " + " | ".join(cells) + " |")
    return L


def matched(rows):
    L = ["The MSE model's curve interpolated (linear in log bpp) at each DPC point's bpp; n/a outside its range.", "",
         "| DPC point | bpp | PSNR DPC / MSE | MS-SSIM DPC / MSE | LPIPS DPC / MSE | DISTS DPC / MSE |",
         "|---|---|---|---|---|---|"]
    mse = sorted((i, r) for (c, i), r in rows.items() if c == "mse-hyperprior")
    for (codec, i), r in sorted(rows.items()):
        if codec != "dpc":
            continue
        cells = []
        for m in METRICS:
            v = interp(r["bpp"], [q["bpp"] for _, q in mse], [q[m] for _, q in mse])
            cells.append(f"{r[m]:.4g} / " + ("n/a" if v is None else f"{v:.4g}"))
        L.append(f"| {i + 1} | {r['bpp']:.3f} | " + " | ".join(cells) + " |")
    return L


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--kodak")
    a = ap.parse_args()
    stages = stage_rows(Path(a.runs))
    cv, rows = kodak_curves(Path(a.kodak)) if a.kodak else ({}, {})
    total = sum(r["cpu_s"] for _, r in stages.values())
    head = header(stages, total)
    kodak_head = ["", "## Kodak (24 images), real bitstream bpp, mean over images", ""]
    overview = ["# Learned codecs trained here: DPC, MSE and MS-SSIM hyperpriors", "",
                "One card per family: " + ", ".join(f"[{c}]({c}.md)" for c in FAMILIES.values()) + ".", ""]
    overview += head + stage_table(stages, list(stages))
    if rows:
        overview += kodak_head + kodak_table(rows, set(FAMILIES.values()))
        overview += ["", "### DPC against the MSE model at matched rate", ""] + matched(rows)
    Path("codecs/learned/MODEL_CARD.md").write_text("\n".join(overview) + "\n")
    for fam, codec in FAMILIES.items():
        names = ["base"] + [n for n in stages if n.startswith(fam + "-")]
        L = [f"# Model card: `{codec}` ({fam} objective)", ""] + head + stage_table(stages, names)
        if rows:
            L += kodak_head + kodak_table(rows, {codec})
            L += ["", "BD-rate on Kodak (pchip, log rate, over the overlap of the quality ranges; negative = fewer "
                  "bits for the same quality):", ""] + bd_lines(cv, codec)
        Path(f"codecs/learned/{codec}.md").write_text("\n".join(L) + "\n")
    print("\n".join(overview))


if __name__ == "__main__":
    main()
