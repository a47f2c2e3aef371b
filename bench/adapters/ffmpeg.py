"""Video-codec intra coding through the static ffmpeg of the `imageio-ffmpeg` wheel (extra `ctc`): VVC
intra with libvvenc (decoded by ffmpeg's own VVC decoder), and any other encoder the build carries,
declared by a card:

    adapter = "ffmpeg"
    [params]
    encoder = "libvvenc"          # ffmpeg -c:v
    muxer = "vvc"                 # the raw elementary stream: bpp counts the codec's own bytes (NAL units)
    chroma = "420"                # 420 | 444 (what the encoder takes)
    bit_depth = 10                # the samples handed to the encoder: 8 bits, or 8 bits scaled by 4 (10)
    matrix = "bt709-full"         # RGB <-> Y'CbCr, converted here (ffmpeg converts nothing)
    point_option = "qp"           # the encoder option the ladder sets
    [params.options]              # further encoder options, e.g. preset = "medium"

RGB is converted here to Y'CbCr (2 x 2 box-averaged chroma for 4:2:0; an odd side is padded by repeating
its last row or column, and cropped again after decoding; bpp stays per original pixel), scaled to 10 bits by 4 (as VTM
and VVenC read 8-bit input into a 10-bit core), handed to ffmpeg as raw frames, and the decoded
samples are brought back to 8 bits by rounding, chroma repeated 2 x 2, and converted back to RGB.
"""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import ffmpeg_wheel
from ..errors import CodecError
from ..images import ycbcr_to_rgb
from .base import Adapter, Encoded
from .external import rgb_to_yuv


def _ffmpeg() -> str:
    exe = ffmpeg_wheel.executable()
    if exe is None:
        raise CodecError(f"this codec needs imageio-ffmpeg: {ffmpeg_wheel.INSTALL}")
    return exe


class FfmpegAdapter(Adapter):
    """An intra codec run by ffmpeg on raw Y'CbCr frames, its elementary stream's bytes counted."""

    name = "ffmpeg"
    version = "1"
    rate_param = "qp"

    def __init__(self, card):
        super().__init__(card)
        p = self.params
        self.encoder, self.muxer = p.get("encoder", "libvvenc"), p.get("muxer", "vvc")
        self.chroma, self.bit_depth = str(p.get("chroma", "420")), int(p.get("bit_depth", 10))
        self.matrix, self.option = p.get("matrix", "bt709-full"), p.get("point_option", "qp")
        self.options = {k: str(v) for k, v in p.get("options", {}).items()}
        if self.chroma not in ("420", "444") or self.bit_depth not in (8, 10):
            raise CodecError(f"codec card {card.get('id')}: chroma 420|444 and bit_depth 8|10")

    @property
    def pix_fmt(self) -> str:
        """The raw frame format handed to and taken from ffmpeg."""
        return f"yuv{self.chroma}p" + ("10le" if self.bit_depth == 10 else "")

    def library_version(self) -> str:
        ff = _ffmpeg()
        out = subprocess.run([ff, "-hide_banner", "-h", f"encoder={self.encoder}"], capture_output=True, text=True,
                             timeout=60).stdout
        if f"Encoder {self.encoder}" not in out:
            raise CodecError(f"the ffmpeg of imageio-ffmpeg has no encoder {self.encoder}")
        return f"{self.encoder} in {ffmpeg_wheel.version_line(ff)}"

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        h, w = pixels.shape[:2]
        if self.chroma == "420" and (h % 2 or w % 2):  # 4:2:0 needs even sides: repeat the last row / column
            pixels = np.pad(pixels, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            h, w = pixels.shape[:2]
        planes = np.frombuffer(rgb_to_yuv(pixels, self.matrix, f"yuv{self.chroma}"), dtype=np.uint8)
        raw = (planes.astype("<u2") * 4).tobytes() if self.bit_depth == 10 else planes.tobytes()
        opts = [a for k, v in {**self.options, self.option: str(point)}.items() for a in (f"-{k}", v)]
        data = self._ffmpeg(["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-s", f"{w}x{h}", "-i", "in.yuv",
                             "-frames:v", "1", "-threads", "1", "-c:v", self.encoder, *opts, "-f", self.muxer,
                             "out.bin"], {"in.yuv": raw}, "out.bin")
        return Encoded(data, len(data), {"container": self.muxer, "pix_fmt": self.pix_fmt})

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        if shape is None:
            raise CodecError("ffmpeg intra decode needs the original's shape")
        h, w = shape[:2]
        ph, pw = (h + h % 2, w + w % 2) if self.chroma == "420" else (h, w)  # as encode padded it
        raw = self._ffmpeg(["-f", self.muxer, "-i", "in.bin", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                            self.pix_fmt, "out.yuv"], {"in.bin": data}, "out.yuv")
        return np.ascontiguousarray(self._to_rgb(raw, ph, pw)[:h, :w])

    def _to_rgb(self, raw: bytes, h: int, w: int) -> np.ndarray:
        samples = np.frombuffer(raw, dtype="<u2" if self.bit_depth == 10 else np.uint8).astype(np.float64)
        if self.bit_depth == 10:
            samples = np.floor(samples / 4 + 0.5)  # back to 8 bits, rounded
        ch, cw = (h // 2, w // 2) if self.chroma == "420" else (h, w)
        if samples.size != h * w + 2 * ch * cw:
            raise CodecError(f"{self.encoder}: decoded {samples.size} samples for a {w}x{h} {self.pix_fmt} frame")
        y = samples[:h * w].reshape(h, w)
        cb, cr = (samples[h * w + i * ch * cw:h * w + (i + 1) * ch * cw].reshape(ch, cw) for i in (0, 1))
        if self.chroma == "420":
            cb, cr = (np.repeat(np.repeat(c, 2, 0), 2, 1) for c in (cb, cr))
        name, rng = self.matrix.split("-")
        rgb = ycbcr_to_rgb(y, cb, cr, name, rng == "limited")
        return np.clip(np.floor(rgb + 0.5), 0, 255).astype(np.uint8)  # half-up, as its stored reconstructions

    def _ffmpeg(self, args: list, inputs: dict, output: str) -> bytes:
        with tempfile.TemporaryDirectory(prefix="bench-ffmpeg-") as tmp:
            t = Path(tmp)
            for name, data in inputs.items():
                (t / name).write_bytes(data)
            res = subprocess.run([_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], cwd=t,
                                 capture_output=True, text=True, timeout=int(self.params.get("timeout", 600)))
            if res.returncode != 0 or not (t / output).is_file():
                raise CodecError(f"ffmpeg ({self.encoder}) failed ({res.returncode}): {res.stderr.strip()[-400:]}")
            return (t / output).read_bytes()
