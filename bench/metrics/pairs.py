"""`bench score`: metrics of image files, outside any run: one pair, one image's no-reference metrics, or
two folders paired by file name (as pyiqa's users score a folder of results against its references)."""
from __future__ import annotations

from pathlib import Path

from ..errors import BenchError
from . import availability, get, names, on_device, score

DEFAULT_FR = ["psnr", "ssim", "ms-ssim", "lpips", "dists"]


def score_files(paths: list, metric_names: list | None = None, no_ref: bool = False) -> tuple[dict, dict]:
    """`bench score`: ({metric: value or None}, {metric: why it has no value}) for REF DIST image
    files, or one image's no-reference metrics with `no_ref` (default metrics when none are named)."""
    from .. import weights
    from ..images import read_image

    weights.configure()
    if no_ref:
        dist, ref = read_image(paths[0]).pixels, None
        chosen = metric_names or [m for m in names("nr") if availability(m)[0]]
        bad = [m for m in chosen if get(m).kind != "nr"]
    else:
        if len(paths) != 2:
            raise BenchError("bench score REF DIST: give a reference and a distorted image (or --no-ref IMG)")
        ref, dist = (read_image(p).pixels for p in paths)
        chosen = metric_names or DEFAULT_FR
        bad = [m for m in chosen if get(m).kind != "fr"]
    if bad:
        raise BenchError(f"{', '.join(bad)}: wrong kind for this mode; full-reference metrics need REF DIST, "
                         "no-reference ones --no-ref IMG")
    if any(on_device(get(m)) for m in chosen):
        from ..devices import device

        device()  # a device that is not there is a setting to fix (exit 2), not a failed score
    out, notes = {}, {}
    for m in chosen:
        try:
            out[m] = score(m, ref, dist)
        except BenchError as e:
            out[m], notes[m] = None, str(e)
    return out, notes


def score_folders(ref_dir, dist_dir, metric_names: list | None = None) -> tuple[dict, dict]:
    """({image: {metric: value or None}}, {image/metric: why there is no value}) for every image of
    `dist_dir` against the image of `ref_dir` with the same name (extension aside)."""
    from ..datasets import IMAGE_SUFFIXES

    def images(d):
        return {p.stem: p for p in sorted(Path(d).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}

    refs, dists = images(ref_dir), images(dist_dir)
    if not dists:
        raise BenchError(f"{dist_dir}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    lone = sorted(set(dists) - set(refs))
    if lone:
        raise BenchError(f"{dist_dir}: no reference in {ref_dir} for {', '.join(lone[:5])}"
                         + (f" and {len(lone) - 5} more" if len(lone) > 5 else "")
                         + "; images pair by file name (extension aside)")
    out, notes = {}, {}
    for name in sorted(dists):
        out[name], why = score_files([refs[name], dists[name]], metric_names)
        notes.update({f"{name}/{m}": w for m, w in why.items()})
    return out, notes
