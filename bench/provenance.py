"""What a result depends on, for manifests and table captions: package versions, the git commit
of the checkout percept-bench runs from (the metrics' own provenance: bench.metrics.provenance)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGES = ("percept-bench", "numpy", "pillow", "imagecodecs", "torch", "pytorch-msssim", "lpips", "piq",
            "pyiqa", "bjontegaard", "scikit-image", "compressai", "pillow-heif", "dask", "distributed", "pandas")


def versions() -> dict:
    """Versions of the packages whose numbers a run depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for d in PACKAGES:
        try:
            out[d] = version(d)
        except PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    """The commit of the checkout this package is imported from (with '+dirty'), else None."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return None
    try:
        sha = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (sha + ("+dirty" if dirty else "")) or None
