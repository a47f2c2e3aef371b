"""`bench run` end to end on small images: store, plots, tables, caching, bad inputs."""
import json
import sqlite3
import subprocess
import sys

import numpy as np
from PIL import Image

from bench.cli import main


def _run(out, data, *extra):
    return main(["run", "--dataset", str(data), "--codec", "jpeg", "--codec", "jpeg2000",
                 "--out", str(out), "--no-progress", *extra])


def test_run_creates_store_plots_and_table_then_reuses_everything(tmp_path, small_dir, capsys):
    out = tmp_path / "out"
    assert _run(out, small_dir, "--plots") == 0
    for f in ["bench.sqlite", "leaderboard.md", "leaderboard.csv", "rd_points.csv", "rd_psnr.png",
              "rd_psnr.pdf", "rd_ms-ssim.png", "rd_ssim.pdf"]:
        assert (out / f).is_file(), f
    db = sqlite3.connect(out / "bench.sqlite")
    n_enc = db.execute("SELECT COUNT(*) FROM encodings").fetchone()[0]
    assert n_enc == 2 * 16  # 2 images x (8 + 8 points)
    assert db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == n_enc * 3
    # real byte counts and the bpp formula
    for nbytes, rate, bpp, w, h in db.execute("SELECT bytes, rate_bytes, bpp, width, height FROM encodings"):
        assert nbytes == rate and bpp == 8 * rate / (w * h)
    man = json.loads(db.execute("SELECT manifest FROM runs").fetchone()[0])
    assert "libjpeg_turbo" in man["codec_versions"]["jpeg"] and man["packages"]["imagecodecs"]
    assert set(man["dataset_files"]) == {"a.png", "b.png"}
    md = (out / "leaderboard.md").read_text()
    assert "| jpeg |" in md and "jpeg2000 (anchor)" in md and "Method:" in md
    first = capsys.readouterr().out
    assert "32 encoded" in first

    assert _run(out, small_dir) == 0
    second = capsys.readouterr().out
    assert "0 encoded" in second and "32 reused" in second and "0 scores computed" in second
    assert db.execute("SELECT COUNT(*) FROM encodings").fetchone()[0] == n_enc
    assert db.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == n_enc * 3


def test_adding_a_metric_later_scores_only_that_metric(tmp_path, small_dir, capsys):
    out = tmp_path / "out"
    assert _run(out, small_dir, "--metric", "psnr") == 0
    capsys.readouterr()
    assert _run(out, small_dir, "--metric", "psnr", "--metric", "ssim-rgb") == 0
    s = capsys.readouterr().out
    assert "0 encoded" in s and "32 scores computed" in s


def test_table_and_plot_verbs_rebuild_from_the_store(tmp_path, small_dir, capsys):
    out = tmp_path / "out"
    _run(out, small_dir, "--metric", "psnr", "--plots")
    (out / "rd_psnr.png").unlink()
    (out / "leaderboard.md").unlink()
    assert main(["table", str(out)]) == 0
    assert "jpeg2000 (anchor)" in capsys.readouterr().out and (out / "leaderboard.md").is_file()
    assert main(["plot", str(out)]) == 0 and (out / "rd_psnr.png").is_file()
    assert main(["table", str(tmp_path / "nowhere")]) == 2


def test_bad_inputs_are_reported_and_good_results_kept(tmp_path, small_dir, astronaut, capsys):
    d = small_dir
    (d / "corrupt.png").write_bytes((d / "a.png").read_bytes()[:500])
    rgba = np.dstack([astronaut[:200, :200], np.full((200, 200), 128, np.uint8)])
    Image.fromarray(rgba).save(d / "seethrough.png")
    Image.fromarray(astronaut[:180, :180, 0]).save(d / "grey.png")  # converted, documented
    Image.fromarray(astronaut[:180, :180, 1].astype(np.uint16) * 257).save(d / "deep16.png")
    out = tmp_path / "out"
    assert _run(out, d, "--metric", "psnr") == 1  # failures -> non-zero exit
    err = capsys.readouterr().err
    assert "corrupt.png" in err and "seethrough.png" in err and "transparency" in err
    db = sqlite3.connect(out / "bench.sqlite")
    images = {r[0] for r in db.execute("SELECT DISTINCT image FROM encodings")}
    assert images == {"a", "b", "grey", "deep16"}
    assert db.execute("SELECT COUNT(*) FROM failures WHERE stage='load'").fetchone()[0] == 2
    assert (out / "leaderboard.md").is_file()
    assert _run(out, d, "--metric", "psnr", "--allow-failures") == 0


def test_unknown_names_are_errors_listing_valid_ones(tmp_path, small_dir, capsys):
    assert main(["run", "--dataset", str(small_dir), "--codec", "jpg", "--out", str(tmp_path)]) == 2
    assert "unknown codec 'jpg'; valid codecs:" in capsys.readouterr().err
    assert main(["run", "--dataset", "nope", "--out", str(tmp_path)]) == 2
    assert "valid datasets: " in capsys.readouterr().err
    assert main(["run", "--dataset", str(small_dir), "--metric", "lpipz", "--out", str(tmp_path)]) == 2
    assert "valid metrics:" in capsys.readouterr().err


def test_console_script_lists_without_heavy_imports():
    r = subprocess.run([sys.executable, "-c", "import sys; from bench.cli import main; main(['list', 'codecs']);"
                        "print('torch' in sys.modules)"], capture_output=True, text=True, check=True)
    assert "jpeg2000" in r.stdout and r.stdout.strip().endswith("False")


def test_figures_are_drawn_on_request_then_kept_current(tmp_path, capsys):
    """Without --plots a run draws no figure and says how to get one; once drawn (by `bench plot` or
    --plots) a later run that adds data redraws them, so figures never show less than the tables."""
    out = tmp_path / "r"
    base = ["run", "--codec", "jpeg", "--metric", "psnr", "--anchor", "jpeg", "--image", "astronaut",
            "--out", str(out), "--no-progress"]
    assert main(base) == 0
    assert (out / "leaderboard.md").is_file() and not list(out.glob("rd_*.p*"))
    assert f"RD figures: bench plot {out}" in capsys.readouterr().out
    assert main(["plot", str(out)]) == 0 and (out / "rd_psnr.png").is_file()
    assert main(base + ["--codec", "webp"]) == 0  # new curve: the figure is drawn again with it
    assert "rd_*.png/pdf" in capsys.readouterr().out
    stamp = json.loads((out / ".outputs.json").read_text())
    assert stamp["figures"]["psnr"][1] == ["rd_psnr.png", "rd_psnr.pdf"]
    with Image.open(out / "rd_psnr.png") as im:
        assert im.size[0] > 100


def test_outputs_are_rebuilt_in_proportion_to_what_changed(tmp_path, capsys):
    """An unchanged re-run rewrites nothing; a new metric draws its own figure and leaves the
    others' files alone; a deleted figure is drawn again."""
    out = tmp_path / "r"
    base = ["run", "--codec", "jpeg", "--metric", "psnr", "--anchor", "jpeg", "--image", "astronaut",
            "--out", str(out), "--no-progress"]
    assert main(base + ["--plots"]) == 0, capsys.readouterr().err
    fig, table = out / "rd_psnr.png", out / "leaderboard.md"
    t_fig, t_table = fig.stat().st_mtime_ns, table.stat().st_mtime_ns
    assert main(base) == 0
    assert (fig.stat().st_mtime_ns, table.stat().st_mtime_ns) == (t_fig, t_table)
    assert main(base + ["--metric", "ssim"]) == 0
    assert fig.stat().st_mtime_ns == t_fig and (out / "rd_ssim.png").is_file()
    assert table.stat().st_mtime_ns != t_table and "SSIM" in table.read_text().upper()
    (out / "rd_psnr.pdf").unlink()
    assert main(base + ["--metric", "ssim"]) == 0
    assert (out / "rd_psnr.pdf").is_file() and fig.stat().st_mtime_ns != t_fig
