"""The static ffmpeg of the imageio-ffmpeg wheel (extra `ctc`, built with libvmaf, libvvenc and libaom): found
in one place for the codecs (bench.adapters.ffmpeg) and the metrics (bench.metrics.vmaf_backend) that run it."""
from __future__ import annotations

import functools
import subprocess

INSTALL = "pip install 'percept-bench[ctc]'"


@functools.lru_cache(maxsize=None)
def executable() -> str | None:
    """The path of the wheel's ffmpeg, or None when imageio-ffmpeg is not installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=None)
def version_line(exe: str) -> str:
    """The first line of `ffmpeg -version`: the build, for cache keys and provenance."""
    out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=60).stdout
    return out.splitlines()[0] if out else "ffmpeg"
