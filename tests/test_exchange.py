"""Result files in and out on small fixtures: CompressAI JSON and tensorflow-compression text read as
their projects write them, exported curves read back exactly, malformed files named with the fix."""
import json

import pytest

from bench.analysis.aggregate import Curve
from bench.errors import BenchError
from bench.report import exchange as X


def test_compressai_json_keys_and_lengths(tmp_path):
    p = tmp_path / "bpg.json"
    p.write_text(json.dumps({"name": "BPG", "description": "x265", "results": {
        "bpp": [0.1, 0.2], "psnr-rgb": [30, 32], "ms-ssim-rgb": [0.9, 0.95], "encoding_time": [1, 2]}}))
    name, desc, curves = X.read_compressai(p)
    assert name == "BPG" and desc == "BPG: x265"
    assert curves == {"psnr": ([0.1, 0.2], [30.0, 32.0]), "ms-ssim": ([0.1, 0.2], [0.9, 0.95])}
    p.write_text(json.dumps({"name": "x", "results": {"bpp": [0.1, 0.2], "psnr": [30]}}))
    with pytest.raises(BenchError, match="has 1 values for 2 bpp values"):
        X.read_compressai(p)
    p.write_text("{not json")
    with pytest.raises(BenchError, match="not a CompressAI result JSON"):
        X.read_compressai(p)


def test_tfc_text_metric_from_folder_and_bad_lines(tmp_path):
    d = tmp_path / "PSNR_sRGB_RGB"
    d.mkdir()
    p = d / "balle.txt"
    p.write_text('# Aggregate data for "Balle 2018".\n# bpp, value\n\n0.1, 28.5\n0.2, 30.25\n')
    assert X.read_tfc(p) == ("Balle 2018", {"psnr": ([0.1, 0.2], [28.5, 30.25])})
    p.write_text("0.1, 28.5\n0.2 30\n")
    with pytest.raises(BenchError, match=r"balle.txt:2: expected 'bpp, value'"):
        X.read_tfc(p)
    q = tmp_path / "unknown" / "x.txt"
    q.parent.mkdir()
    q.write_text("0.1, 1\n")
    with pytest.raises(BenchError, match="cannot tell the metric"):
        X.read_tfc(q)


def test_exports_read_back_bit_exactly(tmp_path):
    third = 1 / 3
    cvs = {("jpeg", "psnr"): Curve("jpeg", "psnr", [0.1 + third, 0.7], [30 + third, 35.125], [0, 1]),
           ("jpeg", "ms-ssim"): Curve("jpeg", "ms-ssim", [0.1 + third, 0.7], [0.9 + third / 10, 0.99], [0, 1])}
    [f] = X.export_compressai(cvs, tmp_path / "cai", "test")
    _, _, back = X.read_compressai(f)
    assert back == {"psnr": ([0.1 + third, 0.7], [30 + third, 35.125]),
                    "ms-ssim": ([0.1 + third, 0.7], [0.9 + third / 10, 0.99])}
    files = X.export_tfc(cvs, tmp_path / "tfc", "test")
    got = {}
    for f in files:
        got.update(X.read_tfc(f)[1])
    assert got == back
