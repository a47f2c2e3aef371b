"""The study estimator against ground truth and an independent implementation (choix), the bootstrap's
coverage, active sampling against random pairs, and the human-scale BD-rate in closed form."""
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.analysis import pairwise as pw

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import study_simulation as sim  # noqa: E402


def _data(seed=1, n=6, k=800):
    rng = np.random.default_rng(seed)
    true = np.linspace(-1.5, 1.5, n)
    return true, sim.simulate(rng, true, k)


def test_fit_equals_choix_on_the_same_data():
    choix = pytest.importorskip("choix")
    _, j = _data()
    data = [(int(a), int(b)) if y == 1 else (int(b), int(a)) for a, b, y in zip(j.a, j.b, j.y)]
    c = choix.opt_pairwise(j.n, data, alpha=pw.PENALTY)  # the same penalised likelihood, by scipy's optimiser
    assert np.max(np.abs(pw.fit(j) - (c - c.mean()))) < 1e-6
    c = choix.ilsr_pairwise(j.n, data, alpha=0)  # the plain MLE, by a spectral method
    assert np.max(np.abs(pw.fit(j, penalty=0) - (c - c.mean()))) < 1e-6


def test_fit_recovers_known_strengths_and_ties_count_half():
    true, j = _data(k=20000)
    assert np.max(np.abs(pw.fit(j) - (true - true.mean()))) < 0.06
    # closed form: 0 beat 1 once, 1 beat 0 once, one tie -> equal strengths; 0 beat 1 3 times, 1 beat 0 once -> log 3
    assert pw.fit(pw.Judgements.of([0, 1, 0], [1, 0, 1], [1, 1, 0.5], n=2), penalty=0) == pytest.approx([0, 0], abs=1e-9)
    s = pw.fit(pw.Judgements.of([0, 0, 0, 1], [1, 1, 1, 0], [1, 1, 1, 1], n=2), penalty=0)
    assert s[0] - s[1] == pytest.approx(np.log(3))
    assert pw.elo(s, 1)[0] == pytest.approx(400 * np.log10(3))


def test_bootstrap_intervals_cover_the_truth():
    """Measured coverage (scripts/study_simulation.py, 200 studies, no image effects): judgement 0.936,
    image 0.900, image+rater 0.991; here 40 studies, with a tolerance for that size."""
    c = sim.coverage(40, resamples=150)
    assert 0.88 <= c["judgement"] <= 0.99
    assert c["image+rater"] >= 0.93  # conservative when raters add no variance of their own


def test_active_sampling_needs_fewer_judgements_than_random_pairs():
    r, a, f = sim.saving(12, sim.SCENARIOS["12 conditions spread like 4 codecs x 3 rates"])
    assert f > 1.2, (r, a)


def test_human_bd_rate_in_closed_form():
    # the test codec reaches every score at half the anchor's rate: -50 %
    assert pw.linear_bd_rate([0.2, 0.4, 0.8], [0, 100, 200], [0.1, 0.2, 0.4], [0, 100, 200]) == pytest.approx(-50)
    assert np.isnan(pw.linear_bd_rate([0.2, 0.4], [0, 100], [0.1, 0.2], [300, 400]))  # no overlap
    assert np.isnan(pw.linear_bd_rate([0.2, 0.4], [100, 0], [0.1, 0.2], [0, 100]))  # quality falls with rate


def test_preference_agreement_counts_ties_as_half():
    got = pw.preference_agreement([1, 0, 0.5, 1], [1, 1, 1, 0.5])
    assert list(got) == [1, 0, 0.5, 0.5]
