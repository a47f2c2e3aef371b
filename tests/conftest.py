import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# the offline weights and datasets (weights/torch, datasets/kodak, ...): ../shared beside the checkout, or BENCH_SHARED
SHARED = Path(os.environ.get("BENCH_SHARED", ROOT.parent / "shared"))
os.environ["BENCH_OFFLINE"] = "1"  # never download in tests, module-scoped fixtures included
KODAK = SHARED / "datasets" / "kodak"
CALIB = SHARED / "datasets" / "iqa_calibration" / "tid2013_pyiqa_calibra"


def need(path: Path, what: str):
    if not path.exists():
        pytest.skip(f"{what} not found at {path}: put the shared data folder (weights/, datasets/) beside the "
                    "checkout as ../shared, or point BENCH_SHARED at it (README: Data, weights, offline use)")


def need_metric(*names: str):
    """Skip when a metric's backend or weight files are not on this machine (a fresh clone
    without ../shared); the metric's own message says what is missing."""
    from bench import metrics as M

    for n in names:
        ok, why = M.availability(n)
        if not ok:
            pytest.skip(f"metric {n} unavailable here: {why}")


@pytest.fixture(scope="session")
def kodim():
    need(KODAK, "Kodak images")
    from bench.images import read_image

    return read_image(KODAK / "kodim23.png").pixels


@pytest.fixture(scope="session")
def astronaut():
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


class HTMLOutline(HTMLParser):
    """Tags, text and resource references (src, href, ...) of an HTML document."""

    def __init__(self, text: str):
        super().__init__()
        self.tags, self.text, self.refs = [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href", "srcset", "poster", "data") and v]

    def handle_data(self, data):
        self.text.append(data)


def installed_plugin(monkeypatch, site, dist: str, group: str, entry: str):
    """An installed distribution with one entry point, as pip would leave it on sys.path (plus the
    tests folder, where the plugin's code lives)."""
    di = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    di.mkdir(parents=True)
    (di / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (di / "entry_points.txt").write_text(f"[{group}]\n{entry}\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.fixture(scope="session")
def three_crops(tmp_path_factory, astronaut):
    """Three 192x176 crops of the astronaut (i0, i1, i2): a small multi-image dataset."""
    from PIL import Image

    d = tmp_path_factory.mktemp("three") / "imgs"
    d.mkdir()
    for i, (y, x) in enumerate([(0, 100), (300, 250), (150, 0)]):
        Image.fromarray(astronaut[y:y + 176, x:x + 192]).save(d / f"i{i}.png")
    return d


@pytest.fixture
def small_dir(tmp_path, astronaut):
    """Two small RGB PNGs (176x192 and 200x168: large enough for MS-SSIM)."""
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    Image.fromarray(astronaut[:176, 100:292]).save(d / "a.png")
    Image.fromarray(astronaut[300:468, 250:450]).save(d / "b.png")
    return d


@pytest.fixture(autouse=True)
def _isolate(monkeypatch, tmp_path):
    """Never download in tests; user cache dir inside tmp."""
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    if (SHARED / "weights" / "torch").is_dir() and not os.environ.get("TORCH_HOME"):
        monkeypatch.setenv("TORCH_HOME", str(SHARED / "weights" / "torch"))


def edited_copy(src: Path, dst: Path, *sql: str) -> Path:
    """A copy of a run directory whose store had these SQL statements applied (a killed run, a lost image)."""
    import shutil
    import sqlite3

    shutil.copytree(src, dst)
    db = sqlite3.connect(dst / "bench.sqlite")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()
    return dst
