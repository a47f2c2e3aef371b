"""The store on its own: transactions all or nothing, rows never duplicated, records filtered by the
run's metric versions, imported series replaced whole, features round-tripped, damage refused."""
import sqlite3

import numpy as np
import pytest

from bench.errors import BenchError, StoreError
from bench.store import Store


def _enc(key, image="img", codec="jpeg", idx=0, bpp=0.5):
    return {"key": key, "image": image, "image_sha256": "s" + image, "width": 4, "height": 2, "codec": codec,
            "point_index": idx, "point": "10", "bytes": 1, "rate_bytes": 1, "bpp": bpp, "recon_sha256": "r" + key}


def _score(key, metric="psnr", version="v1", value=30.0):
    return {"encoding_key": key, "metric": metric, "metric_version": version, "value": value}


def test_a_run_and_its_records(tmp_path):
    st = Store(tmp_path)
    with pytest.raises(BenchError, match="holds no run yet"):
        st.run_row()
    rid = st.start_run("bench run", {"metric_versions": {"psnr": "v1"}})
    st.put(_enc("k1"), [_score("k1"), _score("k1", version="v0", value=1.0), _score("k1", "ssim")], [], rid, "k1")
    st.put(_enc("k1"), [_score("k1", value=99.0)], [], rid, "k1")  # a resumed task: nothing duplicated or replaced
    recs = st.records(rid)
    assert [(r["metric"], r["metric_version"], r["value"]) for r in recs] == [("psnr", "v1", 30.0)]
    assert len(st.encodings_of(rid)) == 1 and st.scored("k1")[("psnr", "v1")] == 30.0
    assert st.run_row()["finished"] is None
    st.finish_run(rid, {"line": "done"})
    assert st.run_row(rid)["finished"] is not None
    with pytest.raises(BenchError, match="holds no run 7"):
        st.run_row(7)


def test_a_failed_transaction_writes_nothing(tmp_path):
    st = Store(tmp_path)
    rid = st.start_run("bench run", {})
    unwritable = {"stage": "encode", "point": object()}  # fails (not JSON) after the encoding's row went in
    with pytest.raises(TypeError):
        st.put(_enc("k1"), [_score("k1")], [unwritable], rid, "k1")
    assert st.encoding("k1") is None and st.encodings_of(rid) == [] and st.scored("k1") == {}


def test_imported_series_are_replaced_whole_and_features_round_trip(tmp_path):
    st = Store(tmp_path)
    st.put_imported("bpg", {"psnr": ([0.1, 0.2], [30.0, 32.0]), "ms-ssim": ([0.1], [0.9])}, "file a")
    st.put_imported("bpg", {"psnr": ([0.3], [33.0])}, "file b")
    assert st.imported() == [("bpg", "file b", {"psnr": ([0.3], [33.0])})]
    a = np.arange(6, dtype=np.float64).reshape(2, 3) / 7
    st.put_features("k", "inception", "v1", a)
    assert np.array_equal(st.get_features("k", "inception", "v1"), a) and st.get_features("k", "x", "v1") is None


def test_damaged_or_foreign_files_are_refused(tmp_path):
    (tmp_path / "bench.sqlite").write_bytes(b"not a database at all, just text")
    with pytest.raises(StoreError, match="not an SQLite database"):
        Store(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    db = sqlite3.connect(other / "bench.sqlite")
    db.execute("CREATE TABLE photos (id INTEGER)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="of something else"):
        Store(other)
    with pytest.raises(BenchError, match="no bench.sqlite here"):
        Store(tmp_path / "missing", create=False)
