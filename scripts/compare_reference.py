#!/usr/bin/env python
"""BD-rate of one codec of a stored run against a published reference curve (JSON with `bpp`
and per-metric lists, e.g. results/reference/compressai_kodak_bpg444.json).

Usage: scripts/compare_reference.py OUT_DIR CODEC REFERENCE.json [--metric psnr:psnr_rgb ...]
Prints BD-rate (pchip) per metric and the overlap; used to check the HEVC-intra stand-in
against published bpgenc results.
"""
import argparse
import json

from bench.analysis.aggregate import curves
from bench.analysis.bdrate import bd_rate
from bench.runner.store import Store


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("codec")
    ap.add_argument("reference")
    ap.add_argument("--metric", action="append", help="ours:theirs (default psnr:psnr_rgb, ms-ssim:ms_ssim_rgb)")
    a = ap.parse_args()
    ref = json.load(open(a.reference))
    pairs = [m.split(":") for m in (a.metric or ["psnr:psnr_rgb", "ms-ssim:ms_ssim_rgb"])]
    st = Store(a.out, create=False)
    run_id = st.last_run()["run_id"]
    cvs = curves(st.encodings_of(run_id), st.records(run_id), [p[0] for p in pairs])
    print(f"{a.codec} (run {run_id} of {a.out}) vs {ref['name']}")
    for ours, theirs in pairs:
        cv = cvs[(a.codec, ours)]
        r = bd_rate(ref["bpp"], ref[theirs], cv.bpp, cv.value, higher_is_better=True)
        print(f"  {ours:8s} BD-rate {r.value:+6.2f} %  over {r.overlap[0]:.4g}-{r.overlap[1]:.4g} "
              f"({100 * r.overlap_fraction:.0f}% of the union)")


if __name__ == "__main__":
    main()
