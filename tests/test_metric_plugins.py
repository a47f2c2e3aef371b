"""New metrics join the table without touching the package: a metric card (`metrics/NAME.toml`,
`module:function`) and an entry point in the `percept_bench.metrics` group, used by a real run."""
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bench import metrics as M
from bench.cli import main
from bench.errors import CardError

TESTS = Path(__file__).parent
CARD = """kind = "fr"
higher_is_better = false
fn = "plugin_example:mean_abs_error"
params = {scale = 2.0}
range = [0, 510]
unit = "2x grey levels"
ideal = 0
version = "3"
note = "twice the mean absolute error"
"""


@pytest.fixture
def card_root(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    d = tmp_path / "cards" / "metrics"
    d.mkdir(parents=True)
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))
    return d


def test_metric_card_row_has_the_built_in_metadata_and_scores(card_root, astronaut):
    (card_root / "mae2.toml").write_text(CARD)
    m = M.get("mae2")
    assert (m.kind, m.higher_is_better, m.range, m.unit, m.version, m.params) == ("fr", False, (0, 510), "2x grey levels",
                                                                                 "3", {"scale": 2.0})
    assert m.origin.startswith("card ") and m.backend == "module:plugin_example"
    b = astronaut.copy()
    b[0, 0, 0] ^= 0xFF
    assert M.score("mae2", astronaut, b) == pytest.approx(2 * np.mean(np.abs(astronaut.astype(float) - b)))
    assert M.score("mae2", astronaut, astronaut) == 0.0
    assert M.version_key("mae2").startswith("3|module:plugin_example sha256 ")  # the code's digest keys the cache


def test_metric_card_in_a_run_and_in_the_table(card_root, small_dir, tmp_path, capsys):
    (card_root / "mae2.toml").write_text(CARD)
    out = tmp_path / "o"
    assert main(["run", "--dataset", str(small_dir), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--metric", "mae2", "--out", str(out), "--no-progress"]) == 0
    assert "mae2 BD-rate (%) ↓" in (out / "leaderboard.md").read_text()
    db = sqlite3.connect(out / "bench.sqlite")
    assert db.execute("SELECT COUNT(*) FROM scores WHERE metric='mae2'").fetchone()[0] == 32
    assert main(["list", "metrics"]) == 0 and "[card " in capsys.readouterr().out


def test_entry_point_plugin(tmp_path, monkeypatch, astronaut):
    from conftest import installed_plugin

    installed_plugin(monkeypatch, tmp_path / "site", "mae-plugin", "percept_bench.metrics",
                     "mae = plugin_example:metric_rows")
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "nothing"))  # a fresh scan
    m = M.get("mae-plugin")
    assert m.origin.startswith("plugin (entry point percept_bench.metrics") and not m.higher_is_better
    assert M.score("mae-plugin", astronaut, astronaut) == 0.0


@pytest.mark.parametrize("text,msg", [
    ('kind = "fr"\nhigher_is_better = true\n', "missing fn"),
    ('kind = "set"\nhigher_is_better = true\nfn = "a:b"\n', "a metric card is 'fr'"),
    ('kind = "fr"\nhigher_is_better = true\nfn = "nocolon"\n', "is not 'module:function'"),
    ('kind = "fr"\nhigher_is_better = true\nfn = "a:b"\nrange = [0]\n', "range must be [low, high]"),
    ('kind = "fr"\nhigher_is_better = true\nfn = "a:b"\ncolor = "RGB"\n', "unknown key(s) color"),
    ('kind = "fr"\nhigher_is_better = true\nfn = "a:b"\nid = "other"\n', "differs from the file name"),
])
def test_bad_metric_cards_name_the_file(card_root, text, msg):
    (card_root / "bad.toml").write_text(text)
    with pytest.raises(CardError, match=f"bad.toml.*{msg}".replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        M.get("bad")


def test_a_card_cannot_shadow_a_built_in_row(card_root, small_dir, tmp_path, capsys):
    (card_root / "psnr.toml").write_text(CARD)
    with pytest.raises(CardError, match="metric 'psnr' already exists"):
        M.rows()
    assert main(["run", "--dataset", str(small_dir), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert "psnr.toml" in capsys.readouterr().err
