"""A study's folder: study.json (conditions, images, items, golden questions, settings), images/ (the
PNGs raters see, each with its sha256 in study.json) and study.sqlite (raters, what was served to whom,
and every judgement, committed as it comes: kill the server and nothing answered is lost)."""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import BenchError

SPEC = "study.json"
DB = "study.sqlite"
ORIGINAL, DEGRADED = "original", "degraded"  # the two sides of a golden question

SCHEMA = """
CREATE TABLE IF NOT EXISTS raters (token TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS served (id INTEGER PRIMARY KEY AUTOINCREMENT, token TEXT NOT NULL, image TEXT NOT NULL,
    a INTEGER NOT NULL, b INTEGER NOT NULL, golden INTEGER NOT NULL, nonce TEXT NOT NULL, at REAL NOT NULL,
    answered INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS judgements (id INTEGER PRIMARY KEY AUTOINCREMENT, rater TEXT NOT NULL,
    image TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL, y REAL NOT NULL CHECK (y IN (0, 0.5, 1)),
    golden INTEGER NOT NULL DEFAULT 0, ms INTEGER, at REAL, served_id INTEGER UNIQUE, source TEXT NOT NULL);
"""


class Study:
    """An open study folder: its spec and its SQLite store."""

    def __init__(self, folder: Path, spec: dict, db: sqlite3.Connection):
        self.dir, self.spec, self.db = folder, spec, db
        # one connection shared by the server's threads: its transactions must not interleave
        self.lock = threading.RLock()

    @classmethod
    def create(cls, folder, spec: dict) -> Study:
        """A new study folder (refused when one is there already)."""
        folder = Path(folder)
        if (folder / SPEC).exists():
            raise BenchError(f"{folder}: already holds a study; choose another --out or delete it")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SPEC).write_text(json.dumps(spec, indent=1) + "\n")
        return cls.open(folder)

    @classmethod
    def open(cls, folder) -> Study:
        """An existing study folder; the error names the folder and the fix."""
        folder = Path(folder)
        try:
            spec = json.loads((folder / SPEC).read_text())
        except FileNotFoundError:
            raise BenchError(f"{folder}: no {SPEC}; make a study with `bench study create RUN --out {folder}` "
                             "or `bench study import FILE --out {folder}`") from None
        except ValueError as e:
            raise BenchError(f"{folder / SPEC}: not valid JSON ({e})") from None
        db = sqlite3.connect(folder / DB, timeout=30, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # an answer acknowledged to the rater is on disk
        db.executescript(SCHEMA)
        return cls(folder, spec, db)

    # -- raters ---------------------------------------------------------------------------------------
    def add_rater(self, name: str) -> str:
        """A new rater's token (their link's secret); the name must be new."""
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise BenchError(f"rater name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
        token = secrets.token_urlsafe(16)
        try:
            self.db.execute("INSERT INTO raters VALUES (?, ?, ?)", (token, name, time.time()))
        except sqlite3.IntegrityError:
            raise BenchError(f"rater {name!r} exists already in {self.dir}; `bench study invite` lists the links") from None
        return token

    def raters(self) -> list[tuple[str, str]]:
        """(name, token) of every rater."""
        return [(r["name"], r["token"]) for r in self.db.execute("SELECT name, token FROM raters ORDER BY created")]

    def rater(self, token: str) -> str | None:
        """The name behind a token, or None."""
        with self.lock:
            row = self.db.execute("SELECT name FROM raters WHERE token = ?", (token,)).fetchone()
        return row["name"] if row else None

    # -- judgements -----------------------------------------------------------------------------------
    def judgements(self, include_golden: bool = False) -> list[sqlite3.Row]:
        """Every judgement (served answers and imported ones), oldest first."""
        q = "SELECT * FROM judgements" + ("" if include_golden else " WHERE golden = 0") + " ORDER BY id"
        return self.db.execute(q).fetchall()

    def add_judgements(self, rows: list[tuple], source: str) -> int:
        """Imported judgements (rater, image, a, b, y, golden) in one transaction; returns how many."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT INTO judgements (rater, image, a, b, y, golden, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                [(*r, source) for r in rows])
        return len(rows)

    def close(self) -> None:
        """Close the store."""
        self.db.close()
