"""Detection accuracy in a run: the ground truth into the store, mAP per rate point, and the
resampling over images that gives its BD-rate intervals.

The detections of every image (original and reconstructions) are stored per image, like FID
features (`features` table, extractor `detect:<detector>`), so mAP is re-aggregated from the
store — for a table, an interval, another IoU reading — without running a detector again. The
ground truth of a dataset with annotations is stored beside them (owner `image:<sha>`,
extractor `gt:coco`, version = the annotation file's sha256), so a run directory is enough.
"""
from __future__ import annotations

import hashlib

import numpy as np

from .. import metrics as metric_table
from ..errors import BenchError, MetricError
from ..metrics.detection import Evaluation, coco_ground_truth, pseudo_ground_truth

GT = "gt:coco"


def is_detection(metric: str) -> bool:
    """Whether a metric is a detection metric (mAP or detection fidelity)."""
    return metric_table.get(metric).fn.startswith("detect:")


def _stat(metric: str) -> str:
    return metric_table.get(metric).params["stat"]


def check(ds, metrics: list[str]) -> None:
    """mAP against annotations needs a dataset that has them: say so before any work."""
    need = [m for m in metrics if is_detection(m) and _stat(m) != "det-fidelity"]
    if need and ds.annotations is None:
        fid = ", ".join(f"det-fidelity-{m.split('-', 1)[1]}" for m in need)
        raise BenchError(f"--metric {', '.join(need)}: dataset {ds.id!r} has no object annotations (its card names "
                         f"no `annotations` file); use a dataset with annotations (e.g. coco-tiny), or {fid}, which "
                         "compares detections on the reconstruction with those on the original, on any dataset")


def ground_truth(ds) -> dict:
    """{image name: ground-truth array} of a dataset with annotations."""
    arrays = coco_ground_truth(ds.annotations, [p.name for p in ds.files])
    return {p.stem: a for p, a in zip(ds.files, arrays)}


def gt_version(ds) -> str:
    """The version of a dataset's ground truth: its annotation file's sha256, shortened."""
    return ds.annotations_sha256[:16]


_cache: dict = {}


def evaluation(store, metric: str, encs: list[dict], man: dict) -> Evaluation:
    """The matches of one rate point's encodings (sorted by image) against the metric's truth."""
    from ..metrics.detectors import card

    row = metric_table.get(metric)
    ext, ver = row.fn, man["metric_versions"][metric]
    encs = sorted(encs, key=lambda e: (e["image"], e["image_sha256"]))
    truth = "original" if _stat(metric) == "det-fidelity" else GT
    conf = card(ext.partition(":")[2])["output"].get("pseudo_gt_conf", 0.25) if truth == "original" else None
    gv = (man.get("annotations") or {}).get("version")
    key = (str(store.dir), ext, ver, truth, conf if truth == "original" else gv, tuple(e["key"] for e in encs))
    if key in _cache:
        return _cache[key]
    stored = "detection-matches:" + hashlib.sha256(repr(key[1:]).encode()).hexdigest()
    data = store.get_derived(stored)
    if data is not None:
        _cache[key] = ev = Evaluation.from_bytes(data)
        return ev
    dts = [store.get_features(e["key"], ext, ver) for e in encs]
    if truth == "original":
        refs = [store.get_features(f"image:{e['image_sha256']}", ext, ver) for e in encs]
        gts = [None if r is None else pseudo_ground_truth(r, conf) for r in refs]
    else:
        gts = [store.get_features(f"image:{e['image_sha256']}", GT, gv) for e in encs]
    lost = sorted({e["image"] for e, d, g in zip(encs, dts, gts) if d is None or g is None})
    if lost:
        raise MetricError(f"{metric}: detections or ground truth missing for {', '.join(lost[:5])}; rerun the run's command")
    _cache[key] = ev = Evaluation(gts, dts)
    store.put_derived(stored, ev.to_bytes())
    return ev


def score(store, metric: str, encs: list[dict], man: dict) -> float:
    """mAP (or mAP@.5) of one rate point's encodings."""
    ap, ap50 = evaluation(store, metric, encs, man).stats()
    return ap50 if _stat(metric) == "map50" else ap


def attach_resampling(store, cvs: dict, encs: list[dict], man: dict) -> None:
    """Give each of our detection curves a `resample(w, idx)`: per-point mean bpp and mAP for
    image weights w (resamples x images, as bench.analysis.bootstrap.draws), so its BD-rate gets
    a paired bootstrap interval like a per-image metric."""
    by_point: dict = {}
    for e in encs:
        by_point.setdefault((e["codec"], e["point_index"]), []).append(e)
    for (codec, metric), cv in cvs.items():
        if cv.source is not None or not cv.bpp or metric not in metric_table.METRICS or not is_detection(metric):
            continue
        points = [sorted(by_point[(codec, i)], key=lambda e: (e["image"], e["image_sha256"])) for i in cv.point_index]
        if any(len(p) != len(points[0]) for p in points):
            continue
        bpp = np.array([[e["bpp"] for e in p] for p in points]).T  # images x points
        cv.images = [e["image"] for e in points[0]]
        col = 1 if _stat(metric) == "map50" else 0

        def resample(w, idx, points=points, bpp=bpp, col=col, metric=metric):
            # each point's Evaluation is cached and remembers its last draw: the anchor, resampled
            # for every cell, and the mAP / mAP@.5 pair cost one AP batch per draw
            counts = np.rint(w * bpp.shape[0])
            vals = [evaluation(store, metric, points[i], man).batch(counts)[:, col] for i in idx]
            return w @ bpp[:, idx], np.column_stack(vals)

        cv.resample = resample
