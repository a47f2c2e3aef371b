"""A stored run, opened once: its store, manifest, dataset, records, originals, reconstructions,
provenance and imported curves, and the leaderboard model built from them.

Every reading verb (table, plot, crops, report, export, load, compare, analyze) takes a
`StoredRun`; the runner only writes runs (`bench.runner.run`), this module only reads them.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import BenchError, NothingComputed
from ..store import Store

FEW_IMAGES = 10  # below this many images, bootstrap intervals are flagged as indicative


@dataclass
class Board:
    """The leaderboard of a stored run: the model every table renders, its title, and the ranked curves
    (one-point reference codecs such as `identity` are in `leaderboard.levels`, not here)."""
    leaderboard: object  # bench.analysis.leaderboard.Leaderboard
    title: str
    curves: dict  # (codec, metric) -> bench.analysis.aggregate.Curve

    @property
    def metrics(self) -> list[str]:
        """The metrics of the table's columns, in order."""
        return list(dict.fromkeys(c.metric for c in self.leaderboard.columns))


class StoredRun:
    """One run of a store (default: the last), read once and shared by every verb that shows it."""

    def __init__(self, store: Store, run_id: int | None = None):
        self.store = store
        self.row = store.run_row(run_id)
        self.run_id: int = self.row["run_id"]
        self.manifest: dict = json.loads(self.row["manifest"])
        self._boards: dict = {}

    @classmethod
    def open(cls, run_dir, run_id: int | None = None, read_only: bool = True) -> StoredRun:
        """Open run `run_id` (default: the last) of the store in `run_dir`, read-only unless asked."""
        return cls(Store(run_dir, create=False, read_only=read_only), run_id)

    @property
    def dir(self) -> Path:
        """The run directory (holding bench.sqlite)."""
        return self.store.dir

    @property
    def finished(self) -> bool:
        """Whether the run reached its end (a killed or running one did not)."""
        return self.row["finished"] is not None

    @property
    def dataset(self) -> str:
        """The dataset id the run encoded."""
        return self.manifest["dataset"]

    @property
    def metrics(self) -> list[str]:
        """The metrics the run scored (those whose versions its manifest records), in its order."""
        return scored_metrics(self.manifest)

    @functools.cached_property
    def encodings(self) -> list[dict]:
        """The run's encodings (one per image x codec x rate point)."""
        return self.store.encodings_of(self.run_id)

    @functools.cached_property
    def records(self) -> list[dict]:
        """The run's records (one per encoding x metric, at the run's metric versions)."""
        return self.store.records(self.run_id)

    @functools.cached_property
    def set_scores(self) -> list[dict]:
        """Set-level scores (FID, KID, detection mAP) per codec and rate point."""
        return self.store.set_scores_of(self.run_id)

    @functools.cached_property
    def failures(self) -> list[dict]:
        """The failures the run recorded, oldest first."""
        return self.store.failures_of(self.run_id)

    def images(self) -> list[str]:
        """The names of the run's images, sorted."""
        return sorted({e["image"] for e in self.encodings})

    @functools.cached_property
    def measured_curves(self) -> dict:
        """{(codec, metric): Curve} of the run's own measurements (detection curves resampled by image)."""
        from ..analysis.aggregate import curves
        from ..runner.detection import attach_resampling

        cvs = curves(self.encodings, self.records, self.metrics, self.set_scores)
        attach_resampling(self.store, cvs, self.encodings, self.manifest)
        return cvs

    def imported_curves(self, metric_names=None) -> dict:
        """{(series, metric): Curve} of the published curves imported into the store."""
        from .exchange import imported_curves

        return imported_curves(self.store, self.metrics if metric_names is None else metric_names)

    def original(self, image: str, data_dir=None):
        """The untouched original of one of the run's images, found as the run found its dataset and
        checked against the pixels the run encoded."""
        from ..datasets import resolve
        from ..images import read_image

        sha = next((e["image_sha256"] for e in self.encodings if e["image"] == image), None)
        if sha is None:
            raise BenchError(f"no image {image!r} in run {self.run_id} of {self.dir}; valid: "
                             f"{', '.join(self.images())}")
        man = self.manifest
        ds = resolve(man.get("dataset_source") or man["dataset"], data_dir or man.get("data_dir"), [image])
        img = read_image(ds.files[0])
        if img.sha256 != sha:
            raise BenchError(f"{ds.files[0]}: its pixels differ from the image this run encoded; point --data-dir at "
                             "the original files")
        return img.pixels

    def reconstruction(self, enc: dict):
        """A stored encoding's reconstruction: its PNG under recon/ when kept, else its bitstream
        decoded again (and checked against the stored pixel sha256)."""
        from ..images import read_image
        p = self.store.recon_path(enc["recon_sha256"])
        if p.is_file():
            return read_image(p).pixels
        shape = (enc["height"], enc["width"], 3)
        try:
            bits = self.store.bitstream_path(enc["key"]).read_bytes()
        except OSError:
            bits = None
        rec = None if bits is None else _decode_as_run(enc, bits, shape, self.manifest.get("workers") or 1)
        if rec is None:
            raise BenchError(f"{self.dir}: the reconstruction of {enc['image']} / {enc['codec']} point "
                             f"{enc['point_index']} is neither kept nor decodable to its stored pixels; rerun the "
                             "run's command to encode it again")
        return rec

    @functools.cached_property
    def provenance(self) -> dict:
        """What the run's numbers depend on, for table captions and manifest.json."""
        row, man = self.row, self.manifest
        files = man.get("dataset_files", {})
        warnings_ = [f"INCOMPLETE: run {row['run_id']} (started {row['started']}) did not finish — it was "
                     "interrupted or is still running; rerun the same command to complete it"] if not self.finished else []
        cards = man.get("codec_cards", {})
        return {
            "run_id": row["run_id"], "started": row["started"], "finished": row["finished"], "host": man.get("host"),
            "command": man.get("command"), "bench_version": man.get("packages", {}).get("percept-bench"),
            "git_commit": man.get("git_commit"), "warnings": warnings_,
            "dataset": {"id": man.get("dataset"), "images": len({e["image_sha256"] for e in self.encodings}),
                        "files_digest": hashlib.sha256("".join(f"{k} {v}\n" for k, v in sorted(files.items()))
                                                       .encode()).hexdigest(), "files": files},
            "codecs": {c: {"version": v, "params": cards.get(c, {}).get("params", {}),
                           "ladder": cards.get(c, {}).get("ladder", {}).get("points")}
                       for c, v in man.get("codec_versions", {}).items()},
            "metrics": man.get("metric_provenance") or {m: {"backend": v} for m, v in man.get("metric_versions", {}).items()},
            "packages": man.get("packages", {}),
            "failures": len(self.failures),
        }

    def leaderboard(self, **options) -> Board:
        """The leaderboard model with the imported published curves, built once per set of options
        (as bench.analysis.leaderboard.Options; anchor and method default to the run's)."""
        key = json.dumps(options, sort_keys=True, default=str)
        if key not in self._boards:
            self._boards[key] = self._build(dict(options))
        return self._boards[key]

    def _build(self, options: dict) -> Board:
        from ..analysis.leaderboard import Options, build

        names, man = self.metrics, self.manifest
        if options.get("metrics"):
            bad = [m for m in options["metrics"] if m not in names]
            if bad:
                raise BenchError(f"--metric {', '.join(bad)}: not scored in run {self.run_id} ({', '.join(names)})")
        measured = self.measured_curves
        if not any(cv.bpp for cv in measured.values()):
            raise NothingComputed(f"{self.dir}: run {self.run_id} has no complete rate point to report "
                                  f"({len(self.encodings)} encodings, {len(self.failures)} failures recorded); "
                                  "no leaderboard written")
        cvs = {**measured, **self.imported_curves(names)}
        options["anchor"] = options.get("anchor") or man.get("anchor")
        options["method"] = options.get("method") or man.get("bd_method", "pchip")
        series = {c for c, _ in cvs}
        if options["anchor"] not in series:
            raise BenchError(f"anchor {options['anchor']!r} has no results in this run; valid: "
                             f"{', '.join(sorted(series))}")
        prov = self.provenance
        # a codec with one rate point (the `identity` card: the originals) is a reference level, not a curve
        single = {c for c in series if c != options["anchor"]
                  and all(len(cv.bpp) <= 1 for (cc, _), cv in cvs.items() if cc == c)}
        ranked = {k: v for k, v in cvs.items() if k[0] not in single}
        lb = build(ranked, Options(**options), prov)
        lb.all_curves = cvs
        if lb.options.times:
            lb.times = self.times()
            lb.extras += self.complexity_columns()
            if lb.extras:
                lb.notes.append("kMAC/px: multiply-accumulates per pixel of a learned codec's convolutions and matrix "
                                "products in compress() / decompress() (torch's flop counter, MAC = FLOP / 2; "
                                "entropy coding not counted), on its first rate point at the run's image size.")
        lb.levels = {m: (c, cv.value[0]) for (c, m), cv in cvs.items() if c in single and cv.value}
        for c in sorted(single):
            vals = ", ".join(f"{m} {cv.value[0]:.4g}" for (cc, m), cv in cvs.items() if cc == c and cv.value)
            lb.notes.append(f"{c}: one rate point, a reference level rather than a curve (not ranked): {vals}.")
        dropped = sum(cv.dropped for cv in ranked.values())
        if dropped:
            lb.notes.append(f"Incomplete rate points dropped from curves: {dropped} (see failures).")
        n_images = prov["dataset"]["images"]
        if lb.options.resamples > 0 and 1 < n_images < FEW_IMAGES:
            lb.notes.append(f"Intervals rest on {n_images} images: a bootstrap over fewer than ~{FEW_IMAGES} images "
                            "has few distinct draws and understates the uncertainty; read them as indicative.")
        if man.get("rate_matching"):
            from ..runner.matched import notes

            lb.notes += notes(man["rate_matching"])
        if prov["failures"]:
            lb.notes.append(f"Failures recorded in this run: {prov['failures']} (`failures` table of bench.sqlite).")
        title = f"percept-bench: {man['dataset']} ({prov['dataset']['images']} images), anchor {options['anchor']}"
        return Board(lb, title, ranked)

    def times(self) -> dict:
        """{codec: (mean encode seconds, mean decode seconds) per image} over the run's encodings (as stored:
        a reused encoding keeps the time of the run that made it)."""
        by_codec: dict = {}
        for e in self.encodings:
            if e["encode_s"] is not None and e["decode_s"] is not None:
                by_codec.setdefault(e["codec"], []).append((e["encode_s"], e["decode_s"]))
        return {c: (sum(x for x, _ in t) / len(t), sum(y for _, y in t) / len(t)) for c, t in by_codec.items()}

    def complexity_columns(self) -> list:
        """Encoder and decoder kMAC per pixel of the run's learned codecs (their first rate point, on the run's
        most common image size), as two leaderboard columns; none when the run has no learned codec."""
        from collections import Counter

        from ..analysis.leaderboard import Cell, Extra
        from ..runner.task import codec as load

        shape = Counter((e["height"], e["width"]) for e in self.encodings).most_common(1)
        enc, dec = {}, {}
        for c in sorted({e["codec"] for e in self.encodings}):
            codec = load(c)
            if shape and hasattr(codec.adapter, "complexity") and codec.adapter.available()[0]:
                e_k, d_k = codec.adapter.complexity(codec.ladder[0], shape[0][0])
                enc[c], dec[c] = Cell(value=e_k), Cell(value=d_k)
            else:
                enc[c] = dec[c] = Cell(message="not a learned codec")
        if all(cell.value is None for cell in enc.values()):
            return []
        return [Extra("encoder kMAC/px", "encoder_kmac_per_pixel", enc, kind="value", ranked=False),
                Extra("decoder kMAC/px", "decoder_kmac_per_pixel", dec, kind="value", ranked=False)]

    def long_table(self):
        """The run's records as a pandas DataFrame, one row per image x codec x rate point x metric."""
        from .exchange import long_table

        return long_table(self.records, self.encodings, self.set_scores)

    def close(self) -> None:
        """Close the store's connection."""
        self.store.close()


def _decode_as_run(enc: dict, bits: bytes, shape, workers: int):
    """Decode a stored bitstream to its stored pixels. A learned codec's float arithmetic depends on the
    number of torch threads, so when this process's count gives other pixels, the run's own count (its
    cores split between its workers) and one thread are tried before giving up."""
    import sys

    from ..runner.executors import threads_per_worker
    from ..runner.task import decode_stored

    before = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
    try:
        for n in dict.fromkeys((None, threads_per_worker(workers), 1)):
            torch = sys.modules.get("torch")
            if n is not None and torch is not None:
                torch.set_num_threads(n)
            rec = decode_stored(enc["codec"], bits, json.loads(enc["point"]), shape, enc["recon_sha256"])
            if rec is not None or "torch" not in sys.modules:  # no torch: nothing thread-dependent to retry
                return rec
        return None
    finally:
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(before or threads_per_worker(1))


def scored_metrics(man: dict) -> list[str]:
    """The metrics a run scored (those whose versions its manifest records), in its order."""
    return [m for m in man["metrics"] if m in man.get("metric_versions", {})]


def load(run_dir, run_id: int | None = None):
    """The per-image records of a stored run (default: the last) as a pandas DataFrame."""
    return StoredRun.open(run_dir, run_id).long_table()
