"""HEVC intra through pillow-heif (libheif + x265): the in-process stand-in for BPG.

x265 is configured the way libbpg 0.9.8's x265_glue.c does for bpgenc's defaults: preset from
bpgenc's -m level (default 8 -> veryslow), tune ssim, constant QP on bpgenc's 0-51 scale, one
intra frame, no info SEI, no picture hash SEI. libheif adds its own RGB -> YCbCr conversion; the
cards ask for BT.601 full range (bpgenc's `-c ycbcr`), which the nclx box records.
Byte accounting: `rate_bytes` is the HEVC payload — the coded item in `mdat` plus the parameter
sets (VPS/SPS/PPS NAL units) of the `hvcC` box; `info` also holds the whole HEIF file size and
the container overhead (file - payload).
"""
from __future__ import annotations

import io
import struct

import numpy as np

from ..errors import CodecError
from ..images import as_rgb8
from .base import Adapter, Encoded

CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}  # boxes with children (meta is a FullBox)


def boxes(data: bytes, start: int = 0, end: int | None = None):
    """Yield (type, payload_start, payload_end) of ISO-BMFF boxes, descending into containers."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        hdr = 8
        if size == 1:
            size, hdr = struct.unpack(">Q", data[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < hdr or pos + size > end:
            raise CodecError(f"malformed HEIF: box {typ!r} at {pos} has size {size}")
        yield typ, pos + hdr, pos + size
        if typ in CONTAINERS:
            yield from boxes(data, pos + hdr + CONTAINERS[typ], pos + size)
        pos += size


def hevc_accounting(data: bytes) -> dict:
    """Payload (mdat + hvcC NAL units), container overhead and the chroma format from hvcC."""
    mdat = nal = 0
    chroma = None
    for typ, a, b in boxes(data):
        if typ == b"mdat":
            mdat += b - a
        elif typ == b"hvcC":
            p = data[a:b]
            chroma = p[16] & 3
            n_arrays, pos = p[22], 23
            for _ in range(n_arrays):
                n_nal = struct.unpack(">H", p[pos + 1:pos + 3])[0]
                pos += 3
                for _ in range(n_nal):
                    ln = struct.unpack(">H", p[pos:pos + 2])[0]
                    nal += ln
                    pos += 2 + ln
    if not mdat or chroma is None:
        raise CodecError("HEIF without mdat or hvcC: not an HEVC-coded image")
    return {"payload_bytes": mdat + nal, "mdat_bytes": mdat, "parameter_set_bytes": nal,
            "file_bytes": len(data), "container_bytes": len(data) - mdat - nal,
            "chroma_format": {0: "4:0:0", 1: "4:2:0", 2: "4:2:2", 3: "4:4:4"}[chroma]}


# bpgenc -m level -> x265 preset (x265_glue.c: level 0..9 over the ten presets)
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
           "placebo"]


class HeifHevcAdapter(Adapter):
    """HEVC intra through libheif / x265, configured like bpgenc; the rate is the HEVC payload, container excluded."""
    name = "heif-hevc"
    version = "1"

    def __init__(self, card):
        super().__init__(card)
        self.chroma = str(self.params.get("chroma", "444"))
        self.level = int(self.params.get("bpg_level", 8))
        self.enc = {"chroma": self.chroma, "preset": PRESETS[self.level], "tune": "ssim",
                    "x265:info": "0", "x265:hash": "0", "x265:keyint": "1", "x265:frame-threads": "1",
                    "x265:pools": "none", "x265:wpp": "0"}
        # card [params.x265]: raw x265 options, passed through libheif as "x265:<name>"
        self.enc.update({f"x265:{k}": str(v) for k, v in self.params.get("x265", {}).items()})

    def library_version(self) -> str:
        try:
            import pillow_heif
        except ImportError:
            raise CodecError("pillow-heif is not installed: pip install 'percept-bench[heif]'") from None
        info = pillow_heif.libheif_info()
        x265 = info.get("encoders", {}).get("x265")
        if not x265:
            raise CodecError(f"libheif {info.get('libheif')} in pillow-heif has no x265 encoder")
        return f"{x265}, libheif {info['libheif']}, pillow-heif {pillow_heif.__version__}, preset {self.enc['preset']}"

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        import pillow_heif

        qp = int(point)
        if not 0 <= qp <= 51:
            raise CodecError(f"QP {qp} outside bpgenc's 0-51")
        buf = io.BytesIO()
        h, w = pixels.shape[:2]
        pillow_heif.encode("RGB", (w, h), np.ascontiguousarray(pixels).tobytes(), buf,
                           enc_params={**self.enc, "x265:qp": str(qp)},
                           matrix_coefficients=6, full_range_flag=1, color_primaries=1, transfer_characteristics=13)
        data = buf.getvalue()
        acc = hevc_accounting(data)
        if acc["chroma_format"].replace(":", "") != self.chroma:
            raise CodecError(f"asked x265 for {self.chroma} chroma, the stream is {acc['chroma_format']}")
        acc["bytes_counted"] = "HEVC payload (mdat + hvcC parameter sets), not the HEIF container"
        return Encoded(data, acc["payload_bytes"], acc)

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        import pillow_heif

        return as_rgb8(np.asarray(pillow_heif.open_heif(io.BytesIO(data)).to_pillow().convert("RGB")), "HEIF decoder")
