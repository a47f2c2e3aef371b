"""`bench compare`, the regression gate: identical runs pass, a genuinely degraded codec (re-encoded,
not hand-edited numbers) fails naming the cell, an improvement passes and is reported, bad input
exits 2, and serial vs two workers never fails."""
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import edited_copy

from bench.analysis.aggregate import Curve
from bench.analysis.compare import Side, Tolerances, compare
from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
GRID = ["--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr", "--metric", "ssim", "--no-progress"]


def degraded_cards(tmp_path) -> Path:
    """JPEG with Huffman optimisation off: same ladder, same pixels, more bytes."""
    d = tmp_path / "degraded" / "codecs"
    d.mkdir(parents=True)
    text = (ROOT / "codecs" / "jpeg.toml").read_text()
    assert "optimize = true" in text
    (d / "jpeg.toml").write_text(text.replace("optimize = true", "optimize = false"))
    return d.parent


@pytest.fixture(scope="module")
def runs(tmp_path_factory, three_crops):
    base = tmp_path_factory.mktemp("gate")
    imgs = three_crops
    assert main(["run", "--dataset", str(imgs), "--out", str(base / "base"), *GRID]) == 0
    assert main(["run", "--dataset", str(imgs), "--out", str(base / "w2"), "--workers", "2", *GRID]) == 0
    import os

    os.environ["BENCH_CARDS"] = str(degraded_cards(base))
    try:
        assert main(["run", "--dataset", str(imgs), "--out", str(base / "bad"), *GRID]) == 0
    finally:
        del os.environ["BENCH_CARDS"]
    return base


def test_identical_runs_pass(runs, capsys):
    assert main(["compare", str(runs / "base"), str(runs / "base")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bench compare: PASS: 4 codec x metric cells within tolerance")


def test_serial_and_two_workers_never_fail(runs, capsys):
    assert main(["compare", str(runs / "base"), str(runs / "w2")]) == 0
    assert "regression" not in capsys.readouterr().out.lower()


def test_degraded_codec_fails_naming_the_cells(runs, tmp_path, capsys):
    md, xml, js = tmp_path / "c.md", tmp_path / "j.xml", tmp_path / "c.json"
    rc = main(["compare", str(runs / "base"), str(runs / "bad"), "--markdown", str(md), "--junit", str(xml),
               "--json", str(js)])
    out = capsys.readouterr().out
    assert rc == 1
    assert out.startswith("bench compare: FAIL: 2 regression(s) in 4 codec x metric cells (jpeg/psnr, jpeg/ssim)")
    assert "REGRESSION  jpeg / psnr: BD-rate +" in out and "images moved most: i" in out
    assert md.read_text().startswith("**❌ bench compare — FAIL: 2 regression(s)")
    root = ET.parse(xml).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 4 and suite.get("failures") == "2" and suite.get("tests") == "4"
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"jpeg / psnr", "jpeg / ssim"}
    assert "BD-rate +" in failed["jpeg / psnr"].get("message") and "tolerance 1 %" in failed["jpeg / psnr"].text
    doc = json.loads(js.read_text())
    cell = next(c for c in doc["cells"] if c["codec"] == "jpeg" and c["metric"] == "psnr")
    assert doc["exit_code"] == 1 and cell["status"] == "regression" and cell["ci_low"] > 0
    jp2 = next(c for c in doc["cells"] if c["codec"] == "jpeg2000" and c["metric"] == "psnr")
    assert jp2["status"] == "unchanged" and jp2["bd_rate"] == 0.0


def test_an_improvement_passes_and_is_reported(runs, capsys):
    assert main(["compare", str(runs / "bad"), str(runs / "base")]) == 0
    out = capsys.readouterr().out
    assert "2 improvement(s)" in out and "IMPROVEMENT jpeg / psnr: BD-rate -" in out


def test_tolerances_from_toml_and_flags(runs, tmp_path, capsys):
    t = tmp_path / "tol.toml"
    t.write_text('[default]\nbd_rate = 1.0\n[codec.jpeg.metric.psnr]\nbd_rate = 50\n[metric.ssim]\nbd_rate = 50\n')
    assert main(["compare", str(runs / "base"), str(runs / "bad"), "--tolerance", str(t)]) == 0
    assert main(["compare", str(runs / "base"), str(runs / "bad"), "--tol", "bd_rate=50"]) == 0
    capsys.readouterr()
    assert main(["compare", str(runs / "base"), str(runs / "bad"), "--tol", "psnr.bd_rate=50"]) == 1
    assert "FAIL: 1 regression(s) in 4 codec x metric cells (jpeg/ssim)" in capsys.readouterr().out


def test_exported_per_image_csv_is_a_baseline(runs, tmp_path, capsys):
    d = tmp_path / "baseline"
    d.mkdir()
    assert main(["export", str(runs / "base"), "--format", "csv", "--out", str(d / "records.csv")]) == 0
    shutil.copy(runs / "base" / "manifest.json", d)
    assert main(["compare", str(d), str(runs / "base")]) == 0
    assert main(["compare", str(d), str(runs / "bad")]) == 1
    res = capsys.readouterr().out
    assert "[+" in res  # per-image data on both sides: an interval


def test_compressai_json_baseline_has_no_interval_but_gates(runs, tmp_path, capsys):
    assert main(["export", str(runs / "base"), "--format", "compressai", "--out", str(tmp_path / "j")]) == 0
    capsys.readouterr()
    rc = main(["compare", str(tmp_path / "j"), str(runs / "bad")])
    out = capsys.readouterr().out
    assert rc == 1 and "jpeg / psnr: BD-rate +" in out and "one side has no per-image data" in out


@pytest.mark.parametrize("case,msg", [
    ("missing", "no such file or directory"),
    ("garbage", "not a run directory"),
    ("corrupt", "not a usable percept-bench store"),
    ("images", "different image sets (by pixel sha256): only in the baseline: -; only in the candidate: i2"),
    ("nothing", "no codec x metric with results on both sides"),
])
def test_unusable_input_exits_2(case, msg, runs, tmp_path, capsys):
    cand = runs / "base"
    if case == "missing":
        base = tmp_path / "nowhere"
    elif case == "garbage":
        base = tmp_path / "g.txt"
        base.write_text("hello")
    elif case == "corrupt":
        base = tmp_path / "c"
        base.mkdir()
        (base / "bench.sqlite").write_bytes(b"\x00" * 4096)
    elif case == "images":
        base = edited_copy(runs / "base", tmp_path / "fewer",
                           "DELETE FROM run_items WHERE encoding_key IN (SELECT key FROM encodings WHERE image='i2')")
    else:
        base = tmp_path / "other.json"
        base.write_text(json.dumps({"name": "vtm", "results": {"bpp": [0.1, 0.2, 0.4, 0.8], "psnr": [30, 32, 34, 36]}}))
    assert main(["compare", str(base), str(cand)]) == 2
    assert msg in capsys.readouterr().err


def _curve(name, values, images=4, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    bpp = np.tile([0.1, 0.2, 0.4, 0.8], (images, 1))
    v = np.tile(values, (images, 1)) + rng.normal(0, noise, (images, 4))
    return Curve(name, "psnr", list(bpp.mean(0)), list(v.mean(0)), [0, 1, 2, 3], params=[10, 20, 40, 80],
                 images=[f"i{k}" for k in range(images)], image_bpp=bpp, image_value=v)


def side(cv):
    return Side("x", {(cv.codec, "psnr"): cv}, "d", {}, True)


def test_point_verdicts_need_tolerance_and_interval():
    base = _curve("c", [30, 32, 34, 36])
    same_but_noise = _curve("c", [30, 32, 34, 36])
    same_but_noise.image_value = same_but_noise.image_value + 1e-9
    same_but_noise.value = list(same_but_noise.image_value.mean(0))
    (r,), _ = compare(side(base), side(same_but_noise), Tolerances())
    assert r.status == "unchanged" and abs(r.bd_rate) < 1e-6
    worse = _curve("c", [30, 32, 33.8, 36])  # one point 0.2 dB worse, beyond 0.05 dB
    (r,), _ = compare(side(base), side(worse), Tolerances())
    assert r.status == "regression" and any("worst at 40" in x for x in r.reasons)
    noisy = _curve("c", [30, 32, 33.8, 36], noise=3.0, seed=1)  # the same mean shift drowned in per-image noise
    noisy.value = list(base.image_value.mean(0) + np.array([0, 0, -0.2, 0]))
    (r,), _ = compare(side(base), side(noisy), Tolerances(bd_rate=100))
    assert not any("point(s) worse" in x for x in r.reasons)  # inside its interval: no false alarm
