"""Fetching and checking files, in one place for datasets, metric weights and detectors: a download
lands under a temporary name and is renamed only when complete; a file is trusted only when its
sha256 matches what its card (or the weights table) says."""
from __future__ import annotations

import os
from pathlib import Path

from .images import atomic_write, file_sha256


def download(url: str, dest: Path, member: str | None = None) -> None:
    """`url` into `dest` (temp file, then rename); from a zip archive, only `member` is kept."""
    import shutil
    import tempfile
    import urllib.request

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    target = dest.with_name(dest.name + ".zip") if member else dest
    with urllib.request.urlopen(url, timeout=60) as r, tempfile.NamedTemporaryFile(
            dir=dest.parent, delete=False) as tmp:
        shutil.copyfileobj(r, tmp)
    os.replace(tmp.name, target)
    if member:
        import zipfile

        try:
            with zipfile.ZipFile(target) as z:
                atomic_write(dest, z.read(member))
        finally:
            target.unlink(missing_ok=True)


def sha256_matches(digest: str, known) -> bool:
    """Whether a file's sha256 is one of the known digests (or starts with a known prefix, as
    torchvision's file names carry the first 8 hex digits)."""
    return any(digest.startswith(k) for k in known)


def verified(path: Path, expected: str | None, error, what: str = "the card's") -> str:
    """The sha256 of `path`; `error` (an exception class) naming the file and the fix when it differs
    from `expected` (None: nothing to check against)."""
    got = file_sha256(path)
    if expected and got != expected:
        raise error(f"{path}: sha256 {got[:16]}... does not match {what} {expected[:16]}...; "
                    "the file is corrupt or a different version: delete it and fetch the original")
    return got
