"""Judgements in and out. Two forms:
- CLIC style, `methodA,methodB,originalName,answerValue[,answerer][,isGolden][,modelProbability]`:
  answerValue `A` means methodA was preferred, `B` methodB, `draw` neither; a golden question
  (isGolden 1) was answered right when modelProbability is 1 (the conventions of the README of the CLIC
  rater-model Elo program; no published answer file could be read here to check them against data, so
  other answer values are refused rather than guessed). A golden row is stored as `original` vs
  `degraded`, preferred or not as it was answered right or not: it screens raters and is never fitted;
- generic, `image,a,b,winner[,rater]`: winner is a, b (the condition names) or `tie`.
An imported file becomes a study of its own (no run and no images needed), or joins an existing one."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from ..errors import BenchError
from .store import Study

CLIC = ("methodA", "methodB", "originalName", "answerValue")
GENERIC = ("image", "a", "b", "winner")


def read_judgements(path) -> list[tuple]:
    """(rater, image, a, b, y, golden) rows of a CLIC-style or generic CSV; errors name file, line and fix."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise BenchError(f"{p}: cannot read ({e})") from None
    rd = csv.DictReader(io.StringIO(text))
    head = set(rd.fieldnames or ())
    if set(CLIC) <= head:
        form = "clic"
    elif set(GENERIC) <= head:
        form = "generic"
    else:
        raise BenchError(f"{p}: header {sorted(head)} is neither CLIC style ({','.join(CLIC)}) nor generic "
                         f"({','.join(GENERIC)}[,rater])")
    rows = []
    for n, r in enumerate(rd, start=2):
        if None in r or any(r.get(k) in (None, "") for k in (CLIC if form == "clic" else GENERIC)):
            raise BenchError(f"{p}:{n}: a row with missing or extra fields")
        if form == "clic":
            a, b, image = r["methodA"], r["methodB"], r["originalName"]
            v = r["answerValue"].strip().lower()
            y = {"a": 1.0, "b": 0.0, "draw": 0.5, "tie": 0.5}.get(v)
            if y is None:
                raise BenchError(f"{p}:{n}: answerValue {r['answerValue']!r}: expected A, B or draw")
            rater = r.get("answerer") or "imported"
            golden = int((r.get("isGolden") or "0").strip() in ("1", "true", "True"))
            if golden and (r.get("modelProbability") or "").strip() in ("0", "1", "0.0", "1.0"):
                right = float(r["modelProbability"]) == 1
                a, b, y = "original", "degraded", 1.0 if right else 0.0
        else:
            a, b, image, w = r["a"], r["b"], r["image"], r["winner"]
            if w not in (a, b, "tie"):
                raise BenchError(f"{p}:{n}: winner {w!r} is neither {a!r}, {b!r} nor 'tie'")
            y = 1.0 if w == a else 0.0 if w == b else 0.5
            rater, golden = r.get("rater") or "imported", 0
        if a == b:
            raise BenchError(f"{p}:{n}: a condition compared with itself ({a})")
        rows.append((rater, image, a, b, y, golden))
    if not rows:
        raise BenchError(f"{p}: no judgements")
    return rows


def import_file(path, out) -> tuple[Study, int]:
    """Add a file's judgements to the study at `out`, making an imported study there when there is none."""
    rows = read_judgements(path)
    folder = Path(out)
    if (folder / "study.json").exists():
        study = Study.open(folder)
    else:
        study = Study.create(folder, {"kind": "percept-bench study", "version": 1, "run": None, "conditions": [],
                                      "images": sorted({r[1] for r in rows}), "items": [], "imported": []})
    n = study.add_judgements(rows, source=Path(path).name)
    return study, n


def export(study: Study, fmt: str, out) -> int:
    """Write the study's judgements (golden ones included, flagged) as CLIC-style or generic CSV."""
    rows = study.judgements(include_golden=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if fmt == "clic":
        w.writerow([*CLIC, "answerer", "isGolden", "modelProbability"])
        for r in rows:
            right = "" if not r["golden"] else int((r["y"] == 1) == (r["a"] == "original") and r["y"] != 0.5)
            w.writerow([r["a"], r["b"], r["image"], {1.0: "A", 0.0: "B"}.get(r["y"], "draw"), r["rater"], r["golden"],
                        right])
    elif fmt == "generic":
        w.writerow([*GENERIC, "rater"])
        for r in rows:
            if not r["golden"]:
                w.writerow([r["image"], r["a"], r["b"], {1.0: r["a"], 0.0: r["b"]}.get(r["y"], "tie"), r["rater"]])
    else:
        raise BenchError(f"--format {fmt}: choose clic or generic")
    from ..images import atomic_write

    atomic_write(Path(out), buf.getvalue().encode())
    return len(rows)
