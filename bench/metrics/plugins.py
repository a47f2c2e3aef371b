"""Metrics that join the table without touching the package: rows from the `percept_bench.metrics`
entry-point group (a Metric, a list of them, or a function returning them) and from metric cards
(`metrics/<name>.toml` in the card roots: BENCH_CARDS dirs, then the checkout), with the same
metadata as built-in rows. A plugin cannot shadow a built-in row (numbers would silently change).

Card (one metric per file, the file name is its name):

    kind = "fr"                        # fr | nr
    higher_is_better = true
    fn = "my_metrics:sharpness"        # module:function, called as fn(ref, dist, **params) or fn(img, **params)
    range = [0, "inf"]
    colour = "RGB"
    input_range = "[0,255]"            # what fn receives: uint8 H x W x 3 arrays
    backend = "my-metrics"             # the distribution whose version keys the cache; default: the module's file sha256
    params = {}
    weights = []                       # files relative to the torch hub dir
    ideal = "inf"
    unit = "dB"
    version = "1"
    note = "..."
"""
from __future__ import annotations

from ..cards import find_cards, read_toml
from ..errors import CardError
from .table import Metric

ENTRY_POINT_GROUP = "percept_bench.metrics"
REQUIRED = ("kind", "higher_is_better", "fn")


def _num(v, path, key):
    if v is None or v in ("inf", "-inf"):
        return None if v is None else float(v)
    if isinstance(v, (int, float)):
        return v
    raise CardError(f"{path}: {key} must be a number, \"inf\" or absent, not {v!r}")


def from_card(path) -> Metric:
    """A metric row from a metric card (TOML); CardError naming the file when it is wrong."""
    d = read_toml(path)
    name = d.get("id", path.stem)
    if name != path.stem:
        raise CardError(f"{path}: id {name!r} differs from the file name {path.stem!r}; make them equal")
    missing = [k for k in REQUIRED if k not in d]
    if missing:
        raise CardError(f"{path}: missing {', '.join(missing)} (a metric card needs {', '.join(REQUIRED)})")
    if d["kind"] not in ("fr", "nr"):
        raise CardError(f"{path}: kind {d['kind']!r}; a metric card is 'fr' (full-reference) or 'nr' (no-reference)")
    mod, sep, fn = str(d["fn"]).partition(":")
    if not sep or not mod or not fn:
        raise CardError(f"{path}: fn {d['fn']!r} is not 'module:function'")
    rng = d.get("range", [None, None])
    if not (isinstance(rng, list) and len(rng) == 2):
        raise CardError(f"{path}: range must be [low, high]")
    known = {"id", "kind", "higher_is_better", "fn", "range", "colour", "input_range", "backend", "params", "weights",
             "ideal", "unit", "version", "note", "description"}
    extra = sorted(set(d) - known)
    if extra:
        raise CardError(f"{path}: unknown key(s) {', '.join(extra)}; valid: {', '.join(sorted(known))}")
    return Metric(name, d["kind"], bool(d["higher_is_better"]), (_num(rng[0], path, "range"), _num(rng[1], path, "range")),
                  d.get("colour", "RGB"), d.get("input_range", "[0,255]"), d.get("backend") or f"module:{mod}",
                  d["fn"], dict(d.get("params", {})), tuple(d.get("weights", ())),
                  _num(d.get("ideal"), path, "ideal") if "ideal" in d else None, str(d.get("version", "1")),
                  d.get("note", d.get("description", "")), d.get("unit", ""), origin=f"card {path}")


def from_entry_points() -> list[Metric]:
    """Metric rows that installed packages declare (entry points)."""
    from importlib.metadata import entry_points

    rows = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - a broken plugin is named, not fatal to the others
            raise CardError(f"metric plugin {ep.name} ({ep.value}): cannot import ({type(e).__name__}: {e})") from None
        obj = obj() if callable(obj) and not isinstance(obj, Metric) else obj
        for m in [obj] if isinstance(obj, Metric) else list(obj):
            if not isinstance(m, Metric):
                raise CardError(f"metric plugin {ep.name} ({ep.value}): gave {type(m).__name__}, not bench.metrics.table.Metric")
            rows.append(Metric(**{**m.__dict__, "origin": f"plugin (entry point {ENTRY_POINT_GROUP}: {ep.value})"}))
    return rows


def plugin_rows() -> list[Metric]:
    """Every plugin metric row: entry points, then cards."""
    return from_entry_points() + [from_card(p) for p in find_cards("metrics").values()]
