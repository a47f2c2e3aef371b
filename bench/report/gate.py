"""What `bench compare` prints and writes: a verdict line, a Markdown summary short enough for a
pull-request comment, JUnit XML for CI dashboards, JSON for machines."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ..analysis.compare import FAILING
from ..errors import BenchError
from ..images import atomic_write


def verdict(results) -> tuple[str, int]:
    """(verdict line, exit code): FAIL (1) on any regression, missing cell or point, undefined BD-rate or
    incomplete run; PASS (0) otherwise."""
    failing = [r for r in results if r.status in FAILING]
    imp = [r for r in results if r.status == "improvement"]
    n = sum(r.status not in ("not compared", "incomplete") for r in results)
    if failing:
        counts = [f"{sum(r.status == k for r in failing)} {k}" + ("(s)" if k == "regression" else "")
                  for k in FAILING if any(r.status == k for r in failing)]
        return (f"FAIL: {', '.join(counts)} in {n} codec x metric cells "
                f"({', '.join(_cell_name(r) for r in failing)}); {len(imp)} improvement(s)"), 1
    return f"PASS: {n} codec x metric cells within tolerance; {len(imp)} improvement(s)", 0


def _cell_name(r) -> str:
    return f"{r.codec}/{r.metric}" if r.status == "regression" else f"{r.codec}/{r.metric} {r.status}"


def _bd(r) -> str:
    if r.bd_rate is None:
        return r.message or "n/a"
    ci = f" [{r.ci[0]:+.2f}, {r.ci[1]:+.2f}]" if r.ci else ""
    return f"{r.bd_rate:+.2f} %{ci}"


def _moved(r) -> str:
    return ", ".join(f"{img} {v:+.1f} %" for img, v in r.moved) or "–"


SHOWN = (*FAILING, "improvement")  # cells printed one by one, in this order


def text(results, notes, baseline: str, candidate: str) -> str:
    """The comparison as plain text for the terminal."""
    line, _ = verdict(results)
    out = [f"bench compare: {line}", f"  baseline  {baseline}", f"  candidate {candidate}"]
    for r in sorted((r for r in results if r.status in SHOWN), key=lambda r: SHOWN.index(r.status)):
        out.append(f"  {r.status.upper():11s} {r.codec} / {r.metric}: BD-rate {_bd(r)} (tolerance {r.tol_bd:g} %); "
                   f"{'; '.join(r.reasons) or r.message}; images moved most: {_moved(r)}")
    quiet = [f"{r.codec}/{r.metric}" for r in results if r.status == "unchanged"]
    if quiet:
        out.append(f"  within tolerance: {', '.join(quiet)}")
    out += [f"  not compared: {r.codec}/{r.metric} ({r.message})" for r in results if r.status == "not compared"]
    out += [f"  note: {n}" for n in notes]
    return "\n".join(out) + "\n"


_MD = {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "#": "\\#",
       "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " ", "$": "\\$"}


def md_escape(text) -> str:
    """Text safe inside a Markdown table cell: no table breaks, no HTML, no emphasis or links from names."""
    return "".join(_MD.get(ch, ch) for ch in str(text))


def _code(text: str) -> str:
    """Text inside a Markdown code span: a backtick or a line break would end it."""
    return str(text).replace("`", "'").replace("\n", " ")


def markdown(results, notes, baseline: str, candidate: str) -> str:
    """The comparison as Markdown for a pull-request comment (every name escaped)."""
    e = md_escape
    line, code = verdict(results)
    out = [f"**{'❌' if code else '✅'} bench compare — {e(line)}**", "",
           f"baseline `{_code(baseline)}` · candidate `{_code(candidate)}`", ""]
    shown = sorted((r for r in results if r.status in SHOWN), key=lambda r: SHOWN.index(r.status))
    if shown:
        out += ["| | codec | metric | BD-rate [95 % CI] | tolerance | why | images moved most |",
                "|---|---|---|---|---|---|---|"]
        for r in shown:
            out.append(f"| {r.status} | {e(r.codec)} | {e(r.metric)} | {e(_bd(r))} | {r.tol_bd:g} % | "
                       f"{e('; '.join(r.reasons) or r.message)} | {e(_moved(r))} |")
        out.append("")
    n_ok = sum(r.status == "unchanged" for r in results)
    others = [f"{e(r.codec)}/{e(r.metric)} ({e(r.message)})" for r in results if r.status == "not compared"]
    out.append(f"{n_ok} cell(s) within tolerance." + (" Not compared: " + ", ".join(others) + "." if others else ""))
    out += [f"Note: {e(n)}" for n in notes]
    return "\n".join(out) + "\n"


def junit(results, notes, baseline: str, candidate: str) -> str:
    """One testcase per codec x metric (JUnit XML as Jenkins / GitLab / GitHub reporters read it)."""
    cases = [r for r in results]
    suite = ET.Element("testsuite", name="bench compare", tests=str(len(cases)),
                       failures=str(sum(r.status in FAILING for r in cases)), errors="0",
                       skipped=str(sum(r.status == "not compared" for r in cases)), time="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="baseline", value=baseline)
    ET.SubElement(props, "property", name="candidate", value=candidate)
    for r in cases:
        tc = ET.SubElement(suite, "testcase", classname=f"bench.compare.{r.codec}", name=f"{r.codec} / {r.metric}",
                           time="0")
        if r.status in ("missing", "undefined", "incomplete"):
            ET.SubElement(tc, "failure", message="; ".join(r.reasons) or r.message, type=r.status).text = r.message
        elif r.status == "regression":
            f = ET.SubElement(tc, "failure", message="; ".join(r.reasons), type="regression")
            f.text = (f"BD-rate {_bd(r)} (tolerance {r.tol_bd:g} %)\n"
                      + "".join(f"point {p[0]}: {p[1]:.6g} -> {p[2]:.6g} (toward worse {p[3]:+.4g}, tolerance "
                                f"{p[5]:g})\n" for p in r.points)
                      + f"images moved most: {_moved(r)}\n")
        elif r.status == "not compared":
            ET.SubElement(tc, "skipped", message=r.message)
        else:
            out = ET.SubElement(tc, "system-out")
            out.text = f"{r.status}: BD-rate {_bd(r)}" + (f"; {'; '.join(r.reasons)}" if r.reasons else "")
    root = ET.Element("testsuites", name="percept-bench", tests=suite.get("tests"), failures=suite.get("failures"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_json(results, notes, baseline: str, candidate: str) -> str:
    """The comparison as JSON."""
    line, code = verdict(results)
    cells = [{"codec": r.codec, "metric": r.metric, "status": r.status, "bd_rate": r.bd_rate,
              "ci_low": r.ci[0] if r.ci else None, "ci_high": r.ci[1] if r.ci else None,
              "tolerance_bd_rate": r.tol_bd, "tolerance_point": r.tol_point, "reasons": r.reasons,
              "message": r.message, "missing_points": r.missing_points,
              "points": [{"point": p[0], "baseline": p[1], "candidate": p[2], "toward_worse": p[3],
                          "ci": list(p[4]) if p[4] else None, "tolerance": p[5]} for p in r.points],
              "images_moved_most": [{"image": i, "bd_rate": v} for i, v in r.moved]} for r in results]
    return json.dumps({"verdict": line, "exit_code": code, "baseline": baseline, "candidate": candidate,
                       "notes": notes, "cells": cells}, indent=2, default=str) + "\n"


def load_side(path):
    """A run directory (bench.sqlite), a per-image CSV export (`bench export --format csv`, or a
    directory holding records.csv), or CompressAI result JSON (a file or a directory of them)."""
    from ..analysis.compare import CompareInputError, Side
    from .exchange import curves_from_compressai
    from .stored import StoredRun

    p = Path(path)
    if not p.exists():
        raise CompareInputError(f"{p}: no such file or directory")
    if (p / "bench.sqlite").is_file():
        try:
            run = StoredRun.open(p, read_only=True)
        except BenchError as e:
            raise CompareInputError(str(e)) from None
        problems = [] if run.finished else [f"run {run.run_id} of {p} did not finish (killed, or still running): "
                                            "rerun its command to complete it"]
        return Side(str(p), run.measured_curves, run.dataset, {e["image_sha256"]: e["image"] for e in run.encodings},
                    True, problems)
    csv_path = p / "records.csv" if p.is_dir() and (p / "records.csv").is_file() else p
    if csv_path.suffix == ".csv" and csv_path.is_file():
        return _from_long_csv(csv_path)
    jsons = sorted(p.glob("*.json")) if p.is_dir() else ([p] if p.suffix == ".json" else [])
    jsons = [j for j in jsons if j.name != "manifest.json"]
    if jsons:
        return Side(str(p), curves_from_compressai(jsons), None, {}, False)
    raise CompareInputError(f"{p}: not a run directory (no bench.sqlite), a per-image CSV export or "
                            "CompressAI result JSON")


def _from_long_csv(path: Path):
    import pandas as pd

    from .. import metrics as metric_table
    from ..analysis.aggregate import curves
    from ..analysis.compare import CompareInputError, Side
    from .exchange import LONG_COLUMNS, SET_IMAGE

    text_columns = {"image": str, "image_sha256": str, "codec": str, "point": str, "metric": str}
    try:
        df = pd.read_csv(path, dtype=text_columns, keep_default_na=False, na_values={"value": ["", "nan", "NaN"]},
                         encoding="utf-8-sig")
        missing = set(LONG_COLUMNS[:9]) - set(df.columns)
        if missing:
            raise ValueError(f"missing columns {', '.join(sorted(missing))}")
        df["point_index"] = pd.to_numeric(df["point_index"], errors="raise").astype("int64")
        df["bpp"] = pd.to_numeric(df["bpp"], errors="raise").astype(float)
        df["value"] = pd.to_numeric(df["value"], errors="raise").astype(float)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, pd.errors.ParserError) as e:
        raise CompareInputError(f"{path}: not a per-image export of `bench export --format csv` ({e}); "
                                "export it again") from None
    for m in dict.fromkeys(df["metric"]):
        metric_table.get(m)
    sets = df[df["image"] == SET_IMAGE]
    df = df[df["image"] != SET_IMAGE]
    encs = df.drop_duplicates(["image_sha256", "codec", "point_index"])
    encs = [{"image": r.image, "image_sha256": r.image_sha256, "codec": r.codec, "point_index": int(r.point_index),
             "point": r.point, "bpp": float(r.bpp)} for r in encs.itertuples()]
    recs = [{"image_sha256": r.image_sha256, "codec": r.codec, "point_index": int(r.point_index), "metric": r.metric,
             "value": float(r.value)} for r in df.itertuples()]
    set_scores = [{"codec": r.codec, "point_index": int(r.point_index), "metric": r.metric,
                   "value": None if r.value != r.value else float(r.value)} for r in sets.itertuples()]
    names = list(dict.fromkeys(list(df["metric"]) + list(sets["metric"])))
    man = path.parent / "manifest.json"
    dataset = json.loads(man.read_text()).get("dataset") if man.is_file() else None
    return Side(str(path), curves(encs, recs, names, set_scores), dataset,
                {e["image_sha256"]: e["image"] for e in encs}, True)


def compare_paths(baseline, candidate, *, tolerance_file=None, tol=(), outputs=None, resamples=1000, seed=0,
                  allow_missing=False, allow_undefined=False):
    """`bench compare`: load both sides, compare, write the requested reports; returns (text summary,
    exit code). outputs: {"markdown" | "junit" | "json": path}. Unusable input of any kind is a
    CompareInputError (exit 2), never a traceback and never the regression code."""
    from ..analysis.compare import CompareInputError
    from .outputs import checked_output

    outputs = {k: checked_output(v) for k, v in (outputs or {}).items() if v}
    for path in outputs.values():  # an earlier verdict must not survive a failure to write this one
        path.unlink(missing_ok=True)
    try:
        results, notes = _judge(baseline, candidate, tolerance_file, tol, resamples, seed, allow_missing,
                                allow_undefined)
        args = (results, notes, str(baseline), str(candidate))
        writers = {"markdown": markdown, "junit": junit, "json": to_json}
        for kind, path in outputs.items():
            atomic_write(path, writers[kind](*args).encode())
    except BenchError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as e:
        raise CompareInputError(f"bench compare could not complete: {type(e).__name__}: {e}") from None
    return text(*args), verdict(results)[1]


def _judge(baseline, candidate, tolerance_file, tol, resamples, seed, allow_missing, allow_undefined):
    from ..analysis.compare import Result, Tolerances, compare

    if resamples < 0:
        raise BenchError(f"--resamples {resamples}: give 0 (no intervals) or a positive number")
    tolerances = Tolerances.load(tolerance_file, tol)
    base, cand = load_side(baseline), load_side(candidate)
    results, notes = compare(base, cand, tolerances, resamples, seed, allow_missing=allow_missing,
                             allow_undefined=allow_undefined)
    for who, side in (("baseline", base), ("candidate", cand)):
        results += [Result(who, "(whole run)", "incomplete", message=p, reasons=[p]) for p in side.problems]
    return results, notes
