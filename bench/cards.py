"""Cards are TOML data: `codecs/<id>.toml` and `datasets/<id>.toml`.

Card directories are searched in order: every root in env BENCH_CARDS (os.pathsep separated,
each holding `codecs/` and/or `datasets/`), then the project checkout this package lives in.
A card found earlier shadows a later one with the same id.
"""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import CardError, UnknownName

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def card_roots() -> list[Path]:
    roots = [Path(p) for p in os.environ.get("BENCH_CARDS", "").split(os.pathsep) if p]
    roots.append(PROJECT_ROOT)
    return roots


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise CardError(f"{path}: invalid TOML ({e}); fix the card") from None


def find_cards(kind: str) -> dict[str, Path]:
    """Map card id -> path for kind 'codecs', 'datasets', 'detectors' or 'metrics'. Listed once per
    process and again when a card folder changes (its mtime): tasks look codecs up constantly."""
    dirs = [root / kind for root in card_roots()]
    stamp = (kind, tuple((str(d), _mtime(d)) for d in dirs))
    if stamp not in _listed:
        found: dict[str, Path] = {}
        for d in dirs:
            if d.is_dir():
                for p in sorted(d.glob("*.toml")):
                    found.setdefault(p.stem, p)
        _listed[stamp] = found
    return dict(_listed[stamp])


_listed: dict = {}


def _mtime(d: Path) -> int:
    try:
        return d.stat().st_mtime_ns
    except OSError:
        return -1


def load_card(kind: str, name: str) -> tuple[dict, Path]:
    cards = find_cards(kind)
    if name not in cards:
        raise UnknownName(kind.rstrip("s"), name, cards)
    path = cards[name]
    data = read_toml(path)
    if data.get("id", name) != name:
        raise CardError(f"{path}: id {data.get('id')!r} differs from the file name {name!r}; make them equal")
    data["id"] = name
    return data, path
