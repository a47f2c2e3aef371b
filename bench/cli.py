"""The `bench` console script: thin verbs over library functions.

Heavy imports happen inside each verb so `bench --help` and `bench list` stay fast.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

from .errors import EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_NOTHING, EXIT_OK, BenchError

TABLE_FORMATS = ("md", "latex", "html", "csv", "json")  # bench.report.tables.render
PLOT_PRESETS = ("default", "paper", "paper-wide", "slides")  # bench.report.plots.PRESETS
TABLE_EXTENSIONS = {".md": "md", ".tex": "latex", ".html": "html", ".htm": "html", ".csv": "csv", ".json": "json"}


def _common_env(args):
    if getattr(args, "weights_dir", None):
        os.environ["BENCH_WEIGHTS"] = args.weights_dir


def cmd_run(args):
    from .runner.run import RunConfig, run

    def warn(msg, *a, **k):
        print(f"warning: {msg}", file=sys.stderr)

    warnings.showwarning = warn
    before = os.environ.get("BENCH_DEVICE")
    os.environ["BENCH_DEVICE"] = args.device  # worker processes inherit it
    try:
        s = run(RunConfig(dataset=args.dataset, codecs=args.codec or [], metrics=args.metric or [],
                          anchor=args.anchor, out=args.out, data_dir=args.data_dir,
                          images=args.image or [], bd_method=args.bd_method,
                          progress=not args.no_progress, command=args.command_line,
                          workers=args.workers, scheduler=args.scheduler, task_timeout=args.task_timeout,
                          keep_recon=args.keep_recon, batch=args.batch))
    finally:  # the verb's setting, not the process's (bench.main may be called again, e.g. by tests)
        if before is None:
            os.environ.pop("BENCH_DEVICE", None)
        else:
            os.environ["BENCH_DEVICE"] = before
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
        return EXIT_NOTHING
    print(f"outputs in {os.path.abspath(args.out)}: bench.sqlite, leaderboard.md/.csv, rd_points.csv, rd_*.png/pdf")
    if s.failures and not args.allow_failures:
        return EXIT_FAILURES
    if s.skipped and not args.allow_skips:
        print(f"exit {EXIT_FAILURES}: {len(s.skipped)} requested codec(s)/metric(s) skipped "
              "(--allow-skips accepts that)", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_OK


def cmd_list(args):
    if args.what == "codecs":
        from .adapters import list_codecs, load_codec

        for cid in list_codecs():
            try:
                c = load_codec(cid)
                ok, why = c.adapter.available()
                state = c.adapter.library_version() if ok else f"unavailable: {why}"
                print(f"{cid:22s} {c.card['adapter']:14s} [{c.origin}] {len(c.ladder)} points  {state}")
            except BenchError as e:
                print(f"{cid:22s} error: {e}")
    elif args.what == "metrics":
        from . import metrics as M

        for m in M.rows():
            arrow = "higher" if m.higher_is_better else "lower"
            origin = "" if m.origin == "built-in" else f"  [{m.origin}]"
            print(f"{m.name:14s} {m.kind:3s} {arrow:6s} {m.backend:15s} {m.colour}{origin}")
        if args.check:
            from . import weights

            weights.configure()
            for m in M.rows():
                ok, why = M.availability(m)
                print(f"{m.name:14s} {'available' if ok else 'unavailable: ' + why}")
    else:
        from .cards import read_toml
        from .datasets import list_datasets

        for did, path in list_datasets().items():
            card = read_toml(path)
            print(f"{did:12s} {len(card.get('files', [])):4d} images  {card.get('description', '')}")
    return 0


def _at_quality(specs):
    out = []
    for s in specs or []:
        m, sep, v = s.partition("=")
        try:
            out.append((m, float(v)))
        except ValueError:
            raise BenchError(f"--at-quality {s!r}: give METRIC=VALUE, e.g. psnr=32") from None
        if not sep:
            raise BenchError(f"--at-quality {s!r}: give METRIC=VALUE, e.g. psnr=32")
    return tuple(out)


def _floats(text, flag):
    try:
        return tuple(float(x) for x in text.split(",")) if text else ()
    except ValueError:
        raise BenchError(f"{flag} {text!r}: give comma-separated numbers, e.g. 0.25,0.5,1.0") from None


def cmd_table(args):
    from .report.tables import render
    from .runner.run import leaderboard, write_outputs
    from .runner.store import Store

    store = Store(args.dir, create=False)
    if args.format is None and not args.out:  # the run directory's default files, as `bench run` writes them
        print(write_outputs(store, args.run, anchor=args.anchor, method=args.bd_method, plots=False))
        return EXIT_OK
    opts = {"anchor": args.anchor, "method": args.bd_method, "metrics": args.metric, "bd_metric": args.bd_metric,
            "at_bpp": _floats(args.at_bpp, "--at-bpp"), "at_quality": _at_quality(args.at_quality),
            "hull": args.hull, "resamples": args.resamples, "seed": args.seed, "sort": args.sort}
    lb, title, _, _ = leaderboard(store, args.run, **opts)
    fmt = args.format or TABLE_EXTENSIONS.get(os.path.splitext(args.out)[1].lower())
    if fmt is None:
        raise BenchError(f"--out {args.out}: cannot tell the format from the extension; add --format "
                         f"({', '.join(TABLE_FORMATS)})")
    text = render(lb, fmt, title)
    if args.out:
        from .images import atomic_write

        atomic_write(args.out, text.encode())
        print(f"{fmt} table written to {os.path.abspath(args.out)}")
    else:
        print(text, end="")
    return EXIT_OK


def cmd_import(args):
    from .runner.exchange import import_files
    from .runner.store import Store

    names = import_files(Store(args.run, create=False), args.files, metric=args.metric, name=args.name)
    print(f"imported into {args.run}: {', '.join(names)} (published curves: no per-image data, no intervals)")
    return EXIT_OK


def cmd_compare(args):
    from .runner.exchange import compare_paths

    text, code = compare_paths(args.baseline, args.candidate, tolerance_file=args.tolerance, tol=args.tol or (),
                               outputs={"markdown": args.markdown, "junit": args.junit, "json": args.json},
                               resamples=args.resamples, seed=args.seed)
    print(text, end="")
    return code


def cmd_export(args):
    from .runner.run import export

    for p in export(args.dir, args.format, args.out, run_id=args.run):
        print(p)
    return EXIT_OK


def cmd_plot(args):
    from .runner.run import plot

    formats = [f for spec in (args.format or ["png,pdf"]) for f in spec.split(",") if f]
    for p in plot(args.dir, args.run, anchor=args.anchor, metrics=args.metric, preset=args.preset, formats=formats,
                  grid=args.grid, msssim_in_db=args.msssim_db, log_rate=args.log_rate, spread=args.spread,
                  out=args.out):
        print(p)
    return EXIT_OK


def cmd_crops(args):
    from .runner.run import crops

    files, lines = crops(args.dir, args.image, args.bpp, box=args.box, codecs=args.codec, out=args.out,
                         data_dir=args.data_dir, run_id=args.run)
    print("\n".join(lines))
    print("\n".join(str(f) for f in files if f.suffix in (".png", ".pdf") and f.parent == files[-1].parent))
    return EXIT_OK


def cmd_report(args):
    from .runner.run import report

    p = report(args.dir, args.out, image=args.image, bpp=args.bpp, data_dir=args.data_dir, run_id=args.run)
    print(f"{p} ({p.stat().st_size / 1e6:.2f} MB, self-contained: open it in any browser, offline)")
    return EXIT_OK


def cmd_validate(args):
    from .runner.validate import table, validate

    rs, results = validate(args.card, args.metric or ["psnr", "ssim", "ms-ssim"], resamples=args.resamples,
                           seed=args.seed, data_dir=args.data_dir)
    print(table(rs, results), end="")
    return EXIT_OK


def cmd_analyze(args):
    from .runner import analyze as A

    if args.what == "disagreement":
        text, files, _ = A.disagreement(args.dir, fmt=args.format, out=args.out, metrics=args.metric, run_id=args.run)
    elif args.what == "realism":
        text, files = A.realism(args.dir, distortion=args.distortion, realism_metric=args.realism, fmt=args.format,
                                out=args.out, run_id=args.run)
    else:
        if not (args.image and args.codec and args.point is not None):
            raise BenchError("bench analyze probe needs --image, --codec and --point (the rate point index)")
        res, files, box = A.probe(args.dir, image=args.image, codec=args.codec, point=args.point, metrics=args.metric,
                                  steps=args.steps, step=args.step, seed=args.seed, out=args.out, run_id=args.run)
        from .report.tables import grid_table

        watched = list(res[0].scores)
        body = [[t.probed, f"{t.gameability:.4g}"] + [f"{t.gain(m):+.4g}" for m in watched] for t in res]
        text = grid_table(f"Blind-spot probe: {args.image}, {args.codec} point {args.point}, region {box}",
                          ["probed", "gameability"] + [f"final change {m}" for m in watched], body, args.format,
                          [f"{args.steps} signed-gradient steps of {args.step:g} grey levels on the decoded pixels "
                           f"(seed {args.seed}); changes toward better in each metric's units; gameability = the largest "
                           "share of its error the probed metric sheds while most other metrics are worse than at "
                           "the start."])
    print(text, end="")
    print("\n".join(str(f) for f in files), file=sys.stderr)
    return EXIT_OK


def cmd_train(args):
    from .models.train import TrainConfig, train

    cfg = TrainConfig(run_dir=args.run_dir, objective=args.objective, lmbda=args.lmbda, alpha=args.alpha,
                      beta=args.beta, steps=args.steps, dataset=args.dataset, data_dir=args.data_dir,
                      crop=args.crop, batch=args.batch, lr=args.lr, lr_drop_at=args.lr_drop_at, N=args.N, M=args.M,
                      init=args.init,
                      export=args.export, seed=args.seed, threads=args.threads,
                      checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes, device=args.device)
    r = train(cfg)
    print(f"{args.run_dir}: step {r['step']} / {args.steps}, {r['wall_s'] / 3600:.2f} CPU-wall hours")
    return 0


def cmd_score(args):
    from . import metrics as M
    from . import weights
    from .images import read_image

    weights.configure()
    if args.no_ref:
        dist, ref = read_image(args.images[0]).pixels, None
        names = args.metric or [m for m in M.names("nr") if M.availability(m)[0]]
        bad = [m for m in names if M.get(m).kind != "nr"]
    else:
        if len(args.images) != 2:
            raise BenchError("bench score REF DIST: give a reference and a distorted image (or --no-ref IMG)")
        ref, dist = (read_image(p).pixels for p in args.images)
        names = args.metric or ["psnr", "ssim", "ms-ssim", "lpips", "dists"]
        bad = [m for m in names if M.get(m).kind != "fr"]
    if bad:
        raise BenchError(f"{', '.join(bad)}: wrong kind for this mode; full-reference metrics need REF DIST, "
                         "no-reference ones --no-ref IMG")
    out, notes = {}, {}
    for m in names:
        try:
            out[m] = M.score(m, ref, dist)
        except BenchError as e:
            out[m], notes[m] = None, str(e)
            print(f"{m}: {e}", file=sys.stderr)
    if args.json:  # strict JSON: a non-finite score (PSNR of identical images) is null plus a note
        notes.update({m: f"{v:+}" for m, v in out.items() if v is not None and not math.isfinite(v)})
        print(json.dumps({**{m: v if v is None or math.isfinite(v) else None for m, v in out.items()},
                          **({"notes": notes} if notes else {})}, allow_nan=False))
    else:
        for m, v in out.items():
            arrow = "higher" if M.get(m).higher_is_better else "lower"
            print(f"{m:14s} {'n/a' if v is None else f'{v:.6g}':>12s}   ({arrow} is better)")
    return EXIT_OK if all(v is not None for v in out.values()) else EXIT_FAILURES


def cmd_weights(args):
    from . import weights

    rows = weights.report()
    print(f"hub dir in use: {weights.hub_dir()}  (offline: {weights.offline()})")
    for r in rows:
        ver = {True: "verified", False: "MISMATCH", None: "unknown hash"}[r["verifies"]] if r["found"] != "missing" else ""
        print(f"{r['metric']:12s} {r['file']:45s} {r['found'] if r['found'] == 'missing' else r['via']:14s} "
              f"{r['sha256'][:16]:16s} {ver}")
        if r["found"] != "missing" and args.verbose:
            print(f"{'':12s} {r['found']}")
    return 0


def cmd_match(args):
    from .analysis.match import match
    from .datasets import image

    img = image(args.image, args.dataset, args.data_dir).pixels
    r = match(args.codec, img, bpp=args.bpp, metric=args.metric, value=args.value)
    what = f"{args.metric} {r.value:.4f}, " if r.value is not None else ""
    print(f"{args.codec}: {r.point} gives {what}{r.bpp:.4f} bpp ({len(r.evaluations)} encodings)")
    if args.json:
        print(json.dumps({"codec": args.codec, "point": r.point, "bpp": r.bpp, "value": r.value,
                          "evaluations": r.evaluations}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench", description="percept-bench: codecs x metrics, honestly.")
    p.add_argument("--weights-dir", help="TORCH_HOME-style dir with hub/checkpoints (env BENCH_WEIGHTS)")
    sub = p.add_subparsers(dest="verb", required=True)

    r = sub.add_parser("run", help="encode a dataset with codecs, score, and write the leaderboard")
    r.add_argument("--dataset", default="skimage", help="dataset card id or a directory of images")
    r.add_argument("--codec", action="append", help="codec card id (repeatable; default jpeg, jpeg2000)")
    r.add_argument("--metric", action="append", help="metric name (repeatable; default psnr, ssim, ms-ssim)")
    r.add_argument("--anchor", help="BD-rate anchor codec (default jpeg2000)")
    r.add_argument("--out", default="bench-out", help="output directory (store and reports)")
    r.add_argument("--data-dir", help="root holding one folder per dataset (env BENCH_DATA_DIR)")
    r.add_argument("--image", action="append", help="only these images of the dataset (repeatable)")
    r.add_argument("--bd-method", default="pchip", choices=["pchip", "akima", "cubic"])
    r.add_argument("--workers", type=int, default=1, help="worker processes (torch threads split between them)")
    r.add_argument("--scheduler", help="Dask scheduler address (tcp://HOST:PORT): run the grid on that cluster")
    r.add_argument("--task-timeout", type=float, help="seconds before one task is stopped and recorded as failed")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--device", default="auto",
                   help="where metric networks run (LPIPS, DISTS, FID features, pyiqa): auto (CUDA when torch sees "
                        "one), cpu, cuda, cuda:N; learned codecs always code on the CPU (env BENCH_DEVICE)")
    r.add_argument("--batch", type=int, metavar="N",
                   help="tasks per worker call, their LPIPS/DISTS scored in one forward pass per image shape "
                        "(default: 8 when those networks run on a GPU, else 1: on a CPU batching is slower)")
    r.add_argument("--keep-recon", action="store_true",
                   help="also write every reconstruction as a lossless PNG under recon/ (otherwise a stored "
                        "encoding is decoded again from its bitstream when a later metric, crop or probe needs it)")
    r.add_argument("--allow-failures", action="store_true", help="exit 0 even when some tasks failed")
    r.add_argument("--allow-skips", action="store_true",
                   help="exit 0 even when a requested codec or metric was unavailable and skipped")
    r.set_defaults(fn=cmd_run)

    ls = sub.add_parser("list", help="list codecs, metrics or datasets")
    ls.add_argument("what", choices=["codecs", "metrics", "datasets"])
    ls.add_argument("--check", action="store_true", help="metrics: also check backends and weights")
    ls.set_defaults(fn=cmd_list)

    for name, fn, helptext in (("table", cmd_table, "the leaderboard of a stored run, in any format"),
                               ("plot", cmd_plot, "redraw the RD plots from a store")):
        t = sub.add_parser(name, help=helptext)
        t.add_argument("dir")
        t.add_argument("--run", type=int, help="run id (default: the last run)")
        t.add_argument("--anchor")
        if name == "table":
            t.add_argument("--bd-method", choices=["pchip", "akima", "cubic"])
            t.add_argument("--format", choices=TABLE_FORMATS,
                           help="print (or --out) this format; without it and --out: rewrite the run's default files")
            t.add_argument("--out", help="write the table here (format from --format or the file extension)")
            t.add_argument("--metric", action="append", help="only these metrics, in this order (repeatable)")
            t.add_argument("--sort", metavar="METRIC", help="rows by this metric's BD-rate, best first")
            t.add_argument("--bd-metric", action="store_true", help="add BD-metric columns (BD-PSNR in dB, ...)")
            t.add_argument("--at-bpp", metavar="B1,B2", help="add the quality at these bpp (pchip in log rate)")
            t.add_argument("--at-quality", action="append", metavar="METRIC=VALUE",
                           help="add the bpp at which a codec reaches this quality (repeatable)")
            t.add_argument("--hull", action="store_true", help="keep only the convex hull of each curve's points")
            t.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
            t.add_argument("--seed", type=int, default=0, help="bootstrap seed")
        if name == "plot":
            t.add_argument("--preset", choices=PLOT_PRESETS, default="default",
                           help="paper: 3.5 in single column; paper-wide: 7 in; slides: 16:9, large fonts")
            t.add_argument("--format", action="append", metavar="FMT",
                           help="png, pdf, svg, pgf (repeatable or comma-separated; default png,pdf)")
            t.add_argument("--metric", action="append", help="only these metrics, in this order (repeatable)")
            t.add_argument("--grid", action="store_true", help="all metrics in one figure (rd_grid.*)")
            t.add_argument("--msssim-db", action="store_true", help="MS-SSIM as -10 log10(1 - MS-SSIM)")
            t.add_argument("--log-rate", action="store_true", help="log-scaled bpp axis")
            t.add_argument("--spread", action="store_true", help="per-image inter-quartile band around each curve")
            t.add_argument("--out", help="directory for the figures (default: the run directory)")
        t.set_defaults(fn=fn)
    cr = sub.add_parser("crops", help="the same region of one image from every codec at a target bpp")
    cr.add_argument("dir")
    cr.add_argument("--image", required=True, help="image name in the run (e.g. kodim23)")
    cr.add_argument("--bpp", type=float, required=True, help="target rate")
    cr.add_argument("--box", metavar="X,Y,W,H", help="region in pixels (default: the most detailed square)")
    cr.add_argument("--codec", action="append", help="only these codecs of the run (repeatable)")
    cr.add_argument("--out", help="directory for the figure and crops (default: the run directory)")
    cr.add_argument("--data-dir", help="root holding the dataset (default: as the run found it)")
    cr.add_argument("--run", type=int)
    cr.set_defaults(fn=cmd_crops)
    rp = sub.add_parser("report", help="one self-contained HTML file: leaderboard, RD figures, crops, failures, manifest")
    rp.add_argument("dir")
    rp.add_argument("--out", help="HTML file (default: DIR/report.html)")
    rp.add_argument("--image", help="crops of this image (default: none)")
    rp.add_argument("--bpp", type=float, help="target rate of the crops (default 0.25)")
    rp.add_argument("--data-dir")
    rp.add_argument("--run", type=int)
    rp.set_defaults(fn=cmd_report)
    va = sub.add_parser("validate-metrics", help="agreement of metrics with human ratings (SROCC, KROCC, PLCC, 2AFC)")
    va.add_argument("card", help="a rated-set card (TOML): csv, csv-2afc, tid2013, kadid10k or bapps-2afc format")
    va.add_argument("--metric", action="append", help="full-reference metric (repeatable; default psnr, ssim, ms-ssim)")
    va.add_argument("--resamples", type=int, default=1000)
    va.add_argument("--seed", type=int, default=0)
    va.add_argument("--data-dir", help="where references/metric_human_correlations.csv lies (env BENCH_DATA_DIR)")
    va.set_defaults(fn=cmd_validate)
    an = sub.add_parser("analyze", help="perception analyses: metric disagreement, rate-distortion-realism, "
                                        "blind-spot probe")
    an.add_argument("what", choices=["disagreement", "realism", "probe"])
    an.add_argument("dir")
    an.add_argument("--format", choices=TABLE_FORMATS, default="md")
    an.add_argument("--out", help="directory for the figure (default: the run directory)")
    an.add_argument("--metric", action="append", help="disagreement / probe: these metrics (repeatable)")
    an.add_argument("--distortion", default="psnr", help="realism: the distortion metric (default psnr)")
    an.add_argument("--realism", default="niqe", help="realism: the no-reference metric (default niqe)")
    an.add_argument("--image", help="probe: the image")
    an.add_argument("--codec", help="probe: the codec")
    an.add_argument("--point", type=int, help="probe: the rate point index")
    an.add_argument("--steps", type=int, default=40, help="probe: gradient steps (at most 500)")
    an.add_argument("--step", type=float, default=0.5, help="probe: step size in grey levels (at most 8)")
    an.add_argument("--seed", type=int, default=0)
    an.add_argument("--run", type=int)
    an.set_defaults(fn=cmd_analyze)
    im = sub.add_parser("import", help="add published curves (CompressAI JSON, tensorflow-compression txt) to a run")
    im.add_argument("files", nargs="+")
    im.add_argument("--run", required=True, help="the run directory (holding bench.sqlite)")
    im.add_argument("--metric", help="the metric of a tfc text file when its folder name does not say")
    im.add_argument("--name", help="series name (default: the file name without extension)")
    im.set_defaults(fn=cmd_import)
    cp = sub.add_parser("compare", help="the regression gate: compare a candidate run with a baseline "
                                        "(exit 0 within tolerance, 1 regression, 2 unusable input)")
    cp.add_argument("baseline", help="run directory, per-image CSV export, or CompressAI result JSON (file or dir)")
    cp.add_argument("candidate")
    cp.add_argument("--tolerance", metavar="FILE.toml", help="tolerances per metric and per codec")
    cp.add_argument("--tol", action="append", metavar="KEY=VALUE",
                    help="bd_rate=PCT, METRIC=POINT_TOLERANCE or METRIC.bd_rate=PCT (repeatable)")
    cp.add_argument("--markdown", metavar="FILE", help="a summary for a pull-request comment")
    cp.add_argument("--junit", metavar="FILE", help="JUnit XML, one testcase per codec x metric")
    cp.add_argument("--json", metavar="FILE")
    cp.add_argument("--resamples", type=int, default=1000)
    cp.add_argument("--seed", type=int, default=0)
    cp.set_defaults(fn=cmd_compare)
    ex = sub.add_parser("export", help="write a run's curves or per-image records in other formats")
    ex.add_argument("dir")
    ex.add_argument("--format", required=True, choices=["compressai", "tfc", "csv", "parquet"])
    ex.add_argument("--out", required=True, help="a directory (compressai, tfc) or a file (csv, parquet)")
    ex.add_argument("--run", type=int, help="run id (default: the last run)")
    ex.set_defaults(fn=cmd_export)
    sc = sub.add_parser("score", help="score one reference/distorted pair (or one image with --no-ref)")
    sc.add_argument("images", nargs="+", help="REF DIST, or IMG with --no-ref")
    sc.add_argument("--metric", action="append", help="metric name (repeatable)")
    sc.add_argument("--no-ref", action="store_true", help="no-reference metrics on one image")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(fn=cmd_score)

    mt = sub.add_parser("match", help="find the rate point of a codec nearest a target bpp or metric value")
    mt.add_argument("--codec", required=True)
    mt.add_argument("--image", required=True, help="an image path, or an image name of --dataset")
    mt.add_argument("--dataset", help="dataset card id or directory holding --image")
    mt.add_argument("--data-dir", help="root holding one folder per dataset (env BENCH_DATA_DIR)")
    mt.add_argument("--bpp", type=float)
    mt.add_argument("--metric")
    mt.add_argument("--value", type=float, help="target value of --metric")
    mt.add_argument("--json", action="store_true")
    mt.set_defaults(fn=cmd_match)

    wt = sub.add_parser("weights", help="where each metric's weight files were found, and whether they verify")
    wt.add_argument("-v", "--verbose", action="store_true")
    wt.set_defaults(fn=cmd_weights)

    tr = sub.add_parser("train", help="train or fine-tune a learned codec (mse, msssim or dpc objective)")
    tr.add_argument("run_dir", help="directory for state.pt, log.csv, config.json (rerun to resume)")
    tr.add_argument("--objective", choices=["mse", "msssim", "dpc"], default="mse")
    tr.add_argument("--lmbda", type=float, default=0.013)
    tr.add_argument("--alpha", type=float, default=1.0, help="dpc: weight of 1 - MS-SSIM")
    tr.add_argument("--beta", type=float, default=1.0, help="dpc: weight of LPIPS-alex")
    tr.add_argument("--steps", type=int, default=1000, help="total steps of this stage")
    tr.add_argument("--dataset", default="bsds500", help="a dataset, or several joined by commas (pooled)")
    tr.add_argument("--data-dir")
    tr.add_argument("--crop", type=int, default=128)
    tr.add_argument("--batch", type=int, default=8)
    tr.add_argument("--lr", type=float, default=1e-4)
    tr.add_argument("--lr-drop-at", type=int, metavar="STEP", help="divide the learning rate by 10 from this step on")
    tr.add_argument("--N", type=int, default=64)
    tr.add_argument("--M", type=int, default=96)
    tr.add_argument("--init", help="start from this state.pt or exported checkpoint")
    tr.add_argument("--export", help="write the inference checkpoint here when done")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--checkpoint-every", type=int, default=200)
    tr.add_argument("--max-minutes", type=float, help="stop (checkpointed) after this long")
    tr.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N for the training steps (the export is a CPU model)")
    tr.set_defaults(fn=cmd_train)
    return p


def main(argv=None) -> int:
    import shlex

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["bench", *argv])
    _common_env(args)
    try:
        return args.fn(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted; everything finished so far is in the store, rerun to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
