"""Paper figures, crops at matched rate and the self-contained HTML report (opened in a real
headless Chromium)."""
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import HTMLOutline
from PIL import Image

from bench.cli import main
from bench.report.plots import _draw, codec_style

PUBLISHED = Path(__file__).parent / "data" / "published"


@pytest.fixture(scope="module")
def run(tmp_path_factory, three_crops):
    d = three_crops
    out = tmp_path_factory.mktemp("fig") / "out"
    assert main(["run", "--dataset", str(d), "--codec", "jpeg", "--codec", "jpeg2000", "--codec", "webp",
                 "--metric", "psnr", "--metric", "ms-ssim", "--out", str(out), "--no-progress"]) == 0
    assert main(["import", str(PUBLISHED / "compressai" / "bpg_444_x265_ycbcr.json"), "--run", str(out)]) == 0
    return out


def test_every_figure_format_opens(run, tmp_path, capsys):
    fmts = "png,pdf,svg" + (",pgf" if shutil.which("pdflatex") else "")
    assert main(["plot", str(run), "--preset", "paper", "--format", fmts, "--out", str(tmp_path), "--metric", "psnr"]) == 0
    with Image.open(tmp_path / "rd_psnr.png") as im:
        assert im.size[0] > 900  # 3.5 in at 300 dpi
    assert (tmp_path / "rd_psnr.pdf").read_bytes()[:5] == b"%PDF-"
    svg = ET.parse(tmp_path / "rd_psnr.svg").getroot()
    assert svg.tag.endswith("svg")
    texts = "".join(t.text or "" for t in svg.iter() if t.tag.endswith("text"))
    assert "PSNR [dB]" in texts and "Rate [bpp]" in texts  # labels with units, kept as text
    if shutil.which("pdflatex"):
        pgf = (tmp_path / "rd_psnr.pgf").read_text()
        assert "\\begin{pgfpicture}" in pgf


def test_grid_of_four_metrics_with_msssim_in_db(run, tmp_path, capsys):
    assert main(["plot", str(run), "--preset", "paper-wide", "--grid", "--msssim-db", "--log-rate", "--spread",
                 "--format", "svg", "--out", str(tmp_path)]) == 0
    texts = "".join(t.text or "" for t in ET.parse(tmp_path / "rd_grid.svg").getroot().iter() if t.tag.endswith("text"))
    assert "MS-SSIM [dB]" in texts and "PSNR [dB]" in texts and "bpg_444_x265_ycbcr (published)" in texts


def _curves(run):
    from bench.report.stored import StoredRun

    return StoredRun.open(run).leaderboard(resamples=0).curves


def test_lines_per_axes_and_colours_fixed_by_codec_id(run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cvs = _curves(run)
    fig, (a, b) = plt.subplots(1, 2)
    assert _draw(a, cvs, "psnr", "jpeg2000", False, False, False) == 4  # 3 codecs + the published curve
    assert len(a.lines) == 4
    fewer = {k: v for k, v in cvs.items() if k[0] != "jpeg"}
    _draw(b, fewer, "psnr", "jpeg2000", False, False, False)
    ca = {ln.get_label(): ln.get_color() for ln in a.lines}
    cb = {ln.get_label(): ln.get_color() for ln in b.lines}
    assert len(b.lines) == 3 and all(ca[k] == cb[k] for k in cb)  # a missing codec shifts nobody
    assert ca["jpeg2000 (anchor)"] == codec_style("jpeg2000")[0]
    assert next(ln for ln in a.lines if "published" in ln.get_label()).get_linestyle() == ":"
    assert next(ln for ln in a.lines if "anchor" in ln.get_label()).get_linestyle() == "--"
    plt.close(fig)


def test_crops_at_matched_rate(run, tmp_path, capsys):
    assert main(["crops", str(run), "--image", "i1", "--bpp", "0.5", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    for codec in ("jpeg", "jpeg2000", "webp"):
        line = next(x for x in lines if x.startswith(codec + ":"))
        got = float(line.split(":")[1].split(" bpp")[0])
        off = float(re.search(r"off by ([-+][0-9.]+)", line).group(1))
        assert abs(got - 0.5) == pytest.approx(abs(off), abs=1e-4) and abs(off) < 0.1, line
        assert "matched-rate search" in line
    d = tmp_path / "crops_i1_0.5bpp"
    with Image.open(d / "jpeg.png") as im, Image.open(d / "original.png") as orig:
        assert im.size == orig.size == (44 * 5, 44 * 5)  # box = a quarter of the short side, enlarged x5
    assert (tmp_path / "crops_i1_0.5bpp.png").is_file() and (tmp_path / "crops_i1_0.5bpp.pdf").is_file()
    assert main(["crops", str(run), "--image", "i1", "--bpp", "0.5", "--box", "10,20,30,40", "--codec", "webp",
                 "--out", str(tmp_path / "b")]) == 0
    with Image.open(tmp_path / "b" / "crops_i1_0.5bpp" / "webp.png") as im:
        assert im.size == (30 * 6, 40 * 6)
    assert main(["crops", str(run), "--image", "nope", "--bpp", "0.5"]) == 2


def test_detailed_box_finds_the_texture():
    from bench.report.crops import detailed_box

    img = np.full((200, 300, 3), 128, np.uint8)
    img[120:170, 200:250] = np.random.default_rng(0).integers(0, 255, (50, 50, 3))
    x, y, w, h = detailed_box(img, 50)
    assert (x, y, w, h) == (200, 120, 50, 50)


@pytest.fixture(scope="module")
def report(run, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report.html"
    assert main(["report", str(run), "--out", str(out), "--image", "i0", "--bpp", "0.5"]) == 0
    return out


def test_report_is_self_contained(report):
    text = report.read_text()
    p = HTMLOutline(text)
    assert p.tags.count("table") >= 1 and "img" in p.tags and "script" not in p.tags
    assert p.refs and all(r.startswith("data:image/") for r in p.refs), [r[:40] for r in p.refs]
    assert not re.search(r"url\(\s*['\"]?https?:", text) and not re.search(r"(src|href)\s*=\s*['\"]?https?:", text)
    assert "Provenance" in text and "bootstrap over images" in text and "Run manifest" in text
    assert "Crops at matched rate" in text and "matched-rate search" in text
    assert report.stat().st_size < 5e6


def _chromium() -> str:
    """Debian's Chromium; a test never installs system packages (.ci/run does, and CI=1 makes its absence a
    failure there)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium (.ci/run does)")
        pytest.skip("no Chromium here: install it to run the browser test (Debian: apt-get install chromium; "
                    "playwright comes with the test extra)")
    return exe


def test_report_in_headless_chromium(report, tmp_path):
    """No console errors, no network request, a screenshot that is not blank."""
    exe = _chromium()
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright  # CI installs the test extra: no skipping there
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    errors, requests = [], []
    shot = tmp_path / "report.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-default-apps"])
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        assert page.title().startswith("percept-bench:")
        assert page.locator("table.leaderboard tbody tr").count() == 4  # 3 codecs + the published curve
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert not errors, errors
    outside = [u for u in requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert not outside, outside
    assert broken == 0
    with Image.open(shot) as im:
        a = np.asarray(im.convert("RGB"))
    assert a.shape[0] > 1400 and a.std() > 20 and len(np.unique(a.reshape(-1, 3), axis=0)) > 500
    dest = os.environ.get("BENCH_SCREENSHOT_DIR")
    if dest:
        shutil.copy(shot, Path(dest) / "report_screenshot.png")


def test_every_shipped_codec_has_its_own_marker_and_line():
    from bench.report.plots import FIXED

    styles = [codec_style(c)[1:] for c in FIXED]
    assert len({m for m, _ in styles}) == len(FIXED)  # told apart in greyscale by the marker alone
    assert codec_style("avif")[1] != codec_style("webp")[1] and codec_style("avif")[2] != codec_style("webp")[2]


def test_a_metric_without_curves_writes_no_figure_and_redrawn_figures_leave_no_stale_format(run, tmp_path, capsys):
    import warnings

    from bench.report.plots import rd_plots

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "No artists with labels" would be an error here
        assert rd_plots(tmp_path, {}, ["psnr"], anchor=None) == []
    r = tmp_path / "r"
    shutil.copytree(run, r)
    assert main(["plot", str(r)]) == 0 and (r / "rd_psnr.pdf").is_file()
    assert main(["plot", str(r), "--preset", "slides", "--format", "png"]) == 0
    assert (r / "rd_psnr.png").is_file() and not (r / "rd_psnr.pdf").exists()


def test_a_three_metric_grid_has_no_empty_panel_and_log_ticks_do_not_overlap(run, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bench.report.plots import _rc

    cvs = _curves(run)
    with plt.rc_context(_rc(14)):  # the slides preset font
        fig, axes = plt.subplots(1, 3, figsize=(8.0, 4.5))
        for ax, m in zip(axes, ["psnr", "ms-ssim", "psnr"]):
            _draw(ax, cvs, m, "jpeg2000", False, True, False)
        fig.tight_layout()
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in axes:
            lo, hi = ax.get_xlim()
            boxes = sorted((t.get_window_extent(renderer) for x, t in zip(ax.get_xticks(), ax.get_xticklabels())
                            if t.get_text() and lo <= x <= hi), key=lambda b: b.x0)
            assert ax.get_xlim()[0] > 0  # a log-rate axis clipped for a published curve starts above 0
            assert len(boxes) >= 2 and all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:]))
        plt.close(fig)
    from PIL import Image as PILImage

    from bench.report.plots import rd_plots

    (p3,) = rd_plots(tmp_path / "three", _curves(run), ["psnr", "ms-ssim", "psnr"], anchor="jpeg2000", grid=True,
                     formats=("png",)) if (tmp_path / "three").mkdir() is None else ()
    w3, h3 = PILImage.open(p3).size
    assert w3 > h3  # three panels in one row, not a 2 x 2 grid (taller than wide) with an empty corner


def test_styled_figures_in_the_run_directory_survive_later_rewrites(run, tmp_path):
    """`bench plot --preset slides` into the run directory: a later rewrite of the default outputs keeps those
    figures while what they show is unchanged, and redraws a stale one in the same style (16:9, png only) rather
    than the default 5.5 x 4 png + pdf (before, the stamp was dropped and every figure redrawn in the default)."""
    r = tmp_path / "r"
    shutil.copytree(run, r)
    assert main(["plot", str(r), "--preset", "slides", "--format", "png"]) == 0
    before = (r / "rd_psnr.png").read_bytes()
    assert main(["table", str(r)]) == 0  # rewrites the default tables: nothing shown changed
    assert (r / "rd_psnr.png").read_bytes() == before and not (r / "rd_psnr.pdf").exists()
    assert main(["table", str(r), "--anchor", "webp"]) == 0  # another anchor: the figures are stale
    with Image.open(r / "rd_psnr.png") as im:
        w, h = im.size
    assert (r / "rd_psnr.png").read_bytes() != before and not (r / "rd_psnr.pdf").exists()
    assert abs(w / h - 8.0 / 4.5) < 0.05, (w, h)
