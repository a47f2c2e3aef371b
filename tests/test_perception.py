"""Perception analyses: disagreement (constructed agreeing / inverted metrics), the trained-for flag
(a constructed case and its control), the blind-spot probe, rate-distortion-realism."""
import numpy as np
import pytest

from bench.analysis.aggregate import Curve
from bench.analysis.perception import disagreement, realism, trained_gap
from bench.analysis.probe import probe_one
from bench.cli import main

CODECS = ["a", "b", "c", "d", "e", "f"]


def curves(metric_fns: dict, n_images=5, seed=0):
    """Per-image curves of 6 codecs; metric m of codec k = fn(base quality of k) per image."""
    rng = np.random.default_rng(seed)
    cvs = {}
    bpp = np.exp(rng.normal(0, 0.2, (n_images, 1))) * np.array([0.1, 0.2, 0.4, 0.8])
    for k, c in enumerate(CODECS):
        q = 25 + 3 * k + 5 * np.log2(bpp / 0.1) + rng.normal(0, 1, (n_images, 1))
        for m, fn in metric_fns.items():
            v = fn(q)
            cvs[(c, m)] = Curve(c, m, list(bpp.mean(0)), list(v.mean(0)), [0, 1, 2, 3], params=[1, 2, 3, 4],
                                images=[f"i{i}" for i in range(n_images)], image_bpp=bpp, image_value=v)
    return cvs


def test_agreeing_metrics_correlate_one_and_inverted_ones_minus_one():
    cvs = curves({"psnr": lambda q: q, "ssim": lambda q: 1 - np.exp(-q / 10), "lpips": lambda q: 1 - 1 / q,
                  "dists": lambda q: 1 / q})
    bd = {}
    for k, c in enumerate(CODECS):  # psnr, ssim and dists rank the codecs alike; lpips inverts them
        bd.update({(c, "psnr"): -10.0 * k, (c, "ssim"): -10.0 * k, (c, "lpips"): 10.0 * k, (c, "dists"): -10.0 * k})
    d = disagreement(cvs, bd, ["psnr", "ssim", "lpips", "dists"])
    assert d.bd_corr[("psnr", "ssim")][:2] == pytest.approx((1.0, 1.0))
    assert d.bd_corr[("psnr", "lpips")][:2] == pytest.approx((-1.0, -1.0))
    assert d.image_corr[("psnr", "ssim")][:2] == pytest.approx((1.0, 1.0))  # a monotone function: same order
    assert d.image_corr[("psnr", "lpips")][:2] == pytest.approx((-1.0, -1.0))  # lpips rises with quality: inverted
    assert d.image_corr[("psnr", "dists")][:2] == pytest.approx((1.0, 1.0))  # lower-is-better, falls: agrees
    assert d.movers[0][1] == 5 and d.matched_bpp is not None


def test_trained_for_flag_and_its_control():
    metrics = ["psnr", "ms-ssim", "lpips", "dists"]
    ranks = {}
    for m in metrics:
        order = ["a", "b", "c", "d", "e", "f"] if m != "lpips" else ["f", "a", "b", "c", "d", "e"]
        ranks.update({(c, m): order.index(c) + 1 for c in CODECS})
    gaps = {g[0]: g for g in trained_gap(ranks, CODECS, metrics, {"f": ["lpips"], "a": ["psnr"]})}
    assert gaps["f"][5] is True and gaps["f"][2] == 1.0 and gaps["f"][3] == 6.0  # wins only where trained
    assert gaps["a"][5] is False  # the control wins everywhere: no flag


def test_probe_raises_psnr_monotonically_bounded_and_seeded(astronaut):
    ref = np.ascontiguousarray(astronaut[100:292, 100:292])
    start = np.clip(ref.astype(int) + np.random.default_rng(0).integers(-20, 21, ref.shape), 0, 255).astype(np.uint8)
    t = probe_one(ref, start, "psnr", ["psnr", "ssim"], steps=12, step=1.0, every=1)
    assert np.all(np.diff(t.scores["psnr"]) > 0) and t.gain("psnr") > 0
    assert np.abs(t.final.astype(int) - start.astype(int)).max() <= 12  # 12 steps of one grey level
    again = probe_one(ref, start, "psnr", ["psnr", "ssim"], steps=12, step=1.0, every=1)
    assert again.scores == t.scores and np.array_equal(again.final, t.final)
    for bad in ({"steps": 0}, {"steps": 10_000}, {"step": 50.0}):
        with pytest.raises(ValueError):
            probe_one(ref, start, "psnr", ["psnr"], **{"steps": 5, "step": 1.0, **bad})
    assert 0 < t.error_removed("psnr") < 1


def test_realism_points_and_the_originals_level():
    cvs = curves({"psnr": lambda q: q, "niqe": lambda q: 10 - q / 10})
    ident = Curve("identity", "niqe", [13.0], [4.2], [0], params=[9])
    cvs[("identity", "niqe")] = ident
    pts, ref = realism(cvs, "psnr", "niqe")
    assert ref == 4.2 and len(pts) == 6 * 4 and {p.codec for p in pts} == set(CODECS)


@pytest.fixture
def nr_card(tmp_path, monkeypatch):
    import os

    d = tmp_path / "cards" / "metrics"
    d.mkdir(parents=True)
    (d / "sharp.toml").write_text('kind = "nr"\nhigher_is_better = true\nfn = "plugin_example:sharpness"\n'
                                  'range = [0, 255]\n')
    monkeypatch.syspath_prepend(os.path.dirname(__file__))
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))


def test_analyses_through_the_cli(nr_card, small_dir, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--dataset", str(small_dir), "--codec", "identity", "--codec", "jpeg", "--codec", "jpeg2000",
                 "--codec", "webp", "--metric", "psnr", "--metric", "ssim", "--metric", "sharp", "--anchor", "jpeg2000",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    md = (out / "leaderboard.md").read_text()
    assert "| identity" not in md and "identity: one rate point, a reference level rather than a curve" in md
    assert main(["analyze", "disagreement", str(out), "--metric", "psnr", "--metric", "ssim"]) == 0
    text = capsys.readouterr().out
    assert "| psnr | ssim |" in text and (out / "disagreement.png").is_file()
    assert main(["analyze", "realism", str(out), "--distortion", "psnr", "--realism", "sharp", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("codec,point,bpp,psnr,sharp") and len(rows) == 1 + 3 * 8
    assert (out / "realism_psnr_sharp.png").is_file()
    assert main(["analyze", "probe", str(out), "--image", "a", "--codec", "jpeg", "--point", "1", "--metric", "psnr",
                 "--metric", "ssim", "--steps", "4", "--step", "1"]) == 0
    assert "| psnr |" in capsys.readouterr().out and (out / "probe_a_jpeg_1.png").is_file()
    assert main(["analyze", "realism", str(out), "--realism", "psnr"]) == 2
