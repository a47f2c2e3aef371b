"""FID / KID on HiFiC patches: protocol, maths, refusal, runner integration."""
import sqlite3

import numpy as np
import pytest
from conftest import KODAK, need, need_metric

from bench import metrics as M
from bench.errors import MetricError
from bench.metrics.sets import MIN_PATCHES, frechet_distance, kernel_distance, patches, set_score


def test_patch_count_follows_the_hifc_protocol():
    # 768x512: 3x2 grid + shifted grid (640x384 left -> 2x1) = 8; portrait likewise
    assert len(patches(np.zeros((512, 768, 3), np.uint8))) == 8
    assert len(patches(np.zeros((768, 512, 3), np.uint8))) == 8
    # shorter side under 1.5 x 256: no shifted pass
    assert len(patches(np.zeros((300, 600, 3), np.uint8))) == 2
    assert len(patches(np.zeros((200, 900, 3), np.uint8))) == 0


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 3))
    b = rng.normal(0, 1, (20000, 3)) * 2 + 1  # mean shift 1 per dim, std 2
    # ||mu||^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) = 3 + 3 * (1 + 4 - 4) = 6
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.03)
    assert abs(frechet_distance(a, a)) < 1e-6


@pytest.fixture(scope="module")
def kodak_sets():
    import imagecodecs
    from scipy.ndimage import gaussian_filter

    from bench.images import read_image
    from bench.metrics.sets import features

    need(KODAK, "Kodak")
    if not M.availability("fid-vgg16")[0]:
        pytest.skip(M.availability("fid-vgg16")[1])
    imgs = [read_image(KODAK / f"kodim{i:02d}.png").pixels for i in (3, 8, 14, 19)]
    blur = [np.clip(np.rint(gaussian_filter(x.astype(float), (3, 3, 0))), 0, 255).astype(np.uint8) for x in imgs]
    jpeg = [imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(x, level=75)) for x in imgs]
    f = lambda xs: np.concatenate([features(x, "vgg16") for x in xs])  # noqa: E731
    return f(imgs), f(blur), f(jpeg)


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_identical_sets_score_zero_and_blur_is_worse_than_light_compression(kodak_sets):
    orig, blur, jpeg = kodak_sets
    assert orig.shape == (32, 512)
    fid_blur, fid_jpeg = frechet_distance(orig, blur), frechet_distance(orig, jpeg)
    kid_blur, kid_jpeg = kernel_distance(orig, blur), kernel_distance(orig, jpeg)
    assert abs(frechet_distance(orig, orig)) < 1e-3 * fid_blur
    # the unbiased MMD^2 estimator counts the cross-set diagonal (a sample paired with itself) in
    # k(x, y) only, so identical sets give a small negative value of order 1/m, not exactly 0
    kid_same = kernel_distance(orig, orig)
    assert kid_same <= 0 and abs(kid_same) < 0.5 * kid_blur
    assert fid_blur > fid_jpeg > 0 and kid_blur > kid_jpeg


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_too_few_patches_is_refused_with_counts(kodak_sets):
    orig, blur, _ = kodak_sets
    with pytest.raises(MetricError, match=rf"32 patches of 256x256 px, needs at least {MIN_PATCHES['fid']}"):
        set_score("fid-vgg16", orig, blur)
    assert set_score("kid-vgg16", np.concatenate([orig] * 2), np.concatenate([blur] * 2)) > 0


def test_standard_fid_is_a_separate_row_needing_inception_weights():
    fid, vgg = M.get("fid"), M.get("fid-vgg16")
    assert fid.fn == "inception" and vgg.fn == "vgg16"
    assert "pt_inception-2015-12-05-6726825d.pth" in fid.weights[0]
    assert "NOT comparable" in vgg.note


def test_runner_stores_set_scores_and_reports_refusal(tmp_path, small_dir):
    from bench.cli import main

    need_metric("kid-vgg16")

    out = tmp_path / "out"
    assert main(["run", "--dataset", str(small_dir), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--metric", "kid-vgg16", "--out", str(out), "--no-progress"]) == 0
    db = sqlite3.connect(out / "bench.sqlite")
    rows = db.execute("SELECT value, n_patches, message FROM set_scores").fetchall()
    assert len(rows) == 16 and all(v is None and "0 patches" in msg for v, n, msg in rows)
    assert "kid-vgg16" in (out / "leaderboard.md").read_text()
