"""Learned codecs (CompressAI architectures and our own) with real entropy-coded bitstreams.

Rate points are checkpoints:
- our models: a path relative to the card's directory (`learned/dpc-2.pt`), an inference
  checkpoint written by `bench train` (bench.models.dpc.export);
- CompressAI zoo models: a quality index, with `params.arch` and `params.metric`; the weights are
  looked up in the torch hub cache (`hub/checkpoints/`) under the zoo's own file names, as
  compressai.zoo would download them on a machine with internet.
Every checkpoint is loaded with torch.load(weights_only=True): a pickle that would run code is
refused. The input is padded (zeros, as CompressAI's eval does) to a multiple of 64 and cropped
back; bpp counts the whole byte string, which holds the shape, the entropy-coded strings and
their lengths, so `decompress` needs nothing else. The likelihood estimate is kept apart in
info['bpp_estimated'].
"""
from __future__ import annotations

import functools
import struct
from pathlib import Path

import numpy as np

from ..errors import CodecError
from ..images import cached_file_sha256 as file_sha256
from ..images import to_uint8
from ..models.dpc import safe_load
from .base import Adapter, Encoded

MAGIC = b"PBL1"
PAD = 64


def pack(strings, shape, h: int, w: int) -> bytes:
    """MAGIC | H W (u32) | latent shape (u16 x 2) | groups (u8) | per group: len (u32) + bytes."""
    out = [MAGIC, struct.pack(">IIHHB", h, w, shape[0], shape[1], len(strings))]
    for group in strings:
        if len(group) != 1:
            raise CodecError("one image per bitstream: batch size must be 1")
        out += [struct.pack(">I", len(group[0])), group[0]]
    return b"".join(out)


def unpack(data: bytes):
    """Split a learned-codec bitstream into (height, width, latent shape, entropy-coded strings)."""
    if data[:4] != MAGIC:
        raise CodecError("not a percept-bench learned-codec bitstream (bad magic)")
    h, w, s0, s1, n = struct.unpack(">IIHHB", data[4:17])
    pos, strings = 17, []
    for _ in range(n):
        (ln,) = struct.unpack(">I", data[pos:pos + 4])
        strings.append([data[pos + 4:pos + 4 + ln]])
        pos += 4 + ln
    if pos != len(data):
        raise CodecError(f"bitstream has {len(data) - pos} trailing bytes")
    return strings, (s0, s1), h, w


@functools.lru_cache(maxsize=32)
def _model(path: str, kind: str, arch: str, _sha: str):
    if kind == "ours":
        from ..models.dpc import load

        return load(path)[0]
    from compressai.zoo.image import model_architectures
    from compressai.zoo.pretrained import load_pretrained

    sd = safe_load(Path(path))
    sd = sd.get("state_dict", sd)
    try:
        model = model_architectures[arch].from_state_dict(load_pretrained(sd))
    except (RuntimeError, KeyError, AttributeError) as e:
        raise CodecError(f"{path}: does not fit the zoo architecture {arch} ({str(e).splitlines()[0]})") from None
    return model.eval()


class LearnedAdapter(Adapter):
    """A learned codec (CompressAI zoo or our checkpoints): real entropy-coded bitstreams, coded on the CPU."""
    name = "learned"
    version = "1"

    def __init__(self, card):
        super().__init__(card)
        self.card_dir = Path(card.get("_path", ".")).parent
        self.arch = self.params.get("arch")  # zoo architecture, or None for our checkpoints

    def library_version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"compressai {version('compressai')}, torch {version('torch')}"
        except PackageNotFoundError:
            raise CodecError("compressai is not installed: pip install 'percept-bench[learned]'") from None

    def checkpoint(self, point, download: bool = False) -> tuple[Path, str]:
        """(path, kind) of one rate point's checkpoint, located like every weight file (downloaded when allowed)."""
        if self.arch:
            from .. import weights

            ladder = self.ladder()
            if point not in ladder or len(self.params.get("urls", [])) != len(ladder):
                raise CodecError(f"{self.card['id']}: no zoo address for quality {point} (params.urls)")
            url = self.params["urls"][ladder.index(point)]
            rel = f"checkpoints/{url.rsplit('/', 1)[1]}"
            p, _ = weights.locate(rel)
            if p is None:
                if download and not weights.offline():
                    import torch

                    torch.hub.load_state_dict_from_url(url, map_location="cpu")  # the zoo's own download
                    p, _ = weights.locate(rel)
                if p is None:
                    raise CodecError(f"{Path(rel).name} missing — place it in {weights.hub_dir() / 'checkpoints'} "
                                     "or run once online")
            return p, "zoo"
        p = (self.card_dir / str(point)).resolve()
        if not p.is_file():
            raise CodecError(f"checkpoint {p} missing — train it (scripts/train_learned.sh) or fix the card")
        return p, "ours"

    def available(self):
        try:
            self.library_version()
            for pt in self.ladder():
                self.checkpoint(pt)
        except Exception as e:  # noqa: BLE001
            return False, str(e)
        return True, ""

    def point_key(self, point):
        p, _ = self.checkpoint(point)
        return {"point": point, "checkpoint_sha256": file_sha256(p)}

    def model(self, point):
        """The loaded model of one rate point (cached per checkpoint file and hash)."""
        p, kind = self.checkpoint(point, download=True)
        try:
            return _model(str(p), kind, self.arch or "", file_sha256(p))
        except CodecError as e:
            raise CodecError(f"codec card {self.card.get('_path', self.card['id'])}, point {point!r}: {e}") from None

    def encode(self, pixels: np.ndarray, point) -> Encoded:
        import math

        import torch
        import torch.nn.functional as F

        net = self.model(point)
        h, w = pixels.shape[:2]
        x = torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1)[None].float() / 255.0
        ph, pw = (PAD - h % PAD) % PAD, (PAD - w % PAD) % PAD
        xp = F.pad(x, (0, pw, 0, ph), mode="constant", value=0)
        with torch.inference_mode():
            out = net.compress(xp)
            lk = net(xp)["likelihoods"]
        est = float(sum(torch.log(v).sum() for v in lk.values()) / (-math.log(2) * h * w))
        data = pack(out["strings"], tuple(out["shape"]), h, w)
        return Encoded(data, len(data), {"bpp_estimated": est, "padded_to": [h + ph, w + pw],
                                         "bytes_counted": "header + entropy-coded strings"})

    def complexity(self, point, shape: tuple) -> tuple[float, float]:
        """(encoder, decoder) kMAC per pixel of one rate point's model on an image of `shape`: the
        multiply-accumulates of its convolutions and matrix products as torch.utils.flop_counter counts
        them (MAC = FLOP / 2) in compress() and decompress(); entropy coding is not counted."""
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        net = self.model(point)
        h, w = shape[:2]
        x = torch.zeros(1, 3, h + (PAD - h % PAD) % PAD, w + (PAD - w % PAD) % PAD)
        with torch.no_grad():  # the flop counter's module hooks do not work under inference_mode
            with FlopCounterMode(display=False) as enc:
                out = net.compress(x)
            with FlopCounterMode(display=False) as dec:
                net.decompress(out["strings"], list(out["shape"]))
        return enc.get_total_flops() / 2e3 / (h * w), dec.get_total_flops() / 2e3 / (h * w)

    def decode(self, data: bytes, point=None, shape=None) -> np.ndarray:
        import torch

        if point is None:
            raise CodecError("a learned codec decodes with the model of its rate point: pass point=")
        strings, shape, h, w = unpack(data)
        net = self.model(point)
        with torch.inference_mode():
            x_hat = net.decompress(strings, list(shape))["x_hat"]
        return to_uint8(x_hat[0, :, :h, :w].permute(1, 2, 0).numpy() * 255.0)
