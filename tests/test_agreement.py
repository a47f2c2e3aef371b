"""Metric-human agreement (bench validate-metrics). All rated sets here are SYNTHETIC: no human-rated
set is available offline, so the ratings are made from known functions of the distortion."""
import numpy as np
import pytest
from PIL import Image
from scipy import stats

from bench.analysis.agreement import agreement, agreement_2afc, correlations, fit_logistic, logistic4, two_afc
from bench.cli import main


def test_correlations_equal_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = np.tanh(x) * 3 + rng.normal(0, 0.3, 200)
    c = correlations(x, y)
    assert c["srocc"] == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert c["krocc"] == pytest.approx(stats.kendalltau(x, y)[0], abs=1e-12)
    assert c["plcc"] == pytest.approx(stats.pearsonr(logistic4(x, *fit_logistic(x, y)), y)[0], abs=1e-12)
    assert c["plcc"] > stats.pearsonr(x, y)[0]  # the fit linearises a saturating relation


def test_logistic_fit_recovers_known_parameters():
    x = np.linspace(10, 50, 300)
    y = logistic4(x, 5.0, 1.0, 30.0, 4.0) + np.random.default_rng(1).normal(0, 0.01, 300)
    b1, b2, b3, b4 = fit_logistic(x, y)
    assert (b1, b2, b3, abs(b4)) == pytest.approx((5.0, 1.0, 30.0, 4.0), rel=0.02)


def test_bootstrap_interval_contains_the_population_value():
    rho = 0.6
    population_srocc = 6 / np.pi * np.arcsin(rho / 2)  # bivariate normal
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], 800)
    a = agreement("synthetic", z[:, 0], z[:, 1], resamples=400, seed=0)
    lo, hi = a.ci["srocc"]
    assert lo < a.values["srocc"] < hi and lo < population_srocc < hi and hi - lo < 0.15


def test_two_afc_scores():
    assert two_afc([1, 2, 3], [2, 1, 3], [0.9, 0.8, 0.6]) == pytest.approx((0.9 + 0.2 + 0.5) / 3)
    a = agreement_2afc("m", [1] * 50, [2] * 50, [0.8] * 50, resamples=100)
    assert a.values["2afc"] == pytest.approx(0.8) and a.ci["2afc"] == pytest.approx((0.8, 0.8))


@pytest.fixture
def rated(tmp_path, astronaut):
    """Synthetic: Gaussian noise at 8 levels on 2 crops; 'MOS' = a logistic of the pair's PSNR,
    computed here by hand (numpy), so PSNR orders the pairs exactly as the 'people' do."""
    rng = np.random.default_rng(0)
    rows = ["ref,dist,score"]
    for k, (y, x) in enumerate([(0, 0), (200, 200)]):
        ref = astronaut[y:y + 192, x:x + 192]
        Image.fromarray(ref).save(tmp_path / f"r{k}.png")
        for s in (2, 4, 6, 9, 12, 16, 22, 30):
            d = np.clip(ref + rng.normal(0, s, ref.shape), 0, 255).astype(np.uint8)
            Image.fromarray(d).save(tmp_path / f"d{k}_{s}.png")
            mse = np.mean((ref.astype(float) - d.astype(float)) ** 2)
            mos = 5 / (1 + np.exp(-(10 * np.log10(255 ** 2 / mse) - 30) / 3))
            rows.append(f"r{k}.png,d{k}_{s}.png,{float(mos)!r}")
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "set.toml").write_text('id = "synthetic"\nformat = "csv"\npublished = "tid2013"\n')
    refs = tmp_path / "refs" / "references"
    refs.mkdir(parents=True)
    (refs / "metric_human_correlations.csv").write_text(
        "dataset,metric,srcc,plcc,krcc,source,notes\ntid2013,psnr,0.687,0.677,0.496,a published table,\n")
    return tmp_path


def test_psnr_orders_a_psnr_driven_set_perfectly(rated, capsys):
    assert main(["validate-metrics", str(rated / "set.toml"), "--metric", "psnr", "--metric", "ssim",
                 "--resamples", "200", "--data-dir", str(rated / "refs")]) == 0
    out = capsys.readouterr().out
    row = next(ln for ln in out.splitlines() if ln.startswith("| psnr |"))
    assert row.startswith("| psnr | 1.0000 [1.0000, 1.0000] | 1.0000") and "0.687 / 0.677 / 0.496" in row
    assert "16 pairs" in out


def test_dmos_and_lower_is_better_metrics_keep_positive_agreement(rated, capsys):
    text = (rated / "ratings.csv").read_text().splitlines()
    dmos = [text[0]] + [",".join(r.split(",")[:2] + [repr(5 - float(r.split(",")[2]))]) for r in text[1:]]
    (rated / "dmos.csv").write_text("\n".join(dmos) + "\n")
    (rated / "dmos.toml").write_text('format = "csv"\ntable = "dmos.csv"\nscore = "dmos"\n')
    assert main(["validate-metrics", str(rated / "dmos.toml"), "--metric", "psnr", "--resamples", "50"]) == 0
    assert "| psnr | 1.0000" in capsys.readouterr().out


def test_2afc_card(rated, capsys):
    rows = ["ref,a,b,p_a"] + [f"r0.png,d0_{a}.png,d0_{b}.png,0.75" for a, b in [(2, 9), (4, 12), (6, 16), (9, 22)]]
    (rated / "t.csv").write_text("\n".join(rows) + "\n")
    (rated / "t.toml").write_text('format = "csv-2afc"\ntable = "t.csv"\n')
    assert main(["validate-metrics", str(rated / "t.toml"), "--metric", "psnr", "--resamples", "50"]) == 0
    assert "| psnr | 0.7500" in capsys.readouterr().out


@pytest.mark.parametrize("card,msg", [
    ('format = "csv"\nroot = "nowhere"\n', "does not exist; download the set"),
    ('format = "xls"\n', "format 'xls'; valid"),
    ('format = "csv"\ntable = "bad.csv"\n', "needs columns ref,dist,score"),
])
def test_bad_rated_cards(rated, card, msg, capsys):
    (rated / "bad.csv").write_text("a,b\n1,2\n")
    (rated / "b.toml").write_text(card)
    assert main(["validate-metrics", str(rated / "b.toml")]) == 2
    assert msg in capsys.readouterr().err
