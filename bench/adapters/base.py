"""The adapter interface: one small class per backend family; variants are card data.

An adapter turns (RGB8 image, rate point) into a real bitstream and back.
`rate_bytes` is what bpp counts (8 * rate_bytes / (H * W) of the original); an adapter whose
container carries overhead (HEIF) reports payload and container sizes in `info` and says
which one `rate_bytes` is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Encoded:
    """One encoding: the bytes written, the bytes that count for the rate, adapter notes."""
    data: bytes
    rate_bytes: int
    info: dict = field(default_factory=dict)


class Adapter:
    """Base class. Subclasses set `name`, `version` and implement the three methods."""

    name = "base"
    version = "1"  # bump when the adapter's behaviour (and so its outputs) changes
    rate_param = "quality"  # the ladder parameter's meaning, for docs and `bench list`

    def __init__(self, card: dict):
        self.card = card
        self.params = dict(card.get("params", {}))

    # -- to implement -------------------------------------------------------------------
    def library_version(self) -> str:
        """The version of the library that codes (part of every cache key)."""
        raise NotImplementedError

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        """Encode 8-bit RGB pixels at one rate point."""
        raise NotImplementedError

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        """Bytes -> RGB8. `point` names the decoder where it depends on it (learned codecs);
        `shape` is the original's (H, W, 3), for decoders of headerless formats (raw YUV)."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """(True, '') or (False, why and how to get it)."""
        try:
            self.library_version()
        except Exception as e:  # noqa: BLE001
            return False, str(e)
        return True, ""

    def point_key(self, point):
        """What the cache key records for a rate point (learned codecs add the checkpoint sha256)."""
        return point

    def ladder(self) -> list:
        """The card's rate points."""
        return list(self.card.get("ladder", {}).get("points", []))
