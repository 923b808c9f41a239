"""Data tools: DuckDB loading, read-only SQL, capped results, charts, all inside the workspace."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import anyio
import anyio.to_thread
import duckdb
import pytest
from agentkit_tools import DataWorkspace, Workspace, WorkspaceError, data_tools

from agentkit import Agent
from agentkit.exceptions import UsageLimitExceeded
from agentkit.models.function import ScriptedModel
from tests.builders import calls

pytestmark = pytest.mark.anyio

_CSV = "city,country,temp,rain\n" + "".join(
    f"C{i},{'PT' if i % 2 else 'NO'},{i % 30},{i * 0.5}\n" for i in range(200)
)


@pytest.fixture
def data(tmp_path: Path) -> DataWorkspace:
    """A data workspace holding a 200-row CSV file loaded as table `cities`."""
    workspace = Workspace(tmp_path / "ws")
    (workspace.root / "cities.csv").write_text(_CSV)
    data = DataWorkspace(workspace, max_rows=5)
    data.load_table("cities.csv", "cities")
    return data


def test_load_reports_rows_and_column_types(data: DataWorkspace, tmp_path: Path) -> None:
    """Loading a CSV creates the table and reports its row count and DuckDB column types."""
    loaded = data.load_table("cities.csv", "again")
    assert loaded["rows"] == 200
    assert loaded["columns"] == {"city": "VARCHAR", "country": "VARCHAR", "temp": "BIGINT", "rain": "DOUBLE"}


def test_parquet_round_trip(data: DataWorkspace) -> None:
    """A Parquet file in the workspace loads like a CSV file."""
    target = data.workspace.root / "c.parquet"
    source = data.workspace.root / "cities.csv"
    with duckdb.connect() as setup:  # a separate database writes the file: the tools cannot COPY
        copy = f"COPY (SELECT * FROM read_csv('{source}')) TO '{target}' (FORMAT parquet)"  # noqa: S608 - test paths
        setup.execute(copy)
    assert data.load_table("c.parquet", "from_parquet")["rows"] == 200


def test_results_are_capped_counted_and_summarised(data: DataWorkspace) -> None:
    """A long result gives max_rows rows, the true row count, and statistics of the whole result."""
    out = data.run_sql("SELECT city, temp FROM cities ORDER BY city")
    assert len(out["rows"]) == 5
    assert out["row_count"] == 200
    assert out["truncated"] is True
    temp = next(s for s in out["summary"] if s["column_name"] == "temp")
    assert (temp["min"], temp["max"]) == ("0", "29")


def test_short_results_are_whole(data: DataWorkspace) -> None:
    """A result within the cap is returned whole, without a summary."""
    out = data.run_sql("SELECT country, count(*) AS n FROM cities GROUP BY country ORDER BY country")
    assert out == {
        "columns": ["country", "n"],
        "rows": [["NO", 100], ["PT", 100]],
        "row_count": 2,
        "truncated": False,
    }


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("DELETE FROM cities", "only SELECT"),
        ("CREATE TABLE x AS SELECT 1", "only SELECT"),
        ("COPY cities TO 'out.csv'", "only SELECT"),
        ("SELECT 1; DROP TABLE cities", "exactly one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "SQL error"),
        ("SELEC 1", "SQL error"),
    ],
)
def test_only_single_selects_inside_the_workspace_run(data: DataWorkspace, sql: str, problem: str) -> None:
    """Writes, several statements, and files outside the workspace are refused with a readable reason."""
    with pytest.raises(WorkspaceError, match=problem):
        data.run_sql(sql)
    assert data.run_sql("SELECT count(*) AS n FROM cities")["rows"] == [[200]]


def test_sql_settings_cannot_be_unlocked(data: DataWorkspace) -> None:
    """The file-access configuration is locked: a SET through the query path is refused."""
    with pytest.raises(WorkspaceError):
        data.run_sql("SET enable_external_access = true")


def test_describe_lists_columns_and_unknown_tables(data: DataWorkspace) -> None:
    """describe_table gives per-column statistics; an unknown table names the existing ones."""
    described = data.describe_table("cities")
    assert described["rows"] == 200
    assert [c["column_name"] for c in described["columns"]] == ["city", "country", "temp", "rain"]
    with pytest.raises(WorkspaceError, match="cities"):
        data.describe_table("nope")


async def test_chart_is_a_png_in_the_workspace(data: DataWorkspace) -> None:
    """make_chart writes a real PNG file under charts/ and reports its relative path."""
    tools = {t.name: t for t in data_tools(data)}
    sql = "SELECT country, avg(temp) AS avg_temp, avg(rain) AS avg_rain FROM cities GROUP BY 1 ORDER BY 1"
    args = {
        "sql": sql,
        "kind": "bar",
        "x": "country",
        "y": ["avg_temp", "avg_rain"],
        "title": "T",
        "filename": "c1",
    }
    out = json.loads(await tools["make_chart"].call(json.dumps(args)))
    assert out == {"path": "charts/c1.png", "points": 2, "series": ["avg_temp", "avg_rain"]}
    assert (data.workspace.root / "charts/c1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_chart_of_a_text_column_is_refused(data: DataWorkspace) -> None:
    """A non-numeric y column is a tool error, and no file is written."""
    tools = {t.name: t for t in data_tools(data)}
    args = {"sql": "SELECT city, country FROM cities LIMIT 3", "kind": "line", "x": "city", "y": ["country"]}
    with pytest.raises(WorkspaceError, match="not numeric"):
        await tools["make_chart"].call(json.dumps({**args, "title": "T", "filename": "bad"}))
    assert not (data.workspace.root / "charts/bad.png").exists()


async def test_parallel_queries_through_an_agent(data: DataWorkspace) -> None:
    """Several run_sql calls of one turn all run (concurrently, on separate cursors) and answer in order."""
    # Constant thresholds, not outside input:
    queries = [f"SELECT count(*) AS n FROM cities WHERE temp >= {t}" for t in (0, 10, 20, 29)]  # noqa: S608
    model = ScriptedModel([calls(*[("run_sql", {"sql": q}) for q in queries]), "done"])
    result = await Agent(model, tools=data_tools(data)).run("count")
    answers = [json.loads(str(m.content))["rows"][0][0] for m in result.messages if m.role == "tool"]
    assert answers == [200, 130, 60, 6]


_ENDLESS = "SELECT sum(a.range * b.range) AS s FROM range(1000000) a, range(1000000) b"  # 1e12 rows


def test_a_query_past_its_time_limit_is_stopped(tmp_path: Path) -> None:
    """SQL running longer than query_timeout_s is interrupted and reported as a time-limit tool error."""
    data = DataWorkspace(Workspace(tmp_path), query_timeout_s=0.2, threads=1)
    with pytest.raises(WorkspaceError, match=r"longer than 0\.2 s and was stopped"):
        data.run_sql(_ENDLESS)
    assert data.active_queries == 0
    assert data.run_sql("SELECT 1 AS one")["rows"] == [[1]]


async def test_a_run_timeout_interrupts_the_query(tmp_path: Path) -> None:
    """When a run's timeout_s ends a run_sql call, DuckDB is interrupted before the run returns."""
    data = DataWorkspace(Workspace(tmp_path), query_timeout_s=3600, threads=1)
    model = ScriptedModel([calls(("run_sql", {"sql": _ENDLESS})), "done"])
    with pytest.raises(UsageLimitExceeded):
        await Agent(model, tools=data_tools(data)).run("sum", timeout_s=0.3)
    # No query keeps burning CPU after the run ended (before, the worker thread ran on for hours).
    assert data.active_queries == 0


@pytest.mark.timeout(60)  # before the fix, the cancelled call waited forever
async def test_a_call_cancelled_before_its_thread_starts_returns(data: DataWorkspace) -> None:
    """Cancelled while it waits for a worker thread, a data tool call ends at once and its query never runs.

    It waited forever for a query that would never start (found with a demo piped into head).
    """
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = 1
    await limiter.acquire()  # every worker thread is busy: the call cannot start its query
    ran: list[str] = []
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(data.call_async, lambda cursor: ran.append("query"))
            await anyio.wait_all_tasks_blocked()
            group.cancel_scope.cancel()
    finally:
        limiter.release()
    assert data.active_queries == 0
    await data.call_async(lambda cursor: ran.append("later"))
    assert ran == ["later"]


def test_memory_threads_and_no_temp_directory(tmp_path: Path) -> None:
    """memory_limit and threads apply, no spill or secret folder is read, the configuration is locked."""
    data = DataWorkspace(Workspace(tmp_path), memory_limit="300MB", threads=1)
    names = ("memory_limit", "threads", "temp_directory")
    settings = "SELECT " + ", ".join(f"current_setting('{name}')" for name in names)
    assert data.run_sql(settings)["rows"] == [["286.1 MiB", 1, ""]]
    assert data.run_sql("SELECT count(*) FROM duckdb_secrets()")["rows"] == [[0]]
    with pytest.raises(WorkspaceError, match="locked"):
        data.run_sql("SELECT * FROM enable_logging()")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('.tmp/x')",
        "SELECT * FROM read_blob('.tmp/x')",
        "SELECT * FROM glob('.tmp/*')",
        "SELECT * FROM sniff_csv('.tmp/x')",
        "SELECT * FROM read_csv('{outside}/x')",
        "SELECT * FROM glob('{outside}/*')",
        "SELECT * FROM read_text('{root}/../outside/x')",
        "SELECT * FROM read_json('https://example.org/x.json')",
        "SELECT * FROM read_xlsx('{root}/x.xlsx')",
    ],
)
def test_no_file_outside_the_workspace_is_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    """DuckDB's spill folder in the current directory, other folders, URLs and extensions stay closed."""
    monkeypatch.chdir(tmp_path)
    for folder in (".tmp", "outside"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x").write_text("secret,1\n")
    data = DataWorkspace(Workspace(tmp_path / "ws"))
    with pytest.raises(WorkspaceError) as caught:
        data.run_sql(sql.format(root=data.workspace.root, outside=tmp_path / "outside"))
    assert "secret" not in str(caught.value)


async def test_chart_fetches_at_most_one_row_past_its_cap(data: DataWorkspace) -> None:
    """A chart query returning a million rows is refused after fetching 5,001 of them, not all."""
    tools = {t.name: t for t in data_tools(data)}
    args = {"sql": "SELECT range AS x, range AS y FROM range(1000000)", "kind": "line", "x": "x", "y": ["y"]}
    tracemalloc.start()
    try:
        with pytest.raises(WorkspaceError, match="1 to 5000 rows; the query returned more"):
            await tools["make_chart"].call(json.dumps({**args, "title": "T", "filename": "big"}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # a million fetched rows of two ints alone take over 100 MB


def test_load_refuses_fifos_and_symlinks(tmp_path: Path) -> None:
    """load_table refuses a FIFO (DuckDB would block reading it) and a symlink, without reading either."""
    data = DataWorkspace(Workspace(tmp_path / "ws"))
    (data.workspace.root / "real.csv").write_text("a\n1\n")
    os.symlink(data.workspace.root / "real.csv", data.workspace.root / "link.csv")
    os.mkfifo(data.workspace.root / "pipe.csv")
    with pytest.raises(WorkspaceError, match="not a regular file"):
        data.load_table("pipe.csv", "t")
    with pytest.raises(WorkspaceError, match="symlink"):
        data.load_table("link.csv", "t")
