r"""Data tools: load CSV/Parquet into DuckDB, describe tables, run read-only SQL, draw charts.

Everything is confined to a [`Workspace`][agentkit_tools.workspace.Workspace]: files are
named relative to it, and DuckDB itself is configured so that SQL cannot read or
write files anywhere else (``allowed_directories`` + ``enable_external_access=false``,
no temporary directory, locked) nor install or load extensions. Only ``SELECT``
statements run through ``run_sql``; results are capped (the model gets the first
rows, the total count and column statistics of the whole result). Each call's SQL
has a time limit, and DuckDB has a memory limit and a thread count.

>>> import anyio, pathlib, tempfile
>>> ws = Workspace(tempfile.mkdtemp())
>>> _ = (ws.root / "t.csv").write_text("city,temp\nOslo,4\nLisbon,19\n")
>>> data = DataWorkspace(ws)
>>> data.load_table("t.csv", "weather")["rows"]
2
>>> data.run_sql("SELECT city FROM weather ORDER BY temp DESC")["rows"]
[['Lisbon'], ['Oslo']]
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
import duckdb
from pydantic import Field

from agentkit import Tool, tool
from agentkit_tools._charts import MAX_POINTS, ChartKind, draw_chart
from agentkit_tools._duckdb import QueryWatch, locked_connection
from agentkit_tools.workspace import Workspace, WorkspaceError

__all__ = ["ChartKind", "DataWorkspace", "data_tools"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_READERS = {".csv": "read_csv", ".tsv": "read_csv", ".gz": "read_csv", ".parquet": "read_parquet"}
_MAX_CELL_CHARS = 200

Cursor = duckdb.DuckDBPyConnection
T = TypeVar("T")
_Rows = tuple[list[str], list[tuple[Any, ...]]]


class DataWorkspace:
    """A DuckDB database whose SQL can only see files inside ``workspace``, within time and memory limits.

    Every query runs under a watchdog: past ``query_timeout_s`` DuckDB is interrupted and
    the caller gets a [`WorkspaceError`][agentkit_tools.workspace.WorkspaceError]. The tools of
    `data_tools` also interrupt the query when their call is cancelled (a run's
    ``timeout_s``, a cancelled task), and return only once DuckDB has stopped.

    Args:
        workspace: the folder data files are loaded from and charts are written to.
        database: a database file relative to the workspace, or ``None`` for in-memory.
        max_rows: most result rows handed back by `run_sql`.
        query_timeout_s: seconds one tool call's SQL may run before it is interrupted.
        memory_limit: DuckDB's ``memory_limit`` (e.g. ``"1GB"``); a query needing more fails.
        threads: DuckDB worker threads (CPU cores a query may keep busy).
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        database: str | None = None,
        max_rows: int = 50,
        query_timeout_s: float = 30.0,
        memory_limit: str = "1GB",
        threads: int = 2,
    ) -> None:
        self.workspace = workspace
        self.max_rows = max_rows
        self.query_timeout_s = query_timeout_s
        path = ":memory:" if database is None else str(workspace.resolve(database))
        self._db = locked_connection(path, str(workspace.root), memory_limit=memory_limit, threads=threads)
        self._lock = threading.Lock()
        self._active = 0

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @property
    def active_queries(self) -> int:
        """How many calls are running SQL at this moment (0 once every call has returned or stopped)."""
        with self._lock:
            return self._active

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        # One cursor per call: cursors may be used from different threads at once.
        with self._lock:
            return self._db.cursor()

    def _watched(self, cur: duckdb.DuckDBPyConnection, watch: QueryWatch, work: Callable[[Cursor], T]) -> T:
        if not watch.begin():  # the caller gave up before this thread took the work
            raise WorkspaceError("the call was cancelled before its query started")
        with self._lock:
            self._active += 1
        try:
            return work(cur)
        except duckdb.Error as err:
            if watch.timed_out:
                raise WorkspaceError(
                    f"the query ran longer than {self.query_timeout_s:g} s and was stopped; "
                    "narrow it (filters, LIMIT, fewer joins)"
                ) from None
            raise WorkspaceError(f"SQL error: {err}") from None
        finally:
            with self._lock:
                self._active -= 1
            watch.finish()

    def call(self, work: Callable[[Cursor], T]) -> T:
        """Run ``work`` on a fresh cursor under the time limit; DuckDB errors become ``WorkspaceError``."""
        with self._cursor() as cur:
            return self._watched(cur, QueryWatch(cur, self.query_timeout_s), work)

    async def call_async(self, work: Callable[[Cursor], T]) -> T:
        """`call` in a worker thread; cancelling it interrupts DuckDB and waits until it stopped."""
        with self._cursor() as cur:
            watch = QueryWatch(cur, self.query_timeout_s)
            try:
                return await anyio.to_thread.run_sync(self._watched, cur, watch, work, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                if watch.cancel():  # the query runs: it is being interrupted, wait until it stopped
                    with anyio.CancelScope(shield=True):
                        await anyio.to_thread.run_sync(watch.done.wait)
                raise

    def load_table(self, path: str, table: str) -> dict[str, Any]:
        """Create (or replace) ``table`` from a CSV/TSV(.gz) or Parquet file in the workspace.

        In CSV files, empty fields, ``NA`` (as R writes them) and ``NULL`` are read as nulls.
        """
        return self.call(self._load_work(path, table))

    def _load_work(self, path: str, table: str) -> Callable[[Cursor], dict[str, Any]]:
        if not _TABLE_NAME.match(table):
            raise WorkspaceError(f"table name {table!r}: use letters, digits and _ (not first a digit)")
        source = self.workspace.resolve(path)
        reader = _READERS.get(source.suffix.lower())
        if reader is None:
            raise WorkspaceError(f"{path!r}: not a .csv, .tsv, .csv.gz or .parquet file in the workspace")
        # DuckDB opens the file by path itself; this open refuses symlinks, FIFOs (a read DuckDB could
        # not be interrupted in) and devices first. A swap after this check is DuckDB's to catch.
        with self.workspace.open(path, "rb"):
            pass

        def work(cur: Cursor) -> dict[str, Any]:
            # The table name matched _TABLE_NAME and the reader is ours: nothing model-given is spliced.
            options = ", nullstr = ['', 'NA', 'NULL']" if reader == "read_csv" else ""  # R's NA too
            create = f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM {reader}(?{options})'  # noqa: S608
            cur.execute(create, [str(source)])
            rows = _scalar(cur, f'SELECT count(*) FROM "{table}"')  # noqa: S608 - name checked
            columns = cur.execute(f'DESCRIBE "{table}"').fetchall()
            return {"table": table, "rows": rows, "columns": {str(c[0]): str(c[1]) for c in columns}}

        return work

    def describe_table(self, table: str) -> dict[str, Any]:
        """Columns, types and statistics (min, max, mean, distinct count, nulls) of a table."""
        return self.call(self._describe_work(table))

    def _describe_work(self, table: str) -> Callable[[Cursor], dict[str, Any]]:
        if not _TABLE_NAME.match(table):
            raise WorkspaceError(f"no table {table!r}")

        def work(cur: Cursor) -> dict[str, Any]:
            try:
                rows = _scalar(cur, f'SELECT count(*) FROM "{table}"')  # noqa: S608 - name checked
            except duckdb.CatalogException:
                names = [r[0] for r in cur.execute("SHOW TABLES").fetchall()]
                raise WorkspaceError(f"no table {table!r}; tables: {names}") from None
            stats = _summarize(cur, f'SELECT * FROM "{table}"')  # noqa: S608 - name checked
            return {"table": table, "rows": rows, "columns": stats}

        return work

    def run_sql(self, sql: str) -> dict[str, Any]:
        """Run one read-only query; return the first rows, the row count and (if cut) statistics."""
        return self.call(self._sql_work(sql))

    def _sql_work(self, sql: str) -> Callable[[Cursor], dict[str, Any]]:
        query = _single_select(self._db, sql)

        def work(cur: Cursor) -> dict[str, Any]:
            result = cur.execute(query)
            columns = [d[0] for d in result.description or ()]
            head = result.fetchmany(self.max_rows + 1)
            truncated = len(head) > self.max_rows
            # ``query`` is one SELECT (checked by DuckDB's parser); wrapping it adds no power.
            counting = f"SELECT count(*) FROM ({query})"  # noqa: S608
            out: dict[str, Any] = {
                "columns": columns,
                "rows": [[_cell(v) for v in row] for row in head[: self.max_rows]],
                "row_count": _scalar(cur, counting) if truncated else len(head),
                "truncated": truncated,
            }
            if truncated:
                out["summary"] = _summarize(cur, query)
            return out

        return work

    def fetch(self, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only query; return its columns and at most ``limit`` rows (for charts)."""
        return self.call(self._fetch_work(sql, limit))

    def _fetch_work(self, sql: str, limit: int) -> Callable[[Cursor], _Rows]:
        query = _single_select(self._db, sql)

        def work(cur: Cursor) -> _Rows:
            result = cur.execute(query)
            return [d[0] for d in result.description or ()], result.fetchmany(limit)

        return work


def _single_select(db: duckdb.DuckDBPyConnection, sql: str) -> str:
    try:
        statements = db.extract_statements(sql)
    except duckdb.Error as err:
        raise WorkspaceError(f"SQL error: {err}") from None
    if len(statements) != 1:
        raise WorkspaceError(f"send exactly one statement, not {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise WorkspaceError(f"only SELECT queries may run here, not {statements[0].type.name}")
    return sql.strip().rstrip(";")


def _scalar(cur: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = cur.execute(sql).fetchone()
    return int(row[0]) if row else 0


_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "UBIGINT")


def _summarize(cur: duckdb.DuckDBPyConnection, query: str) -> list[dict[str, Any]]:
    """Per-column statistics of a query's result, in one pass (cheaper than SUMMARIZE's quantiles).

    min, max, approximate distinct count, mean (numeric columns) and the share of nulls;
    numbers are rounded so results read (and replay) stably.
    """
    columns = [(str(r[0]), str(r[1])) for r in cur.execute(f"DESCRIBE {query}").fetchall()]
    parts = []
    for name, kind in columns:
        col = '"' + name.replace('"', '""') + '"'
        mean = f"avg({col})" if kind.startswith(_NUMERIC) else "NULL"
        parts.append(
            f"min({col})::VARCHAR, max({col})::VARCHAR, approx_count_distinct({col}), {mean}, "
            f"round(100.0 * count(*) FILTER (WHERE {col} IS NULL) / greatest(count(*), 1), 2)"
        )
    row = cur.execute(f"SELECT {', '.join(parts)} FROM ({query})").fetchone() or ()  # noqa: S608 - see run_sql
    keys = ("min", "max", "approx_unique", "avg", "null_percentage")
    return [
        {
            "column_name": name,
            "column_type": kind,
            **{k: _cell(v) for k, v in zip(keys, row[5 * i : 5 * i + 5], strict=True)},
        }
        for i, (name, kind) in enumerate(columns)
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, (int, bool)) or value is None:
        return value
    text = str(value)
    return text if len(text) <= _MAX_CELL_CHARS else text[:_MAX_CELL_CHARS] + "..."


def data_tools(data: DataWorkspace, *, chart_folder: str = "charts") -> list[Tool]:
    """Build ``load_table``, ``describe_table``, ``run_sql`` and ``make_chart`` over ``data``.

    Args:
        data: the database and its workspace.
        chart_folder: workspace folder the PNG charts are written to.
    """

    @tool
    async def load_table(path: str, table: str) -> dict[str, Any]:
        """Load a CSV/TSV(.gz) or Parquet file from the workspace into a table (replacing it).

        Args:
            path: Data file path relative to the workspace.
            table: Name of the table to create.
        """
        return await data.call_async(data._load_work(path, table))

    @tool
    async def describe_table(table: str) -> dict[str, Any]:
        """Row count, columns, types and per-column statistics of a table.

        Args:
            table: The table name.
        """
        return await data.call_async(data._describe_work(table))

    @tool
    async def run_sql(sql: str) -> dict[str, Any]:
        """Run one read-only DuckDB SELECT; long results are cut and summarised.

        Args:
            sql: A single SELECT statement (DuckDB dialect).
        """
        return await data.call_async(data._sql_work(sql))

    @tool
    async def make_chart(  # noqa: PLR0917 - the model passes arguments by name
        sql: str,
        kind: ChartKind,
        x: str,
        y: Annotated[list[str], Field(min_length=1, max_length=6)],
        title: str,
        filename: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,60}$")],
        xlabel: str | None = None,
        ylabel: str | None = None,
        labels: list[str] | None = None,
    ) -> dict[str, Any]:
        """Draw a chart of a SELECT's result and save it as a PNG in the workspace.

        Args:
            sql: A single SELECT returning the x column and the y columns.
            kind: bar, barh, line, scatter or area.
            x: Column for the x axis (categories for bar charts).
            y: One or more numeric columns to plot as series.
            title: Chart title.
            filename: File name without extension (letters, digits, - and _).
            xlabel: X axis label (defaults to the column name; "" for none).
            ylabel: Y axis label.
            labels: Legend names of the y series, in order (default: the column names).
        """
        # One row past the cap is enough to refuse a result that is too long: the rest is never fetched.
        columns, rows = await data.call_async(data._fetch_work(sql, MAX_POINTS + 1))
        relative = f"{chart_folder}/{filename}.png"

        def save() -> None:
            chart = io.BytesIO()  # drawn first: a refused chart leaves no file behind
            draw_chart(
                columns,
                rows,
                chart,
                kind=kind,
                x=x,
                y=y,
                title=title,
                xlabel=xlabel,
                ylabel=ylabel,
                labels=labels,
            )
            with data.workspace.open(relative, "wb", make_parents=True) as out:
                out.write(chart.getvalue())

        await anyio.to_thread.run_sync(save)  # drawing takes CPU time: off the event loop
        return {"path": "/".join(data.workspace.parts(relative)), "points": len(rows), "series": list(y)}

    return [load_table, describe_table, run_sql, make_chart]
