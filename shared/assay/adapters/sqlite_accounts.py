"""Accounts on the embedded SQLite store (its own tables; may share store.db)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from assay.adapters.accounts import Accounts, Hit, OtpCheck, judge_otp, window_of
from assay.adapters.sqlite_base import SQLiteDB
from assay.models.citrus import OtpRecord, User

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS otps (
  email TEXT PRIMARY KEY, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rate_limits (
  key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL
);
"""


def _user(row: sqlite3.Row) -> User:
    return User.model_validate(dict(row))


class SQLiteAccounts(Accounts):
    def __init__(self, path: Path) -> None:
        self.db = SQLiteDB(path, SCHEMA)

    def create_user(self, user: User) -> User:
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO users (id, email, name, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (email) DO NOTHING",
                (user.id, user.email, user.name, user.created_at),
            )
            row = conn.execute("SELECT * FROM users WHERE email = ?", (user.email,)).fetchone()
        return _user(row)

    def user_by_email(self, email: str) -> User | None:
        rows = self.db.query("SELECT * FROM users WHERE email = ?", (email,))
        return _user(rows[0]) if rows else None

    def user_by_id(self, user_id: str) -> User | None:
        rows = self.db.query("SELECT * FROM users WHERE id = ?", (user_id,))
        return _user(rows[0]) if rows else None

    def delete_user(self, user_id: str) -> bool:
        with self.db.write() as conn:
            return conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount > 0

    def _otp(self, conn: sqlite3.Connection, email: str) -> OtpRecord | None:
        row = conn.execute("SELECT doc FROM otps WHERE email = ?", (email,)).fetchone()
        return OtpRecord.model_validate_json(row["doc"]) if row else None

    def put_otp(self, record: OtpRecord, *, min_interval_s: float) -> float | None:
        with self.db.write() as conn:
            pending = self._otp(conn, record.email)
            if pending is not None:
                wait = pending.created_at + min_interval_s - record.created_at
                if wait > 0:
                    return wait
            conn.execute(
                "INSERT OR REPLACE INTO otps (email, doc) VALUES (?, ?)",
                (record.email, record.model_dump_json()),
            )
        return None

    def drop_otp(self, email: str, created_at: float) -> None:
        with self.db.write() as conn:
            pending = self._otp(conn, email)
            if pending is not None and pending.created_at == created_at:
                conn.execute("DELETE FROM otps WHERE email = ?", (email,))

    def consume_otp(
        self, email: str, matches: Callable[[OtpRecord], bool], *, now: float, max_attempts: int
    ) -> OtpCheck:
        with self.db.write() as conn:
            record = self._otp(conn, email)
            outcome = judge_otp(record, matches, now, max_attempts)
            if outcome == "wrong" and record is not None:
                record.attempts += 1
                conn.execute(
                    "UPDATE otps SET doc = ? WHERE email = ?", (record.model_dump_json(), email)
                )
            elif outcome != "missing":
                conn.execute("DELETE FROM otps WHERE email = ?", (email,))
        return outcome

    def hit(self, key: str, *, window_s: int, now: float) -> Hit:
        start, end = window_of(now, window_s)
        with self.db.write() as conn:
            row = conn.execute(
                "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
                "ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END, "
                "window_start = excluded.window_start "
                "RETURNING count",
                (key, start),
            ).fetchone()
        return Hit(int(row["count"]), end)

    def ping(self) -> None:
        self.db.query("SELECT 1")

    def close(self) -> None:
        self.db.close()
