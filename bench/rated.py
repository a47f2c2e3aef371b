"""Human-rated image sets, described by a card (TOML), for `bench validate-metrics`.

    id = "tid2013"
    format = "tid2013"        # csv | csv-2afc | tid2013 | kadid10k | bapps-2afc
    root = "/data/tid2013"    # default: the card's folder; relative paths are from the card
    table = "ratings.csv"     # csv / csv-2afc: the table, relative to root
    score = "mos"             # mos (higher = better) | dmos (lower = better)
    published = "tid2013"     # its name in the published metric-human correlations, when it has one

Formats (users download the sets themselves; none is shipped):
- csv: columns `ref,dist,score` (paths relative to root), optional `group` — what anyone can write;
- csv-2afc: columns `ref,a,b,p_a` (p_a: share of people who preferred A);
- tid2013: `mos_with_names.txt` ("MOS name" per line), `reference_images/I01.BMP`, `distorted_images/i01_01_1.bmp`;
- kadid10k: `dmos.csv` (dist_img,ref_img,dmos,var) with the images in `images/` (KADID's "dmos" is a
  1-5 mean opinion score, higher = better: use score = "mos");
- bapps-2afc: a BAPPS 2AFC split (e.g. `val/traditional`): `ref/`, `p0/`, `p1/` PNGs and `judge/*.npy`
  holding the share of people who preferred p1.
CSIQ and LIVE ship their ratings as spreadsheets / .mat files: export them to the csv format.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .cards import read_toml
from .errors import DatasetError

FORMATS = ("csv", "csv-2afc", "tid2013", "kadid10k", "bapps-2afc")


@dataclass
class RatedSet:
    """A set rated by people: (reference, distorted, score) pairs or 2AFC triplets."""
    id: str
    kind: str  # "pairs" | "2afc"
    items: list  # pairs: (ref, dist, score, group); 2afc: (ref, a, b, p_a)
    higher_is_better: bool
    published: str | None
    card: Path


CARD_KEYS = {"id", "format", "root", "table", "score", "published", "description", "source", "licence", "license"}


def load(card_path) -> RatedSet:
    """A rated set from its card (TOML); errors name the file and the fix."""
    card_path = Path(card_path)
    if not card_path.is_file():
        raise DatasetError(f"{card_path}: no such rated-set card")
    c = read_toml(card_path)
    unknown = sorted(set(c) - CARD_KEYS)
    if unknown:
        raise DatasetError(f"{card_path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(CARD_KEYS))}")
    fmt = c.get("format", "csv")
    if fmt not in FORMATS:
        raise DatasetError(f"{card_path}: format {fmt!r}; valid: {', '.join(FORMATS)}")
    root = Path(c.get("root", "."))
    root = root if root.is_absolute() else (card_path.parent / root)
    if not root.is_dir():
        raise DatasetError(f"{card_path}: root {root} does not exist; download the set and point `root` at it")
    if c.get("score", "mos") not in ("mos", "dmos"):
        raise DatasetError(f"{card_path}: score must be 'mos' or 'dmos'")
    items = READERS[fmt](root, c, card_path)
    if not items:
        raise DatasetError(f"{card_path}: no rated items found under {root}")
    missing = [p for it in items for p in it if isinstance(p, Path) and not p.is_file()]
    if missing:
        raise DatasetError(f"{card_path}: {len(missing)} image file(s) missing, e.g. {missing[0]}")
    return RatedSet(c.get("id", card_path.stem), "2afc" if fmt.endswith("2afc") else "pairs", items,
                    c.get("score", "mos") == "mos", c.get("published"), card_path)


def _table(root: Path, c: dict, card: Path, need: tuple) -> list[dict]:
    """The rows of a card's CSV table (UTF-8, an Excel BOM allowed), each with every needed field."""
    p = root / c.get("table", "ratings.csv")
    try:
        with open(p, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{card}: cannot read the table {p} ({e}); save it as UTF-8 CSV") from None
    if not set(need) <= set(header):
        raise DatasetError(f"{p}: needs columns {','.join(need)}; has {','.join(header) or '(none)'}")
    for n, r in enumerate(rows, 2):
        if None in r or any(r.get(k) in (None, "") for k in need):
            raise DatasetError(f"{p}:{n}: a row with missing or extra fields ({len(header)} columns expected); fix "
                               "that line")
    return rows


def _number(p: Path, n: int, text: str, what: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise DatasetError(f"{p}:{n}: {what} {text!r} is not a finite number")
    return v


def _csv(root, c, card):
    p = root / c.get("table", "ratings.csv")
    return [(root / r["ref"], root / r["dist"], _number(p, n, r["score"], "score"), r.get("group") or None)
            for n, r in enumerate(_table(root, c, card, ("ref", "dist", "score")), 2)]


def _csv_2afc(root, c, card):
    p = root / c.get("table", "ratings.csv")
    return [(root / r["ref"], root / r["a"], root / r["b"], _number(p, n, r["p_a"], "p_a"))
            for n, r in enumerate(_table(root, c, card, ("ref", "a", "b", "p_a")), 2)]


def _tid2013(root, c, card):
    out = []
    for line in (root / "mos_with_names.txt").read_text().splitlines():
        if line.strip():
            mos, name = line.split()
            out.append((root / "reference_images" / f"I{name[1:3]}.BMP", root / "distorted_images" / name, float(mos),
                        name[4:6]))
    return out


def _kadid(root, c, card):
    rows = list(csv.DictReader(open(root / "dmos.csv", newline="")))
    return [(root / "images" / r["ref_img"], root / "images" / r["dist_img"], float(r["dmos"]), r["dist_img"][4:6])
            for r in rows]


def _bapps(root, c, card):
    import numpy as np

    out = []
    for j in sorted((root / "judge").glob("*.npy")):
        p1 = float(np.load(j).reshape(-1)[0])
        stem = j.stem
        out.append((root / "ref" / f"{stem}.png", root / "p0" / f"{stem}.png", root / "p1" / f"{stem}.png", 1 - p1))
    return out


READERS = {"csv": _csv, "csv-2afc": _csv_2afc, "tid2013": _tid2013, "kadid10k": _kadid, "bapps-2afc": _bapps}
