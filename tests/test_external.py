"""External codecs by card, and BPG proper (real bpgenc when on PATH, else a test double)."""
import os
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.adapters import load_codec
from bench.adapters.external import ExternalAdapter
from bench.errors import CardError, CodecError
from bench.metrics.classic import psnr

FAKES = Path(__file__).parent / "fakes"


@pytest.fixture(autouse=True)
def venv_python_first(monkeypatch):
    # the doubles are Python scripts: run them with this interpreter's environment
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def bpg(monkeypatch):
    if shutil.which("bpgenc") and shutil.which("bpgdec"):
        print("BPG contract tested with the real bpgenc/bpgdec found on PATH")
        return "real"
    monkeypatch.setenv("BENCH_BPGENC", str(FAKES / "bpgenc"))
    monkeypatch.setenv("BENCH_BPGDEC", str(FAKES / "bpgdec"))
    print("bpgenc not on PATH: BPG contract tested with the test double tests/fakes/bpgenc")
    return "double"


def test_bpg_round_trip_and_rate_ladder(bpg, astronaut):
    c = load_codec("bpg-444")
    ok, why = c.adapter.available()
    assert ok, why
    assert ("testdouble" in c.adapter.library_version()) == (bpg == "double")
    img = np.ascontiguousarray(astronaut[:61, :97])
    sizes = []
    for qp in (45, 34, 22):
        e = c.adapter.encode(img, qp)
        rec = c.adapter.decode(e.data, qp, shape=img.shape)
        assert rec.shape == img.shape and e.rate_bytes == len(e.data)
        sizes.append(len(e.data))
    assert sizes[0] < sizes[1] < sizes[2], f"bytes should grow as QP falls ({bpg}): {sizes}"


def test_missing_bpg_is_unavailable_and_a_run_skips_it(monkeypatch, tmp_path, small_dir, capsys):
    from bench.cli import main

    monkeypatch.setenv("BENCH_BPGENC", str(tmp_path / "nope" / "bpgenc"))
    monkeypatch.setenv("BENCH_BPGDEC", str(tmp_path / "nope" / "bpgdec"))
    ok, why = load_codec("bpg-444").adapter.available()
    assert not ok and "not found" in why and "bellard.org/bpg" in why
    args = ["run", "--dataset", str(small_dir), "--codec", "jpeg", "--codec", "bpg-444", "--anchor", "jpeg",
            "--metric", "psnr", "--out", str(tmp_path / "o"), "--no-progress"]
    assert main(args) == 1  # a requested codec was skipped: CI must notice
    assert "codec bpg-444 skipped" in capsys.readouterr().err
    assert main(args + ["--allow-skips"]) == 0


def card(tmp_path, **params):
    base = {"encode": [str(FAKES / "yuv_codec"), "enc", "{input}", "{output}", "{point}", "{width}", "{height}"],
            "decode": [str(FAKES / "yuv_codec"), "dec", "{input}", "{output}"],
            "input_format": "yuv444", "output_format": "yuv444", "timeout": 20}
    base.update(params)
    return {"id": "ext-test", "adapter": "external", "params": base, "ladder": {"points": [1, 8, 32]}}


@pytest.mark.parametrize("fmt,min_db", [("yuv444", 45), ("yuv420", 30)])
def test_yuv_intermediate_round_trip(tmp_path, astronaut, fmt, min_db):
    a = ExternalAdapter(card(tmp_path, input_format=fmt, output_format=fmt))
    img = np.ascontiguousarray(astronaut[:61, :97])
    rec = a.decode(a.encode(img, 1).data, 1, shape=img.shape)
    assert rec.shape == img.shape and psnr(img, rec) > min_db
    coarse = a.decode(a.encode(img, 32).data, 32, shape=img.shape)
    assert psnr(img, coarse) < psnr(img, rec)


@pytest.mark.parametrize("bad", ["x;rm -rf /", "a|b", "$(whoami)", "`id`", "out>file"])
def test_shell_syntax_in_a_template_is_rejected(tmp_path, bad):
    with pytest.raises(CardError, match="shell syntax"):
        ExternalAdapter(card(tmp_path, encode=[str(FAKES / "yuv_codec"), "enc", bad]))
    with pytest.raises(CardError, match="shell syntax"):
        ExternalAdapter(card(tmp_path, decode=f"{FAKES / 'yuv_codec'} dec {bad}"))


def test_failing_and_hanging_commands_are_recorded_failures(tmp_path, astronaut, monkeypatch, small_dir):
    fail = ExternalAdapter(card(tmp_path, encode=[str(FAKES / "failing_codec"), "fail"]))
    with pytest.raises(CodecError, match="(?s)exited 3.*simulated encoder failure"):
        fail.encode(astronaut, 1)
    hang = ExternalAdapter(card(tmp_path, encode=[str(FAKES / "failing_codec"), "hang"], timeout=1))
    with pytest.raises(CodecError, match="ran past its timeout of 1 s"):
        hang.encode(astronaut, 1)
    # in a run: a card of its own, every point fails, the run goes on and records stderr
    cards = tmp_path / "cards" / "codecs"
    cards.mkdir(parents=True)
    (cards / "broken.toml").write_text(
        f'id = "broken"\nadapter = "external"\n[params]\nencode = ["{FAKES / "failing_codec"}", "fail"]\n'
        f'decode = ["{FAKES / "failing_codec"}", "fail"]\n[ladder]\npoints = [1, 2]\n')
    monkeypatch.setenv("BENCH_CARDS", str(tmp_path / "cards"))
    from bench.cli import main

    out = tmp_path / "o"
    assert main(["run", "--dataset", str(small_dir), "--codec", "jpeg", "--codec", "broken", "--anchor", "jpeg",
                 "--metric", "psnr", "--out", str(out), "--no-progress"]) == 1
    db = sqlite3.connect(out / "bench.sqlite")
    msgs = [m for (m,) in db.execute("SELECT message FROM failures WHERE codec='broken'")]
    assert len(msgs) == 4 and all("simulated encoder failure" in m for m in msgs)
    assert db.execute("SELECT COUNT(*) FROM encodings WHERE codec='jpeg'").fetchone()[0] == 16
