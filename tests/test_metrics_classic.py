import csv

import numpy as np
import pytest
from conftest import CALIB, need

from bench import metrics as M
from bench.errors import MetricError, UnknownName

PAIRS = ["I03", "I04", "I06", "I08", "I19"]


def official():
    need(CALIB, "TID2013 calibration pairs")
    with open(CALIB / "results_official.csv") as f:
        return {row["Method"]: [float(row[f"{p}.bmp"]) for p in PAIRS] for row in csv.DictReader(f)}


def pairs():
    from bench.images import read_image

    need(CALIB, "TID2013 calibration pairs")
    return [(read_image(CALIB / "ref" / f"{p}.bmp").pixels, read_image(CALIB / "dist" / f"{p}.bmp").pixels)
            for p in PAIRS]


@pytest.mark.parametrize("ours,theirs", [("psnr", "psnr"), ("ssim", "ssim"), ("ms-ssim-grey", "ms_ssim")])
def test_calibration_matches_official(ours, theirs):
    got = [M.score(ours, r, d) for r, d in pairs()]
    want = official()[theirs]
    assert got == pytest.approx(want, abs=1e-2, rel=1e-2), f"{ours}: {got} vs official {want}"


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
def test_rgb_ms_ssim_agrees_with_piq():
    """RGB MS-SSIM (leaderboard convention) against an independent implementation (piq)."""
    import piq
    import torch

    for r, d in pairs():
        t = lambda a: torch.from_numpy(a.copy()).permute(2, 0, 1)[None].double()  # noqa: E731
        ref = float(piq.multi_scale_ssim(t(d), t(r), data_range=255.0, reduction="none"))
        assert M.score("ms-ssim", r, d) == pytest.approx(ref, abs=2e-3)


@pytest.mark.parametrize("name", ["psnr", "ssim", "ssim-rgb", "ms-ssim", "ms-ssim-grey"])
def test_identity_gives_the_ideal_value(name, kodim):
    v = M.score(name, kodim, kodim.copy())
    assert v == M.get(name).ideal or v == pytest.approx(M.get(name).ideal, abs=1e-6)


def test_psnr_known_value():
    a = np.zeros((8, 8, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # MSE = 256 / 192
    assert M.score("psnr", a, b) == pytest.approx(10 * np.log10(255 ** 2 * 192 / 256))


def test_ms_ssim_refuses_small_images_clearly():
    a = np.full((100, 300, 3), 100, np.uint8)
    with pytest.raises(MetricError, match=r"300x100 is smaller than the 161 px"):
        M.score("ms-ssim", a, a)
    assert M.score("ssim", a, a) == pytest.approx(1.0)  # SSIM is the documented alternative


def test_every_row_declares_its_conventions():
    for m in M.METRICS.values():
        assert m.kind in ("fr", "nr", "set") and isinstance(m.higher_is_better, bool)
        assert m.colour and m.input_range and len(m.range) == 2


def test_unknown_metric_lists_valid_names():
    with pytest.raises(UnknownName, match="valid metrics: .*ms-ssim"):
        M.get("msssim")


# odd sides: avg-pool padding; > 4 MP (~15 s: slow)
@pytest.mark.parametrize("size", [(512, 512), (333, 171), pytest.param((4001, 1003), marks=pytest.mark.slow)])
def test_ssim_and_ms_ssim_are_pytorch_msssims_bit_for_bit_at_any_thread_count(astronaut, size):
    """SSIM and MS-SSIM run pytorch-msssim's operations on tiles of rows (memory, speed) on one torch
    thread: every value equals pytorch-msssim's on the whole image on one thread, bit for bit, RGB
    and grey, whatever the caller's thread count (pytorch-msssim's own grey value moves by an ulp with
    two threads: a record must not depend on --workers)."""
    import torch
    from PIL import Image
    from pytorch_msssim import ms_ssim, ssim

    from bench.metrics import classic

    ref = np.array(Image.fromarray(astronaut).resize(size, Image.BICUBIC))
    rng = np.random.default_rng(3)
    dist = np.clip(ref.astype(int) + rng.integers(-15, 16, ref.shape), 0, 255).astype(np.uint8)
    n = torch.get_num_threads()
    try:
        for colour in ("rgb", "grey"):
            f = classic._grey if colour == "grey" else (lambda a: a)
            x, y = classic._tensor(f(ref)), classic._tensor(f(dist))
            for ours, theirs in ((classic.ms_ssim, ms_ssim), (classic.ssim, ssim)):
                torch.set_num_threads(1)
                whole = float(theirs(x, y, data_range=255.0))
                assert 0.3 < whole < 0.99
                for threads in (1, 2):
                    torch.set_num_threads(threads)
                    assert ours(ref, dist, colour) == whole, (ours.__name__, colour, threads)
                    assert torch.get_num_threads() == threads  # the caller's count is restored
    finally:
        torch.set_num_threads(n)
