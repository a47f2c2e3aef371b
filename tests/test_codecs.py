"""Round trips of every classical codec card through its adapter."""
import numpy as np
import pytest

from bench.adapters import list_codecs, load_codec
from bench.errors import UnknownName
from bench.metrics.classic import psnr

CLASSICAL = [c for c in list_codecs() if load_codec(c).card["adapter"] in ("imagecodecs", "heif-hevc", "vips-jpeg")
             and load_codec(c).adapter.available()[0] and len(load_codec(c).ladder) > 1]  # lossy ladders


def test_identity_card_is_lossless(astronaut):
    codec = load_codec("identity")
    assert codec.ladder == [9]
    img = np.ascontiguousarray(astronaut[:61, :97])
    e = codec.adapter.encode(img, 9)
    assert np.array_equal(codec.adapter.decode(e.data, 9), img)


def _ladder_by_rate(codec, img):
    out = []
    for p in codec.ladder:
        e = codec.adapter.encode(img, p)
        rec = codec.adapter.decode(e.data, p)
        assert len(e.data) > 0 and e.rate_bytes > 0
        assert rec.shape == img.shape and rec.dtype == np.uint8
        out.append((8 * e.rate_bytes / (img.shape[0] * img.shape[1]), psnr(img, rec)))
    return out


@pytest.mark.parametrize("cid", CLASSICAL)
def test_ladder_rate_and_quality_move_together(cid, kodim):
    codec = load_codec(cid)
    pts = _ladder_by_rate(codec, kodim)
    bpp = [b for b, _ in pts]
    q = [v for _, v in pts]
    # each card's ladder goes from low to high quality
    assert all(np.diff(bpp) > 0), f"{cid}: bpp not increasing along the ladder: {bpp}"
    assert all(np.diff(q) > 0), f"{cid}: PSNR not increasing with rate: {q}"


@pytest.mark.slow  # > 3 s here: `make test-fast` leaves it out
@pytest.mark.parametrize("cid", CLASSICAL)
def test_default_ladder_spans_kodak_rates(cid, kodim):
    """Mean bpp over six Kodak images spans about 0.1-2 bpp (issue: default ladders)."""
    from conftest import KODAK

    from bench.images import read_image

    codec = load_codec(cid)
    imgs = [read_image(KODAK / f"kodim{i:02d}.png").pixels for i in (1, 5, 9, 13, 17, 21)]
    lo = np.mean([8 * codec.adapter.encode(x, codec.ladder[0]).rate_bytes / x[..., 0].size for x in imgs])
    hi = np.mean([8 * codec.adapter.encode(x, codec.ladder[-1]).rate_bytes / x[..., 0].size for x in imgs])
    assert 0.05 < lo < 0.3 and 1.2 < hi < 4, f"{cid}: mean bpp {lo:.3f}-{hi:.3f}"


@pytest.mark.parametrize("cid", CLASSICAL)
def test_odd_size_round_trip(cid, astronaut):
    img = np.ascontiguousarray(astronaut[:61, :97])
    codec = load_codec(cid)
    p = codec.ladder[len(codec.ladder) // 2]
    rec = codec.adapter.decode(codec.adapter.encode(img, p).data, p)
    assert rec.shape == (61, 97, 3) and psnr(img, rec) > 20


def test_library_version_is_reported():
    v = load_codec("jpeg").adapter.library_version()
    assert "libjpeg_turbo" in v and "imagecodecs" in v
    assert "openjpeg" in load_codec("jpeg2000").adapter.library_version()


def test_jpeg2000_is_a_raw_codestream(astronaut):
    data = load_codec("jpeg2000").adapter.encode(astronaut, 30).data
    assert data[:4] == b"\xff\x4f\xff\x51"  # SOC + SIZ markers, no JP2 box header


def test_unknown_codec_lists_valid_names():
    with pytest.raises(UnknownName, match="valid codecs: .*jpeg2000"):
        load_codec("jpeg3000")


@pytest.mark.parametrize("fmt,encode", [("webp", {"lossless": True}), ("jpegxl", {"lossless": True}),
                                        ("jpeg2k", {"codecformat": "J2K", "reversible": True})])
def test_lossless_settings_decode_bit_exact(fmt, encode, astronaut):
    """Cards are data: a lossless variant is a card with other parameters, same adapter."""
    from bench.adapters.imagecodecs_adapter import ImagecodecsAdapter

    card = {"id": f"{fmt}-lossless", "params": {"format": fmt, "encode": encode},
            "ladder": {"param": "level", "points": [None]}}
    a = ImagecodecsAdapter(card)
    img = np.ascontiguousarray(astronaut[:61, :97])
    assert np.array_equal(a.decode(a.encode(img, None).data), img)


@pytest.mark.parametrize("chroma", ["444", "420"])
def test_heif_byte_accounting(chroma, astronaut):
    """payload + container overhead = file size; bpp counts the payload (what the leaderboard uses)."""
    codec = load_codec(f"hevc-intra-{chroma}")
    if not codec.adapter.available()[0]:
        pytest.skip(codec.adapter.available()[1])
    e = codec.adapter.encode(astronaut, 34)
    i = e.info
    assert i["payload_bytes"] + i["container_bytes"] == i["file_bytes"] == len(e.data)
    assert e.rate_bytes == i["payload_bytes"] and 200 < i["container_bytes"] < 600
    assert i["chroma_format"] == f"4:{chroma[1]}:{chroma[2]}"
    assert "veryslow" in codec.adapter.library_version()
