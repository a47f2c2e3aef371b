"""Butteraugli by libjxl's own butteraugli_main (issue 26): our rows equal the tool run by hand on the same
files, its output is parsed as it prints it, and without the tool the rows are unavailable, saying how
to get it."""
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from bench import metrics as metric_table
from bench.metrics.tools import parse_butteraugli


def test_the_tools_output_is_parsed_as_printed():
    assert parse_butteraugli("4.3334736824\n3-norm: 2.122693\n") == {"max": 4.3334736824, "3-norm": 2.122693}


def test_rows_equal_the_tool_by_hand(tmp_path, astronaut):
    exe = shutil.which("butteraugli_main")
    if exe is None:
        pytest.skip("butteraugli_main not installed (Debian: apt-get install libjxl-devtools)")
    ref = np.ascontiguousarray(astronaut[:160, :200])
    Image.fromarray(ref).save(tmp_path / "ref.png")
    Image.fromarray(ref).save(tmp_path / "d.jpg", quality=25)
    dist = np.asarray(Image.open(tmp_path / "d.jpg").convert("RGB"))
    Image.fromarray(dist).save(tmp_path / "dist.png")
    out = subprocess.run([exe, str(tmp_path / "ref.png"), str(tmp_path / "dist.png"), "--pnorm", "3"],
                         capture_output=True, text=True, check=True).stdout
    by_hand = parse_butteraugli(out)
    assert metric_table.score("butteraugli", ref, dist) == by_hand["max"] > 1.0
    assert metric_table.score("butteraugli-3norm", ref, dist) == by_hand["3-norm"]
    assert metric_table.score("butteraugli", ref, ref) == 0.0


def test_without_the_tool_the_rows_are_unavailable(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("BENCH_BUTTERAUGLI_MAIN", str(tmp_path / "nowhere"))
    metric_table.backend_version.cache_clear()  # found once per process: this test changes the machine
    try:
        ok, why = metric_table.availability("butteraugli")
    finally:
        metric_table.backend_version.cache_clear()
    assert not ok and "butteraugli_main not found (Debian: apt-get install libjxl-devtools" in why
    assert "BENCH_BUTTERAUGLI_MAIN" in why
