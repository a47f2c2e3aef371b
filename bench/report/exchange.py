"""Result files in and out: published curves imported beside a run, our curves exported in the
field's formats, and the per-image long table (CSV / parquet / pandas).

Formats read and written:
- CompressAI's result JSON (`results/image/kodak/*.json`): {"name", "description", "results":
  {"bpp": [...], "psnr-rgb" | "psnr": [...], "ms-ssim-rgb" | "ms-ssim": [...], ...}};
- tensorflow-compression's text files (`results/image_compression/kodak/<METRIC>/<name>.txt`):
  `#` comments, then `bpp, value` lines; the metric comes from the folder name
  (PSNR_sRGB_RGB, MS-SSIM_sRGB_RGB, PSNR_sRGB_Y) or from `--metric`.
Imported curves have no per-image data: no confidence interval for them. Export writes floats
with repr() so that export -> import round-trips exactly.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import metrics as metric_table
from ..errors import BenchError

COMPRESSAI_KEYS = {"psnr-rgb": "psnr", "psnr": "psnr", "ms-ssim-rgb": "ms-ssim", "ms-ssim": "ms-ssim",
                   "psnr-y": "psnr-y"}
COMPRESSAI_OUT = {"psnr": "psnr-rgb", "ms-ssim": "ms-ssim-rgb"}
TFC_FOLDERS = {"PSNR_sRGB_RGB": "psnr", "MS-SSIM_sRGB_RGB": "ms-ssim", "PSNR_sRGB_Y": "psnr-y"}
TFC_OUT = {v: k for k, v in TFC_FOLDERS.items()}


def _metric_of(key: str) -> str | None:
    if key in COMPRESSAI_KEYS:
        return COMPRESSAI_KEYS[key]
    return key if key in metric_table.METRICS else None


MAX_FILE_BYTES = 10_000_000  # a published curve file is a few kB; refuse what cannot be one
MAX_POINTS = 1000


def _text(path: Path) -> str:
    """A result file's text: UTF-8 (a BOM allowed), of a size a curve file can have."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise BenchError(f"{path}: {path.stat().st_size / 1e6:.0f} MB; a published curve file is a few kB "
                             f"(limit {MAX_FILE_BYTES / 1e6:.0f} MB)")
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise BenchError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise BenchError(f"{path}: cannot read ({e})") from None


def checked_curve(path, metric: str, bpp: list, values: list) -> tuple[list, list]:
    """A curve that can be stored: 1..MAX_POINTS points, rates finite and above 0, values finite."""
    import math

    if not 1 <= len(bpp) <= MAX_POINTS:
        raise BenchError(f"{path}: {metric}: {len(bpp)} points (1 to {MAX_POINTS})")
    bad = [i for i, (b, v) in enumerate(zip(bpp, values)) if not (math.isfinite(b) and b > 0 and math.isfinite(v))]
    if bad:
        i = bad[0]
        raise BenchError(f"{path}: {metric} point {i}: bpp {bpp[i]!r}, value {values[i]!r}; every bpp must be a finite "
                         "number above 0 and every value finite")
    return bpp, values


def read_compressai(path: Path) -> tuple[str, str, dict]:
    """(name, description, {metric: (bpp, values)}) of a CompressAI result JSON."""
    text = _text(path)
    try:
        data = json.loads(text)
        res = data["results"]
        bpp = [float(b) for b in res["bpp"]]
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise BenchError(f"{path}: not a CompressAI result JSON ({type(e).__name__}: {e}); expected "
                         '{"name", "results": {"bpp": [...], "psnr-rgb": [...], ...}}') from None
    curves = {}
    for k, vals in res.items():
        m = _metric_of(k)
        if m and isinstance(vals, list) and m not in curves:
            if len(vals) != len(bpp):
                raise BenchError(f"{path}: results.{k} has {len(vals)} values for {len(bpp)} bpp values")
            try:
                curves[m] = checked_curve(path, m, bpp, [float(v) for v in vals])
            except (TypeError, ValueError):
                raise BenchError(f"{path}: results.{k} holds values that are not numbers") from None
    if not curves:
        raise BenchError(f"{path}: no metric we know among {', '.join(res)}")
    name = str(data.get("name", Path(path).stem))
    return name, f"{name}: {data.get('description', '')}".strip(": "), curves


def read_tfc(path: Path, metric: str | None = None) -> tuple[str, dict]:
    """(description, {metric: (bpp, values)}) of a tensorflow-compression text file."""
    path = Path(path)
    m = metric or TFC_FOLDERS.get(path.parent.name) or _metric_of(path.parent.name)
    if m is None:
        raise BenchError(f"{path}: cannot tell the metric from the folder {path.parent.name!r} "
                         f"(known: {', '.join(TFC_FOLDERS)}); pass --metric")
    metric_table.get(m)
    bpp, vals, desc = [], [], ""
    lines = _text(path).splitlines()
    for n, line in enumerate(lines, 1):
        s = line.strip()
        if s.startswith("#"):
            hit = re.search(r'data for "(.+?)"', s)
            desc = desc or (hit.group(1) if hit else "")
            continue
        if not s:
            continue
        try:
            b, v = (float(x) for x in s.split(","))
        except ValueError:
            raise BenchError(f"{path}:{n}: expected 'bpp, value', got {s!r}") from None
        bpp.append(b)
        vals.append(v)
    if not bpp:
        raise BenchError(f"{path}: no 'bpp, value' lines")
    return desc or path.stem, {m: checked_curve(path, m, bpp, vals)}


def import_files(store, files, *, metric: str | None = None, name: str | None = None) -> list[str]:
    """Add published curves to a store as imported series; returns the series names. A series may not
    take the name of a codec the store measured (it would shadow the measurement)."""
    names = []
    measured = {r[0] for r in store.db.execute("SELECT DISTINCT codec FROM encodings")}
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise BenchError(f"{p}: no such file")
        if p.suffix == ".json":
            _, desc, curves = read_compressai(p)
            fmt = "CompressAI result JSON"
        else:
            desc, curves = read_tfc(p, metric)
            fmt = "tensorflow-compression text file"
        series = name if (name and len(files) == 1) else p.stem
        if series in measured:
            raise BenchError(f"{p}: {series!r} is a codec this store measured; an imported curve may not replace a "
                             f"measured one: pass --name (e.g. --name {series}-published)")
        store.put_imported(series, curves, f"{fmt} {p.name} ({desc})")
        names.append(series)
    return names


def imported_curves(store, metric_names) -> dict:
    """{(series, metric): Curve} of the store's imported published curves."""
    from ..analysis.aggregate import Curve

    out = {}
    for series, src, curves in store.imported():
        for m, (bpp, vals) in curves.items():
            if m in metric_names:
                out[(series, m)] = Curve(series, m, list(bpp), list(vals), list(range(len(bpp))), source=src,
                                         params=[None] * len(bpp))
    return out


def export_compressai(cvs: dict, out: Path, description: str) -> list[Path]:
    """Our curves as CompressAI result JSON files, one per codec."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for codec in sorted({c for c, _ in cvs}):
        mine = {m: cv for (c, m), cv in cvs.items() if c == codec and cv.bpp}
        if not mine:
            continue
        shared = sorted(set.intersection(*(set(cv.point_index) for cv in mine.values())))
        first = next(iter(mine.values()))
        res = {"bpp": [first.bpp[first.point_index.index(i)] for i in shared]}
        for m, cv in mine.items():
            res[COMPRESSAI_OUT.get(m, m)] = [cv.value[cv.point_index.index(i)] for i in shared]
        p = out / f"{codec}.json"
        p.write_text(json.dumps({"name": codec, "description": description, "results": res}, indent=2) + "\n")
        written.append(p)
    return written


def export_tfc(cvs: dict, out: Path, description: str) -> list[Path]:
    """Our curves as tensorflow-compression text files, one per codec and metric."""
    written = []
    for (codec, m), cv in sorted(cvs.items()):
        if not cv.bpp:
            continue
        d = out / TFC_OUT.get(m, m)
        d.mkdir(parents=True, exist_ok=True)
        lines = [f'# Aggregate rate-distortion data for "{codec}" ({description}).',
                 "# The first column contains bits per pixel (bpp) values.",
                 f"# The second column contains {m} values (mean over images at each rate point).", ""]
        lines += [f"{b!r}, {v!r}" for b, v in zip(cv.bpp, cv.value)]
        p = d / f"{codec}.txt"
        p.write_text("\n".join(lines) + "\n")
        written.append(p)
    return written


LONG_COLUMNS = ["image", "image_sha256", "codec", "point_index", "point", "bytes", "bpp", "metric", "value",
                "encode_s", "decode_s"]
SET_IMAGE = "(set)"  # the image column of a set-level score (FID, KID, mAP): one value over all images


def long_table(rows: list, encs: list, set_scores: list):
    """A run's records as a pandas DataFrame, one row per image x codec x rate point x metric, then one
    row per set-level score (image "(set)", bytes summed and bpp averaged over the point's images)."""
    import pandas as pd

    params = {e["key"]: json.loads(e["point"]) for e in encs}
    table = [{"image": r["image"], "image_sha256": r["image_sha256"], "codec": r["codec"],
              "point_index": r["point_index"], "point": json.dumps(params.get(r["encoding_key"])), "bytes": r["bytes"],
              "bpp": r["bpp"], "metric": r["metric"], "value": r["value"], "encode_s": r["encode_s"],
              "decode_s": r["decode_s"]} for r in rows]
    by_point: dict = {}
    for e in encs:
        by_point.setdefault((e["codec"], e["point_index"]), []).append(e)
    for s in set_scores:
        point = by_point.get((s["codec"], s["point_index"]), [])
        if point:
            table.append({"image": SET_IMAGE, "image_sha256": "", "codec": s["codec"], "point_index": s["point_index"],
                          "point": json.dumps(json.loads(point[0]["point"])), "bytes": sum(e["bytes"] for e in point),
                          "bpp": sum(e["bpp"] for e in point) / len(point), "metric": s["metric"],
                          "value": float("nan") if s["value"] is None else s["value"], "encode_s": float("nan"),
                          "decode_s": float("nan")})
    df = pd.DataFrame(table, columns=LONG_COLUMNS)
    df = df.astype({"image": "string", "image_sha256": "string", "codec": "string", "point_index": "int64", "point": "string",
                    "bytes": "int64", "bpp": "float64", "metric": "string", "value": "float64",
                    "encode_s": "float64", "decode_s": "float64"})
    return df.sort_values(["codec", "point_index", "image", "metric"], kind="stable").reset_index(drop=True)


def curves_from_compressai(files) -> dict:
    """{(name, metric): Curve} of CompressAI result JSON files (published curves, no per-image data)."""
    from ..analysis.aggregate import Curve

    out = {}
    for f in files:
        name, desc, curves = read_compressai(f)
        for m, (bpp, vals) in curves.items():
            out[(name, m)] = Curve(name, m, bpp, vals, list(range(len(bpp))), params=[None] * len(bpp), source=desc)
    return out


def import_into(run_dir, files, *, metric: str | None = None, name: str | None = None,
                remove: str | None = None) -> list[str]:
    """`bench import`: published curves into the store of a run directory (or, with `remove`, one
    imported series out of it); returns the series names."""
    from ..store import Store

    store = Store(run_dir, create=False)
    if remove is not None:
        if files:
            raise BenchError("bench import --remove NAME takes no files")
        if not store.remove_imported(remove):
            raise BenchError(f"{run_dir}: no imported series {remove!r}; imported: "
                             f"{', '.join(s for s, _, _ in store.imported()) or '(none)'}")
        return [remove]
    if not files:
        raise BenchError("bench import FILE... --run RUN: give the files to import (or --remove NAME)")
    return import_files(store, files, metric=metric, name=name)
