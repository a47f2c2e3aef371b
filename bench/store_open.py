"""Opening a store safely: WAL without racing a concurrent creator, and a corrupt, truncated or foreign
database refused (with the file named and the fix) before a run touches it."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .errors import StoreError

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


def wal(db, wait_s: float = 60.0) -> None:
    """Switch to WAL, waiting out a concurrent opener: SQLite answers 'database is locked' to this
    pragma at once (no busy handler) while another connection is creating the same new store."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def unusable(path: Path, why, read_only: bool = False) -> str:
    """Why a store cannot be used, naming the file and the fix."""
    if read_only:
        return (f"{path}: cannot open the store for reading ({why}); check the file's and its folder's "
                "permissions; nothing was written to it")
    return (f"{path}: not a usable percept-bench store ({why}); nothing was written to it. Move it aside "
            f"(mv {path} {path}.bad) and rerun to start a fresh store, or restore it from a backup")


def check_existing(path: Path, read_only: bool = False) -> None:
    """Refuse a corrupt, truncated or foreign database before a run touches it (without writing when
    `read_only`)."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head and head != SQLITE_MAGIC:
        raise StoreError(unusable(path, "not an SQLite database"))
    if not head:
        return  # an empty file (e.g. touched by hand): SQLite initialises it
    try:
        db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=60) if read_only else \
            sqlite3.connect(path, timeout=60)
        try:
            db.execute("PRAGMA busy_timeout=60000")
            ok = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            db.close()
    except sqlite3.OperationalError:
        return  # busy or locked by a concurrent run (not damage): the store's own open waits for it
    except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
        raise StoreError(unusable(path, e)) from None
    if ok != "ok":
        raise StoreError(unusable(path, f"integrity check: {ok}"))
    if tables and "encodings" not in tables:
        raise StoreError(unusable(path, f"an SQLite database of something else (tables: {', '.join(sorted(tables))})"))
