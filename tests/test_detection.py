"""Detection accuracy: our COCO mAP against pycocotools, the bootstrap weighting, the detector
cards on the real COCO subset (published-level mAP, wrong preprocessing caught), and the run."""
import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import SHARED, need

from bench.metrics.detection import Evaluation, box_iou, coco_ground_truth, pseudo_ground_truth

COCO_DIR = SHARED / "datasets" / "coco_tiny_val2017"
DET_DIR = SHARED / "weights" / "detection"


def _random_set(seed, n_images=12, cats=(1, 3, 18, 44), max_gt=6, dets_per_image=(0, 260)):
    """Ground truth (with crowds) and detections around it: jittered true boxes, duplicates,
    background boxes, tied scores, > 100 detections of one category in some images."""
    rng = np.random.default_rng(seed)
    gts, dts = [], []
    for i in range(n_images):
        g = []
        for _ in range(rng.integers(0 if i % 5 == 4 else 1, max_gt + 1)):
            w, h = rng.uniform(8, 200, 2)
            x, y = rng.uniform(0, 400, 2)
            g.append([x, y, w, h, rng.choice(cats), float(rng.random() < 0.1), w * h * rng.uniform(0.5, 1)])
        g = np.array(g).reshape(-1, 7)
        d = []
        for row in g:
            for _ in range(rng.integers(0, 4)):
                j = rng.normal(0, 0.12, 4) * [row[2], row[3], row[2], row[3]]
                cat = row[4] if rng.random() < 0.85 else rng.choice(cats)
                d.append([row[0] + j[0], row[1] + j[1], max(1, row[2] + j[2]), max(1, row[3] + j[3]),
                          np.round(rng.random(), 2), cat])  # rounded: ties between scores
        for _ in range(rng.integers(*dets_per_image)):
            w, h = rng.uniform(4, 120, 2)
            d.append([*rng.uniform(0, 450, 2), w, h, np.round(rng.random() * 0.5, 3), rng.choice(cats)])
        gts.append(g)
        dts.append(np.array(d).reshape(-1, 6))
    return gts, dts


def _pycocotools(gts, dts, img_ids=None):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    img_ids = img_ids or list(range(1, len(gts) + 1))
    anns, k = [], 1
    for iid, g in zip(img_ids, gts):
        for r in g:
            anns.append({"id": k, "image_id": iid, "category_id": int(r[4]), "bbox": [float(v) for v in r[:4]],
                         "iscrowd": int(r[5]), "area": float(r[6])})
            k += 1
    cats = sorted({int(r[4]) for g in gts for r in g} | {int(r[5]) for d in dts for r in d})
    res = [{"image_id": iid, "category_id": int(r[5]), "bbox": [float(v) for v in r[:4]], "score": float(r[4])}
           for iid, d in zip(img_ids, dts) for r in d]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": [{"id": i} for i in img_ids], "annotations": anns,
                      "categories": [{"id": c} for c in cats]}
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(res) if res else COCO(), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0], ev.stats[1]


@pytest.mark.parametrize("seed", range(6))
def test_map_equals_pycocotools(seed):
    pytest.importorskip("pycocotools")
    gts, dts = _random_set(seed)
    ours = Evaluation(gts, dts).stats()
    ref = _pycocotools(gts, dts)
    assert 0.05 < ref[0] < 0.95  # a set where matching, crowds and ranking all matter
    assert ours == pytest.approx(ref, abs=1e-12)


def test_detection_fidelity_of_the_original_is_one_and_matches_pycocotools():
    pytest.importorskip("pycocotools")
    _, dts = _random_set(7)
    pseudo = [pseudo_ground_truth(d, 0.25) for d in dts]
    # every confident box finds its twin before any other box does
    assert Evaluation(pseudo, dts).stats() == pytest.approx((1.0, 1.0), abs=1e-12)
    jittered = [d + np.r_[np.random.default_rng(1).normal(0, 3, 4), 0, 0] for d in dts]
    assert Evaluation(pseudo, jittered).stats() == pytest.approx(_pycocotools(pseudo, jittered), abs=1e-12)


def test_image_weights_equal_duplicated_images():
    gts, dts = _random_set(3)
    ev = Evaluation(gts, dts)
    rng = np.random.default_rng(0)
    counts = np.stack([np.bincount(rng.integers(0, len(gts), len(gts)), minlength=len(gts)) for _ in range(5)])
    batch = ev.batch(counts)
    for c, row in zip(counts, batch):
        idx = np.repeat(np.arange(len(gts)), c)
        assert row == pytest.approx(Evaluation([gts[i] for i in idx], [dts[i] for i in idx]).stats(), abs=1e-12)
    assert ev.batch(np.ones((1, len(gts))))[0] == pytest.approx(ev.stats())


def test_pooled_matches_round_trip_through_bytes():
    gts, dts = _random_set(4)
    ev = Evaluation(gts, dts)
    back = Evaluation.from_bytes(ev.to_bytes())
    counts = np.random.default_rng(2).integers(0, 3, (7, len(gts)))
    assert np.array_equal(back.batch(counts), ev.batch(counts)) and back.stats() == ev.stats()


def test_box_iou_known_values_and_crowd_rule():
    dt = np.array([[0, 0, 10, 10, 1, 1]], float)
    gt = np.array([[5, 0, 10, 10], [0, 0, 20, 20], [30, 30, 5, 5]], float)
    crowd = np.array([0, 1, 0])
    # half overlap: 50 / 150; crowd: intersection over the detection's area = 1; disjoint: 0
    assert box_iou(dt, gt, crowd)[0] == pytest.approx([1 / 3, 1.0, 0.0])
    assert box_iou(dt, gt, np.zeros(3))[0][1] == pytest.approx(0.25)


def test_coco_ground_truth_names_a_missing_image(tmp_path):
    from bench.errors import DatasetError

    f = tmp_path / "a.json"
    f.write_text(json.dumps({"images": [{"id": 7, "file_name": "x.jpg"}],
                             "annotations": [{"image_id": 7, "bbox": [1, 2, 3, 4], "category_id": 5, "area": 9.5}]}))
    (g,) = coco_ground_truth(f, ["x.jpg"])
    assert g.tolist() == [[1, 2, 3, 4, 5, 0, 9.5]]
    with pytest.raises(DatasetError, match="y.jpg"):
        coco_ground_truth(f, ["x.jpg", "y.jpg"])


# -- the detectors on the real COCO subset -------------------------------------------------------
NEED_RUNTIME = "onnxruntime is not installed: pip install 'percept-bench[detection]'"


@pytest.fixture(scope="module")
def coco():
    need(COCO_DIR, "the COCO val2017 subset")
    need(DET_DIR, "the detection weights")
    pytest.importorskip("onnxruntime", reason=NEED_RUNTIME)
    from bench.datasets import resolve
    from bench.images import read_image

    ds = resolve("coco-tiny", data_dir=SHARED / "datasets")
    gts = coco_ground_truth(ds.annotations, [p.name for p in ds.files])
    return [read_image(p).pixels for p in ds.files], gts


def _use_weights(monkeypatch):
    import bench.weights as W

    monkeypatch.setenv("TORCH_HOME", str(SHARED / "weights" / "torch"))
    W._configured = None


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
@pytest.mark.parametrize("det", ["yolov5n", "yolox-nano", "ssd-mobilenet-v1"])
def test_uncompressed_map_matches_the_published_subset_value(det, coco, monkeypatch):
    from bench.metrics.detectors import Detector, card

    if det == "ssd-mobilenet-v1":
        pytest.importorskip("ai_edge_litert")
    _use_weights(monkeypatch)
    imgs, gts = coco
    d = Detector(det)
    ap, ap50 = Evaluation(gts, [d(x) for x in imgs]).stats()
    ref = card(det)["reference"]
    # the weights MANIFEST's values (pycocotools on the same 80 images); decoding differences move
    # them by a few tenths of a point, a wrong preprocessing by many points
    assert ap == pytest.approx(ref["map"], abs=0.006)
    assert ap50 == pytest.approx(ref["map50"], abs=0.006)


REFERENCE = {"yolov5n": 0.3177, "yolox-nano": 0.3082, "ssd-mobilenet-v1": 0.2037}  # the cards' own preprocessing


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
@pytest.mark.parametrize("det,change,at_least", [
    ("yolox-nano", {"colour": "rgb"}, 0.015),         # measured 30.8 -> 28.2
    ("ssd-mobilenet-v1", {"colour": "bgr"}, 0.015),   # 20.4 -> 18.1
    ("yolov5n", {"resize": "stretch"}, 0.015),        # 31.8 -> 29.9: the letterbox's aspect ratio matters
    ("yolox-nano", {"scale": 255.0}, 0.25),           # 0-1 input to a 0-255 network: nothing is found
    ("yolov5n", "offsets", 0.05),                     # letterbox padding not undone on the boxes
])
def test_wrong_preprocessing_falls_far_outside_the_sanity_band(det, change, at_least, coco, monkeypatch, tmp_path):
    """Each mistake a card or a decoder could make costs more than the 0.6-point band of the
    published-value check above, so that check catches it."""
    from bench.cards import PROJECT_ROOT
    from bench.metrics.detectors import Detector

    if det == "ssd-mobilenet-v1":
        pytest.importorskip("ai_edge_litert")
    _use_weights(monkeypatch)
    imgs, gts = coco
    if change == "offsets":
        pre = Detector.preprocess
        monkeypatch.setattr(Detector, "preprocess", lambda self, x: (*pre(self, x)[:2], (0.0, 0.0)))
    else:
        text = (PROJECT_ROOT / "detectors" / f"{det}.toml").read_text()
        for k, v in change.items():
            lines = [ln for ln in text.splitlines() if not ln.startswith(f"{k} ")]
            lines.insert(lines.index("[input]") + 1, f"{k} = {json.dumps(v)}")
            text = "\n".join(lines) + "\n"
        (tmp_path / "detectors").mkdir()
        (tmp_path / "detectors" / f"{det}.toml").write_text(text)
        monkeypatch.setenv("BENCH_CARDS", str(tmp_path))
    ap, _ = Evaluation(gts, [Detector(det)(x) for x in imgs]).stats()
    assert ap < REFERENCE[det] - at_least


# -- the run: detections in the store, mAP re-aggregated, errors ------------------------------

def _bench(*args, env_extra=None, cwd=None):
    import os

    env = {**os.environ, "BENCH_OFFLINE": "1", "TORCH_HOME": str(SHARED / "weights" / "torch"),
           "BENCH_DATA_DIR": str(SHARED / "datasets"), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=900)


IMAGES = ["000000005001", "000000010764", "000000020992", "000000025603", "000000025986", "000000030213"]


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_run_stores_detections_and_scores_map_per_rate_point(coco, tmp_path):
    import sqlite3

    out = tmp_path / "run"
    args = ["run", "--dataset", "coco-tiny", *sum((["--image", i] for i in IMAGES), []), "--codec", "jpeg",
            "--codec", "identity", "--metric", "psnr", "--metric", "map-yolox-nano", "--metric", "map50-yolox-nano",
            "--metric", "det-fidelity-yolox-nano", "--anchor", "jpeg", "--out", str(out), "--no-progress"]
    r = _bench(*args)
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(out / "bench.sqlite")
    sets = {(c, i, m): v for c, i, m, v in db.execute("SELECT codec, point_index, metric, value FROM set_scores")}
    n_dets = db.execute("SELECT count(*) FROM features WHERE extractor='detect:yolox-nano'").fetchone()[0]
    assert n_dets == len(IMAGES) * (8 + 1) + len(IMAGES)  # every reconstruction and every original, once
    assert db.execute("SELECT count(*) FROM features WHERE extractor='gt:coco'").fetchone()[0] == len(IMAGES)
    # the lossless identity codec: the detector sees the original exactly
    assert sets[("identity", 0, "det-fidelity-yolox-nano")] == pytest.approx(1.0, abs=1e-12)
    from bench.datasets import resolve
    from bench.images import read_image
    from bench.metrics.detectors import Detector

    ds = resolve("coco-tiny", data_dir=SHARED / "datasets", select=IMAGES)
    gts = coco_ground_truth(ds.annotations, [p.name for p in ds.files])
    import os

    os.environ.setdefault("TORCH_HOME", str(SHARED / "weights" / "torch"))
    direct = Evaluation(gts, [Detector("yolox-nano")(read_image(p).pixels) for p in ds.files]).stats()
    assert (sets[("identity", 0, "map-yolox-nano")], sets[("identity", 0, "map50-yolox-nano")]) == \
        pytest.approx(direct, abs=1e-12)
    # fidelity falls with the rate: JPEG quality 5 keeps less of what the detector saw than quality 90
    assert sets[("jpeg", 0, "det-fidelity-yolox-nano")] < sets[("jpeg", 7, "det-fidelity-yolox-nano")] < 1.0
    # an unchanged re-run computes nothing, the detectors included
    again = _bench(*args)
    assert again.returncode == 0 and "0 encoded" in again.stdout and "0 scores computed" in again.stdout
    # the leaderboard's resampling reproduces the stored mAP with every image drawn once
    from bench.report.stored import StoredRun

    cvs = StoredRun.open(out).leaderboard(resamples=0).curves
    cv = cvs[("jpeg", "map-yolox-nano")]
    w = np.full((1, len(IMAGES)), 1 / len(IMAGES))
    bpp, vals = cv.resample(w, list(range(len(cv.bpp))))
    assert vals[0] == pytest.approx(cv.value, abs=1e-12) and bpp[0] == pytest.approx(cv.bpp)


def test_map_on_a_dataset_without_annotations_is_an_input_error(tmp_path):
    need(DET_DIR, "the detection weights")
    pytest.importorskip("onnxruntime", reason=NEED_RUNTIME)
    r = _bench("run", "--dataset", "skimage", "--codec", "jpeg", "--metric", "map-yolox-nano", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert "no object annotations" in r.stderr and "det-fidelity-yolox-nano" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_bad_detector_card_names_the_file(tmp_path):
    (tmp_path / "detectors").mkdir()
    bad = tmp_path / "detectors" / "mydet.toml"
    bad.write_text('file = "x.onnx"\nsha256 = "00"\nruntime = "onnxruntime"\n[output]\ndecoder = "yolov9"\n')
    r = _bench("list", "metrics", env_extra={"BENCH_CARDS": str(tmp_path)})
    assert r.returncode == 2 and str(bad) in r.stderr and "yolov5, yolox, tflite-ssd" in r.stderr


def test_a_missing_detector_file_makes_its_metrics_unavailable(tmp_path):
    pytest.importorskip("onnxruntime", reason=NEED_RUNTIME)
    r = _bench("list", "metrics", "--check", env_extra={"TORCH_HOME": str(tmp_path / "empty")})
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("det-fidelity-yolox-nano ") and "avail" in ln)
    assert "unavailable" in line and "yolox_nano.onnx missing" in line


def test_a_missing_runtime_names_the_extra_that_installs_it(monkeypatch):
    import importlib.metadata

    import bench.metrics as metrics_module
    from bench.errors import MetricUnavailable

    def absent(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metrics_module, "dist_version", absent)
    with pytest.raises(MetricUnavailable, match=r"pip install 'percept-bench\[detection\]'"):
        metrics_module.backend_version("onnxruntime")
    with pytest.raises(MetricUnavailable, match=r"pip install some-lib\b"):  # no extra installs it
        metrics_module.backend_version("some-lib")
