"""Profiles (issue 26): a community's table as data. The headline is the mean of the profile's BD-rates
with an interval from the same bootstrap draws; a metric the run did not score is named, and the headline
that needs it is n/a, never computed over fewer metrics; bad profile cards name the file."""
import json

import numpy as np
import pytest

from bench.analysis.aggregate import Curve
from bench.analysis.leaderboard import Options, build
from bench.cli import main


def _curves(codec, shift, metrics=("psnr", "ssim"), images=5, seed=0):
    rng = np.random.default_rng(seed)
    bpp = np.tile([0.1, 0.2, 0.4, 0.8], (images, 1)) * rng.uniform(0.9, 1.1, (images, 1))
    out = {}
    for m in metrics:
        base = np.array([30, 33, 36, 39.0]) if m == "psnr" else np.array([0.80, 0.87, 0.92, 0.95])
        scale = 1.0 if m == "psnr" else 0.01
        v = np.tile(base, (images, 1)) + scale * (shift + rng.normal(0, 0.2, (images, 4)))
        out[(codec, m)] = Curve(codec, m, list(bpp.mean(0)), list(v.mean(0)), [0, 1, 2, 3], params=[1, 2, 3, 4],
                                images=[f"i{k}" for k in range(images)], image_bpp=bpp, image_value=v)
    return out


def test_the_headline_is_the_mean_of_the_bd_rates_with_a_paired_interval():
    cvs = {**_curves("a", 0.0), **_curves("b", 1.0, seed=1)}
    lb = build(cvs, Options("a", resamples=300, headline=("psnr", "ssim")))
    want = np.mean([lb.cells[("b", "bd_rate:psnr")].value, lb.cells[("b", "bd_rate:ssim")].value])
    head = lb.headline["b"]
    assert head.value == pytest.approx(want) and head.ci[0] < head.value < head.ci[1]
    assert lb.headline["a"].value == 0.0
    # the interval of the mean lies between the two metrics' own intervals' extremes
    lo = min(lb.cells[("b", f"bd_rate:{m}")].ci[0] for m in ("psnr", "ssim"))
    hi = max(lb.cells[("b", f"bd_rate:{m}")].ci[1] for m in ("psnr", "ssim"))
    assert lo <= head.ci[0] and head.ci[1] <= hi


def test_a_headline_metric_without_a_bd_rate_makes_the_headline_n_a():
    cvs = {**_curves("a", 0.0), **_curves("b", 1.0, metrics=("psnr",), seed=1)}
    lb = build(cvs, Options("a", resamples=0, headline=("psnr", "ssim")))
    assert lb.headline["b"].value is None and "no BD-rate for ssim" in lb.headline["b"].message


def test_a_profile_table_from_a_run(tmp_path, three_crops, capsys, monkeypatch):
    cards = tmp_path / "cards" / "profiles"
    cards.mkdir(parents=True)
    (cards / "mine.toml").write_text('id = "mine"\ndescription = "two metrics"\nanchor = "jpeg"\n'
                                     'codecs = ["jpeg", "webp"]\nmetrics = ["psnr", "ssim", "psnr-y"]\n'
                                     'headline = ["psnr", "ssim"]\n')
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))
    out = tmp_path / "r"
    assert main(["run", "--dataset", str(three_crops), "--profile", "mine", "--metric", "psnr", "--metric", "ssim",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["table", str(out), "--profile", "mine", "--format", "json", "--resamples", "200"]) == 0
    doc = json.loads(capsys.readouterr().out)
    webp = next(r for r in doc["rows"] if r["codec"] == "webp" and r["metric"] == "psnr")
    ssim = next(r for r in doc["rows"] if r["codec"] == "webp" and r["metric"] == "ssim")
    assert webp["headline_bd_rate"] == pytest.approx((webp["bd_rate"] + ssim["bd_rate"]) / 2)
    assert any("left out: psnr-y" in n for n in doc["notes"]) and doc["anchor"] == "jpeg"
    assert main(["table", str(out), "--profile", "mine"]) == 2  # a rendered-table option without a format
    (cards / "bad.toml").write_text('id = "bad"\nanchor = "jpeg"\nmetrics = ["psnr"]\nheadline = ["ssim"]\n')
    assert main(["table", str(out), "--profile", "bad", "--format", "md"]) == 2
    assert "headline metric(s) ssim are not among the profile's metrics" in capsys.readouterr().err


def test_the_shipped_profiles_load():
    from bench.profiles import list_profiles, load_profile

    assert {"aom-ctc", "jpeg-ai"} <= set(list_profiles())
    for name in ("aom-ctc", "jpeg-ai"):
        card = load_profile(name)
        from bench import metrics as metric_table

        for m in card["metrics"]:
            metric_table.get(m)  # every metric a shipped profile names is a row of the table


def test_per_image_bd_is_the_mean_of_each_images_bd_rate():
    """The AOM CTC's averaging: each image's BD-rate (here by the `bjontegaard` package directly, which our
    bd_rate wraps: what is checked is the pairing of each image's curves and the averaging), then the mean; the
    interval is a bootstrap over images of that mean; one image whose BD is undefined makes the cell n/a, naming
    it; --hull takes each image's own hull."""
    import bjontegaard

    cvs = {**_curves("a", 0.0, images=6), **_curves("b", 1.0, images=6, seed=1)}
    lb = build(cvs, Options("a", resamples=400, per_image=True, headline=("psnr", "ssim")))
    a, b = cvs[("a", "psnr")], cvs[("b", "psnr")]
    want = np.mean([bjontegaard.bd_rate(a.image_bpp[k], a.image_value[k], b.image_bpp[k], b.image_value[k],
                                        method="pchip") for k in range(6)])
    cell = lb.cells[("b", "bd_rate:psnr")]
    assert cell.value == pytest.approx(want, abs=1e-6)
    assert cell.ci[0] < cell.value < cell.ci[1]
    curve = build(cvs, Options("a", resamples=0)).cells[("b", "bd_rate:psnr")].value
    assert abs(curve - cell.value) > 1e-3  # not the BD of the mean curves
    head = lb.headline["b"].value
    assert head == pytest.approx(np.mean([cell.value, lb.cells[("b", "bd_rate:ssim")].value]))
    b.image_value = b.image_value.copy()
    b.image_value[2] += 50  # image i2's qualities no longer overlap the anchor's on that image
    bad = build(cvs, Options("a", resamples=0, per_image=True)).cells[("b", "bd_rate:psnr")]
    assert bad.value is None and "i2" in bad.message and "1 of 6 images" in bad.message
    # --hull: each image's own hull (5 points here, so dropping one leaves the 4 BD needs)
    rng = np.random.default_rng(3)
    bpp = np.tile([0.1, 0.2, 0.4, 0.8, 1.6], (6, 1)) * rng.uniform(0.9, 1.1, (6, 1))
    five = {}
    for codec, shift in (("a", 0.0), ("b", 1.0)):
        v = np.tile([30, 33, 36, 39, 42.0], (6, 1)) + shift + rng.normal(0, 0.2, (6, 5))
        five[(codec, "psnr")] = Curve(codec, "psnr", list(bpp.mean(0)), list(v.mean(0)), [0, 1, 2, 3, 4],
                                      images=[f"i{k}" for k in range(6)], image_bpp=bpp, image_value=v)
    a, b = five[("a", "psnr")], five[("b", "psnr")]
    b.image_value[4, 3] = b.image_value[4, 4] + 0.5  # image i4: its fourth point above its fifth, not monotone
    flat = build(five, Options("a", resamples=0, per_image=True)).cells[("b", "bd_rate:psnr")]
    assert flat.value is None and "i4" in flat.message and "--hull" in flat.message
    hulled = build(five, Options("a", resamples=0, per_image=True, hull=True)).cells[("b", "bd_rate:psnr")]

    def bd(j, k=slice(None)):
        return bjontegaard.bd_rate(a.image_bpp[j], a.image_value[j], b.image_bpp[j, k], b.image_value[j, k],
                                   method="pchip", require_matching_points=False)

    assert hulled.value == pytest.approx(np.mean([bd(j) for j in (0, 1, 2, 3, 5)] + [bd(4, [0, 1, 2, 3])]), abs=1e-6)
