"""A DuckDB connection locked to one folder, and a watchdog that stops its queries on time.

DuckDB's own settings do the confining: ``allowed_directories`` names the only folder
SQL may read, ``enable_external_access=false`` closes everything else (other paths,
URLs, attaching databases), extensions are neither installed nor auto-loaded, secrets
are not persisted, and no temporary directory is set (DuckDB adds its temporary
directory to the readable ones, so a spill folder would be readable through SQL; a
query needing more than ``memory_limit`` fails instead of spilling). The configuration
is then locked, so no statement can change it.
"""

from __future__ import annotations

import threading

import duckdb

#: Seconds between repeated interrupts while a stopped query is still winding down.
_REPEAT_S = 0.05


def locked_connection(path: str, root: str, *, memory_limit: str, threads: int) -> duckdb.DuckDBPyConnection:
    """Open ``path`` (``":memory:"`` or a file) so SQL can read files under ``root`` only.

    Raises:
        duckdb.Error: a setting was refused (e.g. a malformed ``memory_limit``).
    """
    config: dict[str, str | bool | int | float | list[str]] = {
        "temp_directory": "",  # no spill folder: it would be readable through SQL
        "memory_limit": memory_limit,
        "threads": threads,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "allow_unsigned_extensions": False,
        "allow_persistent_secrets": False,
    }
    db = duckdb.connect(path, config=config)
    quoted = root.rstrip("/").replace("'", "''") + "/"
    try:
        for statement in (
            # allowed_directories can only be set once the database runs, and before external access closes.
            f"SET allowed_directories = ['{quoted}']",
            "SET enable_external_access = false",
            "SET GLOBAL TimeZone = 'UTC'",  # results read the same on every machine (cursors too)
            "SET lock_configuration = true",
        ):
            db.execute(statement)
    except BaseException:
        db.close()
        raise
    return db


class QueryWatch:
    """Interrupts one connection's work when its time is up or its caller gives up.

    The interrupt repeats until the work reports it ended, so a statement that had not
    started yet when the first interrupt came is stopped too. The work claims its start
    (`begin`): cancelled before that, it never starts, and `done` is set at once.

    Args:
        connection: the connection (a cursor) the work runs on.
        limit_s: seconds the work may take.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, limit_s: float) -> None:
        self._connection = connection
        self._limit_s = limit_s
        self._wake = threading.Event()
        self.done = threading.Event()
        self.timed_out = False
        self._claim = threading.Lock()
        self._started = self._cancelled = False
        threading.Thread(target=self._watch, name="agentkit-duckdb-watch", daemon=True).start()

    def begin(self) -> bool:
        """Claim the start of the work: ``False`` when it was cancelled first (then skip it)."""
        with self._claim:
            self._started = not self._cancelled
            return self._started

    def cancel(self) -> bool:
        """Stop the work now (its caller was cancelled); ``True`` when it had started (wait for `done`)."""
        with self._claim:
            self._cancelled = True
            started = self._started
        if not started:  # it never will: nothing to wait for
            self.done.set()
        self._wake.set()
        return started

    def finish(self) -> None:
        """Record that the work ended (the watchdog thread then ends too)."""
        self.done.set()
        self._wake.set()

    def _watch(self) -> None:
        if not self._wake.wait(self._limit_s):
            self.timed_out = True
        while not self.done.is_set():
            self._connection.interrupt()
            self.done.wait(_REPEAT_S)
