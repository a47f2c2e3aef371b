"""The `bench` console script: one small function per verb that calls one library function, prints
its result and returns the exit code. Options live in bench.cli.parser.

Heavy imports happen inside each verb so `bench --help` and `bench list` stay fast.
"""
from __future__ import annotations

import json
import math
import os
import sys
import warnings

from ..errors import EXIT_FAILURES, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, BenchError
from . import parser, study


def _open(args):
    """The stored run a reading verb names (DIR and --run)."""
    from ..report.stored import StoredRun

    return StoredRun.open(args.dir, args.run)


def cmd_run(args):
    """Run the grid, then write the run directory's outputs; print the leaderboard and what failed."""
    from ..report.outputs import after_run
    from ..runner.run import RunConfig, run

    warnings.showwarning = lambda msg, *a, **k: print(f"warning: {msg}", file=sys.stderr)
    s = run(RunConfig(dataset=args.dataset, codecs=args.codec or [], metrics=args.metric or [],
                      anchor=args.anchor, out=args.out, data_dir=args.data_dir, images=args.image or [],
                      bd_method=args.bd_method, progress=not args.no_progress, command=args.command_line,
                      workers=args.workers, scheduler=args.scheduler, task_timeout=args.task_timeout,
                      keep_recon=args.keep_recon, batch=args.batch, device=args.device, points=args.points,
                      target_bpp=args.target_bpp, bpp_tolerance=args.bpp_tolerance,
                      profile=args.profile))
    after_run(s, plots=args.plots)
    if s.leaderboard:
        print(s.leaderboard)
    for f in s.failures[:20]:
        where = "/".join(str(f.get(k)) for k in ("image", "codec", "point", "metric") if f.get(k) is not None)
        print(f"failed [{f['stage']}] {where}: {f['message']}", file=sys.stderr)
    for what, why in s.skipped.items():
        print(f"skipped {what}: {why}", file=sys.stderr)
    print(s.line())
    if s.nothing:
        print(f"error: {s.nothing}", file=sys.stderr)
    else:
        figures = "rd_*.png/pdf" if s.figures else f"RD figures: bench plot {args.out} (or run with --plots)"
        print(f"outputs in {os.path.abspath(args.out)}: bench.sqlite, leaderboard.md/.csv, rd_points.csv; {figures}")
    code = s.exit_code(args.allow_failures, args.allow_skips)
    if code == EXIT_FAILURES and not (s.failures and not args.allow_failures):
        print(f"exit {EXIT_FAILURES}: {len(s.skipped)} requested codec(s)/metric(s) skipped "
              "(--allow-skips accepts that)", file=sys.stderr)
    return code


def cmd_list(args):
    """List codec cards, metric rows or dataset cards."""
    if args.what == "codecs":
        from ..adapters import describe_codecs as describe
    elif args.what == "metrics":
        from ..metrics.catalogue import describe
    else:
        from ..datasets import describe_datasets as describe
    print("\n".join(describe(args.check) if args.what == "metrics" else describe()))
    return EXIT_OK


def cmd_table(args):
    """Render a stored run's leaderboard (or rewrite its default tables)."""
    from ..report.outputs import table

    options = dict(anchor=args.anchor, method=args.bd_method, metrics=args.metric, bd_metric=args.bd_metric,
                   at_bpp=args.at_bpp, at_quality=tuple(args.at_quality or ()), hull=args.hull,
                   resamples=args.resamples, seed=args.seed, sort=args.sort, times=args.times,
                   per_image=None if args.bd_average is None else args.bd_average == "per-image")
    if args.study:
        if args.profile:
            raise BenchError("--study and --profile: give one")
        from ..study.join import table as table_with_study

        text, written = table_with_study(_open(args), args.study, args.format, args.out, **options)
    else:
        text, written = table(_open(args), args.format, args.out, profile=args.profile, **options)
    print(text, end="" if (written or args.format) else "\n")
    return EXIT_OK


def cmd_import(args):
    """Add published curves to a run's store."""
    from ..report.exchange import import_into

    names = import_into(args.run, args.files, metric=args.metric, name=args.name, remove=args.remove)
    if args.remove:
        print(f"removed from {args.run}: {args.remove}")
    else:
        print(f"imported into {args.run}: {', '.join(names)} (published curves: no per-image data, no intervals)")
    return EXIT_OK


def cmd_compare(args):
    """The regression gate: exit 0 within tolerance, 1 on a regression, 2 on unusable input."""
    from ..report.gate import compare_paths

    text, code = compare_paths(args.baseline, args.candidate, tolerance_file=args.tolerance, tol=args.tol or (),
                               outputs={"markdown": args.markdown, "junit": args.junit, "json": args.json},
                               resamples=args.resamples, seed=args.seed, allow_missing=args.allow_missing,
                               allow_undefined=args.allow_undefined)
    print(text, end="")
    return code


def cmd_export(args):
    """Write a run's curves or per-image records in another format."""
    from ..report.outputs import export

    for p in export(_open(args), args.format, args.out):
        print(p)
    return EXIT_OK


def cmd_plot(args):
    """Draw a run's RD figures in a preset style."""
    from ..report.outputs import plot

    formats = [f for spec in (args.format or ["png,pdf"]) for f in spec.split(",") if f]
    from ..report.plots import text_font

    run = _open(args)
    for p in plot(run, anchor=args.anchor, metrics=args.metric, preset=args.preset, formats=formats,
                  grid=args.grid, msssim_in_db=args.msssim_db, log_rate=args.log_rate, spread=args.spread,
                  out=args.out):
        print(p)
    if args.study:
        from ..study.join import plot as human_plot

        for p in human_plot(args.study, args.out or run.dir, formats=formats, preset=args.preset, run=run):
            print(p)
    print(f"text font: {text_font()}", file=sys.stderr)
    return EXIT_OK


def cmd_crops(args):
    """Crops of one image from every codec at a target bpp."""
    from ..report.crops import crops

    files, lines = crops(_open(args), args.image, args.bpp, box=args.box, codecs=args.codec, out=args.out,
                         data_dir=args.data_dir)
    print("\n".join(lines))
    print("\n".join(str(f) for f in files if f.suffix in (".png", ".pdf") and f.parent == files[-1].parent))
    return EXIT_OK


def cmd_report(args):
    """One self-contained HTML report of a run."""
    from ..report.page import report

    run = _open(args)
    sections = None
    if args.study:
        from ..study.join import report_sections

        sections = lambda tmp: report_sections(args.study, run, tmp)  # noqa: E731
    p = report(run, args.out, image=args.image, bpp=args.bpp, data_dir=args.data_dir, sections=sections)
    print(f"{p} ({p.stat().st_size / 1e6:.2f} MB, self-contained: open it in any browser, offline)")
    return EXIT_OK


def cmd_validate(args):
    """Agreement of metrics with a rated set's human judgements."""
    from ..report.validate import validate_table

    if os.path.isfile(os.path.join(args.card, "study.json")):
        from ..study.join import validate

        print(validate(args.card, args.metric, resamples=args.resamples), end="")
        return EXIT_OK
    print(validate_table(args.card, args.metric or ["psnr", "ssim", "ms-ssim"], resamples=args.resamples,
                         seed=args.seed, data_dir=args.data_dir), end="")
    return EXIT_OK


def cmd_analyze(args):
    """A perception analysis of a run: disagreement, realism or the blind-spot probe."""
    from ..report import perception

    run = _open(args)
    if args.what == "disagreement":
        text, files, _ = perception.disagreement(run, fmt=args.format, out=args.out, metrics=args.metric)
    elif args.what == "realism":
        text, files = perception.realism(run, distortion=args.distortion, realism_metric=args.realism, fmt=args.format,
                                         out=args.out, data_dir=args.data_dir)
    else:
        text, files = perception.probe(run, image=args.image, codec=args.codec, point=args.point, metrics=args.metric,
                                       steps=args.steps, step=args.step, seed=args.seed, out=args.out, fmt=args.format,
                                       data_dir=args.data_dir)
    print(text, end="")
    print("\n".join(str(f) for f in files), file=sys.stderr)
    return EXIT_OK


def cmd_train(args):
    """Train or fine-tune a learned codec (resumable)."""
    from ..models.train import TrainConfig, train

    fields = ("objective", "lmbda", "alpha", "beta", "steps", "dataset", "data_dir", "crop", "batch", "lr",
              "lr_drop_at", "N", "M", "init", "export", "seed", "threads", "checkpoint_every", "max_minutes", "device")
    r = train(TrainConfig(run_dir=args.run_dir, **{f: getattr(args, f) for f in fields}))
    print(f"{args.run_dir}: step {r['step']} / {args.steps}, {r['wall_s'] / 3600:.2f} CPU-wall hours")
    return EXIT_OK


def cmd_score(args):
    """Score one image pair, one image (no-reference), or two folders paired by file name."""
    from .. import metrics as metric_table
    from ..metrics.pairs import score_files, score_folders

    folders = len(args.images) == 2 and all(os.path.isdir(p) for p in args.images) and not args.no_ref
    if folders:
        per_image, notes = score_folders(*args.images, args.metric)
    else:
        scores, notes = score_files(args.images, args.metric, no_ref=args.no_ref)
        per_image = {"": scores}
    for m, why in notes.items():
        print(f"{m}: {why}", file=sys.stderr)
    names = list(next(iter(per_image.values())))
    means = {m: _mean([s[m] for s in per_image.values()]) for m in names}
    if args.json:  # strict JSON: a non-finite score (PSNR of identical images) is null plus a note
        notes.update({f"{k}/{m}".strip("/"): f"{v:+}" for k, s in per_image.items() for m, v in s.items()
                      if v is not None and not math.isfinite(v)})
        doc = ({"images": {k: _finite(s) for k, s in per_image.items()}, "mean": _finite(means)} if folders
               else _finite(per_image[""]))
        print(json.dumps({**doc, **({"notes": notes} if notes else {})}, allow_nan=False))
    elif folders:
        print("image," + ",".join(names))
        for k, s in [*per_image.items(), ("mean", means)]:
            print(f"{k}," + ",".join("" if v is None else f"{v:.6g}" for v in s.values()))
    else:
        for m, v in per_image[""].items():
            arrow = "higher" if metric_table.get(m).higher_is_better else "lower"
            print(f"{m:14s} {'n/a' if v is None else f'{v:.6g}':>12s}   ({arrow} is better)")
    ok = all(v is not None for s in per_image.values() for v in s.values())
    return EXIT_OK if ok else EXIT_FAILURES


def _finite(scores: dict) -> dict:
    return {m: v if v is None or math.isfinite(v) else None for m, v in scores.items()}


def _mean(values: list):
    good = [v for v in values if v is not None]
    return sum(good) / len(good) if good and len(good) == len(values) else None


def cmd_weights(args):
    """Where each metric's weight files were found, and whether they verify."""
    from ..metrics.catalogue import weight_lines

    print("\n".join(weight_lines(args.verbose)))
    return EXIT_OK


def cmd_match(args):
    """The rate point of a codec nearest a target bpp or metric value on one image."""
    from ..analysis.match import match_image

    r = match_image(args.codec, args.image, args.dataset, args.data_dir, bpp=args.bpp, metric=args.metric,
                    value=args.value)
    what = f"{args.metric} {r.value:.4f}, " if r.value is not None else ""
    print(f"{args.codec}: {r.point} gives {what}{r.bpp:.4f} bpp ({len(r.evaluations)} encodings)")
    if args.json:
        print(json.dumps({"codec": args.codec, "point": r.point, "bpp": r.bpp, "value": r.value,
                          "evaluations": r.evaluations}))
    return EXIT_OK


VERBS = {"run": cmd_run, "list": cmd_list, "table": cmd_table, "plot": cmd_plot, "crops": cmd_crops,
         "report": cmd_report, "validate-metrics": cmd_validate, "analyze": cmd_analyze, "import": cmd_import,
         "compare": cmd_compare, "export": cmd_export, "score": cmd_score, "match": cmd_match,
         "weights": cmd_weights, "train": cmd_train, "study": study.cmd_study, "view": study.cmd_view}


def build_parser():
    """The `bench` argument parser (every verb and its options)."""
    return parser.build_parser(VERBS, study.OPTIONS)


def main(argv=None) -> int:
    """Run one `bench` command line; returns its exit code (errors print one line, no traceback)."""
    import shlex

    argv = sys.argv[1:] if argv is None else list(argv)
    try:  # argparse itself exits 2 on a usage error (0 on --help, --version)
        args = build_parser().parse_args(argv)
        args.command_line = shlex.join(["bench", *argv])
        if getattr(args, "weights_dir", None):
            os.environ["BENCH_WEIGHTS"] = args.weights_dir
        return args.fn(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # the reader stopped early (`bench list metrics | head -1`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:  # a file the user named cannot be written or read (read-only, full disk, a folder)
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{e.strerror or e}; nothing was lost: what finished is in the store, rerun to resume",
              file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted; everything finished so far is in the store, rerun to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
