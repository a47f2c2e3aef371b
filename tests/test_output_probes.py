"""Hostile inputs to the verbs that read and write a run's files (issue 24, items 7-14): imports never
shadow or corrupt measurements, default outputs are written whole and reused only when they show the
same thing, targets out of range are an error or an explicit n/a, bad numbers are exit 2 with the fix,
and realism works without an identity codec. Each asserts the message, the exit code and that nothing
stored changed."""
import hashlib
import json
import shutil

import pytest
from conftest import need_metric

from bench.cli import main

GRID = ["--codec", "jpeg", "--codec", "jpeg2000", "--metric", "psnr", "--metric", "ssim", "--no-progress"]


@pytest.fixture(scope="module")
def made(tmp_path_factory, three_crops):
    d = tmp_path_factory.mktemp("out-probes")
    assert main(["run", "--dataset", str(three_crops), "--out", str(d / "run"), *GRID]) == 0
    return d / "run"


@pytest.fixture
def run(made, tmp_path):
    r = tmp_path / "run"
    shutil.copytree(made, r)
    return r


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bench(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return rc, out, err


# -- 7, 9: imports ---------------------------------------------------------------------------------------
def compressai(path, name="bpg", bpp=(0.1, 0.2, 0.4, 0.8), psnr=(28, 30, 32, 34)):
    path.write_text(json.dumps({"name": name, "results": {"bpp": list(bpp), "psnr": list(psnr)}}))
    return path


def test_an_import_never_shadows_a_measured_codec(run, tmp_path, capsys):
    before = digest(run / "bench.sqlite")
    rc, _, err = bench(capsys, "import", compressai(tmp_path / "jpeg.json"), "--run", run)
    assert rc == 2 and "a codec this store measured" in err and "--name jpeg-published" in err
    assert digest(run / "bench.sqlite") == before
    rc, _, _ = bench(capsys, "import", compressai(tmp_path / "jpeg.json"), "--run", run, "--name", "jpeg-published")
    assert rc == 0
    rc, out, _ = bench(capsys, "table", run, "--format", "csv")
    assert "jpeg-published,psnr" in out and "\njpeg,psnr,jpeg2000,+" not in out


@pytest.mark.parametrize("content,msg", [
    ('{"name": "x", "results": {"bpp": [0.1, NaN, 0.4, 0.8], "psnr": [1, 2, 3, 4]}}', "every bpp must be a finite number"),
    ('{"name": "x", "results": {"bpp": [0.1, 1e400, 0.4, 0.8], "psnr": [1, 2, 3, 4]}}', "every bpp must be a finite"),
    ('{"name": "x", "results": {"bpp": [0.1, -0.2, 0.4, 0.8], "psnr": [1, 2, 3, 4]}}', "every bpp must be a finite"),
    ('{"name": "x", "results": {"bpp": [0.1, 0.2], "psnr": ["a", "b"]}}', "not numbers"),
    ('{"name": "x", "results": "psnr"}', "not a CompressAI result JSON"),
    ("[" * 100000 + "]" * 100000, "not a CompressAI result JSON"),
    (b"\xff\xfe{\x00", "not UTF-8 text"),
])
def test_bad_import_files_are_refused_naming_the_file(run, tmp_path, capsys, content, msg):
    f = tmp_path / "pub.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = digest(run / "bench.sqlite")
    rc, _, err = bench(capsys, "import", f, "--run", run)
    assert rc == 2 and msg in err and str(f) in err
    assert digest(run / "bench.sqlite") == before
    assert bench(capsys, "table", run, "--format", "md")[0] == 0  # the run still reads


def test_an_oversized_import_is_refused_before_it_is_read(run, tmp_path, capsys):
    f = tmp_path / "huge.json"
    with open(f, "wb") as fh:
        fh.truncate(11_000_000)
    rc, _, err = bench(capsys, "import", f, "--run", run)
    assert rc == 2 and "a published curve file is a few kB" in err


def test_an_imported_series_can_be_removed(run, tmp_path, capsys):
    assert bench(capsys, "import", compressai(tmp_path / "bpg.json"), "--run", run)[0] == 0
    assert "bpg (published)" in bench(capsys, "table", run, "--format", "md")[1]
    rc, out, _ = bench(capsys, "import", "--remove", "bpg", "--run", run)
    assert rc == 0 and "removed" in out
    assert "bpg" not in bench(capsys, "table", run, "--format", "md")[1]
    rc, _, err = bench(capsys, "import", "--remove", "bpg", "--run", run)
    assert rc == 2 and "no imported series 'bpg'" in err


# -- 10: default outputs ------------------------------------------------------------------------------------
def test_a_rerun_does_not_keep_a_leaderboard_anchored_elsewhere(run, three_crops, capsys):
    assert bench(capsys, "table", run, "--anchor", "jpeg")[0] == 0
    assert "anchor jpeg" in (run / "leaderboard.md").read_text().splitlines()[0]
    assert main(["run", "--dataset", str(three_crops), "--out", str(run), *GRID]) == 0
    capsys.readouterr()
    assert "anchor jpeg2000" in (run / "leaderboard.md").read_text().splitlines()[0]


def test_a_truncated_default_table_is_not_kept(run, three_crops, capsys):
    md = run / "leaderboard.md"
    md.write_text(md.read_text()[:40])  # as a full disk would have left it before writes were atomic
    assert main(["run", "--dataset", str(three_crops), "--out", str(run), *GRID]) == 0
    capsys.readouterr()
    assert len(md.read_text()) > 200


# -- 12: targets out of range --------------------------------------------------------------------------------
@pytest.mark.parametrize("args,msg", [
    (["--at-bpp", "-1"], "give comma-separated rates above 0"),
    (["--at-bpp", "nan"], "give comma-separated rates above 0"),
    (["--at-bpp", "inf"], "give comma-separated rates above 0"),
    (["--at-quality", "psnr=nan"], "with a finite value"),
    (["--resamples", "1"], "--resamples 1: give a whole number 0 or from 50"),
    (["--resamples", "1000000000"], "give a whole number 0 or from 50 to 100000"),
    (["--seed", "-1"], "--seed -1: give a whole number from 0"),
])
def test_bad_table_numbers_are_exit_2(run, capsys, args, msg):
    rc, _, err = bench(capsys, "table", run, "--format", "md", *args)
    assert rc == 2 and msg in err


def test_targets_beyond_the_measured_range_are_n_a_not_numbers(run, capsys):
    rc, out, _ = bench(capsys, "table", run, "--format", "md", "--resamples", "0", "--at-bpp", "1000",
                       "--at-quality", "psnr=1000")
    assert rc == 0 and out.count("n/a: 1000 bpp is outside the measured") == 2 * 2  # 2 codecs x 2 metrics
    assert out.count("n/a: psnr 1000 is outside the measured") == 2
    rc, out, _ = bench(capsys, "table", run, "--format", "md", "--resamples", "0", "--metric", "psnr", "--at-bpp",
                       "1.0")
    assert rc == 0 and "not extrapolated" not in out  # inside the measured range: a number


@pytest.mark.parametrize("bpp", ["inf", "nan", "-1", "0"])
def test_match_refuses_a_rate_that_is_no_rate(bpp, three_crops, capsys):
    rc, _, err = bench(capsys, "match", "--codec", "jpeg", "--image", three_crops / "i0.png", "--bpp", bpp)
    assert rc == 2 and "--bpp" in err and "finite number above 0" in err


# -- 13: tracebacks become one line and exit 2 -------------------------------------------------------------------
@pytest.mark.parametrize("args,msg", [
    (["analyze", "probe", "{run}", "--image", "i0", "--codec", "jpeg", "--point", "1", "--steps", "0"], "--steps 0"),
    (["analyze", "probe", "{run}", "--image", "i0", "--codec", "jpeg", "--point", "1", "--steps", "100000"],
     "from 1 to 500"),
    (["analyze", "probe", "{run}", "--image", "i0", "--codec", "jpeg", "--point", "1", "--step", "nan"], "--step nan"),
    (["run", "--dataset", "{data}", "--out", "{tmp}/t", "--task-timeout", "-1"], "--task-timeout -1"),
    (["run", "--dataset", "{data}", "--out", "{tmp}/t", "--task-timeout", "nan"], "--task-timeout nan"),
    (["plot", "{run}", "--format", ",,,"], "valid figure formats"),
    (["plot", "{run}", "--format", "pgf", "--out", "{tmp}/p"], "pdflatex"),
    (["table", "{run}", "--format", "md", "--out", "{tmp}"], "is a folder"),
    (["table", "{run}", "--format", "md", "--out", "/proc/no/such.md"], "/proc/no"),
])
def test_bad_values_are_one_line_and_exit_2(run, three_crops, tmp_path, capsys, args, msg):
    import shutil as sh

    if "pgf" in args and sh.which("pdflatex"):
        pytest.skip("LaTeX is installed here: pgf works")
    rc, _, err = bench(capsys, *[a.format(run=run, data=three_crops, tmp=tmp_path) for a in args])
    assert rc == 2 and msg in err, err


def test_dollar_signs_in_names_are_text_in_figures(tmp_path, three_crops, capsys):
    d = tmp_path / "imgs"
    d.mkdir()
    for p in three_crops.iterdir():
        shutil.copy(p, d / f"$x_{p.name}")
    rc, _, err = bench(capsys, "run", "--dataset", d, "--out", tmp_path / "r", *GRID)
    assert rc == 0, err
    assert bench(capsys, "import", compressai(tmp_path / "pub$x$.json", name="$\\alpha$"), "--run", tmp_path / "r")[0] == 0
    assert bench(capsys, "plot", tmp_path / "r", "--format", "png")[0] == 0


@pytest.mark.slow  # waits out the connection timeout
def test_an_unreachable_scheduler_records_nothing(tmp_path, three_crops, capsys):
    pytest.importorskip("distributed", reason="dask extra not installed")
    rc, _, err = bench(capsys, "run", "--dataset", three_crops, "--out", tmp_path / "r", "--scheduler",
                       "tcp://127.0.0.1:1", *GRID)
    assert rc == 2 and "cannot reach the Dask scheduler" in err and not (tmp_path / "r").exists()


def test_a_closed_pipe_is_not_a_traceback():
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-m", "bench.cli", "list", "metrics"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    assert p.wait(timeout=60) == 0 and b"Traceback" not in p.stderr.read()


# -- 14: realism without an identity codec ---------------------------------------------------------------------
def test_realism_measures_the_originals_when_there_is_no_identity_codec(tmp_path, three_crops, capsys):
    from bench import metrics as metric_table

    if not metric_table.availability("brisque")[0]:
        pytest.skip("brisque unavailable here")
    out = tmp_path / "r"
    assert main(["run", "--dataset", str(three_crops), "--out", str(out), "--codec", "jpeg", "--metric", "psnr",
                 "--metric", "brisque", "--no-progress"]) == 0
    capsys.readouterr()
    rc, text, err = bench(capsys, "analyze", "realism", out, "--distortion", "psnr", "--realism", "brisque")
    assert rc == 0, err
    assert "measured here on the 3 original images (no identity codec in the run)" in text


# -- 13: rated-set tables for validate-metrics -------------------------------------------------------------------
@pytest.mark.parametrize("table,msg", [
    ("ref,dist,score\na.png,a.png,3.5,extra\n", ":2: a row with missing or extra fields"),
    ("ref,dist,score\na.png,a.png\n", ":2: a row with missing or extra fields"),
    ("ref,dist,score\na.png,a.png,good\n", ":2: score 'good' is not a finite number"),
    ("ref,dist,score\na.png,a.png,nan\n", ":2: score 'nan' is not a finite number"),
    (b"\xff\xferef,dist", "save it as UTF-8 CSV"),
])
def test_bad_rated_tables_name_the_line(tmp_path, astronaut, capsys, table, msg):
    from PIL import Image

    Image.fromarray(astronaut[:64, :64]).save(tmp_path / "a.png")
    (tmp_path / "ratings.csv").write_bytes(table if isinstance(table, bytes) else table.encode())
    (tmp_path / "set.toml").write_text('format = "csv"\n')
    rc, _, err = bench(capsys, "validate-metrics", tmp_path / "set.toml", "--metric", "psnr")
    assert rc == 2 and msg in err, err


def test_an_excel_bom_is_read(tmp_path, astronaut, capsys):
    from PIL import Image

    for k in range(7):
        Image.fromarray(astronaut[k * 32:k * 32 + 64, :64]).save(tmp_path / f"a{k}.png")
    rows = "".join(f"a0.png,a{k}.png,{7 - k}\n" for k in range(1, 7))
    (tmp_path / "ratings.csv").write_bytes("\ufeffref,dist,score\n".encode() + rows.encode())
    (tmp_path / "set.toml").write_text('format = "csv"\n')
    rc, out, err = bench(capsys, "validate-metrics", tmp_path / "set.toml", "--metric", "psnr", "--resamples", "0")
    assert rc == 0 and "| psnr |" in out, err
    (tmp_path / "ratings.csv").write_text("ref,dist,score\na0.png,a1.png,3\na0.png,a2.png,2\n")
    rc, _, err = bench(capsys, "validate-metrics", tmp_path / "set.toml", "--metric", "psnr")
    assert rc == 2 and "agreement needs at least 5" in err


def test_a_cuda_request_without_a_gpu_is_a_setting_to_fix(three_crops, tmp_path, monkeypatch, capsys):
    import torch

    need_metric("lpips")  # without its weights the run stops earlier: nothing to compute (exit 4)

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    monkeypatch.setenv("BENCH_DEVICE", "cuda")
    img = three_crops / "i0.png"
    rc, _, err = bench(capsys, "score", img, img, "--metric", "lpips")
    assert rc == 2 and "torch sees no CUDA device" in err
    rc, _, err = bench(capsys, "run", "--dataset", three_crops, "--codec", "jpeg", "--metric", "lpips", "--out",
                       tmp_path / "r")
    assert rc == 2 and "torch sees no CUDA device" in err and not (tmp_path / "r").exists()


def test_compare_without_intervals(made, capsys):
    rc, out, _ = bench(capsys, "compare", made, made, "--resamples", "0")
    assert rc == 0 and out.startswith("bench compare: PASS")
