"""The perceptual and realism metric suite: calibration against the official values,
identity, monotonicity, offline behaviour."""
import csv

import numpy as np
import pytest
from conftest import CALIB, need

from bench import metrics as M

PAIRS = ["I03", "I04", "I06", "I08", "I19"]
# metric -> (column of results_official.csv, pyiqa's tolerance: atol = rtol)
CALIBRATED = {"lpips": ("lpips", 1e-2), "dists": ("dists", 1e-2), "fsim": ("fsim", 1e-2),
              "gmsd": ("gmsd", 1e-2), "vsi": ("vsi", 1e-2), "vif": ("vif", 1e-2), "nlpd": ("nlpd", 1e-2),
              "niqe": ("niqe", 6e-2), "brisque": ("brisque", 8e-2), "ilniqe": ("ilniqe", 4e-2)}


@pytest.fixture(scope="module")
def calib():
    from bench.images import read_image

    need(CALIB, "TID2013 calibration pairs")
    with open(CALIB / "results_official.csv") as f:
        off = {r["Method"]: [float(r[f"{p}.bmp"]) for p in PAIRS] for r in csv.DictReader(f)}
    pairs = [(read_image(CALIB / "ref" / f"{p}.bmp").pixels, read_image(CALIB / "dist" / f"{p}.bmp").pixels)
             for p in PAIRS]
    return off, pairs


def _available(name):
    ok, why = M.availability(name)
    if not ok:
        pytest.skip(f"{name} unavailable here: {why}")


# IL-NIQE takes ~45 s and DISTS ~4 s on this CPU: `make test-fast` leaves those two out
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("ilniqe", "dists") else n
                                  for n in sorted(CALIBRATED)])
def test_calibration_against_official_values(name, calib):
    _available(name)
    off, pairs = calib
    col, tol = CALIBRATED[name]
    got = [M.score(name, r, d) for r, d in pairs]
    want = off[col]
    assert np.allclose(got, want, atol=tol, rtol=tol), f"{name}: ours {np.round(got, 4)} official {want}"


@pytest.fixture(scope="module")
def crop():
    from conftest import KODAK

    from bench.images import read_image

    need(KODAK, "Kodak")
    return read_image(KODAK / "kodim05.png").pixels[128:384, 128:512].copy()  # 256 x 384


FR = ["lpips", "lpips-vgg", "dists", "fsim", "gmsd", "vsi", "haarpsi", "vif", "nlpd"]


@pytest.mark.parametrize("name", FR)
def test_identity_gives_ideal_value(name, crop):
    _available(name)
    assert M.score(name, crop, crop.copy()) == pytest.approx(M.get(name).ideal, abs=1e-4)


def _blur(img, sigma):
    from scipy.ndimage import gaussian_filter

    return np.clip(np.rint(gaussian_filter(img.astype(float), (sigma, sigma, 0))), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["lpips", "dists", "niqe"])
def test_blur_of_increasing_strength_scores_worse(name, crop):
    _available(name)
    vals = [M.score(name, crop, _blur(crop, s)) for s in (0.8, 1.6, 3.2)]
    assert vals[0] < vals[1] < vals[2], f"{name} (lower is better) along blur: {vals}"


def test_lpips_rises_as_jpeg_quality_falls(crop):
    import imagecodecs

    _available("lpips")
    vals = [M.score("lpips", crop, imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(crop, level=q)))
            for q in (90, 50, 10)]
    assert vals[0] < vals[1] < vals[2], vals


def test_offline_missing_weights_leave_metric_unavailable_and_run_goes_on(tmp_path, monkeypatch, small_dir,
                                                                          capsys):
    import sqlite3

    from bench.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_WEIGHTS", str(empty))
    monkeypatch.setenv("TORCH_HOME", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))
    ok, why = M.availability("lpips")
    assert not ok and "alexnet-owt-7be5be79.pth missing — place it in" in why and "run once online" in why
    out = tmp_path / "out"
    rc = main(["run", "--dataset", str(small_dir), "--codec", "jpeg", "--codec", "jpeg2000",
               "--metric", "psnr", "--metric", "lpips", "--out", str(out), "--no-progress", "--allow-skips"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "metric lpips skipped" in err and "missing" in err
    db = sqlite3.connect(out / "bench.sqlite")
    assert {r[0] for r in db.execute("SELECT DISTINCT metric FROM scores")} == {"psnr"}
    assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 32


def test_topiq_row_builds_without_fetching_an_imagenet_backbone(monkeypatch, crop):
    """The CFANet checkpoint holds the whole network; the row must not make timm fetch ResNet-50
    from Hugging Face (which fails offline). `pretrained=False` stands in for the absent checkpoint."""
    pytest.importorskip("pyiqa")
    from bench.metrics import pyiqa_backend
    from bench.metrics.table import ROWS

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    row = next(r for r in ROWS if r.name == "topiq-nr")
    v = pyiqa_backend.nr(crop, **row.params, pretrained=False)
    assert np.isfinite(v)
