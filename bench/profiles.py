"""Profiles: the tables a community publishes, as data (`profiles/<id>.toml`): the codecs a run encodes, the
metrics it scores, the anchor, and the metrics whose BD-rates are averaged into the headline.

    id = "aom-ctc"
    description = "..."               # what the profile reproduces, and where it differs
    anchor = "av1-intra"
    codecs = ["av1-intra", "vvc-intra", "jpeg2000"]
    metrics = ["psnr-y709", "vmaf", ...]
    headline = ["vmaf", ...]          # optional: the mean BD-rate over these (a subset of metrics)
    bd_average = "per-image"          # optional: BD per image, then the mean (default "curve": BD of the mean curve)

`bench run --profile ID` takes codecs, metrics and anchor from it (options given on the command line
win); `bench table RUN --profile ID` renders a stored run that way. A user's profile is a card in
their own card root (BENCH_CARDS).
"""
from __future__ import annotations

from .cards import find_cards, load_card
from .errors import CardError
from .report.formats import BD_AVERAGES

KEYS = {"id", "description", "anchor", "codecs", "metrics", "headline", "conventions", "target_bpp", "source", "bd_average"}


def load_profile(name: str) -> dict:
    """A profile card, checked: known keys, lists of names, a headline inside its metrics."""
    card, path = load_card("profiles", name)
    unknown = sorted(set(card) - KEYS)
    if unknown:
        raise CardError(f"{path}: unknown key(s) {', '.join(unknown)}; valid: {', '.join(sorted(KEYS))}")
    for key in ("codecs", "metrics", "headline"):
        if not isinstance(card.get(key, []), list) or not all(isinstance(x, str) for x in card.get(key, [])):
            raise CardError(f"{path}: {key} must be a list of names")
    if not card.get("metrics") or not card.get("anchor"):
        raise CardError(f"{path}: a profile needs an anchor and metrics")
    if card.get("bd_average", "curve") not in BD_AVERAGES:
        raise CardError(f"{path}: bd_average {card['bd_average']!r}; valid: {', '.join(BD_AVERAGES)}")
    outside = [m for m in card.get("headline", []) if m not in card["metrics"]]
    if outside:
        raise CardError(f"{path}: headline metric(s) {', '.join(outside)} are not among the profile's metrics")
    card["_path"] = str(path)
    return card


def list_profiles() -> dict:
    """{profile id: card path}."""
    return find_cards("profiles")
