"""The libvmaf family (issue 26, first part): the Y'CbCr conversion against its closed form, our numbers
against libvmaf fed by ffmpeg's own colour conversion (an independent path to the same convention),
the value measured for kodim01 / JPEG q30 (README and DESIGN: 84.37, BT.709 full 4:4:4), and CAMBI
seeing banding where there is some."""
import subprocess

import numpy as np
import pytest
from conftest import KODAK, need
from PIL import Image

from bench import metrics as metric_table

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the ctc extra: pip install 'percept-bench[ctc]'")
from bench.metrics import vmaf_backend as V  # noqa: E402


def test_bt709_full_range_conversion_by_hand():
    px = np.array([[[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]]], dtype=np.uint8)
    y, cb, cr = np.frombuffer(V.yuv444_bt709_full(px), dtype=np.uint8).reshape(3, -1)
    # red: Y' = 0.2126 * 255 = 54.2; Cb = 128 - 54.2 / 1.8556 = 98.8; Cr = 128 + 200.8 / 1.5748 = 255.5 -> 255
    assert y.tolist() == [255, 0, 54, 18] and cb.tolist() == [128, 128, 99, 255] and cr.tolist() == [128, 128, 255, 116]


def _jpeg_pair(path, quality=30):
    from bench.adapters import load_codec

    ref = np.asarray(Image.open(path).convert("RGB"))
    c = load_codec("jpeg")
    e = c.adapter.encode(ref, quality)
    return ref, c.adapter.decode(e.data, quality, shape=ref.shape)


def _ffmpeg_converts(ref, dist, tmp_path) -> dict:
    """libvmaf on the same pair, with ffmpeg's swscale doing the RGB -> Y'CbCr (BT.709, full, 4:4:4) itself."""
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(dist).save(tmp_path / "dist.png")
    conv = "scale=out_color_matrix=bt709:out_range=full:flags=accurate_rnd+full_chroma_int,format=yuv444p"
    graph = (f"[0:v]{conv}[d];[1:v]{conv}[r];[d][r]libvmaf=model='version=vmaf_v0.6.1\\:name=vmaf'"
             ":feature='name=psnr_hvs|name=ciede':log_fmt=json:log_path=log.json")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", "dist.png", "-i",
                    "ref.png", "-lavfi", graph, "-f", "null", "-"], cwd=tmp_path, check=True, timeout=300)
    import json

    return {k: v["mean"] for k, v in json.loads((tmp_path / "log.json").read_text())["pooled_metrics"].items()}


def test_our_conversion_agrees_with_ffmpegs_own(tmp_path, astronaut):
    ref = np.ascontiguousarray(astronaut[:256, :320])
    dist = np.asarray(Image.fromarray(ref).resize((160, 128), Image.BILINEAR).resize((320, 256), Image.BILINEAR))
    theirs = _ffmpeg_converts(ref, dist, tmp_path)
    ours = {m: metric_table.score(m, ref, dist) for m in ("vmaf", "psnr-hvs-y", "ciede2000")}
    # swscale rounds its fixed-point conversion its own way: a few 1/255 steps apart, not a convention apart
    assert ours["vmaf"] == pytest.approx(theirs["vmaf"], abs=0.3)
    assert ours["psnr-hvs-y"] == pytest.approx(theirs["psnr_hvs_y"], abs=0.1)
    assert ours["ciede2000"] == pytest.approx(theirs["ciede2000"], abs=0.1)


def test_kodim01_at_jpeg_q30_is_the_measured_value():
    need(KODAK, "Kodak")
    ref, dist = _jpeg_pair(KODAK / "kodim01.png")
    assert metric_table.score("vmaf", ref, dist) == pytest.approx(84.37, abs=0.005)
    assert metric_table.score("vmaf-neg", ref, dist) < metric_table.score("vmaf", ref, dist)


def test_exact_reconstruction_and_banding():
    rng = np.random.default_rng(0)
    ramp = np.tile(np.linspace(80, 140, 768)[None, :, None], (512, 1, 3))
    assert metric_table.score("psnr-hvs-y", ramp.astype(np.uint8), ramp.astype(np.uint8)) == float("inf")
    banded = np.floor(ramp).astype(np.uint8)  # a slow gradient in 8 bits: flat bands one code value apart
    dithered = np.clip(np.floor(ramp + rng.uniform(-1.5, 1.5, ramp.shape)), 0, 255).astype(np.uint8)
    assert metric_table.score("cambi", None, banded) > 5 and metric_table.score("cambi", None, dithered) < 1


def test_per_plane_psnr_equals_libvmafs_psnr_on_the_same_frames(tmp_path, astronaut):
    import json

    ref = np.ascontiguousarray(astronaut[:192, :256])
    Image.fromarray(ref).save(tmp_path / "d.jpg", quality=20)
    dist = np.asarray(Image.open(tmp_path / "d.jpg").convert("RGB"))
    (tmp_path / "ref.yuv").write_bytes(V.yuv444_bt709_full(ref))
    (tmp_path / "dist.yuv").write_bytes(V.yuv444_bt709_full(dist))
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv444p", "-s", "256x192"]
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", *raw, "-i", "dist.yuv", *raw,
                    "-i", "ref.yuv", "-lavfi", "[0:v][1:v]libvmaf=feature='name=psnr':log_fmt=json:log_path=p.json",
                    "-f", "null", "-"], cwd=tmp_path, check=True, timeout=300)
    theirs = json.loads((tmp_path / "p.json").read_text())["pooled_metrics"]
    for plane, key in (("y", "psnr_y"), ("cb", "psnr_cb"), ("cr", "psnr_cr")):
        assert metric_table.score(f"psnr-{plane}709", ref, dist) == pytest.approx(theirs[key]["mean"], abs=1e-4)
