"""One task = (image, codec card, rate point): encode, decode, score every requested metric.

`compute` is a pure function of its arguments (ids, not objects) so the same code runs in the
main process, in a worker process or on a Dask worker; only the caller writes the store.
"""
from __future__ import annotations

import functools
import json
import time
import traceback

import numpy as np

from .. import metrics as metric_table
from ..adapters import load_codec
from ..errors import BenchError
from ..images import as_rgb8, pixel_sha256, png_bytes
from .keys import encoding_key


def _card_stamp(codec_id: str):
    """The card file and its mtime: a changed (or different) card is a different codec."""
    from ..adapters import list_codecs

    p = list_codecs().get(codec_id)
    return (str(p), p.stat().st_mtime_ns) if p else (None, 0)


def codec(codec_id: str):
    """The codec, built once per process per card version (workers keep it between tasks)."""
    return _codec(codec_id, _card_stamp(codec_id))


@functools.lru_cache(maxsize=None)
def _codec(codec_id: str, _stamp):
    return load_codec(codec_id)


def codec_identity(codec_id: str) -> tuple[str, str, str]:
    """(adapter name, adapter version, codec library version) — part of the encoding key."""
    return _identity(codec_id, _card_stamp(codec_id))


@functools.lru_cache(maxsize=None)
def _identity(codec_id: str, stamp):
    c = _codec(codec_id, stamp)
    return c.card["adapter"], c.adapter.version, c.adapter.library_version()


def key_for(image_sha: str, codec_id: str, point) -> str:
    """The cache key of (image, codec, rate point) under the codec's current versions."""
    c = codec(codec_id)
    _, aver, lver = codec_identity(codec_id)
    return encoding_key(image_sha, codec_id, aver, lver, c.adapter.params, c.adapter.point_key(point))


def _failure(stage, image, codec_id, point, metric, exc):
    tb = "" if isinstance(exc, BenchError) and exc.__cause__ is None else traceback.format_exc()
    return {"stage": stage, "image": image, "codec": codec_id, "point": point, "metric": metric,
            "message": f"{type(exc).__name__}: {exc}", "traceback": tb}


def decode_stored(codec_id: str, bitstream: bytes, point, shape, recon_sha256: str) -> np.ndarray | None:
    """A stored encoding's reconstruction, decoded again from its bitstream; None when the decoder
    now gives other pixels than the stored row says (a non-deterministic or changed decoder)."""
    rec = as_rgb8(codec(codec_id).adapter.decode(bitstream, point, shape=shape), f"{codec_id} decoder output")
    return rec if pixel_sha256(rec) == recon_sha256 else None


def compute(image_name: str, pixels: np.ndarray, codec_id: str, point_index: int, point,
            metric_names: list[str], recon: np.ndarray | None = None, extractors=(),
            image_sha256: str | None = None, keep_recon: bool = False, stored: dict | None = None,
            defer: bool = False) -> dict:
    """Encode/decode (unless `recon` is given, or `stored` = {bitstream, recon_sha256} of a stored
    encoding to decode again) and score.

    Returns {'encoding': row or None, 'bitstream': bytes or None, 'recon_png': lossless PNG bytes of
    a new reconstruction when `keep_recon`, 'scores': [...], 'failures': [...], 'features': {...},
    'redecoded': False when a stored bitstream no longer decoded to its pixels and the point was
    encoded afresh} with no side effects; workers, not the single writer, pay for the PNG.
    `defer`: metrics with a batched form are left out and named in out['deferred'] (compute_many).
    """
    out = {"encoding": None, "bitstream": None, "recon_png": None, "scores": [], "failures": [], "features": {}}
    c = codec(codec_id)
    image_sha256 = image_sha256 or pixel_sha256(pixels)
    key = key_for(image_sha256, codec_id, point)
    if recon is None and stored is not None:
        try:
            recon = decode_stored(codec_id, stored["bitstream"], point, pixels.shape, stored["recon_sha256"])
        except Exception:  # noqa: BLE001 - a bitstream that no longer decodes: encode afresh
            recon = None
        out["redecoded"] = recon is not None
        if recon is not None and keep_recon:
            out["recon_png"] = png_bytes(recon)
        if recon is None:
            metric_names, extractors = stored["metrics"], stored["extractors"]
    if recon is None:
        try:
            t0 = time.perf_counter()
            enc = c.adapter.encode(pixels, point)
            t1 = time.perf_counter()
            rec = as_rgb8(c.adapter.decode(enc.data, point, shape=pixels.shape), f"{codec_id} decoder output")
            t2 = time.perf_counter()
            if rec.shape != pixels.shape:
                raise BenchError(f"{codec_id} decoded {rec.shape}, expected {pixels.shape}")
        except Exception as e:  # noqa: BLE001 - recorded, the run goes on
            out["failures"].append(_failure("encode", image_name, codec_id, point, None, e))
            return out
        adapter, aver, lver = codec_identity(codec_id)
        h, w = pixels.shape[:2]
        out["encoding"] = {
            "key": key, "image": image_name, "image_sha256": image_sha256, "width": w, "height": h,
            "codec": codec_id, "point_index": point_index, "point": json.dumps(point), "adapter": adapter,
            "adapter_version": aver, "codec_version": lver, "params": json.dumps(c.adapter.params, sort_keys=True),
            "bytes": len(enc.data), "rate_bytes": enc.rate_bytes, "bpp": 8.0 * enc.rate_bytes / (h * w),
            "encode_s": t1 - t0, "decode_s": t2 - t1, "recon_sha256": pixel_sha256(rec),
            "info": json.dumps(enc.info, default=str)}
        out["bitstream"], out["recon_png"], recon = enc.data, png_bytes(rec) if keep_recon else None, rec
    deferred = [m for m in metric_names if defer and metric_table.batched(m)]
    for name in metric_names:
        if name not in deferred:
            _score(out, name, key, pixels, recon, (image_name, codec_id, point))
    if deferred:
        out["deferred"] = (deferred, key, recon, (image_name, codec_id, point))
    for ext in extractors:
        from ..metrics.sets import features

        try:
            out["features"][ext] = features(recon, ext)
        except Exception as e:  # noqa: BLE001
            out["failures"].append(_failure("features", image_name, codec_id, point, ext, e))
    return out


def _score(out, name, key, pixels, recon, where) -> None:
    """Score one metric into `out`; a failure is recorded, not raised."""
    try:
        t0 = time.perf_counter()
        v = metric_table.score(name, pixels, recon)
        _append(out, key, name, v, time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001
        out["failures"].append(_failure("metric", *where, name, e))


def _append(out, key, name, value, seconds) -> None:
    out["scores"].append({"encoding_key": key, "metric": name, "metric_version": metric_table.version_key(name),
                          "value": value, "seconds": seconds})


def compute_many(args_list: list[dict]) -> list[dict]:
    """compute() for a chunk of jobs with the batchable metrics (LPIPS, DISTS) scored together:
    one forward pass per metric and image shape for the whole chunk (on a GPU, far fewer and
    fuller kernels). A batch that fails is scored again image by image, so a failure stays the
    task's own."""
    outs = [compute(**a, defer=True) for a in args_list]
    groups: dict = {}
    for i, (a, o) in enumerate(zip(args_list, outs)):
        if "deferred" in o:
            for name in o["deferred"][0]:
                groups.setdefault((name, a["pixels"].shape), []).append(i)
    for (name, _shape), idx in groups.items():
        t0 = time.perf_counter()
        try:
            values = metric_table.score_many(name, [args_list[i]["pixels"] for i in idx], [outs[i]["deferred"][2] for i in idx])
        except Exception:  # noqa: BLE001 - one at a time below
            values = None
        each = (time.perf_counter() - t0) / len(idx)
        for j, i in enumerate(idx):
            _, key, recon, where = outs[i]["deferred"]
            if values is None:
                _score(outs[i], name, key, args_list[i]["pixels"], recon, where)
            else:
                _append(outs[i], key, name, values[j], each)
    for o in outs:
        o.pop("deferred", None)
    return outs
