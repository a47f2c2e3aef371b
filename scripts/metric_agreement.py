"""Do a profile table's metrics agree on the ranking of codecs? (issue 26: the AIC-3 warning that most metrics
over-rate learned codecs.) Reads the CSV of `bench table RUN --profile ID --out T.csv` and prints each codec's rank
under every metric's BD-rate (1 = best), each metric's Kendall tau with --base over the codecs both rank (and the
mean over all pairs of metrics), and, for the codecs named with --learned, their rank under each metric against
their rank under --base. Metrics that rank fewer than 4 codecs are left out.

    python scripts/metric_agreement.py results/kodak-jpeg-ai/jpeg-ai.csv --base jpegai-psnr-y
"""
from __future__ import annotations

import argparse
import csv
import itertools

from bench.analysis.pairwise import kendall_tau

LEARNED = "dpc,mse-hyperprior,msssim-hyperprior"


def main() -> None:
    """Print ranks per metric, pairwise Kendall tau, and the learned codecs' rank shifts."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--base", required=True, help="the metric the others are compared with (PSNR-Y)")
    ap.add_argument("--learned", default=LEARNED, help=f"comma-separated learned codecs (default {LEARNED})")
    args = ap.parse_args()
    bd: dict = {}  # metric -> {codec: BD-rate}
    with open(args.csv) as f:
        for r in csv.DictReader(f):
            if r["bd_rate"]:
                bd.setdefault(r["metric"], {})[r["codec"]] = float(r["bd_rate"])
    metrics = [m for m in bd if len(bd[m]) >= 4]
    ranks = {m: {c: i + 1 for i, c in enumerate(sorted(bd[m], key=bd[m].get))} for m in metrics}
    codecs = sorted({c for m in metrics for c in bd[m]}, key=lambda c: ranks[args.base].get(c, 99))
    print("rank (1 = fewest bits) | " + " | ".join(metrics))
    for c in codecs:
        print(f"{c} | " + " | ".join(str(ranks[m].get(c, "n/a")) for m in metrics))

    def tau(m1, m2):
        common = sorted(set(bd[m1]) & set(bd[m2]))
        return kendall_tau([bd[m1][c] for c in common], [bd[m2][c] for c in common]), len(common)

    print(f"\nKendall tau with {args.base} (codecs both rank):")
    for m in metrics:
        if m != args.base:
            t, n = tau(args.base, m)
            print(f"  {m}: {t:+.2f} ({n} codecs)")
    pairs = [tau(m1, m2)[0] for m1, m2 in itertools.combinations(metrics, 2)]
    print(f"mean over all {len(pairs)} pairs of metrics: {sum(pairs) / len(pairs):+.2f}")
    print(f"\nlearned codecs, rank under each metric minus rank under {args.base} (negative = rated better):")
    for c in args.learned.split(","):
        if c in ranks[args.base]:
            print(f"  {c}: " + ", ".join(f"{m} {ranks[m][c] - ranks[args.base][c]:+d}" for m in metrics
                                          if m != args.base and c in ranks[m]))


if __name__ == "__main__":
    main()
