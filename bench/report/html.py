"""`bench report`: one self-contained HTML file per run — leaderboard with intervals and provenance,
RD figures, crops of one image, failures and skipped items, the run manifest. Images are inline
data URIs and styles inline: the file makes no request of its own and reads the same offline."""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

STYLE = """
body{font-family:Georgia,'DejaVu Serif',serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.6em 0}caption{text-align:left;font-size:.9em;padding:.3em 0}
th,td{border-top:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
th[scope=row],td:first-child{text-align:left}thead th{border-bottom:2px solid #333}
td small{color:#555}td.na{color:#999}.warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
img{max-width:100%;height:auto;border:0}pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.75em}
.note{color:#444;font-size:.9em}table.failures td:last-child{text-align:left}
"""


FAILURE_COLUMNS = ("stage", "image", "codec", "point", "metric", "message")


def data_uri(path: Path) -> str:
    """A file as a data: URI (the report makes no request of its own)."""
    mime = {".png": "image/png", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def page(*, title: str, table_html: str, figures: list[tuple[str, Path]], crops: tuple | None,
         failures: list[dict], skipped: dict, manifest: dict, warnings: list[str], analyses=()) -> str:
    """analyses: (heading, table html, figure path or None) sections after the crops."""
    e = html.escape
    parts = [f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style>"
             f"</head><body>\n<h1>{e(title)}</h1>"]
    parts += [f"<p class=\"warn\"><strong>{e(w)}</strong></p>" for w in warnings]
    parts.append(f"<h2>Leaderboard</h2>\n{table_html}")
    parts.append("<h2>Rate–distortion curves</h2>")
    for caption, p in figures:
        parts.append(f"<figure><img src=\"{data_uri(p)}\" alt=\"{e(caption)}\"><figcaption class=\"note\">"
                     f"{e(caption)}</figcaption></figure>")
    parts.append("<h2>Crops at matched rate</h2>")
    if crops:
        fig, lines = crops
        parts.append(f"<figure><img src=\"{data_uri(fig)}\" alt=\"crops\"><figcaption class=\"note\">"
                     + "<br>".join(e(x) for x in lines) + "</figcaption></figure>")
    else:
        parts.append("<p class=\"note\">No crops: run <code>bench report RUN --image NAME --bpp X</code>.</p>")
    for heading, table, fig in analyses:
        parts.append(f"<h2>{e(heading)}</h2>\n{table}")
        if fig is not None:
            parts.append(f"<figure><img src=\"{data_uri(fig)}\" alt=\"{e(heading)}\"></figure>")
    parts.append("<h2>Failures and skipped items</h2>")
    if skipped:
        parts.append("<ul>" + "".join(f"<li>skipped {e(k)}: {e(str(v))}</li>" for k, v in skipped.items()) + "</ul>")
    if failures:
        rows = "".join("<tr>" + "".join(f"<td>{e(str(f.get(k) or ''))}</td>" for k in FAILURE_COLUMNS) + "</tr>"
                       for f in failures[:500])
        head = "".join(f"<th>{k}</th>" for k in FAILURE_COLUMNS)
        parts.append(f"<table class=\"failures\"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        if len(failures) > 500:
            parts.append(f"<p class=\"note\">… and {len(failures) - 500} more in the store's failures table.</p>")
    if not skipped and not failures:
        parts.append("<p class=\"note\">None: every requested codec and metric ran, no task failed.</p>")
    parts.append("<h2>Run manifest</h2><details><summary>manifest.json</summary><pre>"
                 + e(json.dumps(manifest, indent=2, default=str)) + "</pre></details>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
