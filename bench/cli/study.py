"""`bench study create|invite|serve|import|export|results` and `bench view`: options and thin commands."""
from __future__ import annotations

import sys

from ..errors import EXIT_OK, BenchError
from .parser import numbers


def _ints(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise BenchError(f"--points {text!r}: give point indices of the run, e.g. 2,4,6") from None


def study_options(p) -> None:
    """The `bench study` actions and their options."""
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("create", help="a pairwise study from a stored run")
    c.add_argument("dir", help="the run directory")
    c.add_argument("--out", required=True, help="the study folder to make")
    c.add_argument("--codec", action="append", default=[], help="codec of the run (repeatable; default: all)")
    c.add_argument("--points", type=_ints, default=[], help="point indices (default: three spread over each ladder)")
    c.add_argument("--bpp", type=numbers("--bpp", "0.25,0.5", positive=True), default=[],
                   help="target rates: per image, a matched-rate search on numeric ladders (the encodings kept in the "
                        "study), the nearest stored point for learned checkpoints")
    c.add_argument("--nearest-stored", action="store_true", help="with --bpp: always the nearest stored point")
    c.add_argument("--image", action="append", default=[], help="images of the run (repeatable; default: all)")
    c.add_argument("--crop", type=int, help="show the most detailed SIZE x SIZE window (default: whole images)")
    c.add_argument("--golden-every", type=int, default=10, help="every Nth question is a golden one (0: none)")
    c.add_argument("--per-rater", type=int, default=60, help="questions per rater")
    c.add_argument("--sampling", default="active", help="active (default), random or round-robin")
    c.add_argument("--anchor", help="the condition at Elo 0 (default: the first of the run's anchor codec)")
    c.add_argument("--data-dir", help="root holding the run's dataset")
    i = sub.add_parser("invite", help="add raters and print their links")
    i.add_argument("study")
    i.add_argument("names", nargs="*", help="new raters' names (none: list the links)")
    i.add_argument("--host", default="127.0.0.1")
    i.add_argument("--port", type=int, default=8765)
    s = sub.add_parser("serve", help="serve the study to its raters (127.0.0.1 unless --host)")
    s.add_argument("study")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (another than 127.0.0.1 warns)")
    s.add_argument("--port", type=int, default=8765)
    m = sub.add_parser("import", help="judgements from a CLIC-style or generic CSV into a study")
    m.add_argument("file")
    m.add_argument("--out", required=True, help="the study folder (made when absent, else joined)")
    e = sub.add_parser("export", help="a study's judgements as CSV")
    e.add_argument("study")
    e.add_argument("--format", choices=["clic", "generic"], default="generic")
    e.add_argument("--out", required=True)
    r = sub.add_parser("results", help="Bradley–Terry / Elo scores, human BD-rates, metrics against people")
    r.add_argument("study")
    r.add_argument("--format", choices=["md", "csv", "json"], default="md")
    r.add_argument("--anchor", help="the condition at Elo 0 (default: the study's)")
    r.add_argument("--resamples", type=int, default=1000)
    r.add_argument("--golden-threshold", type=float, default=0.8, help="raters below this golden accuracy are left out")
    r.add_argument("--out", help="also write the text to this file")


def view_options(p) -> None:
    """`bench view` options."""
    p.add_argument("dir", help="the run directory")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--data-dir", help="root holding the run's dataset")


def _web():
    try:
        import flask  # noqa: F401
        import waitress  # noqa: F401
    except ImportError:
        raise BenchError("serving pages needs Flask and waitress: pip install 'percept-bench[study]'") from None
    from ..study import server

    return server


def cmd_study(args) -> int:
    """Run one `bench study` action."""
    a = args.action
    if a == "create":
        from ..study.create import create

        st = create(args.dir, args.out, codecs=args.codec, points=args.points, bpps=args.bpp, images=args.image,
                    crop=args.crop, golden_every=args.golden_every, per_rater=args.per_rater, sampling=args.sampling,
                    anchor=args.anchor, data_dir=args.data_dir, search=not args.nearest_stored)
        for c in st.spec["conditions"]:
            if "target_bpp" in c:
                print(f"{c['id']}: mean {c['bpp']:.4f} bpp, worst image off by {100 * c['worst_off']:+.1f} % ({c['how']})")
        print(f"study in {args.out}: {len(st.spec['conditions'])} conditions x {len(st.spec['images'])} images; "
              f"add raters with `bench study invite {args.out} NAME`, then `bench study serve {args.out}`")
    elif a == "invite":
        from ..study.store import Study

        st = Study.open(args.study)
        for n in args.names:
            st.add_rater(n)
        print("\n".join(f"{n}: http://{args.host}:{args.port}/r/{t}" for n, t in st.raters()) or "no raters yet")
    elif a == "serve":
        from ..study.store import Study

        server, st = _web(), Study.open(args.study)
        if not st.spec.get("items"):
            raise BenchError(f"{args.study}: an imported study has no images to serve; `bench study results` fits it")
        server.serve(server.study_app(st), args.host, args.port, announce=lambda port: print(
            "\n".join([f"serving {args.study} on http://{args.host}:{port}/ (Ctrl-C stops; answers are saved as they "
                       "come)"] + [f"  {n}: http://{args.host}:{port}/r/{t}" for n, t in st.raters()]), flush=True))
    elif a == "import":
        from ..study.exchange import import_file

        st, n = import_file(args.file, args.out)
        print(f"{n} judgements from {args.file} added to {args.out} ({len(st.judgements(True))} in all)")
    elif a == "export":
        from ..study.exchange import export
        from ..study.store import Study

        n = export(Study.open(args.study), args.format, args.out)
        print(f"{n} judgements written to {args.out} ({args.format})")
    else:
        from ..study.results import fit_study, render
        from ..study.store import Study

        text = render(fit_study(Study.open(args.study), resamples=args.resamples, anchor=args.anchor,
                                golden_threshold=args.golden_threshold), args.format)
        if args.out:
            from ..images import atomic_write

            atomic_write(args.out, text.encode())
        sys.stdout.write(text)
    return EXIT_OK


def cmd_view(args) -> int:
    """Serve the viewer of a stored run."""
    server = _web()
    server.serve(server.view_app(args.dir, args.data_dir), args.host, args.port,
                 announce=lambda port: print(f"viewer of {args.dir} on http://{args.host}:{port}/ (Ctrl-C stops)",
                                             flush=True))
    return EXIT_OK


OPTIONS = {"study": ("a pairwise human study: create, invite raters, serve, import, export, results", study_options),
           "view": ("flip or slide between a run's reconstructions and the original in the browser", view_options)}
