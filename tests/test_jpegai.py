"""The JPEG AI rows (issue 26): the framework's 10-bit BT.709 conversion against a float64 closed form, PSNR-HVS
against psnr_hvsm (what the framework calls), the framework's VIF and NLPD backends against the authors' MATLAB
(VIF: vifp_mscale.m transcribed here in float64; NLPD: the official TID2013 values), MS-SSIM against
pytorch-msssim in float64 on an independently converted Y'. And the AOM CTC rows from the same libvmaf run."""
import io
import math

import numpy as np
import pytest
from conftest import CALIB, KODAK, need
from PIL import Image

from bench import metrics as metric_table
from bench.metrics import jpegai as J

KR, KG, KB = 0.2126, 0.7152, 0.0722


def _pair(quality=30, name="kodim01.png", crop=None):
    need(KODAK, "Kodak")
    ref = np.asarray(Image.open(KODAK / name).convert("RGB"))
    if crop:
        ref = np.ascontiguousarray(ref[: crop[0], : crop[1]])
    buf = io.BytesIO()
    Image.fromarray(ref).save(buf, "JPEG", quality=quality)
    return ref, np.asarray(Image.open(buf).convert("RGB"))


def _y10(rgb8):
    """Y' as the framework computes it, in float64: RGB / 255 rounded to 10 bits, BT.709, rounded to 10 bits."""
    x = np.round(rgb8.astype(np.float64) / 255 * 1023) / 1023
    return np.round(np.clip(KR * x[..., 0] + KG * x[..., 1] + KB * x[..., 2], 0, 1) * 1023) / 1023


def _codes_agree(got, want):
    """10-bit codes equal but where the float64 value is a tie (x.5 codes: grey pixels have Cb = Cr = 511.5 exactly),
    which the framework's float32 arithmetic breaks either way."""
    g, w = np.round(got * 1023), np.round(want * 1023)
    ties = np.abs(want * 1023 - np.floor(want * 1023) - 0.5) < 1e-4
    return np.abs(g - w).max() <= 1 and not np.any((g != w) & ~ties)


def test_conversion_is_the_frameworks_in_float64():
    ref, _ = _pair()
    _, yuv = J.planes(ref)
    x = np.round(ref.astype(np.float64) / 255 * 1023) / 1023
    y = KR * x[..., 0] + KG * x[..., 1] + KB * x[..., 2]
    for plane, c in ((0, y), (1, (x[..., 2] - y) / 1.8556 + 0.5), (2, (x[..., 0] - y) / 1.5748 + 0.5)):
        assert _codes_agree(yuv[0, plane].double().numpy(), np.clip(c, 0, 1))


def test_psnr_is_10_bit_with_peak_1023():
    ref, dist = _pair()
    a, b = _y10(ref) * 1023, _y10(dist) * 1023
    want = 10 * math.log10(1023 ** 2 / np.mean((a - b) ** 2))
    assert metric_table.score("jpegai-psnr-y", ref, dist) == pytest.approx(want, abs=2e-3)
    assert metric_table.score("jpegai-psnr-y", ref, ref) == math.inf


@pytest.mark.parametrize("quality,crop", [(10, None), (50, None), (90, (301, 203))])
def test_psnr_hvs_equals_psnr_hvsm(quality, crop):
    psnr_hvsm = pytest.importorskip("psnr_hvsm", reason="the test extra: pip install psnr-hvsm")
    ref, dist = _pair(quality, crop=crop)
    a, b = (J.planes(x)[1][0, 0].double().numpy() for x in (ref, dist))
    pad = ((0, -a.shape[0] % 8), (0, -a.shape[1] % 8))  # the framework pads to multiples of 8, repeating edges
    want = float(psnr_hvsm.BACKENDS["cpp"]["psnr_hvs_hvsm"](np.pad(a, pad, mode="edge"), np.pad(b, pad, mode="edge"))[0])
    assert metric_table.score("jpegai-psnr-hvs", ref, dist) == pytest.approx(want, abs=1e-9)


def _vifp_mscale(ref, dist):
    """The authors' vifp_mscale.m (LIVE), line by line in float64 (filter2 'valid' = correlation)."""
    from scipy.signal import correlate2d

    num = den = 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        x = np.arange(n) - (n - 1) / 2
        win = np.exp(-(x[:, None] ** 2 + x[None] ** 2) / (2 * (n / 5) ** 2))
        win /= win.sum()

        def f(a, win=win):
            return correlate2d(a, win, mode="valid")

        if scale > 1:
            ref, dist = f(ref)[::2, ::2], f(dist)[::2, ::2]
        mu1, mu2 = f(ref), f(dist)
        s1 = np.maximum(f(ref * ref) - mu1 * mu1, 0)
        s2 = np.maximum(f(dist * dist) - mu2 * mu2, 0)
        s12 = f(ref * dist) - mu1 * mu2
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        g[s1 < 1e-10] = 0
        sv[s1 < 1e-10] = s2[s1 < 1e-10]
        s1[s1 < 1e-10] = 0
        g[s2 < 1e-10] = 0
        sv[s2 < 1e-10] = 0
        sv[g < 0] = s2[g < 0]
        g[g < 0] = 0
        sv[sv <= 1e-10] = 1e-10
        num += np.sum(np.log10(1 + g ** 2 * s1 / (sv + 2)))
        den += np.sum(np.log10(1 + s1 / 2))
    return num / den


@pytest.mark.parametrize("quality", [5, 30, 80])
def test_vif_is_the_authors_pixel_domain_vif(quality):
    pytest.importorskip("IQA_pytorch", reason="the jpegai extra: pip install 'percept-bench[jpegai]'")
    ref, dist = _pair(quality, crop=(256, 384))
    want = _vifp_mscale(_y10(ref) * 255, _y10(dist) * 255)
    assert metric_table.score("jpegai-vif", ref, dist) == pytest.approx(want, rel=1e-4)  # measured <= 7e-6


def test_nlpd_backend_against_the_official_tid2013_values():
    """IQA_pytorch's NLPD (the framework's) on the luma the official values were computed on (Y of YIQ) is close to
    the authors' MATLAB values but not equal (measured: 0.589 / 0.0141 / 0.0111 / 0.323 / 0.437 against 0.562 /
    0.0195 / 0.0159 / 0.303 / 0.433): the same order, within 0.03 (IQA_pytorch pads by reflection, not symmetrically,
    upsamples bilinearly, not by zero insertion, drops the low-pass residual level and does not rotate the
    normalisation filters). The JPEG AI tables carry the framework's numbers; our `nlpd` row (pyiqa) equals MATLAB."""
    import csv

    import torch

    IQA_pytorch = pytest.importorskip("IQA_pytorch", reason="the jpegai extra: pip install 'percept-bench[jpegai]'")
    from bench.images import read_image

    need(CALIB, "TID2013 calibration pairs")
    pairs = ["I03", "I04", "I06", "I08", "I19"]
    with open(CALIB / "results_official.csv") as f:
        want = next([float(r[f"{p}.bmp"]) for p in pairs] for r in csv.DictReader(f) if r["Method"] == "nlpd")

    def luma(path):
        x = read_image(path).pixels.astype(np.float32) / 255
        return torch.from_numpy(x @ np.array([0.299, 0.587, 0.114], np.float32))[None, None]

    model = IQA_pytorch.NLPD(channels=1)
    got = [float(model(luma(CALIB / "dist" / f"{p}.bmp"), luma(CALIB / "ref" / f"{p}.bmp"), as_loss=False)) for p in pairs]
    assert np.abs(np.subtract(got, want)).max() < 0.03, (got, want)
    assert list(np.argsort(got)) == list(np.argsort(want))


def test_ms_ssim_on_y_against_float64_pytorch_msssim():
    import torch
    from pytorch_msssim import ms_ssim

    ref, dist = _pair(20)
    a, b = (torch.from_numpy(_y10(x) * 1023)[None, None] for x in (ref, dist))
    want = float(ms_ssim(a, b, data_range=1023))
    assert metric_table.score("jpegai-ms-ssim", ref, dist) == pytest.approx(want, abs=1e-5)
    small = np.ascontiguousarray(ref[:100, :120])  # below MS-SSIM's 161 px: zero-padded to 164 as the framework does
    assert metric_table.score("jpegai-ms-ssim", small, small) == pytest.approx(1.0, abs=1e-6)


def test_every_row_is_monotone_in_quality_and_ideal_on_identity():
    pytest.importorskip("IQA_pytorch", reason="the jpegai extra: pip install 'percept-bench[jpegai]'")
    pytest.importorskip("imageio_ffmpeg", reason="the ctc extra: pip install 'percept-bench[ctc]'")
    ref, low = _pair(10, crop=(256, 384))
    _, high = _pair(70, crop=(256, 384))
    for name in [r.name for r in metric_table.ROWS if r.name.startswith("jpegai-")]:
        row = metric_table.get(name)
        lo, hi = metric_table.score(name, ref, low), metric_table.score(name, ref, high)
        assert (hi > lo) == row.higher_is_better, (name, lo, hi)
        if row.ideal is not None and name != "jpegai-vmaf":  # VMAF of identical images is ~97-100, not a fixed ideal
            assert metric_table.score(name, ref, ref) == pytest.approx(row.ideal, abs=1e-6), name


def test_aom_ctc_rows_from_libvmaf():
    """APSNR of one frame is its PSNR (finite for an exact copy: SSE floored at 0.5); SSIM / MS-SSIM in dB are
    -10 log10(1 - x) of libvmaf's linear scores. (libvmaf's MS-SSIM low-passes before each downsampling, so it is not
    pytorch-msssim's: 0.97958 against 0.98058 on this pair's Y'; the CTC names libvmaf's.)"""
    pytest.importorskip("imageio_ffmpeg", reason="the ctc extra: pip install 'percept-bench[ctc]'")
    from bench.metrics import vmaf_backend as V

    ref, dist = _pair(30)
    for p in ("y", "cb", "cr"):
        psnr = metric_table.score(f"psnr-{p}709", ref, dist)
        assert metric_table.score(f"apsnr-{p}", ref, dist) == pytest.approx(psnr, abs=1e-5)
    exact = metric_table.score("apsnr-y", ref, ref)
    assert math.isfinite(exact) and exact > 100  # libvmaf's cap for an exact 8-bit copy (108 here), not inf
    linear = V.run_libvmaf(V.yuv444_bt709_full(ref), V.yuv444_bt709_full(dist), ref.shape[1], ref.shape[0],
                           features="name=float_ssim|name=float_ms_ssim", neg=False)
    for row, key in (("ssim-db", "float_ssim"), ("ms-ssim-db", "float_ms_ssim")):
        assert 0.9 < linear[key] < 1
        assert metric_table.score(row, ref, dist) == pytest.approx(-10 * math.log10(1 - linear[key]), abs=1e-3)


def test_vmaf_reads_the_10_bit_planes_as_written():
    """The yuv444p10le bytes libvmaf reads are the framework's 10-bit codes (little-endian words, Y' then U then V),
    and 10-bit VMAF of a pair stays within a point of the 8-bit row's (the same images, finer quantisation)."""
    pytest.importorskip("imageio_ffmpeg", reason="the ctc extra: pip install 'percept-bench[ctc]'")
    ref, dist = _pair(30, crop=(256, 384))
    _, yuv = J.planes(ref)
    codes = np.frombuffer(J.yuv10(yuv), dtype="<u2").reshape(3, 256, 384)
    assert np.array_equal(codes, np.round(yuv[0].double().numpy() * 1023))
    assert metric_table.score("jpegai-vmaf", ref, dist) == pytest.approx(metric_table.score("vmaf", ref, dist), abs=1.0)


def test_fsim_and_iw_ssim_sit_next_to_their_calibrated_rows():
    """jpegai-fsim is piq's FSIM on the 10-bit-rounded RGB: within 1e-3 of the `fsim` row, which matches the
    official TID2013 values; jpegai-iw-ssim is piq's IW-SSIM on BT.709 Y' (10-bit): within 5e-3 of the `iw-ssim`
    row on YIQ luma, which equals the authors' MATLAB."""
    ref, dist = _pair(20, crop=(256, 384))
    assert metric_table.score("jpegai-fsim", ref, dist) == pytest.approx(metric_table.score("fsim", ref, dist), abs=1e-3)
    assert metric_table.score("jpegai-iw-ssim", ref, dist) == pytest.approx(metric_table.score("iw-ssim", ref, dist),
                                                                          abs=5e-3)
