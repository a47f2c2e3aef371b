"""What a rater is asked next: a question already served and not answered (so a restart or a reload
resumes it), else a golden question every N answers, else the next pair of conditions (active: the most
informative under the current fit; random; or round-robin), on the image of that pair judged least,
never the image the rater has just judged, sides drawn at random."""
from __future__ import annotations

import random
import secrets
import time

from ..analysis import pairwise
from .store import DEGRADED, ORIGINAL, Study


def judgements_of(study: Study, rows=None) -> tuple[pairwise.Judgements, list[str], list[str], list[str]]:
    """The study's non-golden judgements as arrays, with the condition, image and rater names indexed."""
    conds = [c["id"] for c in study.spec.get("conditions", [])]
    rows = study.judgements() if rows is None else rows
    for r in rows:  # an imported study lists its conditions as they come
        for c in (r["a"], r["b"]):
            if c not in conds:
                conds.append(c)
    ci = {c: k for k, c in enumerate(conds)}
    images = sorted({r["image"] for r in rows})
    raters = sorted({r["rater"] for r in rows})
    ii, ri = {v: k for k, v in enumerate(images)}, {v: k for k, v in enumerate(raters)}
    j = pairwise.Judgements.of([ci[r["a"]] for r in rows], [ci[r["b"]] for r in rows], [r["y"] for r in rows],
                               [ii[r["image"]] for r in rows], [ri[r["rater"]] for r in rows], n=len(conds))
    return j, conds, images, raters


def next_question(study: Study, token: str):
    """The served row this rater answers next (created when needed), or None when they are done."""
    with study.lock:  # one question chosen at a time: two tabs of one rater never get two open questions
        db = study.db
        row = db.execute("SELECT * FROM served WHERE token = ? AND answered = 0 ORDER BY id DESC LIMIT 1",
                         (token,)).fetchone()
        if row is not None:
            return row
        answered = db.execute("SELECT COUNT(*) FROM served WHERE token = ? AND answered = 1", (token,)).fetchone()[0]
        if answered >= study.spec["per_rater"]:
            return None
        last = db.execute("SELECT image FROM served WHERE token = ? ORDER BY id DESC LIMIT 1", (token,)).fetchone()
        rng = random.Random(secrets.randbits(64))
        every = study.spec.get("golden_every", 0)
        if every and answered % every == every - 1:
            image = _image_for(study, None, last and last["image"], rng)
            a, b = _item(study, image, ORIGINAL), _item(study, image, DEGRADED)
            golden = 1
        else:
            ca, cb = _pair(study, answered, rng)
            image = _image_for(study, (ca, cb), last and last["image"], rng)
            a, b = _item(study, image, ca), _item(study, image, cb)
            golden = 0
        if rng.random() < 0.5:
            a, b = b, a
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO served (token, image, a, b, golden, nonce, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (token, image, a, b, golden, secrets.token_urlsafe(12), time.time()))
        return db.execute("SELECT * FROM served WHERE token = ? AND answered = 0 ORDER BY id DESC LIMIT 1",
                          (token,)).fetchone()


def _pair(study: Study, answered: int, rng: random.Random) -> tuple[str, str]:
    conds = [c["id"] for c in study.spec["conditions"]]
    cands = [(i, k) for i in range(len(conds)) for k in range(i + 1, len(conds))]
    how = study.spec.get("sampling", "active")
    if how == "random":
        i, k = rng.choice(cands)
    elif how == "round-robin":
        total = study.db.execute("SELECT COUNT(*) FROM served WHERE golden = 0").fetchone()[0]
        i, k = cands[total % len(cands)]
    else:
        j, names, _, _ = judgements_of(study)
        counts = {}
        for a, b in zip(j.a, j.b):
            key = (min(a, b), max(a, b))
            counts[key] = counts.get(key, 0) + 1
        i, k = cands[pairwise.next_pair(j, cands, counts)]
    return conds[i], conds[k]


def _image_for(study: Study, pair, last: str | None, rng: random.Random) -> str:
    """The image of this pair judged least so far (any image for a golden question), not `last`."""
    images = study.spec["images"]
    pool = [im for im in images if im != last] or images
    if pair is None:
        return rng.choice(pool)
    cond = {i["id"]: i["condition"] for i in study.spec["items"]}
    n = {im: 0 for im in pool}
    for r in study.db.execute("SELECT image, a, b FROM served WHERE golden = 0"):
        if r["image"] in n and {cond[r["a"]], cond[r["b"]]} == set(pair):
            n[r["image"]] += 1
    low = min(n.values())
    return rng.choice([im for im in pool if n[im] == low])


def _item(study: Study, image: str, condition: str) -> int:
    return next(i["id"] for i in study.spec["items"] if i["image"] == image and i["condition"] == condition)
