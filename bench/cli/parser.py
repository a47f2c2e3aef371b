"""The `bench` command line: every verb's options, the shared ones declared once (SHARED), and the
parsing of option values (numbers, lists) before any verb runs. Imports nothing heavy."""
from __future__ import annotations

import argparse
import math

from ..errors import BenchError
from ..report.formats import BD_AVERAGES, BD_METHODS, EXPORT_FORMATS, FIGURE_PRESETS, TABLE_FORMATS


def whole(flag: str, lo: int, hi: int | None = None, zero: bool = False):
    """A parser of whole numbers in [lo, hi] (and 0 when `zero`) for `flag`; BenchError otherwise."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or not (lo <= v <= (hi if hi is not None else v) or (zero and v == 0)):
            span = f"from {lo} to {hi}" if hi is not None else f"of at least {lo}"
            raise BenchError(f"{flag} {text}: give a whole number " + ("0 or " if zero else "") + span)
        return v
    return parse


def number(flag: str, lo: float, hi: float = math.inf, open_low: bool = True):
    """A parser of finite numbers above lo (or from lo, when not `open_low`) up to hi for `flag`."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            v = math.nan
        if not math.isfinite(v) or not (v > lo if open_low else v >= lo) or v > hi:
            bound = f"above {lo:g}" if open_low else f"from {lo:g}"
            raise BenchError(f"{flag} {text}: give a finite number {bound}" + (f" up to {hi:g}" if hi < math.inf else ""))
        return v
    return parse


# options several verbs take: one definition each (a verb may change the help text)
SHARED = {
    "dir": (("dir",), {"help": "a run directory (holding bench.sqlite)"}),
    "run": (("--run",), {"type": int, "help": "run id (default: the last run)"}),
    "out": (("--out",), {"help": "where to write"}),
    "data-dir": (("--data-dir",), {"help": "root holding one folder per dataset (env BENCH_DATA_DIR)"}),
    "metric": (("--metric",), {"action": "append", "help": "metric name (repeatable)"}),
    "codec": (("--codec",), {"action": "append", "help": "codec card id (repeatable)"}),
    "anchor": (("--anchor",), {"help": "BD-rate anchor codec (default: the run's)"}),
    "resamples": (("--resamples",), {"type": whole("--resamples", 50, 100_000, zero=True), "default": 1000,
                                     "help": "bootstrap resamples for the 95%% intervals: 0 (none) or 50..100000"}),
    "seed": (("--seed",), {"type": whole("--seed", 0, 2**32 - 1), "default": 0, "help": "random seed (0..2^32-1)"}),
    "image": (("--image",), {"help": "an image name of the run"}),
    "json": (("--json",), {"action": "store_true", "help": "print JSON"}),
}




def add(p: argparse.ArgumentParser, *names: str, **override) -> None:
    """Add shared options to a verb's parser; keyword overrides apply to the last name only."""
    for i, name in enumerate(names):
        flags, kw = SHARED[name]
        p.add_argument(*flags, **({**kw, **override} if i == len(names) - 1 else kw))


# Value parsers raise BenchError, which argparse lets through: main() prints it as one line and exits 2.
def floats(text: str) -> tuple:
    """'0.25,0.5,1' -> (0.25, 0.5, 1.0): the value of --at-bpp (finite rates above 0)."""
    try:
        values = tuple(float(x) for x in text.split(",")) if text else ()
    except ValueError:
        values = (math.nan,)
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise BenchError(f"--at-bpp {text!r}: give comma-separated rates above 0, e.g. 0.25,0.5,1.0")
    return values


def numbers(flag: str, example: str, positive: bool = False, ascending: bool = False):
    """A parser of distinct comma-separated finite numbers for `flag` (above 0 when `positive`, sorted when
    `ascending`): --points, --target-bpp, `bench study create --bpp`."""
    what = "rates above 0" if positive else "numbers"

    def parse(text: str) -> list:
        try:
            values = [float(x) for x in text.split(",")]
        except ValueError:
            values = [math.nan]
        if not all(math.isfinite(v) and (v > 0 or not positive) for v in values) or len(set(values)) != len(values):
            raise BenchError(f"{flag} {text!r}: give distinct comma-separated {what}, e.g. {example}")
        return sorted(values) if ascending else values
    return parse


def metric_value(text: str) -> tuple:
    """'psnr=32' -> ('psnr', 32.0): the value of --at-quality."""
    m, sep, v = text.partition("=")
    try:
        value = float(v) if sep else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BenchError(f"--at-quality {text!r}: give METRIC=VALUE with a finite value, e.g. psnr=32")
    return m, value


def build_parser(verbs: dict, more: dict | None = None) -> argparse.ArgumentParser:
    """The parser of every verb; `verbs` maps a verb's name to the function that runs it, `more` adds
    verbs declared elsewhere (name -> (help, options))."""
    p = argparse.ArgumentParser(prog="bench", description="percept-bench: codecs x metrics, honestly.")
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("--weights-dir", help="TORCH_HOME-style dir with hub/checkpoints (env BENCH_WEIGHTS)")
    sub = p.add_subparsers(dest="verb", required=True)
    for name, (helptext, options) in {**VERBS, **(more or {})}.items():
        v = sub.add_parser(name, help=helptext, description=helptext)
        options(v)
        v.set_defaults(fn=verbs[name])
    return p


def _version() -> str:
    from .. import __version__

    return f"percept-bench {__version__}"


def _run(r):
    r.add_argument("--dataset", default="skimage", help="dataset card id or a directory of images")
    add(r, "codec", help="codec card id (repeatable; default jpeg, jpeg2000)")
    add(r, "metric", help="metric name (repeatable; default psnr, ssim, ms-ssim)")
    add(r, "anchor", help="BD-rate anchor codec (default jpeg2000)")
    add(r, "out", default="bench-out", help="output directory (store and reports)")
    add(r, "data-dir")
    r.add_argument("--image", action="append", help="only these images of the dataset (repeatable)")
    r.add_argument("--profile", help="take codecs, metrics and anchor from a profile (profiles/ID.toml) unless given")
    r.add_argument("--points", type=numbers("--points", "10,20,40,80"), metavar="P1,P2,...",
                   help="the rate points (quality, QP, ...) of every codec of the run instead of its card's ladder, "
                        "e.g. 10,20,40,80 (recorded in the manifest)")
    r.add_argument("--target-bpp", type=numbers("--target-bpp", "0.06,0.12,0.25,0.5,0.75", positive=True, ascending=True),
                   metavar="B1,B2,...",
                   help="rate matching: every image at each codec's point nearest these bpp (bisection over numeric "
                        "ladders, each probe cached; learned checkpoints keep their ladder), as the JPEG AI CTC asks")
    r.add_argument("--bpp-tolerance", type=number("--bpp-tolerance", 0, 1), default=0.01,
                   help="with --target-bpp: images farther than this relative distance are named under the table "
                        "(default 0.01: +-1 %%)")
    r.add_argument("--bd-method", default="pchip", choices=BD_METHODS)
    r.add_argument("--workers", type=whole("--workers", 1), default=1,
                   help="worker processes (torch threads split between them)")
    r.add_argument("--scheduler", help="Dask scheduler address (tcp://HOST:PORT): run the grid on that cluster")
    r.add_argument("--task-timeout", type=number("--task-timeout", 0),
                   help="seconds before one task is stopped and recorded as failed")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--device",
                   help="where metric networks run (LPIPS, DISTS, FID features, pyiqa): auto (CUDA when torch sees "
                        "one), cpu, cuda, cuda:N; learned codecs always code on the CPU (default: env BENCH_DEVICE, "
                        "else auto)")
    r.add_argument("--batch", type=whole("--batch", 1), metavar="N",
                   help="tasks per worker call, their LPIPS/DISTS scored in one forward pass per image shape "
                        "(default: 8 when those networks run on a GPU, else 1: on a CPU batching is slower)")
    r.add_argument("--keep-recon", action="store_true",
                   help="also write every reconstruction as a lossless PNG under recon/ (otherwise a stored "
                        "encoding is decoded again from its bitstream when a later metric, crop or probe needs it)")
    r.add_argument("--plots", action="store_true",
                   help="also draw the RD figures (rd_<metric>.png/.pdf) now; otherwise `bench plot RUN` draws them "
                        "when wanted, and once a run directory has them every later run or table rewrite keeps "
                        "them current")
    r.add_argument("--allow-failures", action="store_true", help="exit 0 even when some tasks failed")
    r.add_argument("--allow-skips", action="store_true",
                   help="exit 0 even when a requested codec or metric was unavailable and skipped")


def _list(ls):
    ls.add_argument("what", choices=["codecs", "metrics", "datasets"])
    ls.add_argument("--check", action="store_true", help="metrics: also check backends and weights")


def _table(t):
    add(t, "dir", "run", "anchor")
    t.add_argument("--bd-method", choices=BD_METHODS)
    t.add_argument("--format", choices=TABLE_FORMATS,
                   help="print (or --out) this format; without it and --out: rewrite the run's default files")
    add(t, "out", help="write the table here (format from --format or the file extension)")
    add(t, "metric", help="only these metrics, in this order (repeatable)")
    t.add_argument("--sort", metavar="METRIC", help="rows by this metric's BD-rate, best first")
    t.add_argument("--bd-metric", action="store_true", help="add BD-metric columns (BD-PSNR in dB, ...)")
    t.add_argument("--at-bpp", type=floats, default=(), metavar="B1,B2",
                   help="add the quality at these bpp (pchip in log rate)")
    t.add_argument("--at-quality", type=metric_value, action="append", metavar="METRIC=VALUE",
                   help="add the bpp at which a codec reaches this quality (repeatable)")
    t.add_argument("--hull", action="store_true", help="keep only the convex hull of each curve's points")
    t.add_argument("--bd-average", choices=BD_AVERAGES,
                   help="curve (default): BD of the mean curves; per-image: BD per image, then the mean (AOM CTC)")
    t.add_argument("--times", action="store_true", help="add encode and decode seconds per image (as stored)")
    t.add_argument("--study", metavar="STUDY", help="add a human column: the study's BD-rate on the human scale")
    t.add_argument("--profile", help="render as a profile's table (profiles/ID.toml): its metrics, anchor and headline")
    add(t, "resamples", "seed")


def _plot(t):
    add(t, "dir", "run", "anchor")
    t.add_argument("--preset", choices=tuple(FIGURE_PRESETS), default="default",
                   help="paper: 3.5 in single column; paper-wide: 7 in; slides: 16:9, large fonts")
    t.add_argument("--format", action="append", metavar="FMT",
                   help="png, pdf, svg, pgf (repeatable or comma-separated; default png,pdf)")
    add(t, "metric", help="only these metrics, in this order (repeatable)")
    t.add_argument("--grid", action="store_true", help="all metrics in one figure (rd_grid.*)")
    t.add_argument("--msssim-db", action="store_true", help="MS-SSIM as -10 log10(1 - MS-SSIM)")
    t.add_argument("--log-rate", action="store_true", help="log-scaled bpp axis")
    t.add_argument("--spread", action="store_true", help="per-image inter-quartile band around each curve")
    add(t, "out", help="directory for the figures (default: the run directory)")
    t.add_argument("--study", metavar="STUDY", help="also draw rd_human.*: the study's human score against bpp")


def _crops(cr):
    add(cr, "dir")
    add(cr, "image", required=True, help="image name in the run (e.g. kodim23)")
    cr.add_argument("--bpp", type=number("--bpp", 0, 64), required=True, help="target rate")
    cr.add_argument("--box", metavar="X,Y,W,H", help="region in pixels (default: the most detailed square)")
    add(cr, "codec", help="only these codecs of the run (repeatable)")
    add(cr, "out", help="directory for the figure and crops (default: the run directory)")
    add(cr, "data-dir", help="root holding the dataset (default: as the run found it)")
    add(cr, "run")


def _report(rp):
    add(rp, "dir")
    add(rp, "out", help="HTML file (default: DIR/report.html)")
    add(rp, "image", help="crops of this image (default: none)")
    rp.add_argument("--bpp", type=number("--bpp", 0, 64), help="target rate of the crops (default 0.25)")
    add(rp, "data-dir", "run")
    rp.add_argument("--study", metavar="STUDY", help="add the study's human scores and disagreeing pairs")


def _validate(va):
    va.add_argument("card", help="a rated-set card (TOML): csv, csv-2afc, tid2013, kadid10k or bapps-2afc format; "
                                 "or a study folder (bench study): pairwise agreement with its judgements")
    add(va, "metric", help="full-reference metric (repeatable; default psnr, ssim, ms-ssim)")
    add(va, "resamples", "seed")
    add(va, "data-dir", help="where references/metric_human_correlations.csv lies (env BENCH_DATA_DIR)")


def _analyze(an):
    an.add_argument("what", choices=["disagreement", "realism", "probe"])
    add(an, "dir")
    an.add_argument("--format", choices=TABLE_FORMATS, default="md")
    add(an, "out", help="directory for the figure (default: the run directory)")
    add(an, "metric", help="disagreement / probe: these metrics (repeatable)")
    an.add_argument("--distortion", default="psnr", help="realism: the distortion metric (default psnr)")
    an.add_argument("--realism", default="niqe", help="realism: the no-reference metric (default niqe)")
    add(an, "image", help="probe: the image")
    an.add_argument("--codec", help="probe: the codec")
    an.add_argument("--point", type=whole("--point", 0, 10_000, zero=True), help="probe: the rate point index")
    an.add_argument("--steps", type=whole("--steps", 1, 500), default=40, help="probe: gradient steps (1..500)")
    an.add_argument("--step", type=number("--step", 0, 8), default=0.5,
                    help="probe: step size in grey levels (above 0, at most 8)")
    add(an, "data-dir", help="realism / probe: root holding the run's dataset (default: as the run found it)")
    add(an, "seed", "run")


def _import(im):
    im.add_argument("files", nargs="*")
    add(im, "run", type=str, required=True, help="the run directory (holding bench.sqlite)")
    im.add_argument("--metric", help="the metric of a tfc text file when its folder name does not say")
    im.add_argument("--name", help="series name (default: the file name without extension)")
    im.add_argument("--remove", metavar="NAME", help="remove this imported series from the run's store")


def _compare(cp):
    cp.add_argument("baseline", help="run directory, per-image CSV export, or CompressAI result JSON (file or dir)")
    cp.add_argument("candidate")
    cp.add_argument("--tolerance", metavar="FILE.toml", help="tolerances per metric and per codec")
    cp.add_argument("--tol", action="append", metavar="KEY=VALUE",
                    help="bd_rate=PCT, METRIC=POINT_TOLERANCE or METRIC.bd_rate=PCT (repeatable)")
    cp.add_argument("--markdown", metavar="FILE", help="a summary for a pull-request comment")
    cp.add_argument("--junit", metavar="FILE", help="JUnit XML, one testcase per codec x metric")
    add(cp, "json", metavar="FILE", action="store", help="the comparison as JSON")
    cp.add_argument("--allow-missing", action="store_true",
                    help="a baseline cell or rate point absent from the candidate is a note, not a failure")
    cp.add_argument("--allow-undefined", action="store_true",
                    help="a BD-rate that cannot be computed (no overlap, too few points, not monotone) is a note, "
                         "not a failure")
    add(cp, "resamples", "seed")


def _export(ex):
    add(ex, "dir")
    ex.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    add(ex, "out", required=True, help="a directory (compressai, tfc) or a file (csv, parquet)")
    add(ex, "run")


def _score(sc):
    sc.add_argument("images", nargs="+", help="REF DIST (two images, or two folders paired by file name), or IMG "
                                              "with --no-ref")
    add(sc, "metric")
    sc.add_argument("--no-ref", action="store_true", help="no-reference metrics on one image")
    add(sc, "json")


def _match(mt):
    mt.add_argument("--codec", required=True)
    add(mt, "image", required=True, help="an image path, or an image name of --dataset")
    mt.add_argument("--dataset", help="dataset card id or directory holding --image")
    add(mt, "data-dir")
    mt.add_argument("--bpp", type=number("--bpp", 0, 64))
    mt.add_argument("--metric")
    mt.add_argument("--value", type=number("--value", -math.inf), help="target value of --metric")
    add(mt, "json")


def _weights(wt):
    wt.add_argument("-v", "--verbose", action="store_true")


def _train(tr):
    tr.add_argument("run_dir", help="directory for state.pt, log.csv, config.json (rerun to resume)")
    tr.add_argument("--objective", choices=["mse", "msssim", "dpc"], default="mse")
    tr.add_argument("--lmbda", type=float, default=0.013)
    tr.add_argument("--alpha", type=float, default=1.0, help="dpc: weight of 1 - MS-SSIM")
    tr.add_argument("--beta", type=float, default=1.0, help="dpc: weight of LPIPS-alex")
    tr.add_argument("--steps", type=int, default=1000, help="total steps of this stage")
    tr.add_argument("--dataset", default="bsds500", help="a dataset, or several joined by commas (pooled)")
    add(tr, "data-dir")
    tr.add_argument("--crop", type=int, default=128)
    tr.add_argument("--batch", type=int, default=8)
    tr.add_argument("--lr", type=float, default=1e-4)
    tr.add_argument("--lr-drop-at", type=int, metavar="STEP", help="divide the learning rate by 10 from this step on")
    tr.add_argument("--N", type=int, default=64)
    tr.add_argument("--M", type=int, default=96)
    tr.add_argument("--init", help="start from this state.pt or exported checkpoint")
    tr.add_argument("--export", help="write the inference checkpoint here when done")
    add(tr, "seed")
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--checkpoint-every", type=int, default=200)
    tr.add_argument("--max-minutes", type=float, help="stop (checkpointed) after this long")
    tr.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N for the training steps (the export is a CPU model)")


# verb -> (help, the function adding its options); the order is `bench --help`'s
VERBS = {
    "run": ("encode a dataset with codecs, score, and write the leaderboard", _run),
    "list": ("list codecs, metrics or datasets", _list),
    "table": ("the leaderboard of a stored run, in any format", _table),
    "plot": ("redraw the RD plots from a store", _plot),
    "crops": ("the same region of one image from every codec at a target bpp", _crops),
    "report": ("one self-contained HTML file: leaderboard, RD figures, crops, failures, manifest", _report),
    "validate-metrics": ("agreement of metrics with human ratings (SROCC, KROCC, PLCC, 2AFC)", _validate),
    "analyze": ("perception analyses: metric disagreement, rate-distortion-realism, blind-spot probe", _analyze),
    "import": ("add published curves (CompressAI JSON, tensorflow-compression txt) to a run", _import),
    "compare": ("the regression gate: compare a candidate run with a baseline (exit 0 within tolerance, "
                "1 regression, 2 unusable input)", _compare),
    "export": ("write a run's curves or per-image records in other formats", _export),
    "score": ("score one reference/distorted pair, two folders paired by name, or one image with --no-ref", _score),
    "match": ("find the rate point of a codec nearest a target bpp or metric value", _match),
    "weights": ("where each metric's weight files were found, and whether they verify", _weights),
    "train": ("train or fine-tune a learned codec (mse, msssim or dpc objective)", _train),
}
