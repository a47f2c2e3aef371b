"""Leaderboard renderers: Markdown, LaTeX (booktabs), HTML, CSV and JSON from one model
(bench.analysis.leaderboard), each carrying the provenance; and the per-rate-point CSV."""
from __future__ import annotations

import csv
import html
import io
import json
import math
from pathlib import Path

from .. import metrics as metric_table
from ..analysis.aggregate import METHOD
from ..analysis.leaderboard import PER_IMAGE, RESAMPLED, Leaderboard


# -- cell text -----------------------------------------------------------------------------------
def _num(v: float, kind: str, unit: str = "") -> str:
    if kind == "bpp_at":
        return f"{v:.3f}"
    if kind == "bd_rate":
        return f"{v:+.1f}"
    if kind == "bd_metric":
        return f"{v:+.3g}"
    return f"{v:.2f}" if unit == "dB" else f"{v:.4g}"  # one precision per column: dB to 0.01


def _best(lb: Leaderboard) -> dict:
    """Column key -> the codec with the best value (anchor included, imported curves included)."""
    best = {}
    for col in lb.columns:
        vals = [(lb.cells[(c, col.key)].value, c) for c in lb.rows if lb.cells[(c, col.key)].value is not None]
        if vals:
            best[col.key] = (min if col.lower_is_better else max)(vals)[1]
    return best


def _parts(lb: Leaderboard, codec: str, col) -> tuple[str, str, str]:
    """(number, interval, remark) of one cell as plain text."""
    cell = lb.cells[(codec, col.key)]
    if cell.value is None:
        return "n/a", "", cell.message
    ci = f"[{_num(cell.ci[0], col.kind, col.unit)}, {_num(cell.ci[1], col.kind, col.unit)}]" \
        if cell.ci and cell.message != "anchor" else ""
    if cell.delta is not None:
        ci += f" Δ {cell.delta:+.3g} [{cell.delta_ci[0]:+.3g}, {cell.delta_ci[1]:+.3g}]"
    rem = []
    if cell.overlap_fraction is not None:
        rem.append(f"ov {100 * cell.overlap_fraction:.0f}%")
    rem += cell.flags
    return _num(cell.value, col.kind, col.unit), ci, ", ".join(rem)


def _header(col) -> str:
    arrow = "↓" if col.lower_is_better else "↑"
    nr = "†" if metric_table.get(col.metric).kind == "nr" else ""
    return f"{col.label}{nr} ({col.unit}) {arrow}" if col.unit else f"{col.label}{nr} {arrow}"


HULL_NOTE = ("; --hull: points below the upper convex hull of (bpp, quality), in linear rate as the AV2 CTC scripts "
             "take it, dropped (inefficient settings; a concave curve keeps every point)")


def _footer(lb: Leaderboard) -> list[str]:
    o = lb.options
    lines = [f"BD-rate vs {o.anchor} in % (negative = fewer bits for the same quality); BD-metric in the "
             "metric's units at equal rate; `ov` = overlap of the integrated ranges as a share of their union.",
             f"Method: {METHOD.format(method=o.method)}" + (HULL_NOTE if o.hull else "")
             + "."] + ([f"BD average: {PER_IMAGE}."] if o.per_image else [])
    if o.resamples > 0 and not o.per_image:  # per-image: the interval is PER_IMAGE's (a bootstrap of the mean)
        lines.append(RESAMPLED.format(n=o.resamples, seed=o.seed) + ".")
        if o.at_bpp:
            lines.append(f"Quality at a rate: pchip in log rate, its 95 % interval, and Δ = the difference to {o.anchor} "
                         "at the same rate with its paired interval (same image draws).")
    nr = sorted({c.metric for c in lb.columns if metric_table.get(c.metric).kind == "nr"})
    if nr:
        lines.append(f"† {', '.join(nr)}: no-reference realism scores of the decoded image alone, not fidelity "
                     "to the original; their BD-rate compares the bits needed for equal realism scores.")
    if lb.sources:
        lines += [f"{c}: imported published curve, {src}; no per-image data, so no interval." for c, src in
                  sorted(lb.sources.items())]
    return lines + lb.notes


def provenance_lines(p: dict) -> list[str]:
    """The provenance of a table as lines of text."""
    if not p:
        return []
    ds = p.get("dataset", {})
    out = [f"Dataset {ds.get('id')} ({ds.get('images')} images, files sha256 digest {ds.get('files_digest', '')[:16]}…).",
           f"percept-bench {p.get('bench_version')} (git {p.get('git_commit') or 'not a checkout'}), run "
           f"{p.get('run_id')} {p.get('started')} → {p.get('finished') or 'not finished'}, on {p.get('host')}.",
           f"Command: {p.get('command')}"]
    for c, v in sorted(p.get("codecs", {}).items()):
        out.append(f"Codec {c}: {v.get('version')}; params {json.dumps(v.get('params', {}), sort_keys=True)}.")
    for m, v in sorted(p.get("metrics", {}).items()):
        w = "; ".join(f"{k} sha256 {h}" for k, h in v.get("weights", {}).items()) or "no weights"
        out.append(f"Metric {m}: {v.get('backend')} {v.get('backend_version')}, row v{v.get('row_version')}; {w}.")
    return out


# -- formats -------------------------------------------------------------------------------------
def render(lb: Leaderboard, fmt: str, title: str) -> str:
    """The leaderboard in one of the table formats."""
    return {"md": markdown, "latex": latex, "html": html_table, "csv": to_csv, "json": to_json}[fmt](lb, title)


def _grid(lb: Leaderboard):
    """Per row: (label, bpp range text, [(number, interval, remark, best?) per column]); number is
    'n/a' (and remark the reason) where the cell is undefined."""
    best = _best(lb)
    for r in lb.rows:
        lo_hi = lb.bpp_range.get(r)
        rng = f"{lo_hi[0]:.3f}–{lo_hi[1]:.3f}" if lo_hi else "–"
        yield lb.row_label(r), rng, [(*_parts(lb, r, col), best.get(col.key) == r) for col in lb.columns]


TIME_HEADS = ("encode s/image", "decode s/image")


def _headline_head(lb: Leaderboard) -> list[str]:
    """The heads of the codec-level columns: a profile's mean BD-rate, then any extra (a study's)."""
    heads = [f"mean BD-rate (%) over {len(lb.options.headline)} metrics ↓"] if lb.options.headline else []
    return heads + [x.head for x in lb.extras]


def _summaries(lb: Leaderboard) -> list[tuple[dict, bool, str, bool]]:
    """({codec: Cell}, lower is better, number kind, bold the best?) of each codec-level column, in order."""
    return ([(lb.headline, True, "bd_rate", True)] if lb.options.headline else []) + \
        [(x.cells, x.lower_is_better, x.kind, x.ranked) for x in lb.extras]


def _headline(lb: Leaderboard, codec: str) -> list[tuple]:
    """The codec-level cells as (number, interval, remark, best?), or nothing."""
    out = []
    for cells, lower, kind, ranked in _summaries(lb):
        cell = cells.get(codec)
        if cell is None or cell.value is None:
            out.append(("n/a", "", cell.message if cell else "no value", False))
            continue
        vals = {c: x.value for c, x in cells.items() if x.value is not None}
        best = ranked and (min if lower else max)(vals, key=vals.get) == codec
        ci = f"[{_num(cell.ci[0], kind)}, {_num(cell.ci[1], kind)}]" if cell.ci and cell.message != "anchor" else ""
        out.append((_num(cell.value, kind), ci, "", best))
    return out


def _times(lb: Leaderboard, codec: str) -> list[str]:
    """The codec's encode and decode seconds per image (--times), or n/a (imported curves have none)."""
    if not lb.options.times:
        return []
    t = lb.times.get(codec)
    return [f"{t[0]:.3g}", f"{t[1]:.3g}"] if t else ["n/a", "n/a"]


def markdown(lb: Leaderboard, title: str) -> str:
    """The leaderboard as Markdown."""
    lines = [f"# {title}", ""] + [f"**{n}**\n" for n in lb.provenance.get("warnings", [])]
    heads = [_header(c) for c in lb.columns] + _headline_head(lb) + (list(TIME_HEADS) if lb.options.times else [])
    lines += ["| codec | bpp range | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(heads)]
    for (label, rng, parts), codec in zip(_grid(lb), lb.rows):
        parts = parts + _headline(lb, codec)
        cells = [f"n/a: {rem}" if num == "n/a" else
                 " ".join(x for x in (f"**{num}**" if best else num, ci, f"({rem})" if rem else "") if x)
                 for num, ci, rem, best in parts]
        lines.append(f"| {label} | {rng} | " + " | ".join(cells + _times(lb, codec)) + " |")
    lines += [""] + _footer(lb) + [""] + [f"- {x}" for x in provenance_lines(lb.provenance)]
    return "\n".join(lines) + "\n"


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
        "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "↓": r"$\downarrow$", "↑": r"$\uparrow$",
        "†": r"$^\dagger$", "Δ": r"$\Delta$", "–": "--", "→": r"$\to$", "…": r"\ldots{}", "[": "[", "]": "]"}


def tex_escape(s: str) -> str:
    """Text with LaTeX's special characters escaped."""
    return "".join(_TEX.get(ch, ch) for ch in str(s))


def latex(lb: Leaderboard, title: str) -> str:
    """A booktabs table ready for a paper (needs only \\usepackage{booktabs}; compiles under pdflatex): a
    caption that says what the numbers are, metric names as papers print them, the best cell per column
    in bold digits, notes under the table; the provenance as LaTeX comments after the float."""
    spec = "ll" + "r" * (len(lb.columns) + len(_headline_head(lb)) + (2 if lb.options.times else 0))
    out = [r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{tex_escape(_tex_caption(lb, title))}}}",
           rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
           "Codec & bpp & " + " & ".join([_tex_header(c) for c in lb.columns]
                                         + [tex_escape(h.replace(" ↓", "")) + r" $\downarrow$" for h in _headline_head(lb)]
                                         + ([r"Enc.\ s/img", r"Dec.\ s/img"] if lb.options.times else []))
           + r" \\", r"\midrule"]
    for (label, rng, parts), codec in zip(_grid(lb), lb.rows):
        cells = []
        for num, ci, rem, best in parts + _headline(lb, codec):
            if num == "n/a":
                cells.append(r"\textit{n/a}")
                continue
            t = rf"$\mathbf{{{num}}}$" if best else f"${num}$"  # \mathbf: digits in math mode are bold only so
            if ci:
                t += r" {\scriptsize $" + ci.replace("Δ", r"\Delta\,") + "$}"
            t += r"$^*$" if ("extrapolated" in rem or "hull" in rem) else ""
            cells.append(t)
        out.append(f"{tex_escape(label)} & {tex_escape(rng)} & " + " & ".join(cells + _times(lb, codec)) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip", r"\begin{minipage}{\linewidth}\scriptsize"]
    notes = _footer(lb) + ["n/a: " + "; ".join(sorted({f"{r}/{c.metric}: {lb.cells[(r, c.key)].message}"
                                                      for r in lb.rows for c in lb.columns
                                                      if lb.cells[(r, c.key)].value is None}))]
    out += [tex_escape(n.replace("`", "")) + r"\par" for n in notes if n and n != "n/a: "]
    out.append(r"$^*$ extrapolated beyond the measured rates, or points dropped by --hull.\par")
    out += [r"\end{minipage}", r"\end{table}"]
    out += ["% " + line.replace("\n", " ") for line in [f"Source: {title}"] + provenance_lines(lb.provenance)]
    return "\n".join(out) + "\n"


def _tex_header(col) -> str:
    """A column head as a paper prints it: the metric's display name (PSNR, MS-SSIM), its unit, the arrow."""
    name = metric_table.get(col.metric).label
    label = col.label.replace(col.metric, name, 1)
    nr = r"$^\dagger$" if metric_table.get(col.metric).kind == "nr" else ""
    unit = f" ({tex_escape(col.unit)})" if col.unit else ""
    return f"{tex_escape(label)}{nr}{unit} " + (r"$\downarrow$" if col.lower_is_better else r"$\uparrow$")


def _tex_caption(lb: Leaderboard, title: str) -> str:
    """What the table's numbers are, in a sentence (the run's title stays in the comments below)."""
    o, p = lb.options, lb.provenance.get("dataset", {})
    kinds = dict.fromkeys(c.kind for c in lb.columns)
    what = {"bd_rate": "BD-rate (%)", "bd_metric": "BD-metric", "at_bpp": "quality at fixed rates",
            "bpp_at": "rate at fixed quality"}
    on = f" on {p['id']} ({p['images']} images)" if p.get("id") else ""
    ci = "; brackets: 95 % bootstrap intervals over images" if o.resamples > 0 else ""
    return (f"{', '.join(what[k] for k in kinds)} against {o.anchor}{on} ({o.method}, log rate); bold: best in "
            f"each column{ci}.")


def html_table(lb: Leaderboard, title: str) -> str:
    """The leaderboard as an HTML table (caption, notes, provenance)."""
    e = html.escape
    prov = "".join(f"<li>{e(p)}</li>" for p in provenance_lines(lb.provenance))
    foot = "".join(f"<p>{e(n)}</p>" for n in _footer(lb))
    warn = "".join(f"<p><strong>{e(w)}</strong></p>" for w in lb.provenance.get("warnings", []))
    trs = []
    for (label, rng, parts), codec in zip(_grid(lb), lb.rows):
        tds = [f"<th scope=\"row\">{e(label)}</th>", f"<td>{e(rng)}</td>"]
        for num, ci, rem, best in parts + _headline(lb, codec):
            if num == "n/a":
                tds.append(f"<td class=\"na\" title=\"{e(rem)}\">n/a</td>")
                continue
            v = f"<strong>{e(num)}</strong>" if best else e(num)
            tds.append(f"<td title=\"{e(rem)}\">{v}{f' <small>{e(ci)}</small>' if ci else ''}</td>")
        tds += [f"<td>{e(t)}</td>" for t in _times(lb, codec)]
        trs.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th scope=\"col\">{e(h)}</th>"
                   for h in [_header(c) for c in lb.columns] + _headline_head(lb)
                   + (list(TIME_HEADS) if lb.options.times else []))
    return (f"<table class=\"leaderboard\">\n<caption><strong>{e(title)}</strong>{warn}{foot}"
            f"<details><summary>Provenance</summary><ul>{prov}</ul></details></caption>\n"
            f"<thead><tr><th scope=\"col\">codec</th><th scope=\"col\">bpp range</th>{head}</tr></thead>\n"
            f"<tbody>\n" + "\n".join(trs) + "\n</tbody>\n</table>\n")


def rows(lb: Leaderboard) -> list[dict]:
    """One dict per codec x metric: the CSV / JSON columns."""
    o = lb.options
    out = []
    metrics = list(dict.fromkeys(c.metric for c in lb.columns))
    for r in lb.rows:
        for m in metrics:
            d = {"codec": r, "metric": m, "anchor": o.anchor}
            if o.headline:
                h = lb.headline.get(r)
                d.update({"headline_bd_rate": h.value if h else None,
                          "headline_ci_low": h.ci[0] if h and h.ci else None,
                          "headline_ci_high": h.ci[1] if h and h.ci else None})
            for x in lb.extras:
                h = x.cells.get(r)
                d.update({x.key: h.value if h else None, f"{x.key}_ci_low": h.ci[0] if h and h.ci else None,
                          f"{x.key}_ci_high": h.ci[1] if h and h.ci else None})
            if o.times:
                t = lb.times.get(r, (None, None))
                d.update({"encode_s_per_image": t[0], "decode_s_per_image": t[1]})
            for col in (c for c in lb.columns if c.metric == m):
                cell = lb.cells[(r, col.key)]
                ci = cell.ci or (None, None)
                if col.kind in ("bd_rate", "bd_metric"):
                    pre = "" if col.kind == "bd_rate" else "bd_metric_"
                    name = "bd_rate" if col.kind == "bd_rate" else "bd_metric"
                    d.update({name: cell.value, f"{pre}ci_low": ci[0], f"{pre}ci_high": ci[1],
                              f"{pre}overlap": cell.overlap_fraction,
                              f"{pre}overlap_low": cell.overlap[0] if cell.overlap else None,
                              f"{pre}overlap_high": cell.overlap[1] if cell.overlap else None})
                    if col.kind == "bd_rate":
                        d.update({"method": o.method, "message": cell.message if cell.value is None else "",
                                  "flags": "; ".join(cell.flags), "source": lb.sources.get(r, "")})
                else:
                    name = f"{m}_at_{col.target:g}_bpp" if col.kind == "at_bpp" else f"bpp_at_{m}_{col.target:g}"
                    d[name] = cell.value
                    d[f"{name}_extrapolated"] = "extrapolated" in cell.flags if cell.value is not None else None
                    if col.kind == "at_bpp":
                        ci_d = cell.delta_ci or (None, None)
                        d.update({f"{name}_ci_low": ci[0], f"{name}_ci_high": ci[1], f"{name}_delta": cell.delta,
                                  f"{name}_delta_ci_low": ci_d[0], f"{name}_delta_ci_high": ci_d[1]})
            out.append(d)
    return out


def to_csv(lb: Leaderboard, title: str = "") -> str:
    """The leaderboard as CSV, one row per codec and metric."""
    rs = rows(lb)
    cols = list(dict.fromkeys(k for r in rs for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rs:
        w.writerow({k: ("" if v is None else (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in r.items()})
    return buf.getvalue()


def to_json(lb: Leaderboard, title: str) -> str:
    """The leaderboard as strict JSON."""
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    o = lb.options
    doc = {"title": title, "anchor": o.anchor, "method": o.method,
           "resampling": RESAMPLED.format(n=o.resamples, seed=o.seed) if o.resamples > 0 else None,
           "hull": o.hull, "notes": _footer(lb), "provenance": lb.provenance,
           "rows": [{k: clean(v) for k, v in r.items()} for r in rows(lb)]}
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


def write_default(out: Path, lb: Leaderboard, title: str, cvs: dict) -> str:
    """The run directory's files: leaderboard.md / .csv and rd_points.csv, each written atomically."""
    from ..images import atomic_write

    md = markdown(lb, title)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # csv's own default, as the file always had
    w.writerow(["codec", "metric", "point_index", "point", "bpp_mean", "value_mean", "aggregation", "source"])
    for (c, m), cv in sorted(cvs.items()):
        for i, b, v, p in zip(cv.point_index, cv.bpp, cv.value, cv.params or [None] * len(cv.bpp)):
            w.writerow([c, m, i, json.dumps(p), f"{b:.6f}", f"{v:.6f}",
                        "published curve" if cv.source else "mean over images", cv.source or ""])
    # each file whole or not at all: a full disk never leaves a truncated table that a later run would keep
    atomic_write(out / "leaderboard.md", md.encode())
    atomic_write(out / "leaderboard.csv", to_csv(lb).encode())
    atomic_write(out / "rd_points.csv", buf.getvalue().encode())
    return md


def grid_table(title: str, header: list, body: list, fmt: str, notes=()) -> str:
    """A plain table (header + rows of cells) in any table format, for the analyses' outputs."""
    notes = list(notes)
    if fmt == "md":
        return "\n".join([f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                         + ["| " + " | ".join(str(c) for c in r) + " |" for r in body] + [""] + notes) + "\n"
    if fmt == "latex":
        rows = [" & ".join(tex_escape(c) for c in r) + r" \\" for r in body]
        return "\n".join([r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{tex_escape(title)}}}",
                          rf"\begin{{tabular}}{{l{'r' * (len(header) - 1)}}}", r"\toprule",
                          " & ".join(tex_escape(h) for h in header) + r" \\", r"\midrule", *rows, r"\bottomrule",
                          r"\end{tabular}", *[tex_escape(n) + r"\par" for n in notes], r"\end{table}"]) + "\n"
    if fmt == "html":
        e = html.escape
        return (f"<table class=\"analysis\"><caption><strong>{e(title)}</strong>"
                + "".join(f"<p>{e(n)}</p>" for n in notes) + "</caption><thead><tr>"
                + "".join(f"<th scope=\"col\">{e(h)}</th>" for h in header) + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in body)
                + "</tbody></table>\n")
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)
        return buf.getvalue()
    return json.dumps({"title": title, "notes": notes, "rows": [dict(zip(header, r)) for r in body]}, indent=2,
                      default=str) + "\n"
