"""mozjpeg in-process through pyvips and the libvips bundled by pyvips-binary (extra `vips`).

libvips' jpegsave exposes mozjpeg's encoder options (trellis quantisation, overshoot deringing,
progressive scan optimisation, quantisation tables); with a plain libjpeg they have no effect,
so `library_version` checks that trellis quantisation really changes the output before calling
the codec mozjpeg. Card params are jpegsave keyword arguments; the ladder is the quality Q.
"""
from __future__ import annotations

import numpy as np

from ..errors import CodecError
from ..images import as_rgb8
from .base import Adapter, Encoded


def _img(pixels):
    import pyvips

    h, w = pixels.shape[:2]
    return pyvips.Image.new_from_memory(np.ascontiguousarray(pixels).tobytes(), w, h, 3, "uchar")


class VipsJpegAdapter(Adapter):
    """JPEG through libvips (pyvips), a second JPEG implementation to compare against."""
    name = "vips-jpeg"
    version = "1"

    def library_version(self) -> str:
        try:
            import pyvips
        except (ImportError, OSError) as e:
            raise CodecError(f"pyvips with a bundled libvips is not installed ({e}): "
                             "pip install 'percept-bench[vips]'") from None
        probe = _img(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
        if len(probe.jpegsave_buffer(Q=75)) == len(probe.jpegsave_buffer(Q=75, trellis_quant=True)):
            raise CodecError("this libvips is not built with mozjpeg (trellis quantisation has no effect)")
        return f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} with mozjpeg (pyvips {pyvips.__version__})"

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        data = bytes(_img(pixels).jpegsave_buffer(Q=int(point), strip=True, **self.params))
        return Encoded(data, len(data), {"bytes_counted": "whole JPEG file, metadata stripped"})

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        import pyvips

        im = pyvips.Image.jpegload_buffer(data)
        arr = np.ndarray(buffer=im.write_to_memory(), dtype=np.uint8, shape=(im.height, im.width, im.bands))
        return as_rgb8(arr.copy(), "libvips JPEG decoder")
