"""IW-SSIM against the original authors' MATLAB value."""
import numpy as np
import pytest


def test_iw_ssim_equals_the_authors_matlab_value():
    """IW-SSIM (piq, reference first) on the TID2013 pair piq tests with: the authors' MATLAB iwssim gives
    0.946804801436296 (piq's tests/test_iw_ssim.py); the other argument order gives 0.94624."""
    from conftest import SHARED, need
    from PIL import Image

    from bench.metrics import score as metric_score

    d = SHARED / "datasets" / "iqa_calibration" / "tid2013_piq_pair"
    need(d, "the TID2013 pair piq tests with")
    ref = np.asarray(Image.open(d / "I01.BMP").convert("RGB"))
    dist = np.asarray(Image.open(d / "i01_01_5.bmp").convert("RGB"))
    assert metric_score("iw-ssim", ref, dist) == pytest.approx(0.946804801436296, abs=1e-5)
