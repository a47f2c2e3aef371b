"""Typed errors. Every message names the offending file or value and the fix."""


class BenchError(Exception):
    """Base class: the CLI prints these without a traceback and exits with status 2."""


class UnknownName(BenchError):
    def __init__(self, kind: str, name: str, valid):
        valid = sorted(valid)
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(valid) or '(none)'}")
        self.name, self.valid = name, valid


class BadImage(BenchError):
    """An input image that cannot be benchmarked (corrupt, unsupported mode ...)."""


class CardError(BenchError):
    """A malformed codec or dataset card."""


class DatasetError(BenchError):
    """A dataset file that is missing or fails its checksum."""


class CodecError(BenchError):
    """An encoder or decoder that failed on one rate point."""


class MetricUnavailable(BenchError):
    """A metric whose backend or weights are missing on this machine."""


class MetricError(BenchError):
    """A metric that cannot score this input (e.g. image too small for MS-SSIM)."""


class BDRateError(BenchError):
    """BD-rate undefined for these curves: too few points, not monotone, or no overlap."""
