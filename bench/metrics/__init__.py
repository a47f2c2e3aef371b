"""Metric registry: look rows up, check availability, compute (functional core).

`score(name, ref, dist)` is the one entry point used by `bench run`, `bench score` and the
tests, so every path computes the same numbers. Backends are imported on first use; models
are cached by the backend modules (one instance per process).
"""
from __future__ import annotations

import functools
import importlib
import math
import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version

import numpy as np

from ..errors import BenchError, CardError, MetricError, MetricUnavailable, UnknownName
from .table import ROWS, Metric

METRICS: dict[str, Metric] = {m.name: m for m in ROWS}
_PLUGINS_FROM: tuple | None = None  # the card roots the plugin rows were read from


def rows() -> list[Metric]:
    """Every row: the built-in table, then plugins (entry points, metric cards) and three rows per
    detector card, read once per process and again when BENCH_CARDS changes."""
    global _PLUGINS_FROM
    import os

    key = (os.environ.get("BENCH_CARDS", ""),)
    if _PLUGINS_FROM != key:
        from .plugins import plugin_rows

        for n in [n for n, m in METRICS.items() if m.origin != "built-in"]:
            del METRICS[n]
        _PLUGINS_FROM = key
        from .detectors import rows as detector_rows

        for m in plugin_rows() + detector_rows():
            if m.name in METRICS:
                _PLUGINS_FROM = None
                raise CardError(f"{m.origin}: metric {m.name!r} already exists ({METRICS[m.name].origin}); "
                                "a plugin cannot replace a row, give it another name")
            METRICS[m.name] = m
    return list(METRICS.values())


def get(name: str) -> Metric:
    """The metric row of a name; UnknownName listing the valid ones."""
    if name not in METRICS or _PLUGINS_FROM is None:
        rows()
    if name not in METRICS:
        raise UnknownName("metric", name, METRICS)
    return METRICS[name]


def names(kind: str | None = None) -> list[str]:
    """Metric names, of one kind (fr, nr, set) or all."""
    return [m.name for m in rows() if kind is None or m.kind == kind]


@functools.lru_cache(maxsize=None)
def backend_version(backend: str) -> str:
    """The installed version of a metric backend (part of the metric's version key)."""
    if backend == "numpy":
        import numpy

        return numpy.__version__
    if backend.startswith("module:"):  # a plugin module outside any distribution: its code is its version
        import importlib.util

        from ..images import file_sha256

        spec = importlib.util.find_spec(backend[7:])
        if spec is None or not spec.origin:
            raise MetricUnavailable(f"module {backend[7:]!r} not importable; put it on PYTHONPATH or install it")
        from pathlib import Path

        return "sha256 " + file_sha256(Path(spec.origin))[:16]
    if backend.startswith("binary:"):  # a reference tool (butteraugli_main): its file is its version
        from pathlib import Path

        from ..images import file_sha256
        from .tools import binary

        return "sha256 " + file_sha256(Path(binary(backend[7:])))[:16]
    try:
        return dist_version(backend)
    except PackageNotFoundError:
        extra = extra_of(backend)
        fix = f"pip install 'percept-bench[{extra}]'" if extra else f"pip install {backend}"
        raise MetricUnavailable(f"backend {backend!r} is not installed; {fix}") from None


@functools.lru_cache(maxsize=None)
def extra_of(distribution: str) -> str | None:
    """The extra of percept-bench that installs a distribution (from our own package metadata), or None."""
    import re
    from importlib.metadata import requires

    try:
        reqs = requires("percept-bench") or []
    except PackageNotFoundError:
        return None
    want = re.sub(r"[-_.]+", "-", distribution).lower()
    for r in reqs:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]).lower()
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)", r)
        if name == want and extra and extra.group(1) != "all":
            return extra.group(1)
    return None


def availability(m: Metric | str) -> tuple[bool, str]:
    """(True, '') or (False, the reason and the fix)."""
    m = get(m) if isinstance(m, str) else m
    try:
        backend_version(m.backend)
        if m.weights:
            from .. import weights

            weights.require(m.weights, m.name)
    except MetricUnavailable as e:
        return False, str(e)
    return True, ""


def on_device(m: Metric) -> bool:
    """Does this metric's network run on --device (LPIPS, DISTS, pyiqa, FID/KID features)?"""
    return m.fn.startswith(("bench.metrics.deep:", "bench.metrics.pyiqa_backend:", "bench.metrics.cvvdp_backend:")) \
        or m.fn in ("inception", "vgg16")


def version_key(m: Metric | str) -> str:
    """What a cached score depends on: row version, backend version, weight file digests."""
    m = get(m) if isinstance(m, str) else m
    key = f"{m.version}|{m.backend} {backend_version(m.backend)}"
    if on_device(m):
        from ..devices import kind

        if kind() != "cpu":  # a GPU's numbers differ in the last digits: their own cache entries
            key += f"|{kind()}"
    if m.weights:
        from .. import weights

        key += "|" + ",".join(weights.sha256_of(w)[:16] for w in m.weights)
    return key


@functools.lru_cache(maxsize=None)
def _fn(path: str):
    mod, _, name = path.partition(":")
    return getattr(importlib.import_module(mod), name)


def _flat(img) -> str:
    return " (the image is flat: one colour has no statistics to measure)" if np.ptp(img) == 0 else ""


def score(name: str, ref, dist) -> float:
    """Score one image (full-reference: ref vs dist; no-reference: dist alone, ref ignored)."""
    m = _scorable(name)
    if m.kind == "fr" and ref.shape != dist.shape:
        raise MetricError(f"{name}: reference {ref.shape} and distorted {dist.shape} differ in shape")
    fn = _fn(m.fn)
    value = _guarded(name, dist, lambda: fn(ref, dist, **m.params) if m.kind == "fr" else fn(dist, **m.params))
    return _checked(m, ref, dist, float(value))


# Metrics with a batched form (same-shape images in one forward pass: what a GPU wants).
BATCHED = {"bench.metrics.deep:lpips": "bench.metrics.deep:lpips_many",
           "bench.metrics.deep:dists": "bench.metrics.deep:dists_many"}


def batched(name: str) -> bool:
    """Whether the metric scores several pairs in one forward pass."""
    return get(name).fn in BATCHED


def score_many(name: str, refs: list, dists: list) -> list[float]:
    """score() for several same-shape pairs at once (its batched form when the metric has one)."""
    m = _scorable(name)
    if m.fn not in BATCHED or len(dists) < 2:
        return [score(name, r, d) for r, d in zip(refs, dists)]
    if len({a.shape for a in list(refs) + list(dists)}) != 1:
        raise MetricError(f"{name}: a batch needs images of one shape")
    fn = _fn(BATCHED[m.fn])
    values = _guarded(name, dists[0], lambda: fn(refs, dists, **m.params))
    return [_checked(m, r, d, float(v)) for r, d, v in zip(refs, dists, values)]


def _scorable(name: str) -> Metric:
    m = get(name)
    if m.kind == "set":
        raise MetricError(f"{name} is a set-level metric; use bench.metrics.sets")
    ok, why = availability(m)
    if not ok:
        raise MetricUnavailable(f"{name} unavailable: {why}")
    return m


def _guarded(name, dist, call):
    try:
        with warnings.catch_warnings():  # backends' internal notices (torch.cov on a flat image ...)
            warnings.simplefilter("ignore")
            return call()
    except BenchError:
        raise
    except Exception as e:  # noqa: BLE001 - a backend's own failure becomes a message naming the input
        raise MetricError(f"{name} cannot score an image of shape {dist.shape}{_flat(dist)}: "
                          f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from e


def _checked(m: Metric, ref, dist, value: float) -> float:
    if m.kind == "fr" and m.ideal is not None and np.array_equal(ref, dist):
        return float(m.ideal)  # an exact reconstruction scores the ideal by definition (VIF: 1, not 0/0)
    if math.isnan(value):
        raise MetricError(f"{m.name} returned NaN for an input of shape {dist.shape}{_flat(dist)}")
    return value


def provenance(names) -> dict:
    """{metric: {backend, backend_version, row_version, weights: {file: full sha256}}}."""
    from .. import weights

    out = {}
    for n in names:
        m = get(n)
        try:
            bver = backend_version(m.backend)
        except MetricUnavailable:
            bver = "not installed"
        out[n] = {"backend": m.backend, "backend_version": bver, "row_version": m.version,
                  "weights": {w: weights.sha256_of(w) for w in m.weights}}
    return out

