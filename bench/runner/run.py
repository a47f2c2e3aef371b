"""`bench run`: the grid of (image, codec, rate point) tasks, cached in the store. The runner only
writes runs; bench.report reads them (the default outputs: bench.report.outputs.write_outputs)."""
from __future__ import annotations

import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .. import metrics as metric_table
from ..adapters import list_codecs
from ..datasets import resolve
from ..errors import EXIT_FAILURES, EXIT_NOTHING, EXIT_OK, BadImage, BenchError, NothingComputed, UnknownName
from ..images import read_image
from ..provenance import git_commit, versions
from ..store import Store
from . import task

DEFAULT_METRICS = ["psnr", "ssim", "ms-ssim"]
DEFAULT_CODECS = ["jpeg", "jpeg2000"]


@dataclass
class RunConfig:
    """One `bench run`: dataset, codecs, metrics, anchor, output directory, execution options."""
    dataset: str = "skimage"
    codecs: list = field(default_factory=list)
    metrics: list = field(default_factory=list)
    anchor: str | None = None
    out: str = "bench-out"
    data_dir: str | None = None
    images: list = field(default_factory=list)
    bd_method: str = "pchip"
    progress: bool = True
    workers: int = 1
    scheduler: str | None = None
    task_timeout: float | None = None
    command: str = ""
    keep_recon: bool = False  # also write every reconstruction as a PNG under recon/
    batch: int | None = None  # tasks per worker call, LPIPS/DISTS batched across them (None: 8 on a GPU, else 1)
    device: str | None = None  # where metric networks run (auto, cpu, cuda[:N]); None: BENCH_DEVICE, else auto
    points: list | None = None  # a ladder for every codec of the run instead of its card's (as CompressAI's -q)
    profile: str | None = None  # codecs, metrics and anchor from profiles/<id>.toml where not given
    target_bpp: list | None = None  # rate matching: each image encoded at each codec's point nearest these rates
    bpp_tolerance: float = 0.01  # relative: an image farther than this from its target is reported


@dataclass
class RunSummary:
    """What a run did: tasks, encodings, reuses, scores, failures, skips, times."""
    run_id: int
    out: Path
    tasks: int = 0
    encoded: int = 0
    cached: int = 0
    scored: int = 0
    failures: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # codec or metric -> why
    wall_s: float = 0.0
    outputs_s: float = 0.0  # aggregation, tables and plots at the end (bench.report.outputs.after_run)
    cpu_s: float = 0.0  # this process's CPU seconds for the grid (workers not included)
    outputs_cpu_s: float = 0.0
    leaderboard: str = ""
    figures: bool = False  # whether the run directory has its RD figures (drawn on request: --plots)
    nothing: str = ""  # why nothing could be reported (no encoding, no complete curve)

    def exit_code(self, allow_failures: bool = False, allow_skips: bool = False) -> int:
        """0, or what a CI job should see: nothing reported, failed tasks, skipped codecs or metrics."""
        if self.nothing:
            return EXIT_NOTHING
        if (self.failures and not allow_failures) or (self.skipped and not allow_skips):
            return EXIT_FAILURES
        return EXIT_OK

    def line(self) -> str:
        """The summary as one line."""
        return (f"{self.tasks} tasks: {self.encoded} encoded, {self.cached} reused from the store, "
                f"{self.scored} scores computed, {len(self.failures)} failed, {self.wall_s:.1f} s wall")


def check_names(cfg: RunConfig) -> tuple[list, list]:
    """The run's codec and metric names; an unknown one is an error naming the valid ones."""
    for opt, v in (("--workers", cfg.workers), ("--batch", cfg.batch)):
        if v is not None and v < 1:
            raise BenchError(f"{opt} {v}: give a whole number of at least 1")
    known = list_codecs()
    codecs = cfg.codecs or [c for c in DEFAULT_CODECS if c in known]
    for c in codecs:
        if c not in known:
            raise UnknownName("codec", c, known)
    metric_names = cfg.metrics or DEFAULT_METRICS
    for m in metric_names:
        metric_table.get(m)
    return codecs, metric_names


def select(cfg: RunConfig):
    """Validate names before any work: unknown names are errors, unavailable ones are skipped."""
    codecs, metric_names = check_names(cfg)
    skipped, usable_codecs, usable_metrics = {}, [], []
    for c in codecs:
        try:
            ok, why = task.codec(c).adapter.available()
        except BenchError as e:
            ok, why = False, str(e)
        if ok:
            usable_codecs.append(c)
        else:
            skipped[f"codec {c}"] = why
    for m in metric_names:
        ok, why = metric_table.availability(m)
        if ok:
            usable_metrics.append(m)
        else:
            skipped[f"metric {m}"] = why
    if not usable_codecs:
        return usable_codecs, usable_metrics, None, skipped  # run() says why nothing can be computed
    anchor = cfg.anchor or ("jpeg2000" if "jpeg2000" in usable_codecs else usable_codecs[0])
    if anchor is not None and anchor not in codecs:
        raise BenchError(f"anchor {anchor!r} is not among the codecs of this run ({', '.join(codecs)}); "
                         "add it with --codec or choose another --anchor")
    if anchor is not None and anchor not in usable_codecs:
        raise BenchError(f"anchor {anchor} is unavailable here ({skipped[f'codec {anchor}']}); "
                         "choose another --anchor")
    return usable_codecs, usable_metrics, anchor, skipped


def run(cfg: RunConfig) -> RunSummary:
    """Run the grid of a run configuration into its store (resuming what the store already holds)."""
    import os

    from ..devices import ENV, requesting

    if cfg.profile:
        from dataclasses import replace

        from ..profiles import load_profile

        card = load_profile(cfg.profile)
        cfg = replace(cfg, codecs=cfg.codecs or list(card.get("codecs", [])), metrics=cfg.metrics or list(card["metrics"]),
                      anchor=cfg.anchor or card["anchor"])
    with requesting(cfg.device or os.environ.get(ENV) or "auto"):  # the option, else the environment, else auto
        return _run(cfg)


def _run(cfg: RunConfig) -> RunSummary:
    t_start, c_start = time.perf_counter(), time.process_time()
    from .. import weights

    check_names(cfg)  # a misspelt name answers before any heavy import or file access
    weights.configure()
    ds = resolve(cfg.dataset, cfg.data_dir, cfg.images or None)
    codecs, metric_names, anchor, skipped = select(cfg)
    for what, why in skipped.items():
        warnings.warn(f"{what} skipped: {why}", stacklevel=3)
    if not codecs or not metric_names:
        raise NothingComputed(
            f"nothing to compute: no usable {'codec' if not codecs else 'metric'} among those requested ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + "); install what is missing or choose others")
    from . import detection

    detection.check(ds, metric_names)
    fr_nr = [m for m in metric_names if metric_table.get(m).kind != "set"]
    set_metrics = [m for m in metric_names if metric_table.get(m).kind == "set"]
    from ..devices import device

    # resolved (and a CUDA request without a device refused) before any work; torch is only
    # imported for it when a metric's network runs on the device
    on_device = device() if any(metric_table.on_device(metric_table.get(m)) for m in metric_names) else None
    batch = cfg.batch or (GPU_BATCH if on_device not in (None, "cpu") and any(map(metric_table.batched, fr_nr)) else 1)
    extractors = {metric_table.get(m).fn: metric_table.version_key(m) for m in set_metrics}  # extractor -> features version
    if cfg.scheduler:
        from .executors import check_scheduler

        check_scheduler(cfg.scheduler)
    store = Store(cfg.out)
    store.clean_stale_tmp()
    ladders = {c: ladder(c, cfg.points) for c in codecs}
    matched = None
    if cfg.target_bpp:
        from .matched import match_dataset

        if cfg.points:
            raise BenchError("--target-bpp and --points: give one (targets choose each image's points)")
        matched = match_dataset(store, ds, codecs, ladders, cfg.target_bpp, cfg.bpp_tolerance, cfg.progress,
                                cfg.workers)
    manifest = _manifest(cfg, ds, codecs, metric_names, anchor, skipped, on_device, batch, ladders)
    if matched is not None:
        manifest["rate_matching"] = matched["report"]
    run_id = store.start_run(manifest["command"], manifest)
    summary = RunSummary(run_id, Path(cfg.out), skipped=skipped)
    try:
        gt = (detection.ground_truth(ds), manifest["annotations"]["version"]) if manifest["annotations"] else None
        _grid(store, ds, ladders, fr_nr, run_id, summary, cfg.progress, extractors, workers=cfg.workers,
              scheduler=cfg.scheduler, timeout=cfg.task_timeout, ground_truth=gt, keep_recon=cfg.keep_recon,
              batch=batch, per_image=matched)
        if set_metrics:
            _set_scores(store, run_id, set_metrics, manifest)
    finally:
        summary.wall_s = time.perf_counter() - t_start
        summary.cpu_s = time.process_time() - c_start
        store.finish_run(run_id, {"line": summary.line(), "failures": len(summary.failures)})
        store.close()
    return summary


def ladder(codec_id: str, points=None) -> list:
    """The rate points a run encodes with a codec: its card's ladder, or `points` (--points) when given, which
    needs a card whose ladder is numeric (a quality, a QP), not named checkpoints."""
    card_ladder = task.codec(codec_id).ladder
    if not points:
        return card_ladder
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in card_ladder):
        raise BenchError(f"--points: codec {codec_id}'s ladder is named points ({', '.join(map(str, card_ladder[:3]))}, "
                         "...), not numbers; run it on its own card's ladder")
    return [int(p) if float(p).is_integer() and all(isinstance(q, int) for q in card_ladder) else float(p)
            for p in points]


def _manifest(cfg: RunConfig, ds, codecs, metric_names, anchor, skipped, on_device, batch, ladders) -> dict:
    """What the run's numbers depend on: dataset files, codec cards and versions, metric versions,
    packages, host, command, the device and batch the run used."""
    from ..devices import requested
    from . import detection

    set_metrics = [m for m in metric_names if metric_table.get(m).kind == "set"]
    return {
        "dataset": ds.id, "dataset_source": cfg.dataset, "data_dir": cfg.data_dir,
        "dataset_files": ds.sha256, "codecs": codecs, "metrics": metric_names,
        "anchor": anchor, "bd_method": cfg.bd_method, "skipped": skipped,
        "metric_versions": {m: metric_table.version_key(m) for m in metric_names},
        "codec_versions": {c: "/".join(task.codec_identity(c)) for c in codecs},
        "codec_cards": {c: _card_with(task.codec(c).card, ladders[c]) for c in codecs},
        "ladder_override": list(cfg.points) if cfg.points else None, "profile": cfg.profile,
        "metric_provenance": metric_table.provenance(metric_names), "git_commit": git_commit(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "packages": versions(), "host": platform.node(), "platform": platform.platform(),
        "workers": cfg.workers, "scheduler": cfg.scheduler, "task_timeout": cfg.task_timeout,
        "device": {"requested": requested(), "networks": on_device}, "batch": batch,
        "command": cfg.command or " ".join(sys.argv),
        "annotations": ({"file": str(ds.annotations), "sha256": ds.annotations_sha256, "version": detection.gt_version(ds)}
                        if ds.annotations and any(detection.is_detection(m) for m in set_metrics) else None),
    }


def _card_with(card: dict, points: list) -> dict:
    """The card as the run used it (its ladder replaced by --points when given)."""
    if points == card.get("ladder", {}).get("points"):
        return card
    return {**card, "ladder": {**card.get("ladder", {}), "points": points, "from": "--points"}}


GPU_BATCH = 8  # tasks per worker call when LPIPS/DISTS run on a GPU (Kodak: 8 x 768 x 512 in one pass)


def _grid(store, ds, ladders, metric_names, run_id, summary, progress, extractors=None, *, workers=1,
          scheduler=None, timeout=None, ground_truth=None, keep_recon=False, batch=1, per_image=None):
    from . import executors
    from .progress import Progress

    extractors = extractors or {}
    counts = (per_image or {}).get("counts", {})
    per_image = (per_image or {}).get("points")
    n_points = sum(counts.get(c, len(points)) for c, points in ladders.items())
    bar = Progress(len(ds.files) * n_points, enabled=progress)

    def jobs():
        """Plan lazily, image by image: cached tasks are settled here, the rest become jobs."""
        for name, img in ds.images():
            if isinstance(img, Exception):
                f = {"stage": "load", "image": name, "message": str(img), "run_id": run_id}
                store.put(None, [], [f])
                summary.failures.append(f)
                bar.update(n_points)
                bar.write(f"skipping {name}: {img}")
                continue
            if ground_truth is not None:  # the image's annotations, kept beside its detections
                from .detection import GT

                if store.get_features(f"image:{img.sha256}", GT, ground_truth[1]) is None:
                    store.put_features(f"image:{img.sha256}", GT, ground_truth[1], ground_truth[0][name])
            for ext, ver in extractors.items():  # the originals' patch features / detections, once per image
                if store.get_features(f"image:{img.sha256}", ext, ver) is None:
                    from ..metrics.sets import features

                    store.put_features(f"image:{img.sha256}", ext, ver, features(img.pixels, ext))
            for c, points in ladders.items():
                # rate matching: this image's point for each target index (a target out of reach has none)
                mine = per_image.get((c, name), {}) if c in counts else None  # a failed search: nothing
                for idx, point in (mine.items() if mine is not None else enumerate(points)):
                    summary.tasks += 1
                    job = _plan(store, img, c, idx, point, metric_names, run_id, summary, extractors, keep_recon)
                    if job is None:
                        bar.update(1)
                    else:
                        yield job

    if scheduler:
        results = executors.dask(jobs(), scheduler, timeout, batch)
    elif workers > 1:
        results = executors.pool(jobs(), workers, timeout, batch=batch)
    else:
        results = executors.serial(jobs(), timeout, batch)
    for job, out in results:
        _record(store, job, out, run_id, summary, extractors)
        bar.update(1)
    bar.close()


def _plan(store, img, codec_id, idx, point, metric_names, run_id, summary, extractors, keep_recon=False):
    """None when the store already holds everything for this task; else the job to run. A stored
    encoding is reused through its reconstruction PNG when there is one, else by decoding its
    bitstream again in the worker (checked against the stored pixel sha256)."""
    key = task.key_for(img.sha256, codec_id, point)
    row = store.encoding(key)
    recon, lost, stored = None, None, None
    exts = list(extractors)
    if row is not None and not store.bitstream_path(key).is_file():
        lost, row = row["recon_sha256"], None  # the bitstream under the run directory was deleted: encode again
    if row is not None:
        have = store.scored(key)
        todo = [m for m in metric_names if (m, metric_table.version_key(m)) not in have]
        exts = [e for e, v in extractors.items() if store.get_features(key, e, v) is None]
        png = store.recon_path(row["recon_sha256"])
        if not todo and not exts and (png.is_file() or not keep_recon):
            summary.cached += 1
            store.put(None, [], [], run_id, key, idx)
            return None
        try:
            recon = read_image(png).pixels if png.is_file() else None
        except BadImage:
            recon = None  # a damaged PNG: decode the bitstream instead (and rewrite it when kept)
        if recon is None:
            # all metrics and extractors too: if the bitstream no longer decodes to these pixels, the
            # point is encoded afresh and its old scores are dropped
            stored = {"bitstream": store.bitstream_path(key).read_bytes(), "recon_sha256": row["recon_sha256"],
                      "metrics": list(metric_names), "extractors": list(extractors)}
        metric_names = todo
        summary.cached += 1
    return {"key": key, "had_row": row is not None, "lost_recon": lost,
            "args": {"image_name": img.name, "pixels": img.pixels, "codec_id": codec_id, "point_index": idx,
                     "point": point, "metric_names": metric_names, "recon": recon, "extractors": exts,
                     "image_sha256": img.sha256, "keep_recon": keep_recon, "stored": stored}}


def _record(store, job, out, run_id, summary, extractors):
    key = job["key"]
    enc = out["encoding"]
    if enc is not None:
        enc["run_id"] = run_id
        old = job.get("lost_recon") or ((job["args"].get("stored") or {}).get("recon_sha256")
                                        if out.get("redecoded") is False else None)
        if old and old != enc["recon_sha256"]:
            store.forget_encoding(key)  # a non-deterministic codec: the old row and scores described other pixels
        # files first (atomic, content-addressed); the row that points at them comes after
        store.write_bitstream(key, out["bitstream"])
        summary.encoded += 1
    if out["recon_png"] is not None:  # a new reconstruction, or a stored one decoded again, kept as PNG
        store.write_recon(enc["recon_sha256"] if enc is not None else job["args"]["stored"]["recon_sha256"],
                          out["recon_png"])
    for s in out["scores"]:
        s["run_id"] = run_id
    for f in out["failures"]:
        f["run_id"] = run_id
    store.put(enc, out["scores"], out["failures"], run_id, key if (enc is not None or job["had_row"]) else None,
              job["args"]["point_index"])
    for ext, arr in out["features"].items():
        store.put_features(key, ext, extractors[ext], arr)
    summary.scored += len(out["scores"])
    summary.failures.extend(out["failures"])


def _set_scores(store, run_id, set_metrics, man):
    """FID / KID / detection mAP per (codec, rate point) from the stored per-image features of this run."""
    import numpy as np

    from ..errors import MetricError
    from ..metrics.sets import set_score
    from . import detection

    groups = {}
    for e in store.encodings_of(run_id):
        groups.setdefault((e["codec"], e["point_index"]), []).append(e)
    for (codec, idx), encs in sorted(groups.items()):
        for m in set_metrics:
            if detection.is_detection(m):
                try:
                    store.put_set_score(run_id, codec, idx, m, detection.score(store, m, encs, man), len(encs), None)
                except MetricError as err:
                    store.put_set_score(run_id, codec, idx, m, None, len(encs), str(err))
                continue
            row, ver = metric_table.get(m), metric_table.version_key(m)
            ref = [store.get_features(f"image:{e['image_sha256']}", row.fn, ver) for e in encs]
            dist = [store.get_features(e["key"], row.fn, ver) for e in encs]
            if any(f is None for f in ref + dist):
                store.put_set_score(run_id, codec, idx, m, None, 0, "features missing for some images")
                continue
            a, b = np.concatenate(ref), np.concatenate(dist)
            try:
                store.put_set_score(run_id, codec, idx, m, set_score(m, a, b), len(b), None)
            except MetricError as err:
                store.put_set_score(run_id, codec, idx, m, None, len(b), str(err))
