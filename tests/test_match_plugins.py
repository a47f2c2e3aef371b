
import numpy as np
import pytest

from bench.adapters import load_codec
from bench.analysis.match import match


def test_matched_rate_lands_within_one_step_of_the_brute_force_answer(kodim):
    img = np.ascontiguousarray(kodim[:256, :384])
    codec = load_codec("jpeg")
    bpp = {q: 8 * codec.adapter.encode(img, q).rate_bytes / (256 * 384) for q in range(1, 101)}
    for target in (0.25, 0.8, 1.5):
        best = min(bpp, key=lambda q: abs(bpp[q] - target))
        r = match("jpeg", img, bpp=target)
        assert abs(r.point - best) <= 1, (target, r.point, best)
        assert r.bpp == pytest.approx(bpp[r.point])
        assert len(r.evaluations) < 12  # bisection, not a scan


def test_matched_metric_value_is_bracketed_within_one_step(kodim):
    from bench import metrics as M

    img = np.ascontiguousarray(kodim[:256, :384])
    r = match("jpeg2000", img, metric="psnr", value=32.0)
    c = load_codec("jpeg2000")
    step = c.card["ladder"]["step"]
    below, above = (M.score("psnr", img, c.adapter.decode(c.adapter.encode(img, p).data)) for p in
                    (r.point - step, r.point + step))
    assert below <= 32.0 <= above or abs(r.value - 32.0) < 0.05


def _card(tmp_path, adapter):
    d = tmp_path / "cards" / "codecs"
    d.mkdir(parents=True, exist_ok=True)
    (d / "pj.toml").write_text(f'id = "pj"\nadapter = "{adapter}"\n[ladder]\npoints = [10, 50, 90]\n')
    return tmp_path / "cards"


def test_card_can_name_module_class(tmp_path, monkeypatch, astronaut, capsys):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    monkeypatch.setenv("BENCH_CARDS", str(_card(tmp_path, "plugin_example:PillowJpeg")))
    c = load_codec("pj")
    assert c.origin == "card (module:Class)"
    assert c.adapter.decode(c.adapter.encode(astronaut, 50).data).shape == astronaut.shape
    from bench.cli import main

    main(["list", "codecs"])
    assert "card (module:Class)" in capsys.readouterr().out


def test_entry_point_plugin_is_found_and_labelled(tmp_path, monkeypatch):
    """A distribution's entry point in the percept_bench.adapters group, as pip would install it."""
    from conftest import installed_plugin

    installed_plugin(monkeypatch, tmp_path / "site", "pillow-jpeg-plugin", "percept_bench.adapters",
                     "pillow-jpeg = plugin_example:PillowJpeg")
    monkeypatch.setenv("BENCH_CARDS", str(_card(tmp_path, "pillow-jpeg")))
    c = load_codec("pj")
    assert c.origin.startswith("plugin (entry point percept_bench.adapters)")
    assert type(c.adapter).__name__ == "PillowJpeg"
