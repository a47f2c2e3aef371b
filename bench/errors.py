"""Typed errors and the exit codes a CI job can trust. Every message names the offending file or
value and the fix.

Exit codes of the `bench` command (README, "Exit codes"):
  0  everything requested was computed
  1  the run finished, but some task failed or a requested codec / metric was skipped
     (everything computed is in the store; `--allow-failures` / `--allow-skips` make this 0)
  2  unusable input: bad arguments, unknown names, malformed cards, unreadable images, missing data
  3  the store (bench.sqlite) is corrupt or not a percept-bench store: nothing was written to it
  4  nothing was computed: no codec or no metric was usable, or no image could be read
130  interrupted (Ctrl-C): everything finished so far is in the store
"""

EXIT_OK, EXIT_FAILURES, EXIT_INPUT, EXIT_STORE, EXIT_NOTHING, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class BenchError(Exception):
    """Base class: the CLI prints these without a traceback and exits with `exit_code`."""

    exit_code = EXIT_INPUT


class UnknownName(BenchError):
    """An unknown codec, metric or dataset name; the message lists the valid ones."""
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


class StoreError(BenchError):
    """A bench.sqlite that is corrupt, truncated or not ours: refused before anything is written."""

    exit_code = EXIT_STORE


class NothingComputed(BenchError):
    """A run with nothing to compute or report (no usable codec / metric / image)."""

    exit_code = EXIT_NOTHING
