"""The batch manifest: one SQLite file written only by the driver, with the status of every item.

Tables: ``items`` (one row per output: inputs, status ``done``/``failed``, input and options hashes, the
one-line error, seconds, the run that last processed it), ``files`` (size, mtime and SHA-256 of every input
seen, so a rerun re-hashes only files whose size or mtime changed) and ``runs`` (one row per invocation).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from hdrkit.errors import InputError

MANIFEST_NAME = ".hdrkit-batch.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, op TEXT, options_hash TEXT, command TEXT, started REAL, finished REAL,
  status TEXT, planned INTEGER, done INTEGER DEFAULT 0, failed INTEGER DEFAULT 0, skipped INTEGER DEFAULT 0);
CREATE TABLE IF NOT EXISTS items (
  name TEXT PRIMARY KEY, op TEXT, inputs TEXT, output TEXT, status TEXT, input_hash TEXT, options_hash TEXT,
  error TEXT, seconds REAL, output_size INTEGER, run_id INTEGER, worker TEXT, result TEXT, updated REAL);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT);
"""


@dataclass
class ItemRecord:
    name: str
    status: str
    input_hash: str
    options_hash: str
    output: str
    output_size: Optional[int]
    error: Optional[str]
    run_id: int


class Manifest:
    """SQLite manifest at ``path`` (created when missing).  Only the driver opens it."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not an hdrkit batch manifest ({exc})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # items ---------------------------------------------------------------------------------------------
    def items(self) -> dict[str, ItemRecord]:
        rows = self.db.execute("SELECT name, status, input_hash, options_hash, output, output_size, error, run_id "
                               "FROM items").fetchall()
        return {r[0]: ItemRecord(*r) for r in rows}

    def count(self, status: Optional[str] = None, run_id: Optional[int] = None) -> int:
        q, args = "SELECT COUNT(*) FROM items WHERE 1=1", []
        if status is not None:
            q, args = q + " AND status = ?", args + [status]
        if run_id is not None:
            q, args = q + " AND run_id = ?", args + [run_id]
        return int(self.db.execute(q, args).fetchone()[0])

    def record(self, *, name: str, op: str, inputs: list[str], output: str, status: str, input_hash: str,
               options_hash: str, error: Optional[str], seconds: float, output_size: Optional[int], run_id: int,
               worker: str, result: dict, files: list) -> None:
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT OR REPLACE INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (name, op, json.dumps(inputs), output, status, input_hash, options_hash, error, seconds,
                 output_size, run_id, worker, json.dumps(result), time.time()))
            self.db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?)", [tuple(f) for f in files])

    # files ---------------------------------------------------------------------------------------------
    def known_digest(self, path: str, size: int, mtime_ns: int) -> Optional[str]:
        row = self.db.execute("SELECT size, mtime_ns, sha256 FROM files WHERE path = ?", (path,)).fetchone()
        if row is None or row[0] != size or row[1] != mtime_ns:
            return None
        return row[2]

    def remember_file(self, path: str, size: int, mtime_ns: int, sha256: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?,?,?,?)", (path, size, mtime_ns, sha256))

    # runs ----------------------------------------------------------------------------------------------
    def start_run(self, op: str, options_hash: str, command: str, planned: int) -> int:
        cur = self.db.execute("INSERT INTO runs (op, options_hash, command, started, status, planned) "
                              "VALUES (?,?,?,?,?,?)", (op, options_hash, command, time.time(), "running", planned))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, done: int, failed: int, skipped: int) -> None:
        self.db.execute("UPDATE runs SET finished = ?, status = ?, done = ?, failed = ?, skipped = ? WHERE id = ?",
                        (time.time(), status, done, failed, skipped, run_id))

    def runs(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM runs ORDER BY id")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
