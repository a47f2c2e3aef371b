"""A stored run's files: the default outputs `bench run` leaves in the run directory (leaderboard.md /
.csv, rd_points.csv, manifest.json, RD figures), and the `bench table`, `plot` and `export` verbs."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..errors import BenchError
from ..images import atomic_write, file_sha256
from .formats import FIGURE_FORMATS, TABLE_EXTENSIONS, TABLE_FORMATS
from .stored import StoredRun

OUTPUTS_STAMP = ".outputs.json"  # what the run directory's default outputs were built from


def _outputs_digest(run: StoredRun, anchor, method) -> str:
    """Everything the default outputs show, but the run's own id, dates and command: the records,
    set-level scores, imported curves, failures, the options, the package version and commit."""
    man = run.manifest
    recs = sorted((r["encoding_key"], r["metric"], r["metric_version"], r["value"], r["bpp"]) for r in run.records)
    encs = sorted((e["key"], e["codec"], e["point_index"], e["image"], e["bpp"]) for e in run.encodings)
    sets = sorted((s["codec"], s["point_index"], s["metric"], s["value"], s["message"] or "") for s in run.set_scores)
    state = [recs, encs, sets, run.store.imported(), len(run.failures), not run.finished, anchor, method,
             man.get("anchor"), man.get("bd_method"), run.metrics, man.get("skipped"),
             man.get("packages", {}).get("percept-bench"), man.get("git_commit")]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def _figure_digest(curves: dict, metric: str, board, man: dict) -> str:
    """What one default RD figure shows: its metric's curves, the anchor, the title, the reference level."""
    shown = sorted((c.codec, list(map(float, c.bpp)), list(map(float, c.value)), c.source or "")
                   for c in curves.values() if c.metric == metric)
    state = [shown, board.leaderboard.options.anchor, man["dataset"], (board.leaderboard.levels or {}).get(metric),
             man.get("packages", {}).get("percept-bench"), man.get("git_commit")]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


def write_outputs(run: StoredRun, *, anchor: str | None = None, method: str | None = None,
                  plots: bool = False) -> str:
    """A stored run into leaderboard.md/.csv, rd_points.csv, manifest.json and, when asked or when the run
    directory already has them, its RD figures; returns the Markdown leaderboard. When nothing they show has
    changed since they were last written (a re-run that computed nothing), they are kept as they are: their
    provenance names the run that computed the numbers."""
    out = run.dir
    stamp = out / OUTPUTS_STAMP
    prev = _read_stamp(stamp)
    # figures are drawn on request (matplotlib alone costs a cheap run a third of its CPU), then kept current:
    # a run directory that has them never shows figures older than its tables
    plots = plots or bool(prev.get("figures")) or (not prev and any(
        True for ext in ("png", "pdf", "svg") for _ in out.glob(f"rd_*.{ext}")))
    digest = _outputs_digest(run, anchor, method)
    if prev.get("digest") == digest and _intact(out, prev.get("files")) \
            and (not plots or prev.get("figures")):
        return (out / "leaderboard.md").read_text()
    from .tables import write_default

    board = run.leaderboard(anchor=anchor, method=method)
    lb, man = board.leaderboard, run.manifest
    md = write_default(out, lb, board.title, board.curves)
    atomic_write(out / "manifest.json", (json.dumps({**man, "provenance": lb.provenance}, indent=2,
                                                    default=str) + "\n").encode())
    files = ["leaderboard.md", "leaderboard.csv", "rd_points.csv", "manifest.json"]
    style = prev.get("style") or {}
    figures = _figures(run, board, prev.get("figures", {}), prev.get("files"), style) if plots else {}
    for names in figures.values():
        files += names[1]
    files = {f: file_sha256(out / f) for f in files}  # reused only while each file is what was written
    atomic_write(stamp, json.dumps({"digest": digest, "files": files, "figures": figures, "style": style}).encode())
    return md


def _read_stamp(stamp: Path) -> dict:
    """The outputs stamp of a run directory, or {} when there is none or it is unreadable."""
    try:
        return json.loads(stamp.read_text()) if stamp.is_file() else {}
    except ValueError:
        return {}


def _intact(out: Path, files) -> bool:
    """Whether the files the stamp lists are there with the bytes that were written."""
    if not isinstance(files, dict):
        return False
    return all((out / f).is_file() and file_sha256(out / f) == sha for f, sha in files.items())


def _figures(run: StoredRun, board, kept: dict, hashes, style: dict) -> dict:
    """One figure per metric, redrawn only when what it shows changed (proportional outputs), in the style of
    the last `bench plot` into the run directory (its preset, formats, anchor...; the defaults before any):
    {metric: [digest, [file names]]}."""
    from .plots import rd_plots

    if style.get("anchor"):
        board = run.leaderboard(anchor=style["anchor"], resamples=0)
    lb, out = board.leaderboard, run.dir
    drawing = {k: v for k, v in style.items() if k != "anchor"}
    figures = {}
    for m in board.metrics:
        digest = _figure_digest(board.curves, m, board, run.manifest)
        if kept.get(m, [None])[0] == digest and isinstance(hashes, dict) and \
                _intact(out, {f: hashes.get(f) for f in kept[m][1]}):
            figures[m] = kept[m]
        else:
            drawn = rd_plots(out, board.curves, [m], anchor=lb.options.anchor, title=run.dataset, levels=lb.levels,
                             **drawing)
            figures[m] = [digest, [p.name for p in drawn]]
    return figures


def forget_outputs(run_dir) -> None:
    """Remove the default tables of a run directory (when nothing can be reported: never leave an older result)."""
    for f in ("leaderboard.md", "leaderboard.csv", "rd_points.csv"):
        (Path(run_dir) / f).unlink(missing_ok=True)


def checked_output(path) -> Path:
    """A file a verb may write: never a store (bench.sqlite, its -wal / -shm, or any SQLite file), never a
    folder; the error names the file and the fix."""
    from ..store import DB_NAME, is_sqlite

    p = Path(path)
    if p.name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm") or (p.is_file() and is_sqlite(p)):
        raise BenchError(f"{p}: a percept-bench store (or another SQLite database); write the output elsewhere")
    if p.is_dir():
        raise BenchError(f"{p}: is a folder; give a file name")
    return p


def table_format(fmt: str | None, out: str | None) -> str:
    """The table format asked for: --format, else the extension of --out."""
    fmt = fmt or TABLE_EXTENSIONS.get(os.path.splitext(out or "")[1].lower())
    if fmt is None:
        raise BenchError(f"--out {out}: cannot tell the format from the extension; add --format "
                         f"({', '.join(TABLE_FORMATS)})")
    return fmt


# (option, Options field, default): what only a rendered table shows
RENDER_ONLY = (("--metric", "metrics", None), ("--sort", "sort", None), ("--at-bpp", "at_bpp", ()),
               ("--at-quality", "at_quality", ()), ("--bd-metric", "bd_metric", False), ("--hull", "hull", False),
               ("--resamples", "resamples", 1000), ("--seed", "seed", 0), ("--times", "times", False),
               ("--bd-average", "per_image", None))
# (--profile is refused in that mode by table() itself)


def table(run: StoredRun, fmt: str | None = None, out: str | None = None, profile: str | None = None,
          **options) -> tuple[str, str | None]:
    """`bench table`: (text, file written or None). Without a format or a file: rewrite the run
    directory's default tables (anchor and method apply) and return the Markdown leaderboard. With a
    profile: its metrics (those the run scored), its anchor and its headline column."""
    if profile is not None:
        if fmt is None and not out:
            raise BenchError("--profile shapes a rendered table: add --format md (or --out FILE)")
        return _profile_table(run, profile, fmt, out, options)
    if fmt is None and not out:
        ignored = [flag for flag, key, default in RENDER_ONLY if options.get(key, default) not in (default, None)]
        if ignored:
            raise BenchError(f"{', '.join(ignored)} shape a rendered table: add --format md (or --out FILE); without "
                             "them `bench table RUN` rewrites the run's default files, where only --anchor and "
                             "--bd-method apply")
        return write_outputs(run, anchor=options.get("anchor"), method=options.get("method")), None
    from .tables import render

    fmt = table_format(fmt, out)
    board = run.leaderboard(**options)
    text = render(board.leaderboard, fmt, board.title)
    if out:
        atomic_write(checked_output(out), text.encode())
        return f"{fmt} table written to {os.path.abspath(out)}\n", out
    return text, None


def _profile_table(run: StoredRun, name: str, fmt, out, options: dict) -> tuple[str, str | None]:
    from ..profiles import load_profile

    card = load_profile(name)
    if options.get("metrics"):
        raise BenchError(f"--profile {name} sets the metrics; drop --metric (or render without the profile)")
    present = [m for m in card["metrics"] if m in run.metrics]
    if not present:
        raise BenchError(f"--profile {name}: the run scored none of its metrics ({', '.join(card['metrics'])}); rerun "
                         f"with `bench run --profile {name}`")
    missing = [m for m in card["metrics"] if m not in present]
    headline = tuple(card.get("headline", ()))
    notes = [f"Profile {card['id']}: {card.get('description', '')}"]
    if missing:
        notes.append(f"Profile metrics not scored in this run, left out: {', '.join(missing)}"
                     + ("; the headline needs them, so it is n/a" if set(missing) & set(headline) else "") + ".")
    if headline:
        notes.append(f"Headline: the mean of the BD-rates in {', '.join(headline)} against {card['anchor']}, its 95 % "
                     "interval from the same bootstrap draws averaged across those metrics.")
    if options.get("per_image") is None:
        options["per_image"] = card.get("bd_average") == "per-image"
    options.update(metrics=present, anchor=options.get("anchor") or card["anchor"], headline=headline,
                   notes=tuple(notes))
    return table(run, fmt, out, **options)


def plot(run: StoredRun, *, anchor=None, metrics=None, out=None, **style) -> list:
    """`bench plot`: the run's RD figures (with its imported published curves) in the requested style."""
    from .plots import rd_plots

    formats = style.get("formats", ("png", "pdf"))
    bad = [f for f in formats if f not in FIGURE_FORMATS]
    if bad or not formats:
        raise BenchError(f"--format {', '.join(bad) or '(none)'}: valid figure formats are {', '.join(FIGURE_FORMATS)}")
    if "pgf" in formats:
        import shutil

        if shutil.which("pdflatex") is None:
            raise BenchError("--format pgf needs LaTeX (pdflatex) to lay out the figure's text: install it (Debian: "
                             "apt-get install texlive-latex-base texlive-latex-recommended) or choose png, pdf or svg")
    board = run.leaderboard(anchor=anchor, metrics=metrics, resamples=0)
    lb = board.leaderboard
    out = Path(out) if out else run.dir
    out.mkdir(parents=True, exist_ok=True)
    written = rd_plots(out, board.curves, board.metrics, anchor=lb.options.anchor, title=run.dataset, levels=lb.levels,
                       **style)
    if out.resolve() == run.dir.resolve():
        # the run's own figures were redrawn: no other format of the same figure may show something else
        for p in written:
            for ext in FIGURE_FORMATS:
                if ext not in formats:
                    p.with_suffix(f".{ext}").unlink(missing_ok=True)
        if not style.get("grid"):
            _restyle_stamp(run, board, written, {"anchor": anchor, **style})
    return written


def _restyle_stamp(run: StoredRun, board, written: list, style: dict) -> None:
    """Record figures `bench plot` drew into the run directory as its current ones, with their style: a later
    run or table rewrite keeps them while what they show is unchanged and redraws stale ones in that style
    (before, it redrew every figure in the default style over them)."""
    stamp = run.dir / OUTPUTS_STAMP
    prev = _read_stamp(stamp)
    files = {f: h for f, h in (prev.get("files") or {}).items() if (run.dir / f).is_file()}
    figures = dict(prev.get("figures") or {})
    for m in board.metrics:
        names = [p.name for p in written if p.stem == f"rd_{m}"]
        if names:
            figures[m] = [_figure_digest(board.curves, m, board, run.manifest), names]
            files.update({n: file_sha256(run.dir / n) for n in names})
    keep = {k: v for k, v in style.items() if v not in (None, False) and k != "out"}
    atomic_write(stamp, json.dumps({"digest": prev.get("digest"), "files": files, "figures": figures,
                                    "style": keep}).encode())


def export(run: StoredRun, fmt: str, out) -> list:
    """`bench export`: curves as CompressAI JSON / tfc text files, or the per-image long table."""
    from . import exchange

    out = Path(out)
    if fmt in ("csv", "parquet"):
        checked_output(out)
        df = run.long_table()
        out.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            df.to_csv(out, index=False, float_format="%.17g")
        else:
            try:
                df.to_parquet(out, index=False)
            except ImportError:
                raise BenchError("parquet needs pyarrow: pip install 'percept-bench[parquet]'") from None
        return [out]
    board = run.leaderboard(resamples=0)
    ours = {k: cv for k, cv in board.curves.items() if cv.source is None}
    desc = f"percept-bench {run.manifest.get('packages', {}).get('percept-bench', '')}: {board.title}"
    return (exchange.export_compressai if fmt == "compressai" else exchange.export_tfc)(ours, out, desc)


def after_run(summary, plots: bool = False) -> None:
    """The default outputs of a run just made (bench.runner.run.run's RunSummary), with its RD figures when
    asked (or already there), timed into the summary; when nothing can be reported, the older tables are
    removed and the summary says why."""
    import time

    from ..errors import NothingComputed

    t0, c0 = time.perf_counter(), time.process_time()
    run = StoredRun.open(summary.out, summary.run_id)
    try:
        summary.leaderboard = write_outputs(run, plots=plots)
        summary.figures = any(True for _ in Path(summary.out).glob("rd_*.png"))
    except NothingComputed as e:
        summary.nothing = str(e)
        forget_outputs(summary.out)
    finally:
        run.close()
    summary.outputs_s, summary.outputs_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    summary.wall_s += summary.outputs_s
