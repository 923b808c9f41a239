"""The HTML trace viewer, rendered by a real headless browser (Debian chromium)."""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import anyio
import orjson
import pytest

from agentkit import Agent, tool
from agentkit.models import KimiModel
from agentkit.models.function import ScriptedModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import read_trace
from agentkit.tracing.html import render_html
from agentkit.usage import format_usd
from tests.builders import calls

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
#: Set by .ci/run: there the browser test must run, never skip.
REQUIRED = os.environ.get("AGENTKIT_CI") == "1"
_BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


@tool
async def lookup(city: str) -> str:
    """Slow lookup.

    Args:
        city: City name.
    """
    await anyio.sleep(0.05)
    return f"{city}: ok"


def _page(tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    model = ScriptedModel([calls(("lookup", {"city": "Oslo"}), ("lookup", {"city": "Rome"})), "Both fine."])
    Agent(model, tools=[lookup], name="viewer").run_sync("Check </script> Oslo and Rome", trace=path)
    page = tmp_path / "run.html"
    page.write_text(render_html(read_trace(path)), encoding="utf-8")
    return page


def _dom(browser: str, page: Path) -> str:
    """The page's DOM after its scripts ran, as headless Chromium dumps it."""
    return subprocess.run(  # noqa: S603 - our own browser path and a file URI we wrote
        [browser, *_BROWSER_FLAGS, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout


def _browser() -> str:
    if CHROMIUM is None:
        if REQUIRED:
            pytest.fail("chromium is missing in CI: .ci/run installs it with apt-get install -y chromium")
        pytest.skip("needs a headless browser: install Debian's chromium (apt-get install chromium)")
    return CHROMIUM


def test_viewer_draws_parallel_calls_as_overlapping_bars(tmp_path: Path) -> None:
    """In the rendered DOM every span has a row, and the two parallel tool-call bars overlap."""
    browser = _browser()
    page = _page(tmp_path)
    dom = _dom(browser, page)
    rows = re.findall(r'<div class="row ([a-z_]+)[^"]*" data-kind', dom)
    assert rows == ["run", "turn", "model_call", "tool_call", "tool_call", "turn", "model_call"]
    bars = [
        (float(left), float(width))
        for kind, left, width in re.findall(
            r'class="row (tool_call)[^"]*".*?class="bar" style="left: ([\d.]+)%; width: ([\d.]+)%;', dom
        )
    ]
    assert len(bars) == 2
    (a_left, a_width), (b_left, b_width) = bars
    assert a_left < b_left + b_width
    assert b_left < a_left + a_width
    assert "execute_tool lookup" in dom  # the first row's details are shown


def test_viewer_has_a_time_axis_and_tells_parallel_calls_apart(tmp_path: Path) -> None:
    """A sticky time axis labels the lane at round times, and calls of one tool show their arguments.

    The ticks were at quarters of the run (33.6 ms, 67.2 ms, ...); now at multiples of a round step.
    """
    browser = _browser()
    dom = _dom(browser, _page(tmp_path))
    ticks = re.findall(r'<span class="tick" style="left: ([\d.]+)%;">([\d.]+) ms</span>', dom)
    assert 4 <= len(ticks) <= 7
    lefts, times = [float(left) for left, _ in ticks], [float(ms) for _, ms in ticks]
    assert lefts == sorted(lefts)
    assert lefts[0] == times[0] == 0
    assert lefts[-1] <= 100
    step = times[1]
    assert step / 10 ** math.floor(math.log10(step)) in (1, 2, 2.5, 5), step  # times a power of ten
    assert times == pytest.approx([step * i for i in range(len(times))])
    assert lefts[2] == pytest.approx(2 * lefts[1], abs=0.01)
    names = re.findall(
        r'class="row tool_call[^"]*" data-kind="tool_call"><div class="name"[^>]*>([^<]+)<', dom
    )
    assert names == ["execute_tool lookup(Oslo)", "execute_tool lookup(Rome)"]


def test_viewer_screenshot(tmp_path: Path) -> None:
    """The page renders to a non-empty screenshot (kept in tmp for a person to look at)."""
    browser = _browser()
    page = _page(tmp_path)
    shot = tmp_path / "viewer.png"
    subprocess.run(  # noqa: S603 - our own browser path and a file URI we wrote
        [browser, *_BROWSER_FLAGS, f"--screenshot={shot}", "--window-size=1280,720", page.as_uri()],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


@tool
async def fetch_page(url: str) -> str:
    """Fetch a page (here: hostile content).

    Args:
        url: The page.
    """
    return HOSTILE[url]


HOSTILE = {
    "a": "<!--<script>",
    "b": "</script><script>document.body.innerHTML=''</script>",
    "c": "<!-- --> ]]> &amp; <\u2028/script>",
}


def test_hostile_tool_results_cannot_blank_the_viewer(tmp_path: Path) -> None:
    """Tool results that try to end or comment out the data script leave every row drawn."""
    browser = _browser()
    path = tmp_path / "hostile.jsonl"
    model = ScriptedModel([calls(*(("fetch_page", {"url": u}) for u in HOSTILE)), "<!--<script>"])
    Agent(model, tools=[fetch_page], name="viewer").run_sync("<!--<script> read them", trace=path)
    page = tmp_path / "hostile.html"
    page.write_text(render_html(read_trace(path)), encoding="utf-8")
    dom = _dom(browser, page)
    rows = re.findall(r'<div class="row ([a-z_]+)[^"]*" data-kind', dom)
    assert rows == ["run", "turn", "model_call", "tool_call", "tool_call", "tool_call", "turn", "model_call"]


def test_viewer_shows_costs_rounded_and_counts_in_words(tmp_path: Path) -> None:
    """A fraction of a cent reads in significant digits in the header and details; one call is '1 model call'.

    Before, the header read $0.0000 and '1 model calls', the details the raw float.
    """
    browser = _browser()
    path = tmp_path / "run.jsonl"
    with FakeKimiServer([Reply.text("Hello.")]) as server:
        agent = Agent(KimiModel(base_url=server.base_url, api_key="offline"), name="viewer")
        result = agent.run_sync("Say hello.", trace=path)
    assert 0 < result.cost_usd < 0.0001
    page = tmp_path / "run.html"
    page.write_text(render_html(read_trace(path)), encoding="utf-8")
    dom = _dom(browser, page)
    meta = re.search(r'<div class="meta">([^<]+)</div>', dom)
    assert meta is not None
    assert meta.group(1).endswith(
        f"· 1 model call · 0 tool calls · tokens {result.usage.input_tokens} in / "
        f"{result.usage.output_tokens} out · {format_usd(result.cost_usd)}"
    )
    assert re.fullmatch(r"\$0\.0000\d{1,3}", format_usd(result.cost_usd))
    assert f'"cost_usd": "{format_usd(result.cost_usd)}"' in html.unescape(dom)  # the run's details
    assert repr(result.cost_usd) not in dom


def test_viewer_details_round_a_model_calls_cost() -> None:
    """A model call's cost in the embedded details is rounded (0.0150865 becomes $0.0151)."""
    trace = read_trace(Path(__file__).parents[1] / "examples" / "trip_planner" / "trace.jsonl")
    data = re.search(r'<script type="application/json" id="spans">(.*?)</script>', render_html(trace))
    assert data is not None
    spans = orjson.loads(data.group(1))["spans"]
    run = next(s for s in spans if s["kind"] == "run")
    assert trace.final is not None
    assert trace.final["cost_usd"] == 0.0150865
    assert run["attributes"]["cost_usd"] == "$0.0151"
    costs = [s["attributes"]["cost_usd"] for s in spans if s["kind"] == "model_call"]
    assert len(costs) == 6
    assert all(re.fullmatch(r"\$0\.\d*[1-9]\d{0,2}", c) for c in costs), costs
