"""`bench run --target-bpp`: rate matching at dataset scale. Each image is encoded, for each codec with a
numeric ladder, at the point the bisection finds nearest each target rate (every probe's rate cached
in the store); rate point k of the run is target k for every image, so the curves are at matched rates
as the JPEG AI common test conditions ask. Codecs with named checkpoints (learned codecs) cannot be
searched: they keep their own ladder, and the report says so. The report (in the manifest, shown under
the table) names every image farther than the tolerance from its target, and targets out of a codec's reach."""
from __future__ import annotations

from ..adapters.search import bisect, numeric
from ..errors import BenchError
from . import task
from .progress import Progress


def _searches(store, ds, searched: list, targets: list, tolerance: float, workers: int, bar):
    """(image name, codec, match_points result) of every image x searched codec, in dataset order; with
    several workers the searches run in worker processes (a VVC probe costs seconds), each probe's rate
    written to the store from there."""
    jobs = ((name, img, c) for name, img in ds.images() if not isinstance(img, Exception) for c in searched)
    if workers <= 1:
        for name, img, c in jobs:
            yield name, c, match_points(store, img, c, targets, tolerance)
            bar.update(1)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from .executors import _init_worker, threads_per_worker

    done, inflight = {}, {}
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(threads_per_worker(workers),)) as ex:
        order = []
        for name, img, c in jobs:
            order.append((name, c))
            inflight[ex.submit(_search, str(store.dir), img.pixels, img.sha256, c, targets, tolerance)] = (name, c)
            while len(inflight) >= 2 * workers:  # bounded: images are not all held at once
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for f in finished:
                    done[inflight.pop(f)] = f.result()
                    bar.update(1)
        for f in list(inflight):
            done[inflight.pop(f)] = f.result()
            bar.update(1)
    for name, c in order:
        yield name, c, done[(name, c)]


def _search(out_dir: str, pixels, sha256: str, codec_id: str, targets: list, tolerance: float) -> dict:
    """match_points in a worker process, on its own connection to the store."""
    from types import SimpleNamespace

    from ..store import Store

    store = Store(out_dir)
    try:
        return match_points(store, SimpleNamespace(pixels=pixels, sha256=sha256), codec_id, targets, tolerance)
    finally:
        store.close()


def match_dataset(store, ds, codecs: list, ladders: dict, targets: list, tolerance: float, progress: bool,
                  workers: int = 1) -> dict:
    """{"points": {(codec, image): {target index: point}}, "counts": {codec: points per image},
    "report": what the manifest records}."""
    searched = [c for c in codecs if numeric(ladders[c])]
    points, report = {}, {"targets": list(targets), "tolerance": tolerance, "codecs": {}}
    for c in codecs:
        if c not in searched:
            report["codecs"][c] = {"how": "named checkpoints: its own ladder, not matched"}
    bar = Progress(len(ds.files) * len(searched), enabled=progress)
    probes = 0
    for name, c, got in _searches(store, ds, searched, targets, tolerance, workers, bar):
        rep = report["codecs"].setdefault(c, {"how": "matched-rate search", "outside": [], "unreachable": [],
                                              "failed": []})
        probes += got["probes"]
        if "error" in got:
            rep["failed"].append([name, got["error"]])
            continue
        points[(c, name)] = {k: g["point"] for k, g in got["targets"].items() if g["point"] is not None}
        for k, g in got["targets"].items():
            row = [name, targets[k], round(g["bpp"], 5), round(100 * g["off"], 2)]
            if g["point"] is None:
                rep["unreachable"].append(row)
            elif not g["within"]:
                rep["outside"].append(row)
    bar.close()
    report["probes_encoded"] = probes
    counts = {c: len(targets) for c in searched}
    return {"points": points, "report": report, "counts": counts}


def notes(report: dict) -> list[str]:
    """Lines under the table: how the rates were matched, and where they were not."""
    tol = 100 * report["tolerance"]
    out = [f"Rate matching: each image at each codec's point nearest {', '.join(f'{t:g}' for t in report['targets'])} "
           f"bpp (bisection; tolerance ±{tol:g} %)."]
    for c, r in sorted(report["codecs"].items()):
        if r["how"] != "matched-rate search":
            out.append(f"{c}: {r['how']}.")
            continue
        if r["outside"]:
            worst = max(r["outside"], key=lambda x: abs(x[3]))
            out.append(f"{c}: {len(r['outside'])} image x target pairs outside ±{tol:g} % (worst {worst[0]} at "
                       f"{worst[1]:g} bpp: {worst[2]:g} bpp, {worst[3]:+g} %): "
                       + "; ".join(f"{n} @ {t:g}: {o:+g} %" for n, t, _, o in r["outside"][:12])
                       + (" ..." if len(r["outside"]) > 12 else "") + ".")
        if r.get("failed"):
            out.append(f"{c}: the search failed on {len(r['failed'])} image(s), so its curves lack them and drop "
                       f"those rate points (first: {r['failed'][0][0]}: {r['failed'][0][1][-120:]}).")
        if r["unreachable"]:
            out.append(f"{c}: out of reach, so those rate points are left out of its curve: "
                       + "; ".join(f"{n} @ {t:g} bpp (nearest {b:g})" for n, t, b, _ in r["unreachable"][:12]) + ".")
    return out


def match_points(store, img, codec_id: str, targets: list[float], tolerance: float) -> dict:
    """{"targets": {index: {"point", "bpp", "off" (relative), "within"}}, "probes": new encodes} of one image,
    or {"error": why, "probes": ...} when the codec failed at a probe; the rate of every probe is cached in the
    store (a resumed run searches again without encoding). When two targets find the same point (beyond the
    codec's range), the one it is nearer to keeps it; the other gets "point": None."""
    c = task.codec(codec_id)
    pixels = img.pixels
    h, w = pixels.shape[:2]
    new = 0

    def bpp(point):
        nonlocal new
        key = task.key_for(img.sha256, codec_id, point)
        got = store.probe(key)
        if got is None:
            got = 8 * c.adapter.encode(pixels, point).rate_bytes / (h * w)
            store.put_probe(key, got)
            new += 1
        return got

    out, owner = {}, {}  # owner: point -> the target index it is assigned to
    for k, t in enumerate(targets):
        try:
            point, evals = bisect(c.card, c.ladder, bpp, t)
        except BenchError as e:  # the codec failed at a probe: this image is not matched, the run goes on
            return {"error": str(e)[-300:], "probes": new}
        got = dict(evals)[point]
        off = got / t - 1
        out[k] = {"point": point, "bpp": got, "off": off, "within": abs(off) <= tolerance}
        j = owner.get(point)
        if j is not None:  # two targets found the same point (beyond the codec's reach): the nearer keeps it
            loser = k if abs(off) >= abs(out[j]["off"]) else j
            out[loser] = {**out[loser], "point": None}
            if loser == j:
                owner[point] = k
        else:
            owner[point] = k
    return {"targets": out, "probes": new}
