r"""Data tools: load CSV/Parquet into DuckDB, describe tables, run read-only SQL, draw charts.

Everything is confined to a :class:`~agentkit_tools.workspace.Workspace`: files are
named relative to it, and DuckDB itself is configured so that SQL cannot read or
write files anywhere else (``allowed_directories`` + ``enable_external_access=false``,
locked) nor install extensions. Only ``SELECT`` statements run through
``run_sql``; results are capped (the model gets the first rows, the total count and
column statistics of the whole result).

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

import re
import threading
from typing import Annotated, Any

import duckdb
from pydantic import Field

from agentkit import Tool, tool
from agentkit_tools._charts import ChartKind, draw_chart
from agentkit_tools.workspace import Workspace, WorkspaceError

__all__ = ["ChartKind", "DataWorkspace", "data_tools"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_READERS = {".csv": "read_csv", ".tsv": "read_csv", ".gz": "read_csv", ".parquet": "read_parquet"}
_MAX_CELL_CHARS = 200


class DataWorkspace:
    """A DuckDB database whose SQL can only see files inside ``workspace``.

    Args:
        workspace: the folder data files are loaded from and charts are written to.
        database: a database file relative to the workspace, or ``None`` for in-memory.
        max_rows: most result rows handed back by :meth:`run_sql`.
    """

    def __init__(self, workspace: Workspace, *, database: str | None = None, max_rows: int = 50) -> None:
        self.workspace = workspace
        self.max_rows = max_rows
        path = ":memory:" if database is None else str(workspace.resolve(database))
        self._db = duckdb.connect(path)
        root = str(workspace.root).replace("'", "''")
        for statement in (
            f"SET allowed_directories = ['{root}/']",
            "SET enable_external_access = false",
            "SET autoinstall_known_extensions = false",
            "SET GLOBAL TimeZone = 'UTC'",  # results read the same on every machine (cursors too)
            "SET lock_configuration = true",
        ):
            self._db.execute(statement)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        # One cursor per call: cursors may be used from different threads at once.
        with self._lock:
            return self._db.cursor()

    def load_table(self, path: str, table: str) -> dict[str, Any]:
        """Create (or replace) ``table`` from a CSV/TSV(.gz) or Parquet file in the workspace.

        In CSV files, empty fields, ``NA`` (as R writes them) and ``NULL`` are read as nulls.
        """
        if not _TABLE_NAME.match(table):
            raise WorkspaceError(f"table name {table!r}: use letters, digits and _ (not first a digit)")
        source = self.workspace.resolve(path)
        reader = _READERS.get(source.suffix.lower())
        if reader is None or not source.is_file():
            raise WorkspaceError(f"{path!r}: not a .csv, .tsv, .csv.gz or .parquet file in the workspace")
        with self._cursor() as cur:
            # The table name matched _TABLE_NAME and the reader is ours: nothing model-given is spliced.
            options = ", nullstr = ['', 'NA', 'NULL']" if reader == "read_csv" else ""  # R's NA too
            create = f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM {reader}(?{options})'  # noqa: S608
            cur.execute(create, [str(source)])
            rows = _scalar(cur, f'SELECT count(*) FROM "{table}"')  # noqa: S608 - name checked
            columns = cur.execute(f'DESCRIBE "{table}"').fetchall()
        return {"table": table, "rows": rows, "columns": {str(c[0]): str(c[1]) for c in columns}}

    def describe_table(self, table: str) -> dict[str, Any]:
        """Columns, types and statistics (min, max, mean, distinct count, nulls) of a table."""
        if not _TABLE_NAME.match(table):
            raise WorkspaceError(f"no table {table!r}")
        with self._cursor() as cur:
            try:
                rows = _scalar(cur, f'SELECT count(*) FROM "{table}"')  # noqa: S608 - name checked
            except duckdb.CatalogException:
                names = [r[0] for r in cur.execute("SHOW TABLES").fetchall()]
                raise WorkspaceError(f"no table {table!r}; tables: {names}") from None
            stats = _summarize(cur, f'SELECT * FROM "{table}"')  # noqa: S608 - name checked
        return {"table": table, "rows": rows, "columns": stats}

    def run_sql(self, sql: str) -> dict[str, Any]:
        """Run one read-only query; return the first rows, the row count and (if cut) statistics."""
        query = _single_select(self._db, sql)
        with self._cursor() as cur:
            try:
                result = cur.execute(query)
                columns = [d[0] for d in result.description or ()]
                head = result.fetchmany(self.max_rows + 1)
                truncated = len(head) > self.max_rows
                # ``query`` is one SELECT (checked by DuckDB's parser); wrapping it adds no power.
                counting = f"SELECT count(*) FROM ({query})"  # noqa: S608
                total = _scalar(cur, counting) if truncated else len(head)
                out: dict[str, Any] = {
                    "columns": columns,
                    "rows": [[_cell(v) for v in row] for row in head[: self.max_rows]],
                    "row_count": total,
                    "truncated": truncated,
                }
                if truncated:
                    out["summary"] = _summarize(cur, query)
            except duckdb.Error as err:
                raise WorkspaceError(f"SQL error: {err}") from None
        return out

    def fetch(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read-only query and return all its columns and rows (for charts)."""
        query = _single_select(self._db, sql)
        with self._cursor() as cur:
            try:
                result = cur.execute(query)
                return [d[0] for d in result.description or ()], result.fetchall()
            except duckdb.Error as err:
                raise WorkspaceError(f"SQL error: {err}") from None


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
    def load_table(path: str, table: str) -> dict[str, Any]:
        """Load a CSV/TSV(.gz) or Parquet file from the workspace into a table (replacing it).

        Args:
            path: Data file path relative to the workspace.
            table: Name of the table to create.
        """
        return data.load_table(path, table)

    @tool
    def describe_table(table: str) -> dict[str, Any]:
        """Row count, columns, types and per-column statistics of a table.

        Args:
            table: The table name.
        """
        return data.describe_table(table)

    @tool
    def run_sql(sql: str) -> dict[str, Any]:
        """Run one read-only DuckDB SELECT; long results are cut and summarised.

        Args:
            sql: A single SELECT statement (DuckDB dialect).
        """
        return data.run_sql(sql)

    @tool
    def make_chart(  # noqa: PLR0917 - the model passes arguments by name
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
        columns, rows = data.fetch(sql)
        target = data.workspace.resolve(f"{chart_folder}/{filename}.png")
        draw_chart(
            columns,
            rows,
            target,
            kind=kind,
            x=x,
            y=y,
            title=title,
            xlabel=xlabel,
            ylabel=ylabel,
            labels=labels,
        )
        return {"path": data.workspace.relative(target), "points": len(rows), "series": list(y)}

    return [load_table, describe_table, run_sql, make_chart]
