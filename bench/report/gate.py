"""What `bench compare` prints and writes: a verdict line, a Markdown summary short enough for a
pull-request comment, JUnit XML for CI dashboards, JSON for machines."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ..errors import BenchError


def verdict(results) -> tuple[str, int]:
    """(verdict line, exit code) of a comparison's results."""
    reg = [r for r in results if r.status == "regression"]
    imp = [r for r in results if r.status == "improvement"]
    n = sum(r.status != "not compared" for r in results)
    if reg:
        return (f"FAIL: {len(reg)} regression(s) in {n} codec x metric cells "
                f"({', '.join(f'{r.codec}/{r.metric}' for r in reg)}); {len(imp)} improvement(s)"), 1
    return f"PASS: {n} codec x metric cells within tolerance; {len(imp)} improvement(s)", 0


def _bd(r) -> str:
    if r.bd_rate is None:
        return r.message or "n/a"
    ci = f" [{r.ci[0]:+.2f}, {r.ci[1]:+.2f}]" if r.ci else ""
    return f"{r.bd_rate:+.2f} %{ci}"


def _moved(r) -> str:
    return ", ".join(f"{img} {v:+.1f} %" for img, v in r.moved) or "–"


def text(results, notes, baseline: str, candidate: str) -> str:
    """The comparison as plain text for the terminal."""
    line, _ = verdict(results)
    out = [f"bench compare: {line}", f"  baseline  {baseline}", f"  candidate {candidate}"]
    for r in results:
        if r.status in ("regression", "improvement"):
            out.append(f"  {r.status.upper():11s} {r.codec} / {r.metric}: BD-rate {_bd(r)} (tolerance {r.tol_bd:g} %); "
                       f"{'; '.join(r.reasons)}; images moved most: {_moved(r)}")
    quiet = [f"{r.codec}/{r.metric}" for r in results if r.status == "unchanged"]
    if quiet:
        out.append(f"  within tolerance: {', '.join(quiet)}")
    out += [f"  not compared: {r.codec}/{r.metric} ({r.message})" for r in results if r.status == "not compared"]
    out += [f"  note: {n}" for n in notes]
    return "\n".join(out) + "\n"


def markdown(results, notes, baseline: str, candidate: str) -> str:
    """The comparison as Markdown for a pull-request comment."""
    line, code = verdict(results)
    out = [f"**{'❌' if code else '✅'} bench compare — {line}**", "",
           f"baseline `{baseline}` · candidate `{candidate}`", ""]
    moved = [r for r in results if r.status in ("regression", "improvement")]
    if moved:
        out += ["| | codec | metric | BD-rate [95 % CI] | tolerance | why | images moved most |",
                "|---|---|---|---|---|---|---|"]
        for r in sorted(moved, key=lambda r: r.status != "regression"):
            out.append(f"| {'regression' if r.status == 'regression' else 'improvement'} | {r.codec} | {r.metric} | "
                       f"{_bd(r)} | {r.tol_bd:g} % | {'; '.join(r.reasons)} | {_moved(r)} |")
        out.append("")
    n_ok = sum(r.status == "unchanged" for r in results)
    out.append(f"{n_ok} cell(s) within tolerance." + (" Not compared: " + ", ".join(
        f"{r.codec}/{r.metric} ({r.message})" for r in results if r.status == "not compared") + "." if any(
        r.status == "not compared" for r in results) else ""))
    out += [f"Note: {n}" for n in notes]
    return "\n".join(out) + "\n"


def junit(results, notes, baseline: str, candidate: str) -> str:
    """One testcase per codec x metric (JUnit XML as Jenkins / GitLab / GitHub reporters read it)."""
    cases = [r for r in results]
    suite = ET.Element("testsuite", name="bench compare", tests=str(len(cases)),
                       failures=str(sum(r.status == "regression" for r in cases)), errors="0",
                       skipped=str(sum(r.status == "not compared" for r in cases)), time="0")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="baseline", value=baseline)
    ET.SubElement(props, "property", name="candidate", value=candidate)
    for r in cases:
        tc = ET.SubElement(suite, "testcase", classname=f"bench.compare.{r.codec}", name=f"{r.codec} / {r.metric}",
                           time="0")
        if r.status == "regression":
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
              "message": r.message,
              "points": [{"point": p[0], "baseline": p[1], "candidate": p[2], "toward_worse": p[3],
                          "ci": list(p[4]) if p[4] else None, "tolerance": p[5]} for p in r.points],
              "images_moved_most": [{"image": i, "bd_rate": v} for i, v in r.moved]} for r in results]
    return json.dumps({"verdict": line, "exit_code": code, "baseline": baseline, "candidate": candidate,
                       "notes": notes, "cells": cells}, indent=2, default=str) + "\n"


def load_side(path):
    """A run directory (bench.sqlite), a per-image CSV export (`bench export --format csv`, or a
    directory holding records.csv), or CompressAI result JSON (a file or a directory of them)."""
    from ..analysis.compare import CompareInputError, Side
    from ..errors import StoreError
    from .exchange import curves_from_compressai
    from .stored import StoredRun

    p = Path(path)
    if not p.exists():
        raise CompareInputError(f"{p}: no such file or directory")
    try:
        if (p / "bench.sqlite").is_file():
            try:
                run = StoredRun.open(p)
            except StoreError:
                raise
            except BenchError:
                raise CompareInputError(f"{p}: the store holds no run") from None
            cvs = curves_of(run)
            return Side(str(p), cvs, run.dataset, {e["image_sha256"]: e["image"] for e in run.encodings}, True)
    except StoreError as e:
        raise CompareInputError(str(e)) from None
    csv_path = p / "records.csv" if p.is_dir() and (p / "records.csv").is_file() else p
    if csv_path.suffix == ".csv" and csv_path.is_file():
        return _from_long_csv(csv_path)
    jsons = sorted(p.glob("*.json")) if p.is_dir() else ([p] if p.suffix == ".json" else [])
    jsons = [j for j in jsons if j.name != "manifest.json"]
    if jsons:
        return Side(str(p), curves_from_compressai(jsons), None, {}, False)
    raise CompareInputError(f"{p}: not a run directory (no bench.sqlite), a per-image CSV export or "
                            "CompressAI result JSON")


def curves_of(run) -> dict:
    """A stored run's own curves as the gate compares them (no imported series, no detection resampling)."""
    from ..analysis.aggregate import curves

    return curves(run.encodings, run.records, run.metrics, run.set_scores)


def _from_long_csv(path: Path):
    import pandas as pd

    from .. import metrics as metric_table
    from ..analysis.aggregate import curves
    from ..analysis.compare import CompareInputError, Side

    try:
        df = pd.read_csv(path, dtype={"point": str})
        need = {"image", "image_sha256", "codec", "point_index", "point", "bpp", "metric", "value"}
        missing = need - set(df.columns)
        if missing:
            raise ValueError(f"missing columns {', '.join(sorted(missing))}")
    except (OSError, ValueError, pd.errors.ParserError) as e:
        raise CompareInputError(f"{path}: not a per-image export of `bench export --format csv` ({e})") from None
    encs = df.drop_duplicates(["image_sha256", "codec", "point_index"])
    encs = [{"image": r.image, "image_sha256": r.image_sha256, "codec": r.codec, "point_index": int(r.point_index),
             "point": r.point, "bpp": float(r.bpp)} for r in encs.itertuples()]
    recs = [{"image_sha256": r.image_sha256, "codec": r.codec, "point_index": int(r.point_index), "metric": r.metric,
             "value": float(r.value)} for r in df.itertuples()]
    names = list(dict.fromkeys(df["metric"]))
    for m in names:
        metric_table.get(m)
    man = path.parent / "manifest.json"
    dataset = json.loads(man.read_text()).get("dataset") if man.is_file() else None
    return Side(str(path), curves(encs, recs, names), dataset, {e["image_sha256"]: e["image"] for e in encs}, True)


def compare_paths(baseline, candidate, *, tolerance_file=None, tol=(), outputs=None, resamples=1000, seed=0):
    """`bench compare`: load both sides, compare, write the requested reports; returns
    (text summary, exit code). outputs: {"markdown" | "junit" | "json": path}."""
    from ..analysis.compare import Tolerances, compare
    from ..images import atomic_write

    tolerances = Tolerances.load(tolerance_file, tol)
    base, cand = load_side(baseline), load_side(candidate)
    results, notes = compare(base, cand, tolerances, resamples, seed)
    args = (results, notes, str(baseline), str(candidate))
    writers = {"markdown": markdown, "junit": junit, "json": to_json}
    for kind, path in (outputs or {}).items():
        if path:
            atomic_write(path, writers[kind](*args).encode())
    return text(*args), verdict(results)[1]
