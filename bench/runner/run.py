"""`bench run`: the grid of (image, codec, rate point) tasks, cached in the store, then the outputs."""
from __future__ import annotations

import json
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .. import metrics as M
from ..adapters import list_codecs
from ..datasets import resolve
from ..errors import BadImage, BenchError, NothingComputed, UnknownName
from ..images import read_image
from ..provenance import git_commit, versions
from . import task as T
from .store import Store

DEFAULT_METRICS = ["psnr", "ssim", "ms-ssim"]
DEFAULT_CODECS = ["jpeg", "jpeg2000"]


@dataclass
class RunConfig:
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


@dataclass
class RunSummary:
    run_id: int
    out: Path
    tasks: int = 0
    encoded: int = 0
    cached: int = 0
    scored: int = 0
    failures: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # codec or metric -> why
    wall_s: float = 0.0
    outputs_s: float = 0.0  # aggregation, tables and plots at the end
    cpu_s: float = 0.0  # this process's CPU seconds for the grid (workers not included)
    outputs_cpu_s: float = 0.0
    leaderboard: str = ""
    nothing: str = ""  # why nothing could be reported (no encoding, no complete curve)

    def line(self) -> str:
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
        M.get(m)
    return codecs, metric_names


def select(cfg: RunConfig):
    """Validate names before any work: unknown names are errors, unavailable ones are skipped."""
    codecs, metric_names = check_names(cfg)
    skipped, usable_codecs, usable_metrics = {}, [], []
    for c in codecs:
        try:
            ok, why = T.codec(c).adapter.available()
        except BenchError as e:
            ok, why = False, str(e)
        if ok:
            usable_codecs.append(c)
        else:
            skipped[f"codec {c}"] = why
    for m in metric_names:
        ok, why = M.availability(m)
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
    t_start, c_start = time.perf_counter(), time.process_time()
    from .. import weights

    check_names(cfg)  # a misspelt name answers before any heavy import or file access
    weights.configure()
    ds = resolve(cfg.dataset, cfg.data_dir, cfg.images or None)
    codecs, metric_names, anchor, skipped = select(cfg)
    for what, why in skipped.items():
        warnings.warn(f"{what} skipped: {why}", stacklevel=2)
    if not codecs or not metric_names:
        raise NothingComputed(
            f"nothing to compute: no usable {'codec' if not codecs else 'metric'} among those requested ("
            + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + "); install what is missing or choose others")
    from . import detection

    detection.check(ds, metric_names)
    fr_nr = [m for m in metric_names if M.get(m).kind != "set"]
    set_metrics = [m for m in metric_names if M.get(m).kind == "set"]
    from ..devices import device, requested

    # resolved (and a CUDA request without a device refused) before any work; torch is only
    # imported for it when a metric's network runs on the device
    on_device = device() if any(M.on_device(M.get(m)) for m in metric_names) else None
    batch = cfg.batch or (GPU_BATCH if on_device not in (None, "cpu") and any(map(M.batched, fr_nr)) else 1)
    extractors = {M.get(m).fn: M.version_key(m) for m in set_metrics}  # extractor -> features version
    store = Store(cfg.out)
    store.clean_stale_tmp()
    manifest = {
        "dataset": ds.id, "dataset_source": cfg.dataset, "data_dir": cfg.data_dir,
        "dataset_files": ds.sha256, "codecs": codecs, "metrics": metric_names,
        "anchor": anchor, "bd_method": cfg.bd_method, "skipped": skipped,
        "metric_versions": {m: M.version_key(m) for m in metric_names},
        "codec_versions": {c: "/".join(T.codec_identity(c)) for c in codecs},
        "codec_cards": {c: T.codec(c).card for c in codecs},
        "metric_provenance": M.provenance(metric_names), "git_commit": git_commit(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "packages": versions(), "host": platform.node(), "platform": platform.platform(),
        "workers": cfg.workers, "scheduler": cfg.scheduler, "task_timeout": cfg.task_timeout,
        "device": {"requested": requested(), "networks": on_device}, "batch": batch,
        "command": cfg.command or " ".join(sys.argv),
        "annotations": ({"file": str(ds.annotations), "sha256": ds.annotations_sha256, "version": detection.gt_version(ds)}
                        if ds.annotations and any(detection.is_detection(m) for m in set_metrics) else None),
    }
    run_id = store.start_run(manifest["command"], manifest)
    summary = RunSummary(run_id, Path(cfg.out), skipped=skipped)
    try:
        gt = (detection.ground_truth(ds), manifest["annotations"]["version"]) if manifest["annotations"] else None
        _grid(store, ds, codecs, fr_nr, run_id, summary, cfg.progress, extractors, workers=cfg.workers,
              scheduler=cfg.scheduler, timeout=cfg.task_timeout, ground_truth=gt, keep_recon=cfg.keep_recon,
              batch=batch)
        if set_metrics:
            _set_scores(store, run_id, set_metrics, manifest)
    finally:
        summary.wall_s = time.perf_counter() - t_start
        store.finish_run(run_id, {"line": summary.line(), "failures": len(summary.failures)})
    t_out, c_out = time.perf_counter(), time.process_time()
    summary.cpu_s = c_out - c_start
    try:
        summary.leaderboard = write_outputs(store, run_id)
    except NothingComputed as e:
        summary.nothing = str(e)
        for f in ("leaderboard.md", "leaderboard.csv", "rd_points.csv"):  # never leave an older result
            (store.dir / f).unlink(missing_ok=True)
    summary.outputs_s, summary.outputs_cpu_s = time.perf_counter() - t_out, time.process_time() - c_out
    summary.wall_s = time.perf_counter() - t_start
    store.finish_run(run_id, {"line": summary.line(), "failures": len(summary.failures)})
    store.close()
    return summary


GPU_BATCH = 8  # tasks per worker call when LPIPS/DISTS run on a GPU (Kodak: 8 x 768 x 512 in one pass)


def _grid(store, ds, codecs, metric_names, run_id, summary, progress, extractors=None, *, workers=1,
          scheduler=None, timeout=None, ground_truth=None, keep_recon=False, batch=1):
    from . import executors
    from .progress import Progress

    extractors = extractors or {}
    n_points = sum(len(T.codec(c).ladder) for c in codecs)
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
            for c in codecs:
                for idx, point in enumerate(T.codec(c).ladder):
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
    key = T.key_for(img.sha256, codec_id, point)
    row = store.encoding(key)
    recon, lost, stored = None, None, None
    exts = list(extractors)
    if row is not None and not store.bitstream_path(key).is_file():
        lost, row = row["recon_sha256"], None  # the bitstream under the run directory was deleted: encode again
    if row is not None:
        have = store.scored(key)
        todo = [m for m in metric_names if (m, M.version_key(m)) not in have]
        exts = [e for e, v in extractors.items() if store.get_features(key, e, v) is None]
        png = store.recon_path(row["recon_sha256"])
        if not todo and not exts and (png.is_file() or not keep_recon):
            summary.cached += 1
            store.put(None, [], [], run_id, key)
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
    store.put(enc, out["scores"], out["failures"], run_id, key if (enc is not None or job["had_row"]) else None)
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
            row, ver = M.get(m), M.version_key(m)
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


def _run_row(store: Store, run_id: int | None):
    row = store.last_run() if run_id is None else store.db.execute(
        "SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
    if row is None:
        raise BenchError(f"{store.dir}: the store holds no run {'yet' if run_id is None else run_id}")
    return row


def scored_metrics(man: dict) -> list[str]:
    """The metrics a run scored (those whose versions its manifest records), in its order."""
    return [m for m in man["metrics"] if m in man.get("metric_versions", {})]


def original(man: dict, image: str, sha256: str, data_dir=None):
    """The untouched original of one of a run's images, found as the run found its dataset and
    checked against the pixels the run encoded."""
    ds = resolve(man.get("dataset_source") or man["dataset"], data_dir or man.get("data_dir"), [image])
    img = read_image(ds.files[0])
    if img.sha256 != sha256:
        raise BenchError(f"{ds.files[0]}: its pixels differ from the image this run encoded; point --data-dir at the "
                         "original files")
    return img.pixels


def reconstruction(store: Store, enc: dict):
    """A stored encoding's reconstruction: its PNG under recon/ when kept, else its bitstream
    decoded again (and checked against the stored pixel sha256)."""
    p = store.recon_path(enc["recon_sha256"])
    if p.is_file():
        return read_image(p).pixels
    shape = (enc["height"], enc["width"], 3)
    try:
        rec = T.decode_stored(enc["codec"], store.bitstream_path(enc["key"]).read_bytes(), json.loads(enc["point"]),
                              shape, enc["recon_sha256"])
    except OSError:
        rec = None
    if rec is None:
        raise BenchError(f"{store.dir}: the reconstruction of {enc['image']} / {enc['codec']} point {enc['point_index']} "
                         "is neither kept nor decodable to its stored pixels; rerun the run's command to encode it again")
    return rec


def provenance(store: Store, row, man: dict, encs: list) -> dict:
    """What the run's numbers depend on, for table captions and manifest.json."""
    import hashlib

    files = man.get("dataset_files", {})
    warnings_ = [f"INCOMPLETE: run {row['run_id']} (started {row['started']}) did not finish — it was "
                 "interrupted or is still running; rerun the same command to complete it"] if row["finished"] is None else []
    return {
        "run_id": row["run_id"], "started": row["started"], "finished": row["finished"], "host": man.get("host"),
        "command": man.get("command"), "bench_version": man.get("packages", {}).get("percept-bench"),
        "git_commit": man.get("git_commit"), "warnings": warnings_,
        "dataset": {"id": man.get("dataset"), "images": len({e["image_sha256"] for e in encs}),
                    "files_digest": hashlib.sha256("".join(f"{k} {v}\n" for k, v in sorted(files.items()))
                                                   .encode()).hexdigest(), "files": files},
        "codecs": {c: {"version": v, "params": man.get("codec_cards", {}).get(c, {}).get("params", {}),
                       "ladder": man.get("codec_cards", {}).get(c, {}).get("ladder", {}).get("points")}
                   for c, v in man.get("codec_versions", {}).items()},
        "metrics": man.get("metric_provenance") or {m: {"backend": v} for m, v in man.get("metric_versions", {}).items()},
        "packages": man.get("packages", {}),
        "failures": len(store.failures_of(row["run_id"])),
    }


def leaderboard(store: Store, run_id: int | None = None, **options):
    """The leaderboard model of a stored run (default: the last) with its imported published
    curves; options as bench.analysis.leaderboard.Options (anchor and method default to the run's)."""
    from ..analysis.aggregate import curves
    from ..analysis.leaderboard import Options, build
    from .exchange import imported_curves

    row = _run_row(store, run_id)
    man = json.loads(row["manifest"])
    metric_names = scored_metrics(man)
    if options.get("metrics"):
        bad = [m for m in options["metrics"] if m not in metric_names]
        if bad:
            raise BenchError(f"--metric {', '.join(bad)}: not scored in run {row['run_id']} ({', '.join(metric_names)})")
    encs = store.encodings_of(row["run_id"])
    cvs = curves(encs, store.records(row["run_id"]), metric_names, store.set_scores_of(row["run_id"]))
    if not any(cv.bpp for cv in cvs.values()):
        raise NothingComputed(f"{store.dir}: run {row['run_id']} has no complete rate point to report "
                              f"({len(encs)} encodings, {len(store.failures_of(row['run_id']))} failures recorded); "
                              "no leaderboard written")
    from .detection import attach_resampling

    attach_resampling(store, cvs, encs, man)
    cvs.update(imported_curves(store, metric_names))
    options["anchor"] = options.get("anchor") or man.get("anchor")
    options["method"] = options.get("method") or man.get("bd_method", "pchip")
    if options["anchor"] not in {c for c, _ in cvs}:
        raise BenchError(f"anchor {options['anchor']!r} has no results in this run; valid: "
                         f"{', '.join(sorted({c for c, _ in cvs}))}")
    prov = provenance(store, row, man, encs)
    # a codec with one rate point (the `identity` card: the originals) is a reference level, not a curve
    single = {c for c in {c for c, _ in cvs} if c != options["anchor"]
              and all(len(cv.bpp) <= 1 for (cc, _), cv in cvs.items() if cc == c)}
    ranked = {k: v for k, v in cvs.items() if k[0] not in single}
    lb = build(ranked, Options(**options), prov)
    lb.all_curves = cvs
    lb.levels = {m: (c, cv.value[0]) for (c, m), cv in cvs.items() if c in single and cv.value}
    for c in sorted(single):
        vals = ", ".join(f"{m} {cv.value[0]:.4g}" for (cc, m), cv in cvs.items() if cc == c and cv.value)
        lb.notes.append(f"{c}: one rate point, a reference level rather than a curve (not ranked): {vals}.")
    cvs = ranked
    dropped = sum(cv.dropped for cv in cvs.values())
    if dropped:
        lb.notes.append(f"Incomplete rate points dropped from curves: {dropped} (see failures).")
    if prov["failures"]:
        lb.notes.append(f"Failures recorded in this run: {prov['failures']} (`failures` table of bench.sqlite).")
    title = f"percept-bench: {man['dataset']} ({prov['dataset']['images']} images), anchor {options['anchor']}"
    return lb, title, cvs, man


OUTPUTS_STAMP = ".outputs.json"  # what the run directory's default outputs were built from


def _outputs_digest(store: Store, run_id: int | None, anchor, method) -> str:
    """Everything the default outputs show, but the run's own id, dates and command: the records,
    set-level scores, imported curves, failures, the options, the package version and commit."""
    import hashlib

    row = _run_row(store, run_id)
    man = json.loads(row["manifest"])
    rid = row["run_id"]
    recs = sorted((r["encoding_key"], r["metric"], r["metric_version"], r["value"], r["bpp"]) for r in store.records(rid))
    encs = sorted((e["key"], e["codec"], e["point_index"], e["image"], e["bpp"]) for e in store.encodings_of(rid))
    sets = sorted((s["codec"], s["point_index"], s["metric"], s["value"], s["message"] or "") for s in store.set_scores_of(rid))
    state = [recs, encs, sets, store.imported(), len(store.failures_of(rid)), row["finished"] is None, anchor, method,
             man.get("anchor"), man.get("bd_method"), scored_metrics(man), man.get("skipped"),
             man.get("packages", {}).get("percept-bench"), man.get("git_commit")]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def write_outputs(store: Store, run_id: int | None = None, *, anchor: str | None = None,
                  method: str | None = None, plots: bool = True, tables: bool = True) -> str:
    """A stored run (default: the last) into leaderboard.md/.csv, rd_points.csv, manifest.json, plots.
    When nothing they show has changed since they were last written (a re-run that computed nothing),
    they are kept as they are: their provenance names the run that computed the numbers."""
    from ..images import atomic_write

    stamp = store.dir / OUTPUTS_STAMP
    digest = _outputs_digest(store, run_id, anchor, method) if tables and plots else None
    prev = {}
    if digest is not None and stamp.is_file():
        try:
            prev = json.loads(stamp.read_text())
        except ValueError:
            prev = {}
        if prev.get("digest") == digest and all((store.dir / f).is_file() for f in prev.get("files", [])):
            return (store.dir / "leaderboard.md").read_text()
    from ..report.plots import rd_plots
    from ..report.tables import markdown, write_default

    lb, title, cvs, man = leaderboard(store, run_id, anchor=anchor, method=method)
    files = []
    if tables:
        md = write_default(store.dir, lb, title, cvs)
        (store.dir / "manifest.json").write_text(json.dumps({**man, "provenance": lb.provenance}, indent=2,
                                                            default=str) + "\n")
        files += ["leaderboard.md", "leaderboard.csv", "rd_points.csv", "manifest.json"]
    else:
        md = markdown(lb, title)
    figures = {}
    if plots:
        # one figure per metric, redrawn only when what it shows changed (proportional outputs)
        metric_names = list(dict.fromkeys(c.metric for c in lb.columns))
        figures = {m: _figure_digest(cvs, m, lb, man) for m in metric_names}
        kept = prev.get("figures", {})
        todo = [m for m in metric_names if kept.get(m, [None])[0] != figures[m]
                or not all((store.dir / f).is_file() for f in kept[m][1])]
        for m in metric_names:
            if m in todo:
                figures[m] = [figures[m], [p.name for p in rd_plots(store.dir, cvs, [m], anchor=lb.options.anchor,
                                                                    title=man["dataset"], levels=lb.levels)]]
            else:
                figures[m] = kept[m]
            files += figures[m][1]
    if digest is not None:
        atomic_write(stamp, json.dumps({"digest": digest, "files": files, "figures": figures}).encode())
    return md


def _figure_digest(cvs: dict, metric: str, lb, man: dict) -> str:
    """What one default RD figure shows: its metric's curves, the anchor, the title, the reference level."""
    import hashlib

    curves = sorted((c.codec, list(map(float, c.bpp)), list(map(float, c.value)), c.source or "")
                    for c in cvs.values() if c.metric == metric)
    state = [curves, lb.options.anchor, man["dataset"], (lb.levels or {}).get(metric),
             man.get("packages", {}).get("percept-bench"), man.get("git_commit")]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def export(run_dir, fmt: str, out, run_id: int | None = None) -> list:
    """`bench export`: curves as CompressAI JSON / tfc text files, or the per-image long table."""
    from . import exchange

    store = Store(run_dir, create=False)
    out = Path(out)
    if fmt in ("csv", "parquet"):
        df = exchange.long_table(store, _run_row(store, run_id)["run_id"])
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            df.to_csv(out, index=False, float_format="%.17g")
        else:
            try:
                df.to_parquet(out, index=False)
            except ImportError:
                raise BenchError("parquet needs pyarrow: pip install 'percept-bench[parquet]'") from None
        return [out]
    lb, title, cvs, man = leaderboard(store, run_id, resamples=0)
    ours = {k: cv for k, cv in cvs.items() if cv.source is None}
    desc = f"percept-bench {man.get('packages', {}).get('percept-bench', '')}: {title}"
    return (exchange.export_compressai if fmt == "compressai" else exchange.export_tfc)(ours, out, desc)


def load(run_dir, run_id: int | None = None):
    """The per-image records of a stored run (default: the last) as a pandas DataFrame."""
    from .exchange import long_table

    store = Store(run_dir, create=False)
    return long_table(store, _run_row(store, run_id)["run_id"])


def plot(run_dir, run_id: int | None = None, *, anchor=None, metrics=None, out=None, **style) -> list:
    """`bench plot`: the run's RD figures (with its imported published curves) in the requested style."""
    from ..report.plots import FORMATS, rd_plots

    bad = [f for f in style.get("formats", ()) if f not in FORMATS]
    if bad:
        raise BenchError(f"--format {', '.join(bad)}: valid figure formats are {', '.join(FORMATS)}")
    store = Store(run_dir, create=False)
    lb, _, cvs, man = leaderboard(store, run_id, anchor=anchor, metrics=metrics, resamples=0)
    names = list(dict.fromkeys(c.metric for c in lb.columns))
    out = Path(out) if out else store.dir
    out.mkdir(parents=True, exist_ok=True)
    return rd_plots(out, cvs, names, anchor=lb.options.anchor, title=man["dataset"], levels=lb.levels, **style)


def crops(run_dir, image: str, bpp: float, *, box: str | None = None, codecs=None, out=None, data_dir=None,
          run_id: int | None = None) -> tuple[list, list]:
    """`bench crops`: each codec's reconstruction of one image at (or nearest to) `bpp`, cropped and
    enlarged; returns (files written, one line per codec saying how its point was found)."""
    from ..analysis.match import match
    from ..report.crops import Crop, detailed_box, figure, parse_box

    store = Store(run_dir, create=False)
    row = _run_row(store, run_id)
    man = json.loads(row["manifest"])
    encs = [e for e in store.encodings_of(row["run_id"]) if e["image"] == image]
    if not encs:
        names = sorted({e["image"] for e in store.encodings_of(row["run_id"])})
        raise BenchError(f"no image {image!r} in run {row['run_id']} of {store.dir}; valid: {', '.join(names)}")
    px = original(man, image, encs[0]["image_sha256"], data_dir)
    run_codecs = sorted({e["codec"] for e in encs})
    for c in codecs or []:
        if c not in run_codecs:
            raise UnknownName("codec of this run", c, run_codecs)
    names = [m for m in scored_metrics(man) if M.get(m).kind != "set"]
    made, lines = [], []
    # a one-point reference codec (identity: the original itself) is shown as "original" already
    for cid in codecs or [c for c in run_codecs if len(T.codec(c).ladder) > 1]:
        codec = T.codec(cid)
        if all(isinstance(p, (int, float)) for p in codec.ladder) and codec.adapter.available()[0]:
            m = match(cid, px, bpp=bpp)
            enc = codec.adapter.encode(px, m.point)
            rec = codec.adapter.decode(enc.data, m.point, shape=px.shape)
            got, how = 8 * enc.rate_bytes / (px.shape[0] * px.shape[1]), f"matched-rate search ({len(m.evaluations)} encodes)"
            point = m.point
        else:
            e = min((e for e in encs if e["codec"] == cid), key=lambda e: abs(e["bpp"] - bpp))
            rec, got, point = reconstruction(store, e), e["bpp"], json.loads(e["point"])
            how = "nearest stored point (discrete ladder)"
        scores = {}
        for n in names:
            try:
                scores[n] = M.score(n, px, rec)
            except BenchError:
                scores[n] = None
        made.append(Crop(cid, rec, got, point, how, scores))
        lines.append(f"{cid}: {got:.4f} bpp (target {bpp:g}, off by {got - bpp:+.4f}) at point {point!r}: {how}")
    b = parse_box(box, px.shape) if box else detailed_box(px)
    out = Path(out) if out else store.dir
    out.mkdir(parents=True, exist_ok=True)
    return figure(out, image, px, made, b, bpp, names), lines


def report(run_dir, out=None, *, image: str | None = None, bpp: float | None = None, data_dir=None,
           run_id: int | None = None) -> Path:
    """`bench report`: one self-contained HTML file (default RUN/report.html)."""
    import tempfile

    from ..images import atomic_write
    from ..report.html import page
    from ..report.plots import rd_plots
    from ..report.tables import html_table

    store = Store(run_dir, create=False)
    lb, title, cvs, man = leaderboard(store, run_id)
    row = _run_row(store, run_id)
    names = list(dict.fromkeys(c.metric for c in lb.columns))
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        tmp = Path(tmp)
        figs = rd_plots(tmp, cvs, names, anchor=lb.options.anchor, preset="paper-wide", formats=("png",),
                        grid=True, msssim_in_db=True, spread=True, levels=lb.levels)
        crop = None
        if image is not None:
            files, lines = crops(run_dir, image, bpp if bpp is not None else 0.25, out=tmp, data_dir=data_dir,
                                 run_id=run_id)
            crop = (next(f for f in files if f.suffix == ".png" and f.parent == tmp), lines)
        text = page(title=title, table_html=html_table(lb, title), analyses=_analyses(run_dir, run_id, names, tmp),
                    figures=[("All metrics against rate; shaded: inter-quartile range over images; MS-SSIM in dB. "
                              "Dotted: imported published curves.", figs[0])],
                    crops=crop, failures=store.failures_of(row["run_id"]), skipped=man.get("skipped", {}),
                    manifest={**man, "provenance": lb.provenance}, warnings=lb.provenance.get("warnings", []))
    out = Path(out) if out else store.dir / "report.html"
    atomic_write(out, text.encode())
    return out


def _analyses(run_dir, run_id, names, tmp: Path) -> list:
    """The perception analyses the run allows, for the HTML report: disagreement (two or more
    metrics) and realism (an `identity` codec and a no-reference metric)."""
    from . import analyze

    out = []
    if len(names) >= 2:
        html, files, _ = analyze.disagreement(run_dir, fmt="html", out=tmp, run_id=run_id)
        out.append(("Metric disagreement", html, next(f for f in files if f.suffix == ".png")))
    nr = [m for m in names if M.get(m).kind == "nr"]
    fr = [m for m in names if M.get(m).kind == "fr"]
    if nr and fr:
        try:
            html, files = analyze.realism(run_dir, distortion=fr[0], realism_metric=nr[0], fmt="html", out=tmp,
                                          run_id=run_id)
            out.append(("Rate-distortion-realism", html, next(f for f in files if f.suffix == ".png")))
        except BenchError as e:  # no identity codec in this run: say so in the report
            import html as _html

            out.append(("Rate-distortion-realism", f"<p class=\"note\">{_html.escape(str(e))}</p>", None))
    return out
