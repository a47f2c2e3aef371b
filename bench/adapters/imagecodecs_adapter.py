"""Classical codecs through imagecodecs: one adapter, the format is card data.

Card example (codecs/jpeg.toml):
    adapter = "imagecodecs"
    [params]
    format = "jpeg8"                 # imagecodecs codec: jpeg8, jpeg2k, webp, avif, jpegxl, png
    encode = { optimize = true }     # keyword arguments passed to <format>_encode
    [ladder]
    param = "level"                  # the keyword the rate point is passed as
    points = [5, 10, ...]
The encoder's own thread count is pinned (numthreads=1 where it exists) because some
encoders (AVIF) produce different bytes with different thread counts.
"""
from __future__ import annotations

import numpy as np

from ..errors import CardError, CodecError
from ..images import as_rgb8
from .base import Adapter, Encoded

# format -> (library key in imagecodecs.version(dict), accepts numthreads)
FORMATS = {
    "jpeg8": ("libjpeg_turbo", False),
    "jpeg2k": ("openjpeg", True),
    "webp": ("libwebp", True),
    "avif": ("libavif", True),
    "jpegxl": ("libjxl", True),
    "png": ("zlib", False),  # lossless: the `identity` card (the originals through the pipeline)
}


class ImagecodecsAdapter(Adapter):
    """JPEG, JPEG 2000, WebP, AVIF and JPEG XL through imagecodecs, one card per format and setting."""
    name = "imagecodecs"
    version = "1"

    def __init__(self, card):
        super().__init__(card)
        fmt = self.params.get("format")
        if fmt not in FORMATS:
            raise CardError(f"codec card {card.get('id')!r}: params.format must be one of "
                            f"{', '.join(FORMATS)}, got {fmt!r}")
        self.format = fmt
        self.encode_kwargs = dict(self.params.get("encode", {}))
        self.decode_kwargs = dict(self.params.get("decode", {}))
        self.param = card.get("ladder", {}).get("param", "level")
        if FORMATS[fmt][1]:
            self.encode_kwargs.setdefault("numthreads", 1)
            if self._accepts(f"{fmt}_decode", "numthreads"):
                self.decode_kwargs.setdefault("numthreads", 1)

    @staticmethod
    def _accepts(fn: str, kw: str) -> bool:
        import inspect

        import imagecodecs

        try:
            return kw in inspect.signature(getattr(imagecodecs, fn)).parameters
        except (TypeError, ValueError):
            return False

    def library_version(self) -> str:
        import imagecodecs

        versions = imagecodecs.version(dict)
        lib = FORMATS[self.format][0]
        v = versions.get(lib, "n/a")
        if v == "n/a" or not getattr(imagecodecs, self.format.upper()).available:
            raise CodecError(f"imagecodecs {versions['imagecodecs']} was built without {lib}")
        return f"{lib} {v} (imagecodecs {versions['imagecodecs']})"

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        import imagecodecs

        fn = getattr(imagecodecs, f"{self.format}_encode")
        data = bytes(fn(np.ascontiguousarray(pixels), **{self.param: point}, **self.encode_kwargs))
        return Encoded(data, len(data), {"bytes_counted": "whole bitstream"})

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        import imagecodecs

        out = getattr(imagecodecs, f"{self.format}_decode")(data, **self.decode_kwargs)
        return as_rgb8(out, f"{self.card['id']} decoder output")
