import shutil

import pytest
from conftest import KODAK, need

from bench.datasets import resolve
from bench.errors import DatasetError


def test_skimage_default_is_embedded_and_verified():
    ds = resolve("skimage")
    names = {p.name for p in ds.files}
    assert {"astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png"} <= names
    imgs = [im for _, im in ds.images()]
    assert all(im.pixels.ndim == 3 and im.pixels.shape[2] == 3 for im in imgs)


def test_kodak_from_data_dir_with_checksums(tmp_path):
    need(KODAK, "Kodak")
    ds = resolve("kodak", data_dir=KODAK.parent)
    assert len(ds.files) == 24 and all(len(h) == 64 for h in ds.sha256.values())


def test_data_dir_order_and_checksum_mismatch_names_the_file(tmp_path, monkeypatch):
    need(KODAK, "Kodak")
    bad = tmp_path / "bad" / "kodak"
    bad.mkdir(parents=True)
    shutil.copy(KODAK / "kodim02.png", bad / "kodim01.png")  # wrong content under the right name
    monkeypatch.setenv("BENCH_DATA_DIR", str(KODAK.parent))
    # --data-dir wins over BENCH_DATA_DIR
    with pytest.raises(DatasetError, match=r"kodim01\.png: sha256 .* does not match"):
        resolve("kodak", data_dir=tmp_path / "bad", select=["kodim01"])
    assert resolve("kodak", select=["kodim01"]).files[0].parent == KODAK


def test_missing_file_offline_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    with pytest.raises(DatasetError, match=r"kodim03.png not found .*--data-dir.*BENCH_DATA_DIR"):
        resolve("kodak", data_dir=tmp_path, select=["kodim03"])


def test_unknown_image_name_in_selection(tmp_path):
    with pytest.raises(DatasetError, match="no images named kodim99"):
        resolve("kodak", data_dir=tmp_path, select=["kodim99"])
