"""Codec adapter registry and codec cards.

`ADAPTERS` maps an adapter name (a card's `adapter = ...`) to 'module:Class', imported lazily.
A card may also name any importable 'module:Class' directly, and third-party packages register
adapters through the `percept_bench.adapters` entry-point group.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from ..cards import find_cards, load_card
from ..errors import CardError, UnknownName

ADAPTERS = {
    "imagecodecs": "bench.adapters.imagecodecs_adapter:ImagecodecsAdapter",
    "learned": "bench.adapters.learned:LearnedAdapter",
    "heif-hevc": "bench.adapters.heif:HeifHevcAdapter",
    "external": "bench.adapters.external:ExternalAdapter",
    "ffmpeg": "bench.adapters.ffmpeg:FfmpegAdapter",
    "vips-jpeg": "bench.adapters.vips:VipsJpegAdapter",
    "bpg": "bench.adapters.external:BpgAdapter",
}
ENTRY_POINT_GROUP = "percept_bench.adapters"


def _entry_points() -> dict[str, str]:
    from importlib.metadata import entry_points

    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def adapter_class(spec: str):
    """Resolve an adapter name or 'module:Class' to the class; returns (cls, origin)."""
    if spec in ADAPTERS:
        target, origin = ADAPTERS[spec], "built-in"
    elif ":" in spec:
        target, origin = spec, "card (module:Class)"
    else:
        eps = _entry_points()
        if spec not in eps:
            raise UnknownName("adapter", spec, list(ADAPTERS) + list(eps))
        target, origin = eps[spec], f"plugin (entry point {ENTRY_POINT_GROUP})"
    mod, _, cls = target.partition(":")
    try:
        return getattr(importlib.import_module(mod), cls), origin
    except (ImportError, AttributeError) as e:
        raise CardError(f"adapter {spec!r}: cannot import {target} ({e})") from None


@dataclass
class Codec:
    """A codec card loaded: its id, card, file and the adapter that runs it."""
    id: str
    card: dict
    path: Path
    adapter: object
    origin: str

    @property
    def ladder(self) -> list:
        """The card's rate points, as its adapter reads them."""
        return self.adapter.ladder()


def list_codecs() -> dict[str, Path]:
    """{codec id: card path} of every codec card found."""
    return find_cards("codecs")


def load_codec(codec_id: str) -> Codec:
    """Load a codec card and build its adapter; CardError naming the file when the card is wrong."""
    card, path = load_card("codecs", codec_id)
    card["_path"] = str(path)
    if "adapter" not in card:
        raise CardError(f"{path}: missing `adapter = ...`; valid: {', '.join(ADAPTERS)} or module:Class")
    cls, origin = adapter_class(card["adapter"])
    pts = card.get("ladder", {}).get("points")
    if not pts:
        raise CardError(f"{path}: [ladder] needs a non-empty `points = [...]`")
    return Codec(codec_id, card, path, cls(card), origin)


def describe_codecs() -> list[str]:
    """One line per codec card for `bench list codecs`: adapter, origin, ladder length, availability."""
    from ..errors import BenchError

    lines = []
    for cid in list_codecs():
        try:
            c = load_codec(cid)
            ok, why = c.adapter.available()
            state = c.adapter.library_version() if ok else f"unavailable: {why}"
            lines.append(f"{cid:22s} {c.card['adapter']:14s} [{c.origin}] {len(c.ladder)} points  {state}")
        except BenchError as e:
            lines.append(f"{cid:22s} error: {e}")
    return lines
