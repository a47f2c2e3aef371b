#!/usr/bin/env python
"""Print every available metric on the five TID2013 calibration pairs next to the official values
(results_official.csv) as a Markdown table. Usage: scripts/calibration_table.py [CALIB_DIR]"""
import csv
import sys
from pathlib import Path

from bench import metrics as M
from bench import weights
from bench.images import read_image

OFFICIAL = {"psnr": "psnr", "ssim": "ssim", "ms-ssim-grey": "ms_ssim", "lpips": "lpips", "dists": "dists",
            "fsim": "fsim", "gmsd": "gmsd", "vsi": "vsi", "vif": "vif", "nlpd": "nlpd", "niqe": "niqe",
            "brisque": "brisque", "ilniqe": "ilniqe"}
PAIRS = ["I03", "I04", "I06", "I08", "I19"]


def main():
    d = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/iqa_calibration/tid2013_pyiqa_calibra")
    weights.configure()
    off = {r["Method"]: [float(r[f"{p}.bmp"]) for p in PAIRS] for r in csv.DictReader(open(d / "results_official.csv"))}
    pairs = [(read_image(d / "ref" / f"{p}.bmp").pixels, read_image(d / "dist" / f"{p}.bmp").pixels) for p in PAIRS]
    print("| metric | " + " | ".join(PAIRS) + " | max abs diff |")
    print("|---|" + "---|" * (len(PAIRS) + 1))
    for ours, theirs in OFFICIAL.items():
        if not M.availability(ours)[0]:
            print(f"| {ours} | unavailable: {M.availability(ours)[1]} |")
            continue
        got = [M.score(ours, r, x) for r, x in pairs]
        cells = [f"{g:.4g} / {o:.4g}" for g, o in zip(got, off[theirs])]
        print(f"| {ours} (ours / official) | " + " | ".join(cells) +
              f" | {max(abs(g - o) for g, o in zip(got, off[theirs])):.3g} |")


if __name__ == "__main__":
    main()
