"""Where the metrics' networks run: `--device auto|cpu|cuda[:N]` (env BENCH_DEVICE, inherited by
worker processes and sent to Dask workers with each task).

LPIPS, DISTS, the FID/KID feature networks and pyiqa's metrics run there; PSNR / SSIM / MS-SSIM
and the piq classical metrics stay on the CPU (their calibrated numbers), and so do learned
codecs, whose entropy coding must give the same bitstream on every machine. `auto` is CUDA when
torch sees a device. A score computed on a GPU is a different cache entry from the CPU's (its
last digits differ): the metric's version key names the device.
"""
from __future__ import annotations

import contextlib
import functools
import os

from .errors import BenchError

ENV = "BENCH_DEVICE"


def requested() -> str:
    """The device this process was asked for (env BENCH_DEVICE; default cpu)."""
    return os.environ.get(ENV, "cpu") or "cpu"


@contextlib.contextmanager
def requesting(want: str | None):
    """BENCH_DEVICE set to `want` for the duration (worker processes inherit it), then restored:
    the setting of one call, not of the process (bench.main may be called again, e.g. by tests)."""
    before = os.environ.get(ENV)
    if want is not None:
        os.environ[ENV] = want
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = before


def device() -> str:
    """The resolved device of this process ('cpu', 'cuda', 'cuda:1', ...)."""
    return _resolve(requested())


@functools.lru_cache(maxsize=None)
def _resolve(want: str) -> str:
    if want == "cpu":
        return "cpu"  # without importing torch
    if want != "auto" and not (want == "cuda" or (want.startswith("cuda:") and want[5:].isdigit())):
        raise BenchError(f"--device {want!r}: valid devices are auto, cpu, cuda, cuda:N")
    import torch

    if want == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise BenchError(f"--device {want}: torch sees no CUDA device here (torch {torch.__version__}, "
                         "torch.cuda.is_available() is False); use --device cpu or --device auto")
    index = int(want[5:]) if ":" in want else 0
    if index >= torch.cuda.device_count():
        raise BenchError(f"--device {want}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return want


def kind() -> str:
    """'cpu' or 'cuda': what a score's cache key names (the index of identical GPUs does not
    change a number, and pool workers each see their own GPU as cuda:0)."""
    return device().split(":")[0]


def visible_gpus() -> list[str]:
    """The GPU ids this process may use, without importing torch: CUDA_VISIBLE_DEVICES when set,
    else the NVIDIA driver's list (Linux); [] on a machine without one."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and not g.strip().startswith("-")]
    try:
        return [str(i) for i in range(len(os.listdir("/proc/driver/nvidia/gpus")))]
    except OSError:
        return []


def pin_gpu(slot: int) -> None:
    """One GPU per worker process: with --device auto or cuda and several GPUs visible, worker
    `slot` sees only GPU slot % count (as cuda:0). Must run before torch initialises CUDA in the
    process; an explicit cuda:N is the user's choice and is left alone."""
    gpus = visible_gpus()
    if requested() in ("auto", "cuda") and len(gpus) > 1:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
