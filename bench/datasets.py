"""Dataset cards -> image files -> images.

A card (`datasets/<id>.toml`) lists files with their sha256 and says where they come from:
- `source = "skimage"`: files inside scikit-image's installed package (no download, ever);
- `source = "files"`: looked up in a *data dir* (a root with one folder per dataset, e.g.
  `$BENCH_DATA_DIR/kodak/kodim01.png`; `folder = ...` names another folder, and file names may
  hold a sub-path such as `images/x.jpg`) in this order: `--data-dir`, env `BENCH_DATA_DIR`, the
  user cache dir, then downloaded from the card's `url` into the cache when online
  (never when `BENCH_OFFLINE=1`).
A card may name object annotations (`annotations = "annotations/instances_val2017.json"`,
`annotations_sha256`, `annotations_format = "coco"`) in the same folder: the ground truth of
detection accuracy (`map-<detector>`).
A directory path instead of a card id is an ad-hoc dataset: every image file in it, no checksums.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .cards import find_cards, load_card
from .downloads import download, verified
from .errors import DatasetError
from .images import file_sha256, read_image
from .weights import offline

IMAGE_SUFFIXES = {".png", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".jpg", ".jpeg", ".webp"}


@dataclass
class Dataset:
    """A resolved dataset: verified image files, their sha256, and annotations when it has them."""
    id: str
    files: list[Path]
    sha256: dict[str, str] = field(default_factory=dict)  # file name -> sha256 (verified)
    description: str = ""
    annotations: Path | None = None  # object annotations (COCO json), verified against the card
    annotations_sha256: str | None = None

    def images(self):
        """Yield (name, Image or BadImage error) so a bad file does not stop a run."""
        for p in self.files:
            try:
                yield p.stem, read_image(p)
            except Exception as e:  # noqa: BLE001 - reported per file by the runner
                yield p.stem, e


def cache_dir() -> Path:
    """Where downloaded datasets are kept (BENCH_CACHE_DIR, else the user cache)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("BENCH_CACHE_DIR") or user_cache_dir("percept-bench")) / "datasets"


def data_dirs(data_dir=None) -> list[Path]:
    """Folders searched for dataset files: --data-dir, BENCH_DATA_DIR, the cache."""
    dirs = []
    if data_dir:
        dirs.append(Path(data_dir))
    if os.environ.get("BENCH_DATA_DIR"):
        dirs.append(Path(os.environ["BENCH_DATA_DIR"]))
    dirs.append(cache_dir())
    return dirs


def list_datasets() -> dict[str, Path]:
    """{dataset id: card path} of every dataset card found."""
    return find_cards("datasets")


def _verify(path: Path, expected: str | None) -> str:
    return verified(path, expected, DatasetError)


def _annotations(card: dict, card_path: Path, folder: str, data_dir) -> tuple[Path, str]:
    rel = card["annotations"]
    if card.get("annotations_format", "coco") != "coco":
        raise DatasetError(f"{card_path}: annotations_format {card['annotations_format']!r} unknown; valid: coco")
    path = next((d / folder / rel for d in data_dirs(data_dir) if (d / folder / rel).is_file()), None)
    if path is None:
        raise DatasetError(f"dataset {card['id']!r}: annotation file {rel} not found in "
                           + ", ".join(str(d / folder) for d in data_dirs(data_dir))
                           + "; pass --data-dir DIR or set BENCH_DATA_DIR to a folder holding "
                           f"{folder}/{rel}")
    return path, _verify(path, card.get("annotations_sha256"))


def _skimage_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def _local_dir(path: Path) -> Dataset:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return Dataset(path.name, files, {p.name: file_sha256(p) for p in files}, f"local directory {path}")


def resolve(name: str, data_dir=None, select=None) -> Dataset:
    """Resolve a card id (or a directory) to verified files. `select`: names or stems to keep."""
    cards = find_cards("datasets")
    if name not in cards and Path(name).is_dir():
        ds = _local_dir(Path(name))
    elif name not in cards and (os.sep in name or name.startswith((".", "~")) or Path(name).exists()):
        p = Path(name)
        raise DatasetError(f"{name}: " + ("is a file, not a directory of images" if p.exists() else
                                          "no such directory") +
                           f"; give a directory of images or a dataset card id ({', '.join(sorted(cards))})")
    else:
        card, card_path = load_card("datasets", name)
        entries = card.get("files", [])
        if select:
            keep = set(select)
            entries = [e for e in entries if e["name"] in keep or Path(e["name"]).stem in keep]
            known = {Path(e["name"]).stem for e in card.get("files", [])}
            missing = [s for s in select if Path(s).stem not in known]
            if missing:
                raise DatasetError(f"{card_path}: no images named {', '.join(missing)}; "
                                   f"valid: {', '.join(sorted(known))}")
        files, sums = [], {}
        source = card.get("source", "files")
        folder = card.get("folder", name)
        for e in entries:
            fname, expected = e["name"], e.get("sha256")
            if source == "skimage":
                candidates = [_skimage_dir() / fname]
            else:
                candidates = [d / folder / fname for d in data_dirs(data_dir)]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None and source != "skimage" and card.get("url") and not offline():
                path = cache_dir() / folder / fname
                url = card["url"].format(name=Path(fname).name)
                try:
                    download(url, path)
                except OSError as err:
                    raise DatasetError(f"{fname}: download from {url} failed ({err})") from None
            if path is None:
                where = ", ".join(str(c.parent) for c in candidates)
                raise DatasetError(
                    f"dataset {name!r}: {fname} not found (looked in {where}); pass --data-dir DIR "
                    f"or set BENCH_DATA_DIR to a folder holding {folder}/{fname}"
                    + (", or unset BENCH_OFFLINE to download it" if offline() and card.get("url") else ""))
            sums[fname] = _verify(path, expected)
            files.append(path)
        ds = Dataset(name, files, sums, card.get("description", ""))
        if card.get("annotations"):
            ds.annotations, ds.annotations_sha256 = _annotations(card, card_path, folder, data_dir)
    if select and name not in find_cards("datasets"):
        keep = set(select)
        ds.files = [p for p in ds.files if p.name in keep or p.stem in keep]
    return ds


def image(ref: str, dataset: str | None = None, data_dir=None):
    """One image by path, or by name within a dataset (`--image kodim05 --dataset kodak`)."""
    if Path(ref).is_file():
        return read_image(ref)
    if dataset is None:
        raise DatasetError(f"{ref}: no such file; give an image path, or an image name with --dataset")
    ds = resolve(dataset, data_dir, [ref])
    if not ds.files:
        raise DatasetError(f"{dataset}: no image named {ref!r}")
    return read_image(ds.files[0])


def describe_datasets() -> list[str]:
    """One line per dataset card for `bench list datasets`: id, image count, description."""
    from .cards import read_toml

    return [f"{did:12s} {len(card.get('files', [])):4d} images  {card.get('description', '')}"
            for did, card in ((d, read_toml(p)) for d, p in list_datasets().items())]
