"""What the metric table offers, for people: `bench list metrics` (with availability) and
`bench weights` (each weight file, where it was found, whether it verifies)."""
from __future__ import annotations


def describe(check: bool = False) -> list[str]:
    """One line per metric row (kind, direction, backend, colour); with `check`, availability lines too."""
    from . import availability, rows

    lines = []
    w = 15  # the longest built-in names (jpegai-psnr-hvs); a longer one pushes its own line only
    for m in rows():
        arrow = "higher" if m.higher_is_better else "lower"
        origin = "" if m.origin == "built-in" else f"  [{m.origin}]"
        lines.append(f"{m.name:{w}s} {m.kind:3s} {arrow:6s} {m.backend:15s} {m.colour}{origin}")
    if check:
        from .. import weights

        weights.configure()
        for m in rows():
            ok, why = availability(m)
            lines.append(f"{m.name:{w}s} {'available' if ok else 'unavailable: ' + why}")
    return lines


def weight_lines(verbose: bool = False) -> list[str]:
    """`bench weights`: the hub dir in use, then one line per (metric, weight file)."""
    from .. import weights
    from .table import ROWS

    lines = [f"hub dir in use: {weights.hub_dir()}  (offline: {weights.offline()})"]
    for r in weights.report({m.name: m.weights for m in ROWS}):
        ver = {True: "verified", False: "MISMATCH", None: "unknown hash"}[r["verifies"]] if r["found"] != "missing" else ""
        lines.append(f"{r['metric']:12s} {r['file']:45s} {r['found'] if r['found'] == 'missing' else r['via']:14s} "
                     f"{r['sha256'][:16]:16s} {ver}")
        if r["found"] != "missing" and verbose:
            lines.append(f"{'':12s} {r['found']}")
    return lines
