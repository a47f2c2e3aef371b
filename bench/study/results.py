"""`bench study results`: screen raters on the golden questions, fit Bradley–Terry on the rest, give
every condition an Elo score with a bootstrap interval (images and raters resampled), per-codec human
score vs bpp and a BD-rate on the human scale, and how each metric of the run agrees with people."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from ..analysis import pairwise
from ..errors import BenchError
from .sampler import judgements_of
from .store import Study


@dataclass
class Results:
    """A fitted study, ready to render."""
    anchor: str
    conditions: list[dict]  # id, codec, bpp, elo, lo, hi, n
    raters: list[dict]  # name, answers, golden, golden_correct, consistency, excluded
    excluded: list[str]
    bd_rates: list[dict] = field(default_factory=list)  # codec, bd_rate, lo, hi (vs the anchor's codec)
    metrics: list[dict] = field(default_factory=list)  # metric, agreement, lo, hi, tau, tau_lo, tau_hi
    disagreements: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    judgements: int = 0
    fit: object = field(default=None, repr=False)  # (strengths, bootstrap draws): BD-rates against any codec

    def public(self) -> dict:
        """What the JSON output holds (the fit's arrays aside)."""
        return {k: v for k, v in self.__dict__.items() if k != "fit"}


def fit_study(study: Study, *, resamples: int = 1000, seed: int = 0, golden_threshold: float = 0.8,
              anchor: str | None = None, run=None) -> Results:
    """Screen, fit and bootstrap a study (served or imported); `run`: an open StoredRun to reuse for the metric
    agreement when it is the study's own."""
    every = study.db.execute("SELECT * FROM judgements ORDER BY id").fetchall()
    raters, excluded = _screen(every, golden_threshold)
    rows = [r for r in every if not r["golden"] and r["rater"] not in excluded]
    if not rows:
        raise BenchError(f"{study.dir}: no judgements to fit yet (answers from screened-out raters are left out)")
    j, conds, images, _ = judgements_of(study, rows)
    info = {c["id"]: c for c in study.spec.get("conditions", [])}
    anchor = anchor or study.spec.get("anchor") or conds[0]
    if anchor not in conds:
        raise BenchError(f"anchor {anchor!r} is not a condition of this study; valid: {', '.join(conds)}")
    a = conds.index(anchor)
    s = pairwise.fit(j)
    draws = pairwise.bootstrap(j, resamples, seed) if resamples else np.empty((0, j.n))
    lo, hi = pairwise.interval(pairwise.elo(draws, a)) if resamples else (np.full(j.n, np.nan),) * 2
    e = pairwise.elo(s, a)
    n = np.bincount(j.a, minlength=j.n) + np.bincount(j.b, minlength=j.n)
    table = [{"id": c, "codec": info.get(c, {}).get("codec", c), "bpp": info.get(c, {}).get("bpp"),
              "elo": float(e[k]), "lo": float(lo[k]), "hi": float(hi[k]), "n": int(n[k])} for k, c in enumerate(conds)]
    res = Results(anchor, table, raters, excluded, judgements=len(rows), fit=(s, draws))
    res.notes.append(f"Bradley–Terry maximum likelihood (ties as half a win each, penalty {pairwise.PENALTY} sum s^2) on "
                     f"{len(rows)} judgements from {len({r['rater'] for r in rows})} raters over {len(images)} images; "
                     f"Elo = 400 log10(odds) against {anchor}; 95 % percentile intervals from {resamples} bootstrap "
                     "draws resampling images and raters.")
    if len(images) < 10:
        res.notes.append(f"Intervals rest on {len(images)} images: a bootstrap over fewer than ~10 images has few distinct "
                         "draws (and a condition that never lost in a draw runs far out); read them as indicative.")
    if excluded:
        res.notes.append(f"Excluded (golden-question accuracy below {golden_threshold:.0%}): {', '.join(excluded)}.")
    res.bd_rates = human_bd_rates(res, next(c["codec"] for c in table if c["id"] == anchor))
    if study.spec.get("run"):
        from .agreement import metric_agreement

        res.metrics, res.disagreements = metric_agreement(study, rows, conds, e, pairwise.elo(draws, a), seed, run=run)
    return res


def _screen(rows, threshold: float) -> tuple[list[dict], list[str]]:
    """Per rater: answers, golden questions right, consistency with the majority of the other raters on
    the same image and pair; raters with at least 3 golden questions and accuracy below threshold are out."""
    out, excluded = [], []
    votes: dict = {}
    for r in rows:
        if not r["golden"]:
            key = (r["image"], *sorted((r["a"], r["b"])))
            votes.setdefault(key, []).append((r["rater"], r["y"] if r["a"] <= r["b"] else 1 - r["y"]))
    for name in sorted({r["rater"] for r in rows}):
        mine = [r for r in rows if r["rater"] == name]
        gold = [r for r in mine if r["golden"]]
        right = sum(1 for r in gold if (r["y"] == 1) == (r["a"] == "original") and r["y"] != 0.5)
        agree, total = 0.0, 0
        for vs in votes.values():
            own = [y for who, y in vs if who == name]
            others = [y for who, y in vs if who != name]
            if own and others:
                maj = np.mean(others)
                agree += sum(1 - abs(y - round(maj)) if maj != 0.5 else 0.5 for y in own)
                total += len(own)
        acc = right / len(gold) if gold else None
        out_ = acc is not None and len(gold) >= 3 and acc < threshold
        if out_:
            excluded.append(name)
        out.append({"name": name, "answers": len(mine) - len(gold), "golden": len(gold), "golden_correct": right,
                    "consistency": agree / total if total else None, "excluded": out_})
    return out, excluded


def human_bd_rates(res: Results, ref: str) -> list[dict]:
    """Per codec: the BD-rate on the human scale against codec `ref` (piecewise-linear log rate against
    the Bradley–Terry strength; a shift of every strength changes nothing), with its bootstrap interval."""
    s, draws = res.fit
    table = res.conditions
    by = {}
    for k, c in enumerate(table):
        if c["bpp"] is not None:
            by.setdefault(c["codec"], []).append(k)
    if ref not in by or len(by[ref]) < 2:
        return []
    out = []
    bpp = lambda idx: [table[k]["bpp"] for k in idx]  # noqa: E731
    for codec, ks in by.items():
        if codec == ref or len(ks) < 2:
            continue
        v = pairwise.linear_bd_rate(bpp(by[ref]), s[by[ref]], bpp(ks), s[ks])
        d = [pairwise.linear_bd_rate(bpp(by[ref]), x[by[ref]], bpp(ks), x[ks]) for x in draws]
        d = np.array([x for x in d if math.isfinite(x)])
        # an interval only when (nearly) every draw gives a value: otherwise it would describe a selection
        ok = len(d) and len(d) >= 0.9 * len(draws)
        lo, hi = np.percentile(d, [2.5, 97.5]) if ok else (math.nan, math.nan)
        out.append({"codec": codec, "anchor": ref, "bd_rate": v, "lo": float(lo), "hi": float(hi),
                    "defined_draws": int(len(d))})
    return out


def number(v, digits: int = 1) -> str:
    """A number to `digits` decimals, or n/a (None, NaN or infinite)."""
    return "n/a" if v is None or not math.isfinite(v) else f"{v:.{digits}f}"


def render(res: Results, fmt: str = "md") -> str:
    """The results as Markdown, CSV or JSON."""
    if fmt == "json":
        return json.dumps(res.public(), indent=1, default=float) + "\n"
    if fmt == "csv":
        lines = ["condition,codec,bpp,elo,ci_low,ci_high,judgements"]
        lines += [f"{c['id']},{c['codec']},{'' if c['bpp'] is None else repr(c['bpp'])},{c['elo']!r},{c['lo']!r},"
                  f"{c['hi']!r},{c['n']}" for c in res.conditions]
        return "\n".join(lines) + "\n"
    if fmt != "md":
        raise BenchError(f"--format {fmt}: choose md, csv or json")
    f = number
    out = ["| condition | bpp | Elo | 95 % interval | judgements |", "|---|---:|---:|---|---:|"]
    for c in sorted(res.conditions, key=lambda c: -c["elo"]):
        tag = " (anchor)" if c["id"] == res.anchor else ""
        out.append(f"| {c['id']}{tag} | {f(c['bpp'], 3)} | {f(c['elo'])} | [{f(c['lo'])}, {f(c['hi'])}] | {c['n']} |")
    if res.bd_rates:
        out += ["", "| codec | human BD-rate vs " + res.bd_rates[0]["anchor"] + " | 95 % interval |", "|---|---:|---|"]
        out += [f"| {b['codec']} | {f(b['bd_rate'])} % | [{f(b['lo'])}, {f(b['hi'])}] |" for b in res.bd_rates]
    if res.metrics:
        out += ["", "| metric | agrees with people | 95 % interval | Kendall τ (conditions) | 95 % interval |",
                "|---|---:|---|---:|---|"]
        out += [f"| {m['metric']} | {f(100 * m['agreement'])} % | [{f(100 * m['lo'])}, {f(100 * m['hi'])}] | "
                f"{f(m['tau'], 3)} | [{f(m['tau_lo'], 3)}, {f(m['tau_hi'], 3)}] |" for m in res.metrics]
    out += ["", "| rater | answers | golden right | consistency | excluded |", "|---|---:|---:|---:|---|"]
    out += [f"| {r['name']} | {r['answers']} | {r['golden_correct']}/{r['golden']} | "
            f"{f(None if r['consistency'] is None else 100 * r['consistency'])} % | {'yes' if r['excluded'] else ''} |"
            for r in res.raters]
    if res.disagreements:
        out += ["", "Pairs where metrics and people disagree most (share of people preferring the first):", ""]
        out += [f"- {d['image']}: {d['a']} vs {d['b']}: people {f(100 * d['people'], 0)} %, "
                f"{d['metric']} prefers {d['metric_prefers']} ({d['files'][0]} vs {d['files'][1]})"
                for d in res.disagreements]
    return "\n".join(out + [""] + [f"*{n}*" for n in res.notes]) + "\n"
