"""Leaderboards: BD cells against `bjontegaard` called directly, bootstrap intervals, hull, formats,
provenance, published curves in and out, the per-image DataFrame."""
import csv
import io
import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import bjontegaard
import numpy as np
import pytest
from conftest import HTMLOutline

import bench
from bench.analysis import bootstrap as B
from bench.analysis.aggregate import Curve
from bench.analysis.leaderboard import Options, build
from bench.cli import main

PUBLISHED = Path(__file__).parent / "data" / "published"
CAI = PUBLISHED / "compressai" / "bpg_444_x265_ycbcr.json"
TFC_BPG = PUBLISHED / "tfc" / "PSNR_sRGB_RGB" / "bpg444.txt"
TFC_BALLE = PUBLISHED / "tfc" / "PSNR_sRGB_RGB" / "balle-2018-iclr.txt"


def bj(fn, a, t, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(a[0], a[1], t[0], t[1], require_matching_points=False, min_overlap=0, **kw)


@pytest.fixture(scope="module")
def run(tmp_path_factory, three_crops):
    """Three small images x JPEG, JPEG 2000, WebP x PSNR, SSIM, PSNR-Y."""
    d = three_crops
    out = tmp_path_factory.mktemp("lb") / "out"
    assert main(["run", "--dataset", str(d), "--codec", "jpeg", "--codec", "jpeg2000", "--codec", "webp",
                 "--metric", "psnr", "--metric", "ssim", "--metric", "psnr-y", "--out", str(out),
                 "--no-progress"]) == 0
    return out


def points(out, codec, metric):
    rows = [r for r in csv.DictReader(open(out / "rd_points.csv")) if r["codec"] == codec and r["metric"] == metric]
    return [float(r["bpp_mean"]) for r in rows], [float(r["value_mean"]) for r in rows]


def table_json(capsys, *args):
    assert main(["table", *map(str, args), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    return doc, {(r["codec"], r["metric"]): r for r in doc["rows"]}


# -- numbers ---------------------------------------------------------------------------------------
def test_bd_cells_equal_bjontegaard_on_the_same_points(run, capsys):
    from bench.report.stored import StoredRun

    board = StoredRun.open(run).leaderboard(resamples=0, bd_metric=True)
    lb, cvs = board.leaderboard, board.curves
    for m in ("psnr", "ssim", "psnr-y"):
        a = (cvs[("jpeg2000", m)].bpp, cvs[("jpeg2000", m)].value)
        for c in ("jpeg", "webp"):
            t = (cvs[(c, m)].bpp, cvs[(c, m)].value)
            assert lb.cells[(c, f"bd_rate:{m}")].value == pytest.approx(bj(bjontegaard.bd_rate, a, t, method="pchip"),
                                                                         abs=1e-9)
            assert lb.cells[(c, f"bd_metric:{m}")].value == pytest.approx(
                bj(bjontegaard.bd_psnr, a, t, method="pchip"), abs=1e-9)
    # and what the CSV says equals the model to its printed precision
    _, rows = table_json(capsys, run, "--resamples", "0")
    assert rows[("jpeg", "psnr")]["bd_rate"] == pytest.approx(lb.cells[("jpeg", "bd_rate:psnr")].value)


@pytest.mark.parametrize("method", ["pchip", "akima", "cubic"])
def test_vectorised_bd_equals_bjontegaard(method):
    rng = np.random.default_rng(7)
    for _ in range(60):
        n, m = rng.integers(4, 9, 2)
        a = (np.sort(rng.uniform(0.05, 3, n)), np.sort(rng.uniform(25, 45, n)))
        t = (np.sort(rng.uniform(0.05, 3, m)), np.sort(rng.uniform(25, 45, m)))
        ref = bj(bjontegaard.bd_rate, a, t, method=method)
        avg, _ = B.bd_batch(a[1], np.log10(a[0]), t[1], np.log10(t[0]), method)
        if np.isfinite(ref):
            assert (10 ** avg[0] - 1) * 100 == pytest.approx(ref, rel=1e-9, abs=1e-9)
        ref = bj(bjontegaard.bd_psnr, a, t, method=method)
        avg, _ = B.bd_batch(np.log10(a[0]), a[1], np.log10(t[0]), t[1], method)
        if np.isfinite(ref):
            assert avg[0] == pytest.approx(ref, rel=1e-9, abs=1e-9)


def synthetic(n_images: int, shift_db: float, seed: int) -> tuple[Curve, Curve]:
    """Anchor and test curves over the same images: test = anchor + shift dB + per-image noise."""
    rng = np.random.default_rng(seed)
    bpp = np.exp(rng.normal(0, 0.3, (n_images, 1))) * np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    base = 30 + 5 * np.log2(bpp / 0.1) + rng.normal(0, 2, (n_images, 1))
    test = base + shift_db + rng.normal(0, 0.4, base.shape)

    def curve(name, v):
        return Curve(name, "psnr", list(bpp.mean(0)), list(v.mean(0)), list(range(5)), images=list(range(n_images)),
                     image_bpp=bpp, image_value=v, params=[None] * 5)

    return curve("a", base), curve("t", test)


def test_bootstrap_interval_contains_the_value_shrinks_and_is_seeded():
    widths = []
    for n in (6, 24, 96):
        a, t = synthetic(n, 1.0, seed=n)
        lb = build({("a", "psnr"): a, ("t", "psnr"): t}, Options("a", resamples=1000, seed=3))
        c = lb.cells[("t", "bd_rate:psnr")]
        assert c.ci[0] < c.value < c.ci[1] and c.value < 0  # 1 dB better: fewer bits
        widths.append(c.ci[1] - c.ci[0])
        again = build({("a", "psnr"): a, ("t", "psnr"): t}, Options("a", resamples=1000, seed=3))
        assert again.cells[("t", "bd_rate:psnr")].ci == c.ci
        other = build({("a", "psnr"): a, ("t", "psnr"): t}, Options("a", resamples=1000, seed=4))
        assert other.cells[("t", "bd_rate:psnr")].ci != c.ci
    assert widths[0] > widths[1] > widths[2], widths


def test_batched_pchip_equals_scipy_inside_and_outside_the_range():
    from scipy.interpolate import PchipInterpolator

    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 0.5, (30, 5)), axis=1)
    y = np.cumsum(rng.uniform(0.1, 1, (30, 5)), axis=1)
    for xq in (-0.3, 0.0, 0.6, -1.2):
        ref = [float(PchipInterpolator(a, b)(xq)) for a, b in zip(x, y)]
        assert B.pchip_at(x, y, xq) == pytest.approx(ref, rel=1e-12, abs=1e-9)


def test_quality_at_bpp_has_an_interval_and_a_paired_difference_to_the_anchor():
    a, t = synthetic(24, 1.0, seed=5)
    lb = build({("a", "psnr"): a, ("t", "psnr"): t}, Options("a", resamples=500, seed=1, at_bpp=(0.3,)))
    c, ca = lb.cells[("t", "at_bpp:psnr:0.3")], lb.cells[("a", "at_bpp:psnr:0.3")]
    assert c.ci[0] < c.value < c.ci[1] and ca.delta is None  # the anchor has no difference to itself
    # 1 dB better at every point of every image: the paired difference is 1 dB with a narrow interval,
    # much narrower than either value's own interval (the image mix cancels)
    assert c.delta == pytest.approx(c.value - ca.value) and c.delta == pytest.approx(1.0, abs=0.15)
    assert c.delta_ci[0] < c.delta < c.delta_ci[1]
    assert (c.delta_ci[1] - c.delta_ci[0]) < 0.5 * (c.ci[1] - c.ci[0])


def test_hull_drops_an_inefficient_point():
    a = Curve("a", "psnr", [0.1, 0.2, 0.4, 0.8], [30, 33, 36, 39], [0, 1, 2, 3])
    t = Curve("t", "psnr", [0.1, 0.15, 0.2, 0.4, 0.8], [30.0, 29.8, 33.6, 36.8, 39.5], [0, 1, 2, 3, 4])
    cvs = {("a", "psnr"): a, ("t", "psnr"): t}
    plain = build(cvs, Options("a", resamples=0)).cells[("t", "bd_rate:psnr")]
    assert plain.value is None and "not strictly monotone" in plain.message and "--hull" in plain.message
    hulled = build(cvs, Options("a", resamples=0, hull=True)).cells[("t", "bd_rate:psnr")]
    assert "hull: 1 point(s) dropped" in hulled.flags
    keep = [0, 2, 3, 4]
    ref = bj(bjontegaard.bd_rate, (a.bpp, a.value), ([t.bpp[i] for i in keep], [t.value[i] for i in keep]),
             method="pchip")
    assert hulled.value == pytest.approx(ref)


def test_quality_at_bpp_and_bpp_at_quality(run, capsys):
    from scipy.interpolate import PchipInterpolator

    b, v = points(run, "jpeg", "psnr")
    near = round(max(b) * 1.05, 4)  # within the 10 % margin: extrapolated and flagged; 9 bpp is far beyond: n/a
    _, rows = table_json(capsys, run, "--resamples", "0", "--at-bpp", f"0.5,{near},9", "--at-quality", "psnr=30")
    want = float(PchipInterpolator(np.log10(b), v)(np.log10(0.5)))
    r = rows[("jpeg", "psnr")]
    assert r["psnr_at_0.5_bpp"] == pytest.approx(want, abs=1e-5) and r["psnr_at_0.5_bpp_extrapolated"] is False
    assert r[f"psnr_at_{near:g}_bpp_extrapolated"] is True and r[f"psnr_at_{near:g}_bpp"] is not None
    assert r["psnr_at_9_bpp"] is None
    got = r["bpp_at_psnr_30"]
    assert float(PchipInterpolator(np.log10(b), v)(np.log10(got))) == pytest.approx(30, abs=0.05)


def test_psnr_y_by_hand():
    from bench import metrics as M

    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0] = [100, 50, 20]  # Y' = 29.9 + 29.35 + 2.28 = 61.53 at one of 4 pixels
    mse = 61.53 ** 2 / 4
    assert M.score("psnr-y", a, b) == pytest.approx(10 * np.log10(255 ** 2 / mse), abs=1e-9)


# -- formats and provenance --------------------------------------------------------------------------
def test_csv_and_json_columns(run, capsys):
    assert main(["table", str(run), "--format", "csv", "--resamples", "200"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert list(rows[0])[:9] == ["codec", "metric", "anchor", "bd_rate", "ci_low", "ci_high", "overlap",
                                 "overlap_low", "overlap_high"]
    assert {"method", "message"} <= set(rows[0])
    jp = next(r for r in rows if r["codec"] == "jpeg" and r["metric"] == "psnr")
    assert float(jp["ci_low"]) < float(jp["bd_rate"]) < float(jp["ci_high"])
    doc, _ = table_json(capsys, run, "--bd-metric")
    assert {"bd_metric", "bd_metric_ci_low", "bd_metric_ci_high"} <= set(doc["rows"][0])
    assert "bootstrap over images (1000 resamples, seed 0)" in doc["resampling"]


def test_markdown_cells_show_intervals_and_the_run_writes_manifest(run):
    md = (run / "leaderboard.md").read_text()
    line = next(ln for ln in md.splitlines() if ln.startswith("| jpeg |"))
    assert "[" in line and "(ov " in line
    man = json.loads((run / "manifest.json").read_text())
    p = man["provenance"]
    assert p["dataset"]["images"] == 3 and len(p["dataset"]["files_digest"]) == 64
    assert set(p["codecs"]) == {"jpeg", "jpeg2000", "webp"} and "libjpeg" in p["codecs"]["jpeg"]["version"]
    assert p["metrics"]["psnr"]["backend"] == "numpy" and p["command"].startswith("bench run")
    assert "point" in (run / "rd_points.csv").read_text().splitlines()[0]


def test_html_is_one_table_with_caption_and_provenance(run, capsys, tmp_path):
    out = tmp_path / "t.html"
    assert main(["table", str(run), "--out", str(out), "--sort", "psnr"]) == 0
    p = HTMLOutline(out.read_text())
    assert p.tags.count("table") == 1 and p.tags.count("caption") == 1 and "strong" in p.tags
    text = "".join(p.text)
    assert "Provenance" in text and "files sha256 digest" in text and "bootstrap over images" in text
    body = out.read_text().split("<tbody>")[1]
    order = [c for c in ("webp", "jpeg2000", "jpeg") if f">{c}" in body]
    assert body.index(">webp") < body.index(">jpeg2000 (anchor)") < body.index(">jpeg<")  # sorted by PSNR BD-rate
    assert order


def test_latex_booktabs_bold_and_escaped(run, tmp_path, capsys):
    r = tmp_path / "r"
    shutil.copytree(run, r)
    assert main(["import", str(CAI), "--run", str(r)]) == 0
    capsys.readouterr()
    assert main(["table", str(r), "--format", "latex", "--metric", "psnr"]) == 0
    tex = capsys.readouterr().out
    for k in (r"\toprule", r"\midrule", r"\bottomrule", r"$\mathbf{", r"bpg\_444\_x265\_ycbcr (published)",
              r"PSNR BD-rate (\%) $\downarrow$", "bold: best in each column"):
        assert k in tex, k
    assert "bpg_444" not in tex.replace(r"bpg\_444", "")  # every underscore escaped
    body = tex[:tex.index(r"\end{table}")]
    assert "Command:" not in body and "% Command: bench run" in tex  # provenance: comments after the float
    doc = tmp_path / "doc.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[utf8]{inputenc}\n"
                   "\\begin{document}\n" + tex + "\\end{document}\n")
    if shutil.which("pdflatex") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must compile the LaTeX table: .ci/run installs texlive-latex-recommended")
        pytest.skip("pdflatex not installed: structure checked, compile not (apt-get install texlive-latex-recommended)")
    res = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout[-3000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000
    # the best cells are bold on the page: the bold math font (Computer Modern Bold Extended) carries glyphs;
    # nothing else in the table is bold, and with \textbf{$...$} (math digits stay regular) it is not used
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", "doc.pdf"], cwd=tmp_path, capture_output=True, text=True).stdout
        assert "CMBX" in fonts, fonts


# -- published curves ---------------------------------------------------------------------------------
def test_imported_curves_join_the_table_with_bd_from_their_points(run, tmp_path, capsys):
    r = tmp_path / "r"
    shutil.copytree(run, r)
    assert main(["import", str(CAI), str(TFC_BPG), str(TFC_BALLE), "--run", str(r)]) == 0
    capsys.readouterr()
    doc, rows = table_json(capsys, r, "--metric", "psnr", "--anchor", "bpg_444_x265_ycbcr")
    cai = json.loads(CAI.read_text())["results"]
    tfc = np.loadtxt(TFC_BALLE, delimiter=",", comments="#")
    want = bj(bjontegaard.bd_rate, (cai["bpp"], cai["psnr"]), (tfc[:, 0], tfc[:, 1]), method="pchip")
    got = rows[("balle-2018-iclr", "psnr")]
    assert got["bd_rate"] == pytest.approx(want, abs=1e-9) and got["ci_low"] is None
    assert "tensorflow-compression text file balle-2018-iclr.txt" in got["source"]
    ours = rows[("jpeg", "psnr")]
    assert ours["ci_low"] is not None and "unpaired interval" in ours["flags"]
    assert any("imported published curve" in n and "no interval" in n for n in doc["notes"])
    assert main(["plot", str(r)]) == 0 and (r / "rd_psnr.png").exists()


@pytest.mark.parametrize("fmt", ["compressai", "tfc"])
def test_export_then_import_round_trips_exactly(run, tmp_path, fmt, capsys):
    from bench.report.stored import StoredRun

    exp = tmp_path / "exp"
    assert main(["export", str(run), "--format", fmt, "--out", str(exp)]) == 0
    files = sorted(exp.rglob("*.json" if fmt == "compressai" else "*.txt"))
    r = tmp_path / "r"
    shutil.copytree(run, r)
    for f in files:
        name = f.stem if fmt == "compressai" else f"{f.parent.name}-{f.stem}"
        assert main(["import", str(f), "--run", str(r), "--name", f"re-{name}"] +
                    (["--metric", "ssim"] if f.parent.name == "ssim" else [])) == 0
    capsys.readouterr()
    cvs = StoredRun.open(r).leaderboard(resamples=0).curves
    for (c, m), cv in cvs.items():
        if cv.source is None:
            key = f"re-{c}" if fmt == "compressai" else f"re-{ {'psnr': 'PSNR_sRGB_RGB', 'psnr-y': 'PSNR_sRGB_Y'}.get(m, m)}-{c}"
            back = cvs[(key, m)]
            assert back.bpp == cv.bpp and back.value == cv.value, (c, m)


def test_per_image_export_and_dataframe(run, tmp_path, capsys):
    df = bench.load(run)
    assert list(df.columns) == ["image", "image_sha256", "codec", "point_index", "point", "bytes", "bpp", "metric", "value",
                                "encode_s", "decode_s"]
    assert str(df["bpp"].dtype) == "float64" and str(df["point_index"].dtype) == "int64"
    assert str(df["codec"].dtype) == "string" and len(df) == 3 * 3 * 8 * 3
    jp = df[(df.codec == "jpeg") & (df.metric == "psnr")].groupby("point_index")["value"].mean()
    _, v = points(run, "jpeg", "psnr")
    assert np.allclose(jp.values, v, atol=1e-6)
    assert main(["export", str(run), "--format", "csv", "--out", str(tmp_path / "long.csv")]) == 0
    import pandas as pd

    back = pd.read_csv(tmp_path / "long.csv")
    assert np.array_equal(back["value"].to_numpy(), df["value"].to_numpy())
    pytest.importorskip("pyarrow")
    assert main(["export", str(run), "--format", "parquet", "--out", str(tmp_path / "long.parquet")]) == 0
    pq = pd.read_parquet(tmp_path / "long.parquet")
    assert list(pq.columns) == list(df.columns) and pq["value"].equals(df["value"]) and pq["bpp"].equals(df["bpp"])


@pytest.mark.parametrize("args,msg", [
    (["import", "{bad}", "--run", "{run}"], "not a CompressAI result JSON"),
    (["import", "{txt}", "--run", "{run}"], "cannot tell the metric from the folder"),
    (["import", "{nofile}", "--run", "{run}"], "no such file"),
    (["table", "{run}", "--format", "md", "--sort", "lpips"], "--sort lpips: not a metric of this table"),
    (["table", "{run}", "--out", "{tmp}/t.docx"], "cannot tell the format from the extension"),
    (["table", "{run}", "--format", "md", "--metric", "dists"], "--metric dists: not scored in run"),
    (["table", "{run}", "--format", "md", "--at-quality", "psnr"], "give METRIC=VALUE"),
    (["table", "{run}", "--format", "md", "--anchor", "vtm"], "anchor 'vtm' has no results in this run"),
])
def test_table_and_import_errors(args, msg, run, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    txt = tmp_path / "x.txt"
    txt.write_text("0.1, 30\n")
    r = tmp_path / "r"
    shutil.copytree(run, r)
    fmt = {"bad": bad, "txt": txt, "run": r, "tmp": tmp_path, "nofile": tmp_path / "none.json"}
    assert main([a.format(**fmt) for a in args]) == 2
    assert msg in capsys.readouterr().err


def test_hull_keeps_every_point_of_real_concave_curves(run):
    """The operational hull (linear rate) drops only inefficient settings: on real curves that rise
    with rate at a falling slope (diminishing returns), every point stays."""
    from bench import metrics as metric_table
    from bench.analysis.bdrate import hull, quality_axis
    from bench.report.stored import StoredRun

    checked = 0
    for (codec, metric), cv in StoredRun.open(run).leaderboard(resamples=0).curves.items():
        hib = metric_table.get(metric).higher_is_better
        q = quality_axis(cv.value, hib)
        slopes = np.diff(q) / np.diff(cv.bpp)
        if np.all(np.diff(cv.bpp) > 0) and np.all(slopes > 0) and np.all(np.diff(slopes) < 0):
            assert hull(cv.bpp, cv.value, hib) == list(range(len(cv.bpp))), (codec, metric)
            checked += 1
    assert checked >= 3  # the run has such curves: the check is not vacuous
