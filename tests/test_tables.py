"""The table renderers on a small leaderboard whose BD-rates are known in closed form: curves linear
in log2(rate), so a codec 1 dB better at every rate needs 2^(-1/3) of the bits (PSNR rises 3 dB per
doubling here), one 0.05 LPIPS worse needs 2^(0.5) of them (LPIPS falls 0.1 per doubling)."""
import csv
import io
import json
import math

import pytest

from bench.analysis.aggregate import Curve
from bench.analysis.leaderboard import Options, build
from bench.report import tables as T
from bench.report.formats import TABLE_FORMATS

BPP = [0.25, 0.5, 1.0, 2.0]


def _curve(codec, metric, values, source=None):
    return Curve(codec, metric, list(BPP), list(values), list(range(4)), params=[10, 20, 40, 80], source=source)


@pytest.fixture(scope="module")
def lb():
    cvs = {("a", "psnr"): _curve("a", "psnr", [28, 31, 34, 37]), ("b", "psnr"): _curve("b", "psnr", [29, 32, 35, 38]),
           ("a", "lpips"): _curve("a", "lpips", [.4, .3, .2, .1]),
           ("b", "lpips"): _curve("b", "lpips", [.45, .35, .25, .15]),
           ("pub", "psnr"): _curve("pub", "psnr", [27, 30, 33, 36], source="a published <curve>")}
    return build(cvs, Options(anchor="a", resamples=0))


def test_bd_rates_match_the_closed_form(lb):
    rows = {(r["codec"], r["metric"]): r for r in json.loads(T.render(lb, "json", "t"))["rows"]}
    assert rows[("b", "psnr")]["bd_rate"] == pytest.approx(100 * (2 ** (-1 / 3) - 1), abs=1e-9)
    assert rows[("pub", "psnr")]["bd_rate"] == pytest.approx(100 * (2 ** (1 / 3) - 1), abs=1e-9)
    assert rows[("b", "lpips")]["bd_rate"] == pytest.approx(100 * (math.sqrt(2) - 1), abs=1e-9)
    assert rows[("a", "psnr")]["bd_rate"] == 0 and rows[("pub", "lpips")]["message"] == "no lpips curve"


def test_markdown_marks_the_best_cell_and_the_anchor(lb):
    md = T.render(lb, "md", "Title")
    lines = md.splitlines()
    assert lines[0] == "# Title"
    b = next(line for line in lines if line.startswith("| b |"))
    assert "**-20.6**" in b and "+41.4 (ov 71%)" in b
    assert any(line.startswith("| a (anchor) |") for line in lines)
    assert any(line.startswith("| pub (published) |") for line in lines)
    assert "pub: imported published curve, a published <curve>" in md


def test_csv_has_one_row_per_codec_and_metric(lb):
    rows = list(csv.DictReader(io.StringIO(T.render(lb, "csv", "t"))))
    assert [(r["codec"], r["metric"]) for r in rows] == [("a", "psnr"), ("a", "lpips"), ("b", "psnr"), ("b", "lpips"),
                                                          ("pub", "psnr"), ("pub", "lpips")]
    assert float(rows[2]["bd_rate"]) == pytest.approx(-20.6299, abs=1e-4) and rows[4]["source"] == "a published <curve>"


def test_json_is_strict_and_latex_and_html_escape(lb):
    json.loads(T.render(lb, "json", "t"), parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}"))
    tex = T.render(lb, "latex", "T_itle & 50%")
    assert r"\caption{BD-rate (\%) against a (pchip, log rate); bold: best in each column" in tex
    assert r"\toprule" in tex and tex.count(r"\begin{table}") == 1 and "% Source: T_itle & 50%" in tex
    assert T.tex_escape("T_itle & 50% {x} #1 $") == r"T\_itle \& 50\% \{x\} \#1 \$"
    assert r"$\mathbf{-20.6}$" in tex  # the best cell: bold digits
    html = T.render(lb, "html", "a <b> & c")
    assert "a &lt;b&gt; &amp; c" in html and "a published &lt;curve&gt;" in html and "<curve>" not in html


@pytest.mark.parametrize("fmt", TABLE_FORMATS)
def test_grid_table_renders_every_format(fmt):
    text = T.grid_table("G & t", ["x", "y"], [["1", "<2>"], ["3", "4"]], fmt, ["a note"])
    if fmt == "csv":
        assert list(csv.reader(io.StringIO(text))) == [["x", "y"], ["1", "<2>"], ["3", "4"]]
    elif fmt == "json":
        assert json.loads(text)["rows"] == [{"x": "1", "y": "<2>"}, {"x": "3", "y": "4"}]
    elif fmt == "html":
        assert "&lt;2&gt;" in text and "<th scope=\"col\">x</th>" in text
    elif fmt == "latex":
        assert r"G \& t" in text and r"1 & <2> \\" in text
    else:
        assert "| 1 | <2> |" in text and "a note" in text
