#!/usr/bin/env python
"""The worked example of a human study with SIMULATED raters (never to be read as human data), and the
server's request latencies under a few concurrent raters (issue #27).

Makes a study from a run, serves it with `bench study serve` (a real process), and lets simulated raters
answer through the HTTP API as the page does: each rater prefers, in each pair, the side with the lower
LPIPS on that image, through a Bradley-Terry draw with strength -LPIPS / 0.03 plus a per-rater offset per
condition (sd 0.3); one rater of six answers at random, to be screened out by the golden questions.
Then `bench study results` and the exports.
Usage: scripts/study_worked_example.py RUN OUT [--bpp 0.3,0.6] [--raters 6] [--per-rater 60] [--study DIR]
"""
import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

BENCH = [sys.executable, "-m", "bench.cli"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("out")
    ap.add_argument("--bpp", default="0.3,0.6")
    ap.add_argument("--raters", type=int, default=6)
    ap.add_argument("--per-rater", type=int, default=60)
    ap.add_argument("--study", default="out/study-simulated", help="the study folder (its images stay out of git)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    study = Path(a.study)
    subprocess.run(BENCH + ["study", "create", a.run, "--out", str(study), "--bpp", a.bpp, "--crop", "256",
                            "--per-rater", str(a.per_rater), "--golden-every", "10"], check=True)
    names = [f"sim{k}" for k in range(a.raters)]
    links = subprocess.run(BENCH + ["study", "invite", str(study), *names], check=True, capture_output=True,
                           text=True).stdout.split()
    tokens = {n.rstrip(":"): u.rsplit("/", 1)[1] for n, u in zip(links[::2], links[1::2])}
    spec = json.loads((study / "study.json").read_text())
    items = {i["id"]: i for i in spec["items"]}
    lpips = {k: v for k, v in sqlite3.connect(Path(a.run) / "bench.sqlite").execute(
        "SELECT encoding_key, value FROM records WHERE metric = 'lpips'")}
    srv = subprocess.Popen(BENCH + ["study", "serve", str(study), "--port", "0"], stdout=subprocess.PIPE, text=True)
    base = srv.stdout.readline().split(" on ")[1].split("/ ")[0]
    lat = {"next": [], "image": [], "answer": []}
    lock = threading.Lock()

    def timed(kind, req):
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        with lock:
            lat[kind].append(time.perf_counter() - t)
        return body

    failed = []

    def rater(k, name):
        try:
            answer_all(k, name)
        except Exception as e:  # noqa: BLE001 - stops the example below
            failed.append(f"{name}: {e!r}")

    def answer_all(k, name):
        rng = np.random.default_rng(k)
        offset = {c["id"]: rng.normal(0, 0.3) for c in spec["conditions"]}
        tok = tokens[name]
        while True:
            q = json.loads(timed("next", f"{base}/api/{tok}/next"))
            if q["done"]:
                return
            for s in ("o", "a", "b"):
                timed("image", base + q[s])
            sa, sb = (_strength(items[i], lpips, offset) for i in _served(study, q["id"]))
            if name == names[-1]:
                choice = rng.choice(["a", "b"])  # the careless rater
            else:
                choice = "a" if rng.random() < 1 / (1 + np.exp(-(sa - sb))) else "b"
            body = json.dumps({"id": q["id"], "nonce": q["nonce"], "choice": choice,
                               "ms": int(rng.integers(800, 4000))}).encode()
            timed("answer", urllib.request.Request(f"{base}/api/{tok}/answer", data=body,
                                                   headers={"Content-Type": "application/json"}))

    t0 = time.perf_counter()
    threads = [threading.Thread(target=rater, args=(k, n)) for k, n in enumerate(names)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    wall = time.perf_counter() - t0
    srv.terminate()
    srv.wait()
    if failed:
        raise SystemExit("simulated raters failed: " + "; ".join(failed))
    for fmt in ("md", "json"):
        subprocess.run(BENCH + ["study", "results", str(study), "--format", fmt, "--out", str(out / f"results.{fmt}")],
                       check=True, capture_output=True)
    subprocess.run(BENCH + ["study", "export", str(study), "--format", "clic", "--out", str(out / "judgements_clic.csv")],
                   check=True)
    n = sum(len(v) for v in lat.values())
    lines = [f"{a.raters} simulated raters at once, {n} requests in {wall:.1f} s ({n / wall:.0f} requests/s) on this "
             "machine (2 cores, the raters' client threads included):"]
    for kind, v in lat.items():
        v = sorted(v)
        lines.append(f"- {kind}: {len(v)} requests, median {1000 * statistics.median(v):.1f} ms, "
                     f"p95 {1000 * v[int(0.95 * (len(v) - 1))]:.1f} ms, max {1000 * v[-1]:.1f} ms")
    (out / "latency.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _served(study: Path, sid: int):
    with sqlite3.connect(study / "study.sqlite") as db:
        return db.execute("SELECT a, b FROM served WHERE id = ?", (sid,)).fetchone()


def _strength(item, lpips, offset) -> float:
    if item["condition"] == "original":
        return 10.0
    if item["condition"] == "degraded":
        return -10.0
    value = item["scores"]["lpips"] if "scores" in item else lpips[item["encoding"]]  # matched-rate: scored at creation
    return -value / 0.03 + offset[item["condition"]]


if __name__ == "__main__":
    main()
