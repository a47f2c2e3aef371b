"""Image loading and the colour / precision policy shared by every stage.

Policy (tested in tests/test_images.py):
- an *image* is a C-contiguous numpy.uint8 array H x W x 3, RGB;
- grey (L) is replicated to three channels; 16-bit is scaled to 8 bits by round(v / 257)
  (round-half-even, never truncation); RGBA / LA are accepted only when fully opaque,
  otherwise the file is refused (flatten it yourself: the background colour changes numbers);
- palette images are expanded to RGB; anything else (CMYK, float, ...) is refused;
- float -> uint8 anywhere in the harness goes through `to_uint8` (round, clip).
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import BadImage


@dataclass(frozen=True)
class Image:
    """An image as the pipeline sees it: 8-bit RGB pixels, a name and where they came from."""
    name: str
    pixels: np.ndarray  # uint8 H x W x 3 RGB
    source: str = ""

    @functools.cached_property
    def sha256(self) -> str:
        """The sha256 of the pixels (shape included), the image's identity in the store."""
        return pixel_sha256(self.pixels)

    @property
    def height(self) -> int:
        """Rows."""
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        """Columns."""
        return int(self.pixels.shape[1])


def pixel_sha256(pixels: np.ndarray) -> str:
    """sha256 of the pixel array (C order) plus its shape, so a reshaped array differs."""
    a = np.ascontiguousarray(pixels)
    h = hashlib.sha256(f"{a.shape}|{a.dtype}|".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cached_file_sha256(path) -> str:
    """file_sha256, memoised on (path, size, mtime): checkpoints are hashed once per process."""
    st = Path(path).stat()
    return _cached_sha(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _cached_sha(path: str, _size: int, _mtime: int) -> str:
    return file_sha256(Path(path))


def to_uint8(x) -> np.ndarray:
    """Float (0..255 scale) -> uint8 by round-half-even and clip; never truncation."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float64)), 0, 255).astype(np.uint8)


def as_rgb8(arr: np.ndarray, what: str = "image") -> np.ndarray:
    """Apply the colour / precision policy to a decoded array; raise BadImage otherwise."""
    a = np.asarray(arr)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4):
        raise BadImage(f"{what}: unsupported array shape {a.shape}; expected H x W x 3 RGB")
    if a.dtype == np.uint16:
        if a.shape[2] in (2, 4) and a[:, :, -1].min() != 65535:
            raise BadImage(
                f"{what}: has transparency (16-bit alpha min {int(a[:, :, -1].min())}); flatten it onto a "
                "background of your choice and save it as RGB, the harness will not guess one")
        a = np.rint(a.astype(np.float64) / 257.0).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        raise BadImage(f"{what}: unsupported sample type {a.dtype}; convert it to 8-bit RGB")
    c = a.shape[2]
    if c in (2, 4):
        alpha = a[:, :, -1]
        if alpha.min() != 255:
            raise BadImage(
                f"{what}: has transparency (alpha min {int(alpha.min())}); flatten it onto a "
                "background of your choice and save it as RGB, the harness will not guess one")
        a = a[:, :, :-1]
        c -= 1
    if c == 1:
        a = np.repeat(a, 3, axis=2)
    if min(a.shape[:2]) < 1:
        raise BadImage(f"{what}: empty image {a.shape}")
    return np.ascontiguousarray(a)


def read_image(path, name: str | None = None) -> Image:
    """Read an image file (PNG, BMP, TIFF, JPEG, PPM ...) into the harness's RGB8 form."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise BadImage(f"{path}: no such file")
    if _png_bit_depth(path) == 16:  # PIL keeps only the high byte of 16-bit RGB(A) samples
        import imagecodecs

        try:
            arr = imagecodecs.png_decode(path.read_bytes())
        except Exception as e:  # noqa: BLE001 - any decoder complaint means a bad file
            raise BadImage(f"{path}: cannot decode 16-bit PNG ({e}); replace the file with a valid one") from None
        return Image(name or path.stem, as_rgb8(arr, str(path)), str(path))
    try:
        with PILImage.open(path) as im:
            im.load()
            mode = im.mode
            if mode == "P" or mode == "PA":
                im = im.convert("RGBA")
            elif mode in ("I;16", "I;16B", "I;16L", "I;16N"):
                arr = np.asarray(im).astype(np.uint16)
                return Image(name or path.stem, as_rgb8(arr, str(path)), str(path))
            elif mode == "I":
                arr = np.asarray(im)
                if arr.max() > 65535 or arr.min() < 0:
                    raise BadImage(f"{path}: 32-bit integer samples; convert it to 8-bit RGB")
                return Image(name or path.stem, as_rgb8(arr.astype(np.uint16), str(path)), str(path))
            elif mode not in ("RGB", "RGBA", "L", "LA", "1"):
                raise BadImage(f"{path}: unsupported image mode {mode}; convert it to 8-bit RGB")
            arr = np.asarray(im)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise BadImage(f"{path}: cannot decode image ({e}); replace the file with a valid one") from None
    return Image(name or path.stem, as_rgb8(arr, str(path)), str(path))


def _png_bit_depth(path: Path) -> int | None:
    """The IHDR bit depth of a PNG file, None for anything else."""
    with open(path, "rb") as f:
        head = f.read(25)
    if len(head) == 25 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return None


def png_bytes(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """Lossless PNG of an RGB8 array (level 1: fast, still lossless)."""
    import io

    from PIL import Image as PILImage

    buf = io.BytesIO()
    PILImage.fromarray(pixels).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def atomic_write(path, data: bytes) -> None:
    """Write to <path>.<pid>.tmp, then rename: readers never see a partial file, and a temp file
    left by a killed process names its writer (Store.clean_stale_tmp)."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_png(path, pixels: np.ndarray, compress_level: int = 1) -> None:
    """Atomic lossless PNG write."""
    atomic_write(path, png_bytes(pixels, compress_level))


YCBCR = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}  # (Kr, Kb)


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str = "bt709", limited: bool = False):
    """RGB (0-255 scale) as unrounded Y', Cb, Cr planes on the 8-bit scale, Cb and Cr centred on 128:
    Y' = Kr R + Kg G + Kb B, Cb = (B - Y') / (2 (1 - Kb)), Cr = (R - Y') / (2 (1 - Kr)); limited range scales
    them by 219 / 255 (+16) and 224 / 255 first. The one RGB -> Y'CbCr rule: metrics and codec inputs round it
    their own way (ycbcr8, bench.adapters.external.rgb_to_yuv)."""
    kr, kb = YCBCR[matrix]
    x = rgb.astype(np.float64)
    y = kr * x[..., 0] + (1 - kr - kb) * x[..., 1] + kb * x[..., 2]
    cb = (x[..., 2] - y) / (2 * (1 - kb))
    cr = (x[..., 0] - y) / (2 * (1 - kr))
    if limited:
        y, cb, cr = 16 + y * 219 / 255, cb * 224 / 255, cr * 224 / 255
    return y, cb + 128, cr + 128


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, matrix: str = "bt709", limited: bool = False):
    """The inverse of rgb_to_ycbcr for same-size planes (8-bit scale, Cb and Cr centred on 128): unrounded RGB,
    H x W x 3; decoders round it their own way."""
    kr, kb = YCBCR[matrix]
    cb, cr = cb - 128, cr - 128
    if limited:
        y, cb, cr = (y - 16) * 255 / 219, cb * 255 / 224, cr * 255 / 224
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    return np.stack([r, (y - kr * r - kb * b) / (1 - kr - kb), b], -1)


def ycbcr8(rgb: np.ndarray, matrix: str = "bt709") -> np.ndarray:
    """8-bit RGB as 8-bit Y'CbCr (H x W x 3): rgb_to_ycbcr in full range, 4:4:4, rounded half-up and clipped
    (the convention of the libvmaf and per-plane PSNR rows)."""
    return np.clip(np.floor(np.stack(rgb_to_ycbcr(rgb, matrix), -1) + 0.5), 0, 255).astype(np.uint8)
