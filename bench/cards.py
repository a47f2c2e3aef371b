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
    """Folders searched for cards: those in BENCH_CARDS, then the project's own."""
    roots = [Path(p) for p in os.environ.get("BENCH_CARDS", "").split(os.pathsep) if p]
    roots.append(PROJECT_ROOT)
    return roots


def read_toml(path: Path) -> dict:
    """A TOML file as a dict; CardError naming the file and line when it does not parse."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise CardError(f"{path}: invalid TOML ({e}); fix the card") from None


def find_cards(kind: str) -> dict[str, Path]:
    """Map card id -> path for kind 'codecs', 'datasets', 'detectors' or 'metrics'. Tasks look codecs
    up constantly: the folders' plain name listings key a cache of the result (a pathlib glob and
    sort per lookup was 17 % of a PSNR task)."""
    dirs = [root / kind for root in card_roots()]
    names = tuple((d, tuple(sorted(n for n in _names(d) if n.endswith(".toml") and not n.startswith(".")))) for d in dirs)
    if names not in _listed:
        found: dict[str, Path] = {}
        for d, files in names:
            for n in files:
                found.setdefault(n[:-5], d / n)
        _listed[names] = found
    return dict(_listed[names])


_listed: dict = {}


def _names(d: Path) -> list[str]:
    try:
        return os.listdir(d)
    except OSError:
        return []


def load_card(kind: str, name: str) -> tuple[dict, Path]:
    """(card, path) of a card by kind and id; UnknownName listing the valid ids."""
    cards = find_cards(kind)
    if name not in cards:
        raise UnknownName(kind.rstrip("s"), name, cards)
    path = cards[name]
    data = read_toml(path)
    if data.get("id", name) != name:
        raise CardError(f"{path}: id {data.get('id')!r} differs from the file name {name!r}; make them equal")
    data["id"] = name
    return data, path
