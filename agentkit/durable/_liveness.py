"""Which executor ids are live: a lock each worker holds for as long as it runs.

Two processes under one executor id would both recover (and run) the same
pending runs, so a worker takes its executor id's lock before DBOS launches
and holds it until it exits; a second process asking for the same id is
refused (or waits, when asked to). The lock dies with its process, whatever
kills it:

- PostgreSQL: a session advisory lock in the system database, held on a
  connection of its own (the server drops it when the connection closes).
- SQLite: an ``flock`` on a file beside the database (the kernel drops it when
  the process's descriptor closes).

The same lock tells a live executor from a dead one: whoever can take it,
briefly, knows no process runs under that id (`executor_is_live`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any, Protocol

from agentkit.exceptions import UserError

__all__ = ["ExecutorLive", "ExecutorLock", "executor_is_live", "is_postgres", "libpq_url", "sqlite_path"]

#: Seconds to wait for a system database another worker is creating.
_CREATE_WAIT_S = 60.0
#: Namespace of agentkit's advisory lock keys (two int4 keys: this, then a hash of the id).
_PG_CLASS = 0x616B  # "ak"


class ExecutorLive(UserError):
    """Another live process already runs under this executor id."""


def is_postgres(database_url: str) -> bool:
    """Whether ``database_url`` names a PostgreSQL system database."""
    return database_url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def libpq_url(database_url: str) -> str:
    """``database_url`` without a SQLAlchemy driver suffix (``postgresql+psycopg://`` -> ``postgresql://``)."""
    scheme, sep, rest = database_url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def sqlite_path(database_url: str) -> Path | None:
    """The file of a ``sqlite:///path`` URL (``None`` for other URLs and in-memory databases)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return None
    path = database_url[len(prefix) :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def _key(executor_id: str) -> int:
    """A signed int4 from the executor id (collisions only make two ids share one lock)."""
    return int.from_bytes(hashlib.sha256(executor_id.encode()).digest()[:4], "big", signed=True)


class _Held(Protocol):
    def try_take(self) -> bool: ...
    def check(self) -> bool: ...
    def release(self) -> None: ...


def _pg_connect(database_url: str, *, create: bool) -> Any:
    """A connection to the system database; with ``create``, the database is created if missing."""
    import psycopg  # noqa: PLC0415 - a DBOS dependency, needed only for PostgreSQL
    from psycopg import sql  # noqa: PLC0415

    url = libpq_url(database_url)
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.OperationalError as err:
        if not create or "does not exist" not in str(err):
            raise
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info.get("dbname"))
    admin_url = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    # Workers started together race to create it: the losers' CREATE fails (duplicate, or
    # template1 busy with the winner's copy); each then waits until the database is there.
    with psycopg.connect(admin_url, autocommit=True) as admin, contextlib.suppress(psycopg.Error):
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    deadline = time.monotonic() + _CREATE_WAIT_S
    while True:
        try:
            return psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class _PgLock:
    def __init__(self, database_url: str, executor_id: str, *, create: bool) -> None:
        self._conn: Any = _pg_connect(database_url, create=create)
        self._key = _key(executor_id)

    def try_take(self) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_PG_CLASS, self._key)).fetchone()
        return bool(row and row[0])

    def check(self) -> bool:
        try:
            self._conn.execute("SELECT 1")
        except Exception:  # the connection, and with it the lock, is gone
            return False
        return True

    def release(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()  # closing the session drops its advisory locks


class _NoLock:
    """An in-memory database lives in one process: there is no other process to keep out."""

    def try_take(self) -> bool:
        return True

    def check(self) -> bool:
        return True

    def release(self) -> None:
        pass


class _FileLock:
    def __init__(self, path: Path, executor_id: str) -> None:
        digest = hashlib.sha256(executor_id.encode()).hexdigest()[:16]
        lock_dir = path.with_name(path.name + ".executors")
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(lock_dir / f"{digest}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def try_take(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def check(self) -> bool:
        return True

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _open(database_url: str, executor_id: str, *, create: bool = False) -> _Held:
    if is_postgres(database_url):
        return _PgLock(database_url, executor_id, create=create)
    path = sqlite_path(database_url)
    return _NoLock() if path is None else _FileLock(path, executor_id)


class ExecutorLock:
    """The lock that makes ``executor_id`` live in this process until `release`.

    Example::

        lock = ExecutorLock("sqlite:///runs.sqlite", "worker-0")
        lock.acquire()  # raises ExecutorLive if another process holds it
        ...
        lock.release()
    """

    def __init__(self, database_url: str, executor_id: str) -> None:
        self.database_url = database_url
        self.executor_id = executor_id
        self._held: _Held | None = None

    def acquire(self, *, wait_s: float = 0.0, on_wait: Any = None) -> None:
        """Take the lock, waiting up to ``wait_s`` for another process to let go of it.

        ``on_wait`` is called once, with no argument, when the lock is busy and we wait.
        A PostgreSQL system database that does not exist yet is created (as DBOS would).

        Raises:
            ExecutorLive: another process still holds it after ``wait_s``.
        """
        held = _open(self.database_url, self.executor_id, create=True)
        deadline = time.monotonic() + wait_s
        told = False
        while not held.try_take():
            if time.monotonic() >= deadline:
                held.release()
                raise ExecutorLive(
                    f"executor id {self.executor_id!r} is live: another worker process runs under it "
                    "(give this worker another --executor-id, or stop that one first)"
                )
            if not told and on_wait is not None:
                on_wait()
                told = True
            time.sleep(0.2)
        self._held = held

    def check(self) -> bool:
        """Whether the lock is still held (``False`` once its PostgreSQL connection is lost)."""
        return self._held is not None and self._held.check()

    def release(self) -> None:
        """Let go of the lock (also done by the process's death)."""
        if self._held is not None:
            self._held.release()
            self._held = None


def executor_is_live(database_url: str, executor_id: str) -> bool:
    """Whether a process holds ``executor_id``'s lock right now (checked by taking it briefly)."""
    held = _open(database_url, executor_id)
    try:
        return not held.try_take()
    finally:
        held.release()
