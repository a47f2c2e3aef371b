"""Object detectors from detector cards (`detectors/<id>.toml`): data, not code.

A card names the model file (found like every weight file: `detection/<file>` under the weights
dirs, or in the `detection/` folder beside TORCH_HOME; downloaded from the card's `url` when
online), its sha256 and licence, the runtime (onnxruntime, or LiteRT for TFLite), the input
(size, colour order, scaling, dtype, layout, resize rule, pad value), the output decoder
(`yolov5`, `yolox`, `tflite-ssd`), the class mapping to COCO category ids and the thresholds.
No detector source code is vendored: the preprocessing and decoding below follow each model's
published I/O (see ../shared/weights/MANIFEST.md) and are checked by the mAP of the
uncompressed images against the published subset value (tests/test_detection.py).

`detect(pixels, id)` returns detections in original-image pixels as the rows of
bench.metrics.detection (x, y, w, h, score, category_id). Each detector also adds three rows
to the metric table: `map-<id>` and `map50-<id>` (against a dataset's annotations) and
`det-fidelity-<id>` (against the detections on the original image).
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from ..cards import find_cards, load_card
from ..errors import CardError, MetricError, MetricUnavailable
from .table import Metric

# YOLO-family class k -> COCO category id (the 80 used ids of the 91, sorted)
COCO80 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32,
          33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
          60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90]
CODE_VERSION = "1"  # bump when preprocessing or decoding below changes the detections
RUNTIMES = {"onnxruntime": "onnxruntime", "litert": "ai-edge-litert"}  # runtime -> distribution
DECODERS = ("yolov5", "yolox", "tflite-ssd")
RESIZE = ("letterbox-centre", "letterbox-top-left", "stretch")
TITLES = {"map": "mAP@[.5:.95]", "map50": "mAP@.5", "det-fidelity": "det. fidelity"}
STATS = {"map": "mAP@[.5:.95] against the dataset's annotations (COCOeval bbox)",
         "map50": "mAP@.5 against the dataset's annotations (COCOeval bbox)",
         "det-fidelity": "mAP@[.5:.95] of the detections on the reconstruction against those on the original "
                         "(score >= the card's pseudo_gt_conf) as ground truth: what the detector still sees"}


def card(det_id: str) -> dict:
    """A detector card, checked for the keys every detector needs."""
    c, path = load_card("detectors", det_id)
    c["_path"] = str(path)
    for k in ("file", "sha256", "runtime"):
        if k not in c:
            raise CardError(f"{path}: missing '{k}'; a detector card names its model file, sha256 and runtime")
    if c["runtime"] not in RUNTIMES:
        raise CardError(f"{path}: runtime {c['runtime']!r} unknown; valid: {', '.join(RUNTIMES)}")
    inp, out = c.get("input", {}), c.get("output", {})
    if out.get("decoder") not in DECODERS:
        raise CardError(f"{path}: [output] decoder {out.get('decoder')!r} unknown; valid: {', '.join(DECODERS)}")
    if inp.get("resize", "stretch") not in RESIZE:
        raise CardError(f"{path}: [input] resize {inp.get('resize')!r} unknown; valid: {', '.join(RESIZE)}")
    if inp.get("colour", "rgb") not in ("rgb", "bgr") or len(inp.get("size", ())) != 2:
        raise CardError(f"{path}: [input] needs size = [width, height] and colour = 'rgb' | 'bgr'")
    if out.get("classes") not in ("coco80", "coco91"):
        raise CardError(f"{path}: [output] classes must be 'coco80' (k -> sorted COCO ids) or 'coco91' (k -> k + 1)")
    return c


def weight_file(c: dict) -> str:
    """The detector's model file, relative to the weights folder."""
    return f"detection/{c['file']}"


def card_digest(c: dict) -> str:
    """The card's numbers-changing content: part of every detection score's cache key."""
    keep = {k: v for k, v in c.items() if k not in ("_path", "description", "reference", "licence", "url", "source")}
    return hashlib.sha256(json.dumps([CODE_VERSION, keep], sort_keys=True).encode()).hexdigest()[:12]


def rows() -> list[Metric]:
    """Three metric rows per detector card."""
    out = []
    for det_id in find_cards("detectors"):
        c = card(det_id)
        for stat, note in STATS.items():
            out.append(Metric(f"{stat}-{det_id}", "set", True, (0, 1), "RGB", "[0,255]", RUNTIMES[c["runtime"]],
                              f"detect:{det_id}", {"stat": stat}, weights=(weight_file(c),), ideal=1.0,
                              version=card_digest(c), note=f"{det_id}: {note}",
                              origin=f"detector card {c['_path']}", title=f"{TITLES[stat]} ({det_id})"))
    return out


def _fetch(c: dict) -> Path:
    """The model file: located like every weight file, else downloaded (when online) and verified."""
    from .. import weights
    from ..images import cached_file_sha256

    rel = weight_file(c)
    p, _ = weights.locate(rel)
    if p is None:
        if weights.offline() or not c.get("url"):
            raise MetricUnavailable(
                f"{c['file']} missing — place it in {weights.hub_dir() / 'detection'} (or set BENCH_WEIGHTS)"
                + (f"; it comes from: {c['source']}" if c.get("source") else ""))
        from ..downloads import download

        p = weights.hub_dir() / rel
        download(c["url"], p, c.get("member"))
    got = cached_file_sha256(p)
    if got != c["sha256"]:
        raise MetricUnavailable(f"{p}: sha256 {got[:16]}... differs from the card's {c['sha256'][:16]}... "
                                f"({c['_path']}); replace the file with the one the card names")
    return p


class Detector:
    """A detector from its card: the verified model file, its runtime, pre- and post-processing."""
    def __init__(self, det_id: str):
        self.id = det_id
        self.card = card(det_id)
        self.path = _fetch(self.card)
        self.inp, self.out = self.card.get("input", {}), self.card["output"]
        if self.card["runtime"] == "onnxruntime":
            import onnxruntime as ort

            so = ort.SessionOptions()  # one thread: the worker pool is the parallelism, and results stay fixed
            so.intra_op_num_threads = so.inter_op_num_threads = 1
            self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name
        else:
            from ai_edge_litert.interpreter import Interpreter

            self.session = Interpreter(model_path=str(self.path), num_threads=1)
            with _quiet_stderr():  # LiteRT's C++ notice "Created TensorFlow Lite XNNPACK delegate for CPU"
                self.session.allocate_tensors()

    def preprocess(self, rgb: np.ndarray):
        """(network input, scale, (pad_x, pad_y)): how original pixels map onto the input."""
        try:
            import cv2  # the resize the detectors were trained and evaluated with
        except ImportError:
            raise MetricUnavailable("detectors need OpenCV: pip install 'percept-bench[detection]'") from None

        h, w = rgb.shape[:2]
        tw, th = self.inp["size"]
        img = rgb[..., ::-1] if self.inp.get("colour", "rgb") == "bgr" else rgb
        mode = self.inp.get("resize", "stretch")
        if mode == "stretch":
            canvas = cv2.resize(np.ascontiguousarray(img), (tw, th), interpolation=cv2.INTER_LINEAR)
            scale, pad = (tw / w, th / h), (0.0, 0.0)
        else:
            r = min(tw / w, th / h)
            if mode == "letterbox-centre":  # YOLOv5: rounded size, centred, real-valued offsets for the boxes
                nw, nh = int(round(w * r)), int(round(h * r))
                dw, dh = (tw - nw) / 2, (th - nh) / 2
                left, top = int(round(dw - 0.1)), int(round(dh - 0.1))
                pad = (dw, dh)
            else:  # YOLOX: truncated size, top-left
                nw, nh, left, top, pad = int(w * r), int(h * r), 0, 0, (0.0, 0.0)
            resized = img if (nw, nh) == (w, h) else cv2.resize(np.ascontiguousarray(img), (nw, nh),
                                                                 interpolation=cv2.INTER_LINEAR)
            canvas = np.full((th, tw, 3), self.inp.get("pad", 114), np.uint8)
            canvas[top:top + nh, left:left + nw] = resized
            scale = (r, r)
        x = canvas.astype(np.float32) / float(self.inp.get("scale", 1.0)) if self.inp.get("dtype", "float32") == "float32" \
            else canvas.astype(np.uint8)
        x = x.transpose(2, 0, 1)[None] if self.inp.get("layout", "nchw") == "nchw" else x[None]
        return np.ascontiguousarray(x), scale, pad

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        x, scale, pad = self.preprocess(rgb)
        h, w = rgb.shape[:2]
        dec = self.out["decoder"]
        if dec == "tflite-ssd":
            it = self.session
            it.set_tensor(it.get_input_details()[0]["index"], x)
            it.invoke()
            outs = {o["name"]: it.get_tensor(o["index"]) for o in it.get_output_details()}
            base = "TFLite_Detection_PostProcess"
            boxes, cls, score = outs[base][0], outs[base + ":1"][0], outs[base + ":2"][0]
            n = int(outs[base + ":3"][0])
            boxes, cls, score = boxes[:n].astype(np.float64), cls[:n], score[:n].astype(np.float64)
            keep = score >= self.out.get("conf", 0.0)
            y1, x1, y2, x2 = (np.clip(boxes[keep, i], 0, 1) for i in range(4))
            xyxy = np.stack([x1 * w, y1 * h, x2 * w, y2 * h], 1)
            cats, score = self._categories(cls[keep].astype(int)), score[keep]
        else:
            pred = self.session.run(None, {self.input_name: x})[0][0].astype(np.float64)
            if dec == "yolox":
                pred = _yolox_grid(pred, self.inp["size"])
            xyxy, score, k = self._nms(pred)
            xyxy[:, [0, 2]] = (xyxy[:, [0, 2]] - pad[0]) / scale[0]
            xyxy[:, [1, 3]] = (xyxy[:, [1, 3]] - pad[1]) / scale[1]
            xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, w)
            xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, h)
            cats = self._categories(k)
        return np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2], score, cats]).reshape(-1, 6)

    def _categories(self, k: np.ndarray) -> np.ndarray:
        if self.out["classes"] == "coco91":
            return k.astype(np.float64) + 1
        return np.asarray(COCO80, np.float64)[k]

    def _nms(self, pred: np.ndarray):
        """cx, cy, w, h, objectness, class scores -> per-class NMS (YOLOv5 multi-label or YOLOX best class)."""
        import torch
        from torchvision.ops import batched_nms

        conf, iou, max_det = self.out.get("conf", 0.001), self.out.get("iou", 0.6), self.out.get("max_det", 300)
        pred = pred[pred[:, 4] > conf] if self.out.get("objectness_prefilter", True) else pred
        box = np.column_stack([pred[:, 0] - pred[:, 2] / 2, pred[:, 1] - pred[:, 3] / 2,
                               pred[:, 0] + pred[:, 2] / 2, pred[:, 1] + pred[:, 3] / 2])
        cls = pred[:, 5:] * pred[:, 4:5]
        if self.out.get("multi_label", False):
            i, k = np.nonzero(cls > conf)
            box, score = box[i], cls[i, k]
        else:
            k = cls.argmax(1)
            score = cls[np.arange(len(cls)), k]
            keep = score >= conf
            box, score, k = box[keep], score[keep], k[keep]
        order = np.argsort(-score, kind="stable")[: self.out.get("max_nms", 30000)]
        box, score, k = box[order], score[order], k[order]
        keep = batched_nms(torch.from_numpy(box), torch.from_numpy(score), torch.from_numpy(k), iou).numpy()[:max_det]
        return box[keep], score[keep], k[keep]


class _quiet_stderr:
    """Silence a library's C-level writes to stderr (fd 2) for a moment."""

    def __enter__(self):
        import os
        import sys

        sys.stderr.flush()
        self.saved, self.null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        os.dup2(self.null, 2)

    def __exit__(self, *exc):
        import os

        os.dup2(self.saved, 2)
        os.close(self.saved)
        os.close(self.null)
        return False


def _yolox_grid(pred: np.ndarray, size, strides=(8, 16, 32)) -> np.ndarray:
    """YOLOX's raw head output -> cx, cy, w, h in input pixels (grid offsets, strides, exp)."""
    tw, th = size
    grids, mult = [], []
    for s in strides:
        ys, xs = np.meshgrid(np.arange(th // s), np.arange(tw // s), indexing="ij")
        grids.append(np.stack([xs, ys], -1).reshape(-1, 2))
        mult.append(np.full((grids[-1].shape[0], 1), s))
    grid, stride = np.concatenate(grids).astype(np.float64), np.concatenate(mult).astype(np.float64)
    if len(grid) != len(pred):
        raise MetricError(f"YOLOX output has {len(pred)} rows, the grid of {tw}x{th} at strides {strides} {len(grid)}")
    out = pred.copy()
    out[:, :2] = (pred[:, :2] + grid) * stride
    out[:, 2:4] = np.exp(pred[:, 2:4]) * stride
    return out


@functools.lru_cache(maxsize=None)
def detector(det_id: str) -> Detector:
    """One loaded detector per process (workers keep it between tasks)."""
    return Detector(det_id)


def detect(pixels: np.ndarray, det_id: str) -> np.ndarray:
    """Detections (boxes, scores, classes) on one image by a detector id."""
    return detector(det_id)(pixels)
