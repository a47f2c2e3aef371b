"""Detection accuracy: COCO bbox mAP from per-image detections, with image weights for the bootstrap.

Reproduces pycocotools' COCOeval (iouType "bbox", area range "all", 100 detections per image and
category, IoU thresholds .50:.05:.95, 101 recall thresholds; tests/test_detection.py compares
both on the same detections): per image and category, detections sorted by score are matched
greedily to the best unmatched ground truth above each IoU threshold, crowd boxes (IoU over the
detection's area) may absorb any number of detections and are ignored; per category the matches
of all images are pooled by score, precision made monotone, read at the recall thresholds and
averaged; categories without a non-ignored ground truth are left out.

Arrays, one per image (float64, so they live in the store's features table):
- ground truth: x, y, w, h, category_id, iscrowd, area   (GT_COLS)
- detections:   x, y, w, h, score, category_id           (DET_COLS), in original-image pixels.

`Evaluation(gts, dts).batch(counts)` evaluates many image weightings at once: weighting image i
by an integer count c_i gives exactly the AP of the set where it appears c_i times, which is
what the bootstrap over images needs (two matrix products per category and IoU threshold).
"""
from __future__ import annotations

import hashlib

import numpy as np

GT_COLS = ("x", "y", "w", "h", "category_id", "iscrowd", "area")
DET_COLS = ("x", "y", "w", "h", "score", "category_id")
IOU_THRS = np.linspace(0.5, 0.95, 10)
REC_THRS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100


def box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes (len(dt) x len(gt)); against a crowd box, intersection over the detection's area."""
    dx1, dy1, dw, dh = dt[:, 0:1], dt[:, 1:2], dt[:, 2:3], dt[:, 3:4]
    gx1, gy1, gw, gh = gt[:, 0], gt[:, 1], gt[:, 2], gt[:, 3]
    iw = np.minimum(dx1 + dw, gx1 + gw) - np.maximum(dx1, gx1)
    ih = np.minimum(dy1 + dh, gy1 + gh) - np.maximum(dy1, gy1)
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    da = dw * dh
    union = np.where(crowd[None, :].astype(bool), da, da + gw * gh - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def match(gt: np.ndarray, dt: np.ndarray, max_dets: int = MAX_DETS):
    """One image and category: (scores, matched T x n, ignored T x n, number of non-ignored GT)."""
    ig = gt[:, 5] > 0 if len(gt) else np.zeros(0, bool)
    order = np.argsort(ig, kind="mergesort")  # non-ignored ground truth first
    gt, ig = gt[order], ig[order]
    dt = dt[np.argsort(-dt[:, 4], kind="mergesort")][:max_dets]
    T, n = len(IOU_THRS), len(dt)
    matched, dt_ig = np.zeros((T, n), bool), np.zeros((T, n), bool)
    if n and len(gt):
        crowd = gt[:, 5] > 0
        ious = box_iou(dt, gt, crowd)
        thr = np.minimum(IOU_THRS, 1 - 1e-10)[:, None]  # all thresholds at once: T x G
        taken = np.zeros((T, len(gt)), bool)
        for d in np.flatnonzero(ious.max(axis=1) >= thr[0, 0]):  # the others match nothing at any threshold
            free = ~(taken & ~crowd) & (ious[d] >= thr)
            m = np.full(T, -1)
            for group in (~ig, ig):  # a match to a real object ends the search before ignored ones
                cand = free & group & (m[:, None] < 0)
                # the best IoU, ties to the later ground truth (COCOeval replaces on >=)
                iou = np.where(cand, ious[d][None, :], -1.0)
                top = iou == iou.max(axis=1, keepdims=True)
                best = len(gt) - 1 - top[:, ::-1].argmax(axis=1)
                m = np.where((m < 0) & cand.any(axis=1), best, m)
            hit = m >= 0
            taken[np.flatnonzero(hit), m[hit]] = True
            matched[hit, d], dt_ig[hit, d] = True, ig[m[hit]]
    return dt[:, 4], matched, dt_ig, int((~ig).sum())


def _counts(tp: np.ndarray, fp: np.ndarray, img: np.ndarray, n_images: int):
    """For each true positive of the pooled, score-sorted detections: per image, the true positives
    up to it and the false positives before it (n_images x n_tp each). Only these points of the
    precision-recall curve can carry AP (a false positive adds no recall and lowers precision),
    so any image weighting is two matrix products away."""
    at = np.flatnonzero(tp)
    tp_at, fp_at = np.zeros((n_images, len(at))), np.zeros((n_images, len(at)))
    np.add.at(tp_at, (img[at], np.arange(len(at))), 1.0)
    f = np.flatnonzero(fp)
    k = np.searchsorted(at, f)  # the first true positive after each false positive
    keep = k < len(at)
    np.add.at(fp_at, (img[f[keep]], k[keep]), 1.0)
    tp_at, fp_at = np.cumsum(tp_at, axis=1), np.cumsum(fp_at, axis=1)
    return tp_at, fp_at


class Evaluation:
    """Per-category pooled matches of a set of images, ready for any image weighting."""

    def __init__(self, gts: list, dts: list, max_dets: int = MAX_DETS):
        if len(gts) != len(dts):
            raise ValueError(f"{len(gts)} ground-truth arrays for {len(dts)} detection arrays")
        self.n_images = len(gts)
        gts = [np.asarray(g, float).reshape(-1, len(GT_COLS)) for g in gts]
        dts = [np.asarray(d, float).reshape(-1, len(DET_COLS)) for d in dts]
        cats = sorted({int(c) for g in gts for c in g[:, 4]} | {int(c) for d in dts for c in d[:, 5]})
        self.cats = []
        for c in cats:
            parts, npig = [], np.zeros(self.n_images)
            for i, (g, d) in enumerate(zip(gts, dts)):
                gc, dc = g[g[:, 4] == c], d[d[:, 5] == c]
                if not len(gc) and not len(dc):
                    continue
                s, m, ig, npig[i] = match(gc, dc, max_dets)
                parts.append((s, m, ig, np.full(len(s), i)))
            if not npig.any():
                continue  # no non-ignored ground truth in any image: COCOeval leaves the category out
            s = np.concatenate([p[0] for p in parts])
            order = np.argsort(-s, kind="mergesort")
            m = np.concatenate([p[1] for p in parts], axis=1)[:, order]
            ig = np.concatenate([p[2] for p in parts], axis=1)[:, order]
            img = np.concatenate([p[3] for p in parts])[order].astype(int)
            self.cats.append((c, npig, [_counts(m[t] & ~ig[t], ~m[t] & ~ig[t], img, self.n_images)
                                        for t in range(len(IOU_THRS))]))

    def to_bytes(self) -> bytes:
        """The pooled matches (what `batch` needs), for the store: a table is rebuilt without matching again."""
        import io

        T = len(IOU_THRS)
        lengths = np.array([[per_t[t][0].shape[1] for t in range(T)] for _, _, per_t in self.cats], int).reshape(-1, T)
        cols = [a for _, _, per_t in self.cats for pair in per_t for a in pair]
        buf = io.BytesIO()
        np.savez_compressed(buf, n_images=self.n_images, cats=np.array([c for c, _, _ in self.cats], int),
                            npig=np.array([p for _, p, _ in self.cats]).reshape(-1, self.n_images), lengths=lengths,
                            tp=np.hstack(cols[0::2]) if cols else np.zeros((self.n_images, 0)),
                            fp=np.hstack(cols[1::2]) if cols else np.zeros((self.n_images, 0)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Evaluation:
        """An Evaluation stored with to_bytes."""
        import io

        with np.load(io.BytesIO(data)) as z:  # each z[name] decompresses anew: read every array once
            z = {k: z[k] for k in z.files}
        ev = cls.__new__(cls)
        ev.n_images, ev.cats = int(z["n_images"]), []
        edges = np.concatenate([[0], np.cumsum(z["lengths"].ravel())]).astype(int)
        T, tp, fp = len(IOU_THRS), z["tp"], z["fp"]
        for k, c in enumerate(z["cats"]):
            per_t = [(tp[:, edges[k * T + t]:edges[k * T + t + 1]], fp[:, edges[k * T + t]:edges[k * T + t + 1]])
                     for t in range(T)]
            ev.cats.append((int(c), z["npig"][k], per_t))
        return ev

    def batch(self, counts: np.ndarray) -> np.ndarray:
        """(mAP@[.5:.95], mAP@.5) per row of `counts` (resamples x images, how often each image is
        drawn); NaN where no category has ground truth in the draw. The last draw is remembered:
        mAP and mAP@.5 columns of a table ask for the same one."""
        counts = np.atleast_2d(np.asarray(counts, float))
        tag = hashlib.sha256(counts.tobytes()).hexdigest()
        if getattr(self, "_last", (None,))[0] != tag:
            self._last = (tag, self._batch(counts))
        return self._last[1]

    def _batch(self, counts: np.ndarray) -> np.ndarray:
        R, T = len(counts), len(IOU_THRS)
        ap_sum, ap50_sum, n_cat = np.zeros(R), np.zeros(R), np.zeros(R)
        for _, npig, per_t in self.cats:
            n = counts @ npig
            ok = n > 0
            ap = np.zeros((R, T))
            for t, (tp_at, fp_at) in enumerate(per_t):
                if not tp_at.shape[1]:
                    continue  # no true positive at this threshold: AP 0
                tps, fps = counts @ tp_at, counts @ fp_at
                with np.errstate(divide="ignore", invalid="ignore"):
                    rc = np.where(ok[:, None], tps / n[:, None], 0.0)
                pr = tps / (fps + tps + np.spacing(1))
                env = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                # the recall thresholds read at true positive k: those in (recall[k-1], recall[k]]
                hits = np.diff(np.searchsorted(REC_THRS, rc.ravel(), "right").reshape(rc.shape), axis=1, prepend=0)
                ap[:, t] = (env * hits).sum(axis=1) / len(REC_THRS)
            ap_sum += np.where(ok, ap.mean(axis=1), 0.0)
            ap50_sum += np.where(ok, ap[:, 0], 0.0)
            n_cat += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([ap_sum / n_cat, ap50_sum / n_cat], axis=1)

    def stats(self) -> tuple[float, float]:
        """(mAP@[.5:.95], mAP@.5) of the set as it is."""
        ap, ap50 = self.batch(np.ones((1, self.n_images)))[0]
        return float(ap), float(ap50)


def pseudo_ground_truth(dets: np.ndarray, min_score: float) -> np.ndarray:
    """Detections on the original (score >= min_score) as ground truth: no crowds, area = box area."""
    d = np.asarray(dets, float).reshape(-1, len(DET_COLS))
    d = d[d[:, 4] >= min_score]
    return np.column_stack([d[:, :4], d[:, 5], np.zeros(len(d)), d[:, 2] * d[:, 3]])


def coco_ground_truth(annotation_file, file_names: list[str]) -> list[np.ndarray]:
    """Ground-truth arrays for images given by file name, from a COCO instances json."""
    import json
    from pathlib import Path

    from ..errors import DatasetError

    with open(annotation_file) as f:
        coco = json.load(f)
    by_name = {Path(im["file_name"]).name: im["id"] for im in coco.get("images", [])}
    missing = [n for n in file_names if Path(n).name not in by_name]
    if missing:
        raise DatasetError(f"{annotation_file}: no image entry for {', '.join(missing[:5])}"
                           f"{' ...' if len(missing) > 5 else ''}; the annotation file does not describe these images")
    rows: dict = {}
    for a in coco.get("annotations", []):
        x, y, w, h = a["bbox"]
        rows.setdefault(a["image_id"], []).append(
            [x, y, w, h, a["category_id"], int(a.get("iscrowd", 0)), a.get("area", w * h)])
    return [np.array(rows.get(by_name[Path(n).name], []), float).reshape(-1, len(GT_COLS)) for n in file_names]
