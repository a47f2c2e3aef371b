"""`bench study create`: a pairwise study from a stored run. Each condition is a codec at a rate point (or
at the stored point nearest a target bpp, image by image); every image shown is the run's own
reconstruction, decoded again from its stored bitstream and checked against its pixel sha256, cropped
the same way for every condition of an image. Golden questions pit a lossless copy of the original
against a clearly degraded one (JPEG quality 5) to screen raters."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

from .. import metrics as metric_table
from ..errors import BenchError, UnknownName
from ..images import png_bytes
from ..report.crops import detailed_box
from ..report.stored import StoredRun
from .store import DEGRADED, ORIGINAL, Study

SAMPLERS = ("active", "random", "round-robin")


def degraded(px: np.ndarray) -> np.ndarray:
    """The golden questions' clearly worse side: JPEG at quality 5."""
    import imagecodecs

    return imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(px, level=5))


def _conditions(run: StoredRun, codecs, points, bpps) -> list[dict]:
    have = sorted({e["codec"] for e in run.encodings})
    for c in codecs:
        if c not in have:
            raise UnknownName("codec of this run", c, have)
    codecs = codecs or [c for c in have if len({e["point_index"] for e in run.encodings if e["codec"] == c}) > 1]
    if points and bpps:
        raise BenchError("give --points or --bpp, not both")
    if bpps:
        return [{"id": f"{c}@{b:g}bpp", "codec": c, "target_bpp": b} for c in codecs for b in bpps]
    out = []
    for c in codecs:
        idx = sorted({e["point_index"] for e in run.encodings if e["codec"] == c})
        chosen = points or [idx[len(idx) // 4], idx[len(idx) // 2], idx[(3 * len(idx)) // 4]]
        for p in dict.fromkeys(chosen):
            if p not in idx:
                raise BenchError(f"--points {p}: codec {c} has points {idx[0]}..{idx[-1]} in this run")
            out.append({"id": f"{c}#{p}", "codec": c, "point_index": p})
    return out


def _encoding(encs: list[dict], cond: dict) -> dict:
    mine = [e for e in encs if e["codec"] == cond["codec"]]
    if "target_bpp" in cond:
        return min(mine, key=lambda e: abs(e["bpp"] - cond["target_bpp"]))
    return next(e for e in mine if e["point_index"] == cond["point_index"])


def _matched(run: StoredRun, px: np.ndarray, cond: dict, folder: Path, k: int, metric_names: list) -> dict | None:
    """A target-rate condition on a numeric ladder: the matched-rate search's encoding of the whole image,
    its bitstream kept in the study folder and the run's full-reference metrics scored on it (they are
    not in the run's store); None for a discrete ladder (learned checkpoints: the nearest stored point)."""
    from ..adapters.search import numeric
    from ..analysis.match import match
    from ..runner.task import codec as load

    c = load(cond["codec"])
    if not (numeric(c.ladder) and c.adapter.available()[0]):
        return None
    m = match(cond["codec"], px, bpp=cond["target_bpp"])
    enc = c.adapter.encode(px, m.point)
    rec = np.ascontiguousarray(c.adapter.decode(enc.data, m.point, shape=px.shape))
    (folder / "bitstreams").mkdir(exist_ok=True)
    (folder / "bitstreams" / f"{k}.bin").write_bytes(enc.data)
    scores = {n: float(metric_table.score(n, px, rec)) for n in metric_names}
    return {"pixels": rec, "point": m.point, "bpp": 8 * enc.rate_bytes / (px.shape[0] * px.shape[1]),
            "bitstream": f"bitstreams/{k}.bin", "scores": scores,
            "how": f"matched-rate search ({len(m.evaluations)} encodes)"}


def create(run_dir, out, *, codecs=(), points=(), bpps=(), images=(), crop: int | None = None,
           golden_every: int = 10, per_rater: int = 60, sampling: str = "active", anchor: str | None = None,
           data_dir=None, search: bool = True) -> Study:
    """Make the study folder: conditions, the images raters see (crops of the run's reconstructions),
    golden questions and the settings the server follows."""
    if sampling not in SAMPLERS:
        raise BenchError(f"--sampling {sampling}: choose {', '.join(SAMPLERS)}")
    if golden_every < 0 or per_rater < 1:
        raise BenchError("--golden-every must be >= 0 (0: none) and --per-rater >= 1")
    if (Path(out) / "study.json").exists():
        raise BenchError(f"{out}: already holds a study; choose another --out or delete it")
    run = StoredRun.open(run_dir)
    conds = _conditions(run, list(codecs), list(points), list(bpps))
    if len(conds) < 2:
        raise BenchError(f"{run_dir}: a study needs at least two conditions (codecs x points); got {len(conds)}")
    names = list(images) or run.images()
    for im in names:
        if im not in run.images():
            raise UnknownName("image of this run", im, run.images())
    ids = [c["id"] for c in conds]
    if anchor is not None and anchor not in ids:
        raise UnknownName("condition", anchor, ids)
    # Elo 0 is the first condition of the run's anchor codec, unless asked otherwise
    ra = run.manifest.get("anchor")
    anchor = anchor or next((c["id"] for c in conds if c["codec"] == ra), ids[0])
    spec = {"kind": "percept-bench study", "version": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run": str(Path(run_dir).resolve()), "run_id": run.run_id, "dataset": run.dataset,
            "conditions": conds, "anchor": anchor, "images": names, "crop": crop,
            "golden_every": golden_every, "per_rater": per_rater, "sampling": sampling, "items": []}
    folder = Path(out)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    fr = [m for m in run.metrics if metric_table.get(m).kind == "fr"]
    items = []
    for im in names:
        px = run.original(im, data_dir)
        box = detailed_box(px, crop) if crop else (0, 0, px.shape[1], px.shape[0])
        x, y, w, h = box
        encs = [e for e in run.encodings if e["image"] == im]
        sides = [(ORIGINAL, None, px)] + ([(DEGRADED, None, degraded(px))] if golden_every else [])
        sides += [(c["id"], c, None) for c in conds]
        for cid, what, pixels in sides:
            k = len(items)
            item = {"id": k, "image": im, "condition": cid, "file": f"images/{k}.png", "encoding": None,
                    "bpp": None, "box": [x, y, w, h]}
            if what is not None:
                found = _matched(run, px, what, folder, k, fr) if search and "target_bpp" in what else None
                if found is None:
                    enc = _encoding(encs, what)
                    pixels = run.reconstruction(enc)  # decoded again and checked against its sha256
                    item.update(encoding=enc["key"], bpp=enc["bpp"], point=json.loads(enc["point"]),
                                how="nearest stored point" if "target_bpp" in what else "stored point")
                else:
                    pixels = found.pop("pixels")
                    item.update(found)
            data = png_bytes(np.ascontiguousarray(pixels[y:y + h, x:x + w]))
            (folder / item["file"]).write_bytes(data)
            items.append({**item, "sha256": hashlib.sha256(data).hexdigest()})
    spec["items"] = items
    for c in conds:
        mine = [i for i in items if i["condition"] == c["id"]]
        c["bpp"] = float(np.mean([i["bpp"] for i in mine]))
        if "target_bpp" in c:  # how far the images are from the target, and how they were found
            c["worst_off"] = max((i["bpp"] / c["target_bpp"] - 1 for i in mine), key=abs)
            c["how"] = "; ".join(sorted({i["how"].split(" (")[0] for i in mine}))
    run.close()
    return Study.create(folder, spec)
