"""The store: one SQLite database per output directory, plus content-addressed files.

Tables: runs (manifest per invocation), encodings (one per image x codec x rate point),
scores (one per encoding x metric), failures (with tracebacks). The view `records` joins
encodings and scores: one row per image x codec x rate point x metric.
Files: bitstreams/<key>.bin and recon/<sha[:2]>/<sha>.png (lossless, written atomically),
so a metric added later never re-encodes. Every insert is a transaction; rows are
INSERT OR IGNORE on their keys, so a resumed or concurrent run never duplicates a record.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path

from .errors import BenchError, StoreError
from .images import atomic_write
from .store_open import SQLITE_MAGIC
from .store_open import check_existing as _check_existing
from .store_open import unusable as _unusable
from .store_open import wal as _wal

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  run_id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT, finished TEXT, command TEXT,
  manifest TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS encodings (
  key TEXT PRIMARY KEY, image TEXT NOT NULL, image_sha256 TEXT NOT NULL, width INTEGER, height INTEGER,
  codec TEXT NOT NULL, point_index INTEGER, point TEXT, adapter TEXT, adapter_version TEXT,
  codec_version TEXT, params TEXT, bytes INTEGER, rate_bytes INTEGER, bpp REAL,
  encode_s REAL, decode_s REAL, recon_sha256 TEXT, info TEXT, run_id INTEGER, created TEXT);
CREATE TABLE IF NOT EXISTS scores (
  encoding_key TEXT NOT NULL, metric TEXT NOT NULL, metric_version TEXT NOT NULL, value REAL,
  seconds REAL, run_id INTEGER, created TEXT,
  PRIMARY KEY (encoding_key, metric, metric_version));
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER, stage TEXT, image TEXT, codec TEXT,
  point TEXT, metric TEXT, message TEXT, traceback TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS features (
  owner TEXT NOT NULL, extractor TEXT NOT NULL, version TEXT NOT NULL, n INTEGER, d INTEGER, data BLOB,
  PRIMARY KEY (owner, extractor, version));
CREATE TABLE IF NOT EXISTS set_scores (
  run_id INTEGER NOT NULL, codec TEXT NOT NULL, point_index INTEGER NOT NULL, metric TEXT NOT NULL,
  value REAL, n_patches INTEGER, message TEXT, PRIMARY KEY (run_id, codec, point_index, metric));
CREATE TABLE IF NOT EXISTS derived (
  key TEXT PRIMARY KEY, data BLOB);
CREATE TABLE IF NOT EXISTS run_items (
  run_id INTEGER NOT NULL, encoding_key TEXT NOT NULL, PRIMARY KEY (run_id, encoding_key));
CREATE TABLE IF NOT EXISTS run_points (
  run_id INTEGER NOT NULL, encoding_key TEXT NOT NULL, point_index INTEGER NOT NULL,
  PRIMARY KEY (run_id, encoding_key));
CREATE TABLE IF NOT EXISTS probes (
  key TEXT PRIMARY KEY, bpp REAL NOT NULL);
CREATE TABLE IF NOT EXISTS imported (
  series TEXT NOT NULL, metric TEXT NOT NULL, point_index INTEGER NOT NULL, bpp REAL, value REAL, source TEXT,
  PRIMARY KEY (series, metric, point_index));
CREATE VIEW IF NOT EXISTS records AS
  SELECT e.key AS encoding_key, e.image, e.image_sha256, e.codec, e.point_index, e.point, e.bpp, e.bytes, e.rate_bytes,
         e.encode_s, e.decode_s, e.codec_version, s.metric, s.metric_version, s.value, s.seconds
  FROM encodings e JOIN scores s ON s.encoding_key = e.key;
"""

DB_NAME = "bench.sqlite"


def is_sqlite(path: Path) -> bool:
    """Whether a file is an SQLite database (by its header; an unreadable file is not)."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def now() -> str:
    """The current local time as ISO 8601 with offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Store:
    """The SQLite store of one run directory and its content-addressed files. `read_only`: for verbs that
    only read (nothing is written, a store on a read-only mount opens; derived caches are not kept)."""
    def __init__(self, out_dir, create: bool = True, read_only: bool = False):
        self.dir = Path(out_dir)
        self.read_only = read_only
        path = self.dir / DB_NAME
        if (not create or read_only) and not path.is_file():
            raise BenchError(f"{self.dir}: no {DB_NAME} here; run `bench run --out {self.dir}` first")
        if path.exists():
            _check_existing(path, read_only)
        if read_only and self._open_read_only(path):
            return
        self.read_only = False
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(path, timeout=60, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            _wal(self.db)
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA busy_timeout=60000")
            with self.tx():
                for stmt in SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
        except sqlite3.DatabaseError as e:
            raise StoreError(_unusable(path, e)) from None

    def _open_read_only(self, path: Path) -> bool:
        """Open without writing anything; False when the store predates a table of today's schema and can
        be upgraded in place (the caller opens it read-write)."""
        uri = path.resolve().as_uri()
        for query in ("?mode=ro", "?immutable=1"):  # immutable: a read-only mount without the -shm file
            try:
                self.db = sqlite3.connect(uri + query, uri=True, timeout=60, isolation_level=None)
                self.db.row_factory = sqlite3.Row
                self.db.execute("PRAGMA busy_timeout=60000")
                tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                break
            except sqlite3.OperationalError as e:
                err = e
                if getattr(self, "db", None) is not None:
                    self.db.close()
        else:
            raise StoreError(_unusable(path, err, read_only=True))
        need = set(re.findall(r"CREATE (?:TABLE|VIEW) IF NOT EXISTS (\w+)", SCHEMA))
        if need <= tables:
            return True
        self.db.close()
        if not os.access(self.dir, os.W_OK) or not os.access(path, os.W_OK):
            raise StoreError(f"{path}: an older store (without {', '.join(sorted(need - tables))}) on a read-only "
                             "location; copy it somewhere writable to upgrade it")
        return False

    def tx(self):
        """A transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on an exception)."""
        if self.read_only:
            raise StoreError(f"{self.dir / DB_NAME}: opened read-only, nothing may be written")
        return _Tx(self.db)

    # -- runs -------------------------------------------------------------------------
    def start_run(self, command: str, manifest: dict) -> int:
        """Record a new run with its manifest; returns its id."""
        with self.tx():
            cur = self.db.execute("INSERT INTO runs(started, command, manifest) VALUES (?,?,?)",
                                  (now(), command, json.dumps(manifest, default=str)))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, summary: dict) -> None:
        """Mark a run finished, with its summary."""
        with self.tx():
            self.db.execute("UPDATE runs SET finished=?, summary=? WHERE run_id=?",
                            (now(), json.dumps(summary, default=str), run_id))

    def last_run(self):
        """The newest run's row, or None in an empty store."""
        return self.db.execute("SELECT * FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()

    def run_row(self, run_id: int | None = None):
        """The row of run `run_id` (default: the last); an error naming the store when there is none."""
        row = self.last_run() if run_id is None else self.db.execute(
            "SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise BenchError(f"{self.dir}: the store holds no run {'yet' if run_id is None else run_id}")
        return row

    def records(self, run_id: int) -> list[dict]:
        """The run's records: one per image x codec x rate point x metric (its metric versions)."""
        manifest = json.loads(self.db.execute("SELECT manifest FROM runs WHERE run_id=?",
                                              (run_id,)).fetchone()["manifest"])
        versions = manifest.get("metric_versions", {})
        rows = self.db.execute(
            "SELECT r.* FROM records r JOIN run_items i ON i.encoding_key = r.encoding_key AND i.run_id = ?",
            (run_id,)).fetchall()
        return self._indexed(run_id, [dict(r) for r in rows if versions.get(r["metric"]) == r["metric_version"]])

    def _indexed(self, run_id: int, rows: list[dict]) -> list[dict]:
        """Rows with the rate-point index this run gave their encoding (an encoding reused from another run,
        or matched to a target rate, may sit at another index there)."""
        idx = dict(self.db.execute("SELECT encoding_key, point_index FROM run_points WHERE run_id = ?", (run_id,)))
        for r in rows:
            r["point_index"] = idx.get(r.get("encoding_key", r.get("key")), r["point_index"])
        return rows

    def encodings_of(self, run_id: int) -> list[dict]:
        """The encodings of a run."""
        return self._indexed(run_id, [dict(r) for r in self.db.execute(
            "SELECT e.* FROM encodings e JOIN run_items i ON i.encoding_key = e.key WHERE i.run_id = ?",
            (run_id,)).fetchall()])

    def failures_of(self, run_id: int) -> list[dict]:
        """The failures of a run, oldest first."""
        return [dict(r) for r in self.db.execute("SELECT * FROM failures WHERE run_id=? ORDER BY id",
                                                 (run_id,)).fetchall()]

    # -- encodings and scores -----------------------------------------------------------
    def encoding(self, key: str):
        """The encoding row of a cache key, or None."""
        return self.db.execute("SELECT * FROM encodings WHERE key=?", (key,)).fetchone()

    def scored(self, key: str) -> dict:
        """{(metric, version): value} of an encoding's scores."""
        rows = self.db.execute("SELECT metric, metric_version, value FROM scores WHERE encoding_key=?",
                               (key,)).fetchall()
        return {(r["metric"], r["metric_version"]): r["value"] for r in rows}

    def put(self, encoding: dict | None, scores: list[dict], failures: list[dict],
            run_id: int | None = None, key: str | None = None, point_index: int | None = None) -> None:
        """One transaction for everything one task produced: all or nothing."""
        with self.tx():
            if run_id is not None and key is not None:
                self.db.execute("INSERT OR IGNORE INTO run_items(run_id, encoding_key) VALUES (?,?)",
                                (run_id, key))
                if point_index is not None:
                    self.db.execute("INSERT OR REPLACE INTO run_points VALUES (?,?,?)", (run_id, key, point_index))
            if encoding is not None:
                cols = ",".join(encoding)
                self.db.execute(f"INSERT OR IGNORE INTO encodings({cols}) VALUES ({','.join('?' * len(encoding))})",
                                tuple(encoding.values()))
            for s in scores:
                self.db.execute(
                    "INSERT OR IGNORE INTO scores(encoding_key, metric, metric_version, value, seconds, run_id, created)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (s["encoding_key"], s["metric"], s["metric_version"], s["value"], s.get("seconds"),
                     s.get("run_id"), now()))
            for f in failures:
                self.db.execute(
                    "INSERT INTO failures(run_id, stage, image, codec, point, metric, message, traceback, created)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    (f.get("run_id"), f.get("stage"), f.get("image"), f.get("codec"), json.dumps(f.get("point")),
                     f.get("metric"), f.get("message"), f.get("traceback"), now()))

    def forget_encoding(self, key: str) -> None:
        """Delete an encoding with its scores and features (its pixels changed)."""
        with self.tx():
            self.db.execute("DELETE FROM scores WHERE encoding_key=?", (key,))
            self.db.execute("DELETE FROM features WHERE owner=?", (key,))
            self.db.execute("DELETE FROM encodings WHERE key=?", (key,))

    def probe(self, key: str) -> float | None:
        """The bpp a rate-matching probe measured for an encoding key, or None."""
        r = self.db.execute("SELECT bpp FROM probes WHERE key=?", (key,)).fetchone()
        return None if r is None else r["bpp"]

    def put_probe(self, key: str, bpp: float) -> None:
        """Cache one probe's bpp (a resumed run searches again without encoding)."""
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO probes VALUES (?,?)", (key, bpp))

    # -- published curves imported beside the runs (bench import) ---------------------------
    def put_imported(self, series: str, curves: dict, source: str) -> None:
        """Replace the imported series `series` by {metric: (bpp, values)}."""
        with self.tx():
            self.db.execute("DELETE FROM imported WHERE series=?", (series,))
            for m, (bpp, vals) in curves.items():
                for i, (b, v) in enumerate(zip(bpp, vals)):
                    self.db.execute("INSERT INTO imported VALUES (?,?,?,?,?,?)", (series, m, i, b, v, source))

    def remove_imported(self, series: str) -> int:
        """Delete an imported series; returns how many points it had."""
        with self.tx():
            return self.db.execute("DELETE FROM imported WHERE series=?", (series,)).rowcount

    def imported(self) -> list[tuple[str, str, dict]]:
        """[(series, source, {metric: (bpp, values)})]."""
        out: dict = {}
        for r in self.db.execute("SELECT * FROM imported ORDER BY series, metric, point_index"):
            src, curves = out.setdefault(r["series"], (r["source"], {}))
            b, v = curves.setdefault(r["metric"], ([], []))
            b.append(r["bpp"])
            v.append(r["value"])
        return [(k, src, c) for k, (src, c) in out.items()]

    # -- per-image features for set-level metrics (owner: encoding key or 'image:<sha>') ----
    def get_features(self, owner: str, extractor: str, version: str):
        """Stored per-image features (n x d float64), or None."""
        import numpy as np

        r = self.db.execute("SELECT n, d, data FROM features WHERE owner=? AND extractor=? AND version=?",
                            (owner, extractor, version)).fetchone()
        return None if r is None else np.frombuffer(r["data"], dtype=np.float64).reshape(r["n"], r["d"])

    def put_features(self, owner: str, extractor: str, version: str, arr) -> None:
        """Store per-image features once (later writes of the same key are ignored)."""
        import numpy as np

        a = np.ascontiguousarray(arr, dtype=np.float64)
        with self.tx():
            self.db.execute("INSERT OR IGNORE INTO features VALUES (?,?,?,?,?,?)",
                            (owner, extractor, version, a.shape[0], a.shape[1], a.tobytes()))

    def get_derived(self, key: str) -> bytes | None:
        """A value computed from stored rows (e.g. pooled detection matches), keyed by what it depends on."""
        r = self.db.execute("SELECT data FROM derived WHERE key=?", (key,)).fetchone()
        return None if r is None else bytes(r["data"])

    def put_derived(self, key: str, data: bytes) -> None:
        """Store a derived value once (a cache: not kept by a read-only store)."""
        if self.read_only:
            return
        with self.tx():
            self.db.execute("INSERT OR IGNORE INTO derived VALUES (?,?)", (key, data))

    def put_set_score(self, run_id, codec, point_index, metric, value, n, message) -> None:
        """Store (or replace) a set-level score of one codec and rate point."""
        with self.tx():
            self.db.execute("INSERT OR REPLACE INTO set_scores VALUES (?,?,?,?,?,?,?)",
                            (run_id, codec, point_index, metric, value, n, message))

    def set_scores_of(self, run_id: int) -> list[dict]:
        """The set-level scores of a run."""
        return [dict(r) for r in self.db.execute("SELECT * FROM set_scores WHERE run_id=?", (run_id,))]

    # -- files ------------------------------------------------------------------------
    def recon_path(self, sha: str) -> Path:
        """Where a reconstruction PNG with these pixels is kept."""
        return self.dir / "recon" / sha[:2] / f"{sha}.png"

    def bitstream_path(self, key: str) -> Path:
        """Where an encoding's bitstream is kept."""
        return self.dir / "bitstreams" / key[:2] / f"{key}.bin"

    def write_bitstream(self, key: str, data: bytes) -> None:
        """Write an encoding's bitstream (atomically)."""
        atomic_write(self.bitstream_path(key), data)

    def write_recon(self, sha: str, png: bytes) -> None:
        """Write a reconstruction PNG unless one with these pixels exists."""
        p = self.recon_path(sha)
        if not p.is_file():  # content-addressed: an existing file already holds these pixels
            atomic_write(p, png)

    def clean_stale_tmp(self) -> int:
        """Remove temp files left by killed processes (names carry the writer's pid)."""
        n = 0
        for d in (self.dir / "recon", self.dir / "bitstreams"):
            for t in d.glob("*/*.tmp") if d.is_dir() else []:
                pid = t.name.rsplit(".", 2)[-2]
                if pid.isdigit() and not _alive(int(pid)):
                    t.unlink(missing_ok=True)
                    n += 1
        return n

    def close(self):
        """Close the connection."""
        self.db.close()

    def __del__(self):
        # sqlite3's connection sits in a reference cycle (its statement cache) and would be closed
        # only when the cyclic GC runs: close it with its Store, so a finished verb leaves no
        # -wal / -shm files behind to vanish under a copy at some later moment
        db = getattr(self, "db", None)
        if db is not None:
            db.close()


class _Tx:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
