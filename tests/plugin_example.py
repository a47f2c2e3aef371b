"""A third-party adapter as a plugin would ship it: JPEG via Pillow, nothing from bench but the base."""
import io

import numpy as np
from PIL import Image

from bench.adapters.base import Adapter, Encoded


class PillowJpeg(Adapter):
    name = "pillow-jpeg"
    version = "1"

    def library_version(self):
        import PIL

        return f"Pillow {PIL.__version__}"

    def encode(self, pixels, point):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "JPEG", quality=int(point))
        return Encoded(buf.getvalue(), len(buf.getvalue()))

    def decode(self, data, point=None, shape=None):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class Raising(PillowJpeg):
    """Fails on one rate point (quality 50) with an exception, like a buggy adapter would."""

    def encode(self, pixels, point):
        if int(point) == 50:
            raise RuntimeError("adapter bug at quality 50")
        return super().encode(pixels, point)


class Sleepy(PillowJpeg):
    """Hangs on one rate point (quality 50)."""

    def encode(self, pixels, point):
        if int(point) == 50:
            import time

            time.sleep(120)
        return super().encode(pixels, point)


class Identity(PillowJpeg):
    """Lossless: a PNG of the pixels (exact reconstruction, PSNR = +inf)."""

    def encode(self, pixels, point):
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG")
        return Encoded(buf.getvalue(), len(buf.getvalue()))


class StuckInC(PillowJpeg):
    """Hangs on quality 50 the way C code does: SIGALRM is blocked, so no Python handler can run."""

    def encode(self, pixels, point):
        if int(point) == 50:
            import signal
            import time

            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
            time.sleep(120)
        return super().encode(pixels, point)


def mean_abs_error(ref, dist, scale=1.0):
    """A metric as a researcher would write it: uint8 arrays in, a float out."""
    return scale * float(np.mean(np.abs(ref.astype(np.float64) - dist.astype(np.float64))))


def metric_rows():
    """What a `percept_bench.metrics` entry point may return: rows of the metric table."""
    from bench.metrics.table import Metric

    return [Metric("mae-plugin", "fr", False, (0, 255), "RGB", "[0,255]", "module:plugin_example",
                   "plugin_example:mean_abs_error", ideal=0.0, note="mean absolute error, from an entry point")]


def sharpness(img):
    """A no-reference score: mean absolute horizontal gradient (a stand-in for NIQE in tests)."""
    return float(np.mean(np.abs(np.diff(img.astype(np.float64), axis=1))))
