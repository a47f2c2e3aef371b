import pytest

from bench.analysis.bdrate import bd_rate
from bench.errors import BDRateError

R = [0.1, 0.25, 0.5, 1.0, 2.0]
PSNR = [26.0, 29.0, 32.0, 35.5, 39.0]
LPIPS = [0.45, 0.30, 0.18, 0.09, 0.04]


@pytest.mark.parametrize("values,hib", [(PSNR, True), (LPIPS, False)])
@pytest.mark.parametrize("factor,expected", [(1.1, 10.0), (0.9, -10.0)])
def test_scaled_rate_gives_exact_bd_rate(values, hib, factor, expected):
    r = bd_rate(R, values, [x * factor for x in R], values, higher_is_better=hib)
    assert r.value == pytest.approx(expected, abs=1e-9)
    assert r.overlap_fraction == pytest.approx(1.0)
    assert r.overlap == (min(values), max(values))


def test_methods_agree_on_scaled_curves():
    for m in ("pchip", "akima", "cubic"):
        assert bd_rate(R, PSNR, [x * 1.1 for x in R], PSNR, higher_is_better=True, method=m).value == pytest.approx(10.0)


def test_partial_overlap_is_reported():
    r = bd_rate(R, PSNR, R, [v + 2 for v in PSNR], higher_is_better=True)
    assert r.overlap == (28.0, 39.0)
    assert r.overlap_fraction == pytest.approx(11 / 15)
    assert r.value < 0  # better quality at every rate -> fewer bits


def test_lower_is_better_sign_convention():
    # worse (higher) LPIPS at the same rates -> more bits needed -> positive BD-rate
    r = bd_rate(R, LPIPS, R, [v * 1.2 for v in LPIPS], higher_is_better=False)
    assert r.value > 0


def test_errors_are_typed_and_clear():
    with pytest.raises(BDRateError, match="at least 4"):
        bd_rate(R[:3], PSNR[:3], R, PSNR, higher_is_better=True)
    with pytest.raises(BDRateError, match="monotone"):
        bd_rate(R, [26, 29, 28, 35, 39], R, PSNR, higher_is_better=True)
    with pytest.raises(BDRateError, match="no overlap"):
        bd_rate(R, PSNR, R, [v + 20 for v in PSNR], higher_is_better=True)
    with pytest.raises(BDRateError, match="non-finite"):
        bd_rate(R, PSNR[:-1] + [float("inf")], R, PSNR, higher_is_better=True)
