"""VVC and AV1 intra through the ffmpeg of imageio-ffmpeg (issue 26, the anchors): a real elementary stream
(VVC NAL units, AV1 OBUs) whose own bytes are the rate, decoded by ffmpeg, deterministic across processes,
with rate falling as the quantiser rises."""
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg", reason="the ctc extra: pip install 'percept-bench[ctc]'")

from bench.adapters import load_codec  # noqa: E402
from bench.errors import CodecError  # noqa: E402
from bench.metrics.classic import psnr  # noqa: E402

# the first bytes of each stream: a VVC Annex B start code; an AV1 temporal-delimiter OBU
HEADS = {"vvc-intra": b"\x00\x00\x00\x01", "av1-intra": b"\x12\x00"}


@pytest.fixture(scope="module", params=sorted(HEADS))
def vvc(request):
    c = load_codec(request.param)
    ok, why = c.adapter.available()
    if not ok:
        pytest.skip(why)
    return c


def test_a_real_vvc_stream_whose_bytes_are_the_rate(vvc, astronaut):
    img = np.ascontiguousarray(astronaut[96:224, 160:320])  # 160 x 128
    sizes, quality = [], []
    for qp in (45, 35, 25):
        e = vvc.adapter.encode(img, qp)
        assert e.data.startswith(HEADS[vvc.id]) and e.rate_bytes == len(e.data)  # the raw stream, no container
        rec = vvc.adapter.decode(e.data, qp, shape=img.shape)
        assert rec.shape == img.shape and rec.dtype == np.uint8
        sizes.append(e.rate_bytes)
        quality.append(psnr(img, rec))
    assert sizes[0] < sizes[1] < sizes[2] and quality[0] < quality[1] < quality[2]
    assert quality[2] > 35  # QP 25 on a small crop: a faithful reconstruction, not noise
    assert vvc.adapter.encode(img, 35).data == vvc.adapter.encode(img, 35).data  # one thread: deterministic


def test_decoding_is_the_same_in_a_fresh_process(vvc, astronaut, tmp_path):
    img = np.ascontiguousarray(astronaut[:64, :96])
    e = vvc.adapter.encode(img, 30)
    here = vvc.adapter.decode(e.data, 30, shape=img.shape)
    (tmp_path / "s.266").write_bytes(e.data)
    code = (f"import sys, numpy as np; from bench.adapters import load_codec; c = load_codec({vvc.id!r}); "
            "d = open(sys.argv[1], 'rb').read(); sys.stdout.buffer.write(c.adapter.decode(d, 30, shape=(64, 96, 3)).tobytes())")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "s.266")], capture_output=True, check=True).stdout
    assert np.array_equal(np.frombuffer(out, np.uint8).reshape(64, 96, 3), here)


def test_odd_sides_are_padded_and_cropped_back(vvc, astronaut):
    img = np.ascontiguousarray(astronaut[:63, :65])
    e = vvc.adapter.encode(img, 25)
    rec = vvc.adapter.decode(e.data, 25, shape=img.shape)
    assert rec.shape == img.shape and psnr(img, rec) > 33
    with pytest.raises(CodecError, match="decoded"):
        vvc.adapter.decode(e.data, 25, shape=(64, 80, 3))  # a stream of another size is not silently cropped
