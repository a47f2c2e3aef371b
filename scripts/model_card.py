#!/usr/bin/env python
"""Write codecs/learned/MODEL_CARD.md from the training runs and a Kodak evaluation store.

Usage: scripts/model_card.py RUNS_DIR [--kodak OUT_DIR]
Reads RUNS_DIR/<stage>/config.json and log.csv (steps, final loss terms, wall time) and, with
--kodak, the mean bpp / PSNR / MS-SSIM / LPIPS / DISTS per checkpoint from that run's store.
"""
import argparse
import csv
import json
from pathlib import Path

FAMILIES = {"mse": "mse-hyperprior", "msssim": "msssim-hyperprior", "dpc": "dpc"}


def stage_rows(runs: Path):
    out = {}
    for d in sorted(runs.iterdir()):
        if (d / "config.json").is_file() and (d / "log.csv").is_file():
            cfg = json.loads((d / "config.json").read_text())
            rows = list(csv.DictReader(open(d / "log.csv")))
            out[d.name] = (cfg, rows[-1] if rows else {})
    return out


def kodak_rows(out_dir: Path):
    from bench.analysis.aggregate import curves
    from bench.runner.store import Store

    st = Store(out_dir, create=False)
    rid = st.last_run()["run_id"]
    ms = ["psnr", "ms-ssim", "lpips", "dists"]
    cv = curves(st.encodings_of(rid), st.records(rid), ms)
    res = {}
    for (codec, m), c in cv.items():
        for i, b, v in zip(c.point_index, c.bpp, c.value):
            res.setdefault((codec, i), {"bpp": b})[m] = v
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs")
    ap.add_argument("--kodak")
    a = ap.parse_args()
    stages = stage_rows(Path(a.runs))
    kodak = kodak_rows(Path(a.kodak)) if a.kodak else {}
    total = sum(float(r.get("wall_s", 0)) for _, r in stages.values())
    base_cfg = stages["base"][0]
    L = ["# Learned codecs trained here: DPC, MSE and MS-SSIM hyperpriors", "",
         "Written by `scripts/model_card.py` from the training logs; reproduce with `scripts/train_learned.sh`.", "",
         f"- **Architecture**: CompressAI `MeanScaleHyperprior` (Minnen et al. 2018 without the context model), "
         f"N={base_cfg['N']}, M={base_cfg['M']}; inference checkpoints in fp16 (float weights) with exact integer "
         "entropy-coder tables rebuilt at load.",
         f"- **Data**: BSDS500 (all 500 images, train/val/test, JPEG as distributed), random {base_cfg['crop']}x"
         f"{base_cfg['crop']} crops with horizontal / vertical flips, batch {base_cfg['batch']}. Kodak is used "
         "only for evaluation.",
         f"- **Schedule**: one MSE base model (lambda {base_cfg['lmbda']}, lr {base_cfg['lr']}, "
         f"{stages['base'][1].get('step')} steps), then each rate point of each family fine-tuned from it with lr 1e-4 "
         "and the family's objective; everything else equal across families.",
         "- **Objectives**: `mse`: bpp + lambda * 255^2 * MSE; `msssim`: bpp + lambda * (1 - MS-SSIM); `dpc`: "
         "bpp + lambda * (alpha * (1 - MS-SSIM) + beta * LPIPS-alex), alpha = beta = 1. Training MS-SSIM uses a "
         "7-px window and 4 scales (128-px crops); evaluation uses the standard 5-scale form.",
         "- **Hardware**: 1 CPU thread per run, on a 2-core machine shared with other work "
         f"(wall times below); total {total / 3600:.2f} CPU-hours.", "",
         "| stage | objective | lambda | steps | wall (min) | final bpp | final MSE | final MS-SSIM | final LPIPS |",
         "|---|---|---|---|---|---|---|---|---|"]
    for name, (cfg, last) in stages.items():
        L.append(f"| {name} | {cfg['objective']} | {cfg['lmbda']} | {last.get('step')} | "
                 f"{float(last.get('wall_s', 0)) / 60:.1f} | {last.get('bpp')} | {last.get('mse')} | "
                 f"{last.get('msssim')} | {last.get('lpips')} |")
    if kodak:
        L += ["", "## Kodak (24 images), real bitstream bpp, mean over images", "",
              "| codec | point | bpp | PSNR | MS-SSIM | LPIPS | DISTS |", "|---|---|---|---|---|---|---|"]
        for (codec, i), r in sorted(kodak.items()):
            if codec in FAMILIES.values():
                L.append(f"| {codec} | {i + 1} | {r['bpp']:.3f} | {r.get('psnr', float('nan')):.2f} | "
                         f"{r.get('ms-ssim', float('nan')):.4f} | {r.get('lpips', float('nan')):.4f} | "
                         f"{r.get('dists', float('nan')):.4f} |")
    Path("codecs/learned/MODEL_CARD.md").write_text("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
