"""Metrics computed by the reference tools themselves (libjxl's butteraugli_main), found like bpgenc: on
PATH, or through BENCH_<TOOL> (e.g. BENCH_BUTTERAUGLI_MAIN=/opt/libjxl/bin/butteraugli_main).

Butteraugli reads the PNGs as sRGB, converts to linear light at an intensity target of 80 nits (the
tool's default, stated in the rows), and reports the maximum of its distance map and its 3-norm.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..errors import MetricError, MetricUnavailable

INSTALL = {"butteraugli_main": "Debian: apt-get install libjxl-devtools; or build libjxl's tools"}


def binary(name: str) -> str:
    """The path of a reference tool: BENCH_<NAME>, else PATH; MetricUnavailable saying how to get it."""
    env = f"BENCH_{name.upper()}"
    path = os.environ.get(env) or shutil.which(name)
    if not path or not Path(path).is_file():
        raise MetricUnavailable(f"{name} not found ({INSTALL.get(name, 'install it')}), or set {env} to the binary")
    return path


def butteraugli(ref: np.ndarray, dist: np.ndarray, stat: str = "max", intensity_target: float = 80.0) -> float:
    """Butteraugli of a pair by libjxl's butteraugli_main: its maximum ('max') or its 3-norm ('3-norm')."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="bench-butteraugli-") as tmp:
        t = Path(tmp)
        Image.fromarray(ref).save(t / "ref.png")
        Image.fromarray(dist).save(t / "dist.png")
        res = subprocess.run([binary("butteraugli_main"), "ref.png", "dist.png", "--pnorm", "3", "--intensity_target",
                              f"{intensity_target:g}"], cwd=t, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise MetricError(f"butteraugli_main failed ({res.returncode}): {res.stderr.strip()[-300:]}")
    return parse_butteraugli(res.stdout)[stat]


def parse_butteraugli(stdout: str) -> dict:
    """{'max': ..., '3-norm': ...} from butteraugli_main's output (the max on the first line)."""
    lines = [x.strip() for x in stdout.strip().splitlines() if x.strip()]
    norm = next((re.search(r"3-norm:\s*([0-9.eE+-]+)", x) for x in lines if "3-norm" in x), None)
    try:
        return {"max": float(lines[0]), "3-norm": float(norm.group(1))}
    except (IndexError, ValueError, AttributeError):
        raise MetricError(f"butteraugli_main printed something unexpected: {stdout[:200]!r}") from None
