"""First contact (issue 25): a weight file that is absent and cannot be fetched makes its metric unavailable
once, up front; options that a mode cannot honour are refused; cards with unknown keys are errors; small
image sets get a warning beside their intervals; `bench --version` answers."""
import pytest

from bench.cli import main


@pytest.fixture
def no_weights(monkeypatch, tmp_path):
    """A machine without the weight files and without a route to download them."""
    import bench.weights as weights

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.delenv("BENCH_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("BENCH_OFFLINE")
    monkeypatch.setattr(weights, "can_download", lambda *a, **k: False)
    weights._configured = None
    yield
    weights._configured = None


def test_list_check_tells_the_truth_without_weights(no_weights, capsys):
    assert main(["list", "metrics", "--check"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("lpips ") and "avail" in x)
    assert "unavailable: alexnet-owt-7be5be79.pth missing — place it in" in line
    assert "it cannot be downloaded now: download.pytorch.org cannot be reached from here" in line
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in line
    assert next(x for x in out.splitlines() if x.startswith("psnr ") and "avail" in x).endswith("available")


def test_a_run_skips_an_unfetchable_metric_once_and_keeps_stdout_clean(no_weights, three_crops, tmp_path, capsys):
    args = ["run", "--dataset", str(three_crops), "--codec", "jpeg", "--metric", "psnr", "--metric", "lpips",
            "--out", str(tmp_path / "r"), "--no-progress"]
    assert main(args) == 1  # a requested metric was skipped
    out, err = capsys.readouterr()
    assert err.count("skipped metric lpips: alexnet-owt-7be5be79.pth missing") == 1
    assert "Downloading" not in out + err and "URLError" not in out + err and "failed [" not in err
    assert main(args + ["--allow-skips"]) == 0
    capsys.readouterr()
    assert main(["score", str(three_crops / "i0.png"), str(three_crops / "i1.png"), "--metric", "psnr", "--json"]) == 0
    import json

    json.loads(capsys.readouterr().out)  # nothing but the result on stdout


def test_table_options_a_mode_cannot_honour_are_refused(tmp_path, three_crops, capsys):
    out = tmp_path / "r"
    assert main(["run", "--dataset", str(three_crops), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--out", str(out), "--no-progress"]) == 0
    before = (out / "leaderboard.md").read_text()
    capsys.readouterr()
    assert main(["table", str(out), "--metric", "psnr", "--sort", "psnr", "--at-bpp", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--metric, --sort, --at-bpp shape a rendered table: add --format md" in err
    assert (out / "leaderboard.md").read_text() == before
    assert "Intervals rest on 3 images" in before  # and the small set is flagged beside its intervals


def test_a_rated_card_with_an_unknown_key_is_an_error(tmp_path, capsys):
    (tmp_path / "ratings.csv").write_text("ref,dist,score\n")
    (tmp_path / "set.toml").write_text('format = "csv"\nfile = "ratings.csv"\n')
    assert main(["validate-metrics", str(tmp_path / "set.toml")]) == 2
    assert "unknown key(s) file; valid:" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("percept-bench ")


def test_a_ladder_on_the_command_line(tmp_path, three_crops, capsys):
    import json
    import sqlite3

    out = tmp_path / "r"
    assert main(["run", "--dataset", str(three_crops), "--codec", "jpeg", "--codec", "webp", "--metric", "psnr",
                 "--points", "30,60,90", "--out", str(out), "--no-progress", "--anchor", "jpeg"]) == 0
    capsys.readouterr()
    db = sqlite3.connect(out / "bench.sqlite")
    assert sorted({r[0] for r in db.execute("SELECT point FROM encodings WHERE codec='jpeg'")}) == ["30", "60", "90"]
    man = json.loads(db.execute("SELECT manifest FROM runs").fetchone()[0])
    assert man["ladder_override"] == [30.0, 60.0, 90.0] and man["codec_cards"]["webp"]["ladder"]["points"] == [30, 60, 90]
    assert main(["run", "--dataset", str(three_crops), "--codec", "jpeg", "--points", "30,x", "--out",
                 str(tmp_path / "x")]) == 2
    assert "--points '30,x': give distinct comma-separated numbers" in capsys.readouterr().err


def test_score_two_folders_pairs_by_name(tmp_path, three_crops, capsys):
    import json

    import numpy as np
    from PIL import Image

    from bench.metrics.classic import psnr

    dist = tmp_path / "dist"
    dist.mkdir()
    want = {}
    for p in sorted(three_crops.iterdir()):
        ref = np.asarray(Image.open(p).convert("RGB"))
        Image.open(p).convert("RGB").save(dist / f"{p.stem}.jpg", quality=40)
        want[p.stem] = psnr(ref, np.asarray(Image.open(dist / f"{p.stem}.jpg").convert("RGB")))
    assert main(["score", str(three_crops), str(dist), "--metric", "psnr", "--metric", "ssim", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {k: v["psnr"] for k, v in doc["images"].items()} == pytest.approx(want)
    assert doc["mean"]["psnr"] == pytest.approx(sum(want.values()) / 3)
    assert main(["score", str(three_crops), str(dist), "--metric", "psnr"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "image,psnr" and lines[-1].startswith("mean,") and len(lines) == 5
    (dist / "extra.png").write_bytes((dist / "i0.jpg").read_bytes())
    assert main(["score", str(three_crops), str(dist), "--metric", "psnr"]) == 2
    assert "no reference in" in capsys.readouterr().err


def test_encode_and_decode_times_as_table_columns(tmp_path, three_crops, capsys):
    import csv
    import io
    import sqlite3

    out = tmp_path / "r"
    assert main(["run", "--dataset", str(three_crops), "--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["table", str(out), "--format", "csv", "--times"]) == 0
    rows = {r["codec"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    db = sqlite3.connect(out / "bench.sqlite")
    for codec in ("jpeg", "jpeg2000"):
        enc, dec = db.execute("SELECT avg(encode_s), avg(decode_s) FROM encodings WHERE codec=?", (codec,)).fetchone()
        assert float(rows[codec]["encode_s_per_image"]) == pytest.approx(enc, rel=1e-5)
        assert float(rows[codec]["decode_s_per_image"]) == pytest.approx(dec, rel=1e-5)
    assert main(["table", str(out), "--format", "md", "--times"]) == 0
    assert "| encode s/image | decode s/image |" in capsys.readouterr().out
