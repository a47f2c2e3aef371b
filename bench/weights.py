"""Where pretrained weights come from: one resolution order for every backend.

Order: `--weights-dir` / env BENCH_WEIGHTS, then env TORCH_HOME, then torch's default
(~/.cache/torch). Each is a TORCH_HOME-style directory holding `hub/checkpoints/...` and
`hub/pyiqa/...` (a directory that is itself a hub dir is accepted too). `configure()` points
torch.hub (used by torchvision, piq, compressai) and pyiqa at the first candidate that exists,
before those libraries are imported. With BENCH_OFFLINE=1 a missing file makes its metric
unavailable with the fix; online, the backend downloads it into that hub dir as usual.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from .downloads import sha256_matches
from .errors import MetricUnavailable
from .images import file_sha256

# Accepted sha256 per file: the reduced hub-compatible files of ../shared/weights (features
# bit-exact, classifier zero; see its MANIFEST.md) and the official downloads' hash prefixes,
# which torchvision and pyiqa embed in the file name.
KNOWN_SHA256 = {
    "checkpoints/alexnet-owt-7be5be79.pth": {
        "a195aaaef6a3cba2d24f639fc84c19e96499a5c878d46a3c821b51120cb7874e", "7be5be79"},
    "checkpoints/vgg16-397923af.pth": {
        "27e5be4c217355097c98abb442f858e3395268320f8f1b69f5e2346d655d42df", "397923af"},
    "checkpoints/dists_weights.pt": {"f5e65c96230b7f6ca995691647d482237e4cab8a50c5c4a5784f219ef0748218"},
    "checkpoints/brisque_svm_weights.pt": {
        "0a1e10f97ddd8e9ff3da52551dcf90d18e32b73cef07489c61cb27f9a3048bc1"},
    "pyiqa/niqe_modelparameters.mat": {"fa2aa4d12dd9595c3fb6bf8b4e1a15c79d5d1469238d0901c88dead195be578d"},
    "pyiqa/ILNIQE_templateModel.mat": {"14f4919a630498d732bbf11837d894d45a57f89c9ed84bea98851147290ce93c"},
    "pyiqa/brisque_svm_weights.pth": {"0a1e10f97ddd8e9ff3da52551dcf90d18e32b73cef07489c61cb27f9a3048bc1"},
    "pyiqa/DISTS_weights-f5e65c96.pth": {"f5e65c96"},
    "pyiqa/LPIPS_v0.1_alex-df73285e.pth": {"df73285e"},
    "pyiqa/LPIPS_v0.1_vgg-a78928a0.pth": {"a78928a0"},
}


def offline() -> bool:
    """Whether BENCH_OFFLINE forbids downloads."""
    return os.environ.get("BENCH_OFFLINE", "") not in ("", "0")


def _as_hub(d: Path) -> Path:
    return d / "hub" if (d / "hub").is_dir() or not (d / "checkpoints").is_dir() else d


def candidates() -> list[tuple[str, Path]]:
    """(label, folder) of every place weight files are looked for, in order."""
    out = []
    if os.environ.get("BENCH_WEIGHTS"):
        out.append(("BENCH_WEIGHTS / --weights-dir", _as_hub(Path(os.environ["BENCH_WEIGHTS"]))))
    if os.environ.get("TORCH_HOME"):
        out.append(("TORCH_HOME", _as_hub(Path(os.environ["TORCH_HOME"]))))
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    out.append(("torch default", Path(xdg) / "torch" / "hub"))
    return out


def hub_dir() -> Path:
    """The hub dir backends read from and download into: the first candidate that exists."""
    cands = candidates()
    return next((p for _, p in cands if p.is_dir()), cands[0][1])


def locate(rel: str) -> tuple[Path | None, str]:
    """(path, label of where) of a weight file, or (None, '') when it is nowhere."""
    for label, d in candidates():
        # detector files (detection/...) may also sit beside the hub: in TORCH_HOME, or in the folder
        # holding it (the shared layout weights/{torch,detection})
        for p in [d / rel] + ([d.parent / rel, d.parent.parent / rel] if rel.startswith("detection/") else []):
            if p.is_file():
                return p, label
    return None, ""


_configured = None


def configure() -> Path:
    """Point torch.hub and pyiqa at our hub dir. Call before importing lpips / piq / pyiqa."""
    global _configured
    hub = hub_dir()
    if _configured != hub:
        os.environ["TORCH_HOME"] = str(hub.parent)
        if offline():
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # torch.hub reads TORCH_HOME/hub; import torch (~1-5 s) only when that is not enough
        if hub.name != "hub" or "torch" in sys.modules:
            import torch

            torch.hub.set_dir(str(hub))
        _configured = hub
    return hub


def require(files, metric: str) -> list[Path]:
    """Paths of a metric's weight files; MetricUnavailable with the fix when one is missing."""
    paths = []
    for rel in files:
        p, _ = locate(rel)
        if p is None:
            if not offline() and can_download():
                continue  # the backend downloads it into hub_dir() on first use
            why = "BENCH_OFFLINE is set" if offline() else f"{DOWNLOAD_HOST} cannot be reached from here"
            source = f" ({HUB_URL}{Path(rel).name})" if rel.startswith("checkpoints/") else ""
            raise MetricUnavailable(
                f"{Path(rel).name} missing — place it in {hub_dir() / Path(rel).parent} (or set BENCH_WEIGHTS / "
                f"TORCH_HOME to a folder holding {rel}) or run once online to fetch it{source}; it cannot be "
                f"downloaded now: {why}")
        paths.append(p)
    return paths


DOWNLOAD_HOST = "download.pytorch.org"
HUB_URL = f"https://{DOWNLOAD_HOST}/models/"


@functools.lru_cache(maxsize=None)
def can_download(host: str = DOWNLOAD_HOST, timeout_s: float = 3.0) -> bool:
    """Whether weight downloads can work from here (one connection attempt per process, cached): a file that
    is absent and cannot be fetched makes its metric unavailable up front, instead of every task failing."""
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def sha256_of(rel: str) -> str:
    """The sha256 of a located weight file ('absent' when missing), cached by mtime."""
    p, _ = locate(rel)
    return _sha(str(p), p.stat().st_mtime_ns) if p else "absent"


@functools.lru_cache(maxsize=None)
def _sha(path: str, _mtime: int) -> str:
    return file_sha256(Path(path))


def verifies(rel: str, digest: str) -> bool | None:
    """Whether a weight file's digest is a known one (None: no known digest)."""
    known = KNOWN_SHA256.get(rel)
    return sha256_matches(digest, known) if known else None


def report(files: dict) -> list[dict]:
    """One row per (metric, weight file) of {metric: [weight files]}: where it was found, whether it verifies."""
    rows = []
    for metric, rels in files.items():
        for rel in rels:
            p, label = locate(rel)
            digest = sha256_of(rel) if p else ""
            rows.append({"metric": metric, "file": rel, "found": str(p) if p else "missing",
                         "via": label, "sha256": digest,
                         "verifies": verifies(rel, digest) if p else None})
    return rows
