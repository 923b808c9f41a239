"""MCPTools against the Python reference servers from PyPI: mcp-server-time, -fetch and -git (stdio)."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit import Agent
from agentkit.exceptions import ModelRetry, ToolArgumentsError
from agentkit.mcp import MCPTools
from agentkit.messages import ToolMessage
from agentkit.models.function import ScriptedModel, call
from tests.conformance._counterparts import python_server

pytestmark = pytest.mark.anyio

READ_TIMEOUT_S = 120.0  # a bound for a loaded CI machine, not a measurement

PAGE = b"""<html><head><title>Tonight</title></head>
<body><h1>Concert</h1><p>The band plays at <b>nine</b>, doors open at eight.</p></body></html>"""


def _server(command: str, *args: str) -> MCPTools:
    return MCPTools.stdio(str(python_server(command)), list(args), read_timeout_s=READ_TIMEOUT_S)


def _tools(mcp: MCPTools) -> dict[str, Any]:
    return {t.name: t for t in mcp.tools}


async def test_time_server_answers_and_refuses_an_unknown_zone() -> None:
    """mcp-server-time converts a time between zones; an unknown zone is the server's error, as ModelRetry."""
    async with _server("mcp-server-time", "--local-timezone", "UTC") as mcp:
        tools = _tools(mcp)
        converted = await tools["convert_time"].call(
            '{"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}'
        )
        assert "21:00" in converted
        assert "Europe/Paris" in await tools["get_current_time"].call('{"timezone": "Europe/Paris"}')
        with pytest.raises(ModelRetry, match="Mars/Base"):
            await tools["get_current_time"].call('{"timezone": "Mars/Base"}')
        with pytest.raises(ToolArgumentsError, match="missing required parameter 'timezone'"):
            await tools["get_current_time"].call("{}")


class _Page(SimpleHTTPRequestHandler):
    """Serves one HTML page at /page.html and 404 elsewhere; logs nothing."""

    def do_GET(self) -> None:
        if self.path != "/page.html":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def site() -> Iterator[str]:
    """A loopback HTTP server with one page: the only site the fetch server is pointed at."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_fetch_server_reads_a_loopback_page_as_markdown(site: str) -> None:
    """mcp-server-fetch (loopback allowed explicitly) turns the page into markdown; a 404 is ModelRetry."""
    async with _server("mcp-server-fetch", "--ignore-robots-txt", "--allow-private-ips") as mcp:
        fetch = _tools(mcp)["fetch"]
        text = await fetch.call(f'{{"url": "{site}/page.html"}}')
        assert "The band plays at **nine**" in text
        with pytest.raises(ModelRetry, match="404"):
            await fetch.call(f'{{"url": "{site}/missing.html"}}')
        with pytest.raises(ToolArgumentsError, match="max_length"):
            await fetch.call(f'{{"url": "{site}/page.html", "max_length": 0}}')


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit and one unstaged change."""
    path = tmp_path / "repo"
    git = ["git", "-C", str(path), "-c", "user.name=Test", "-c", "user.email=test@example.com"]
    subprocess.run(["git", "init", "-q", str(path)], check=True)  # noqa: S603, S607 - git from PATH
    (path / "notes.txt").write_text("first line\n")
    subprocess.run([*git, "add", "notes.txt"], check=True)  # noqa: S603
    subprocess.run([*git, "commit", "-q", "-m", "Add notes"], check=True)  # noqa: S603
    (path / "notes.txt").write_text("first line\nsecond line\n")
    return path


async def test_git_server_in_an_agent_run(repo: Path) -> None:
    """A run asks mcp-server-git for the log and the diff of a temporary repository and gets both."""
    arguments = {"repo_path": str(repo)}
    model = ScriptedModel([call("git_log", arguments), call("git_diff_unstaged", arguments), "seen"])
    async with _server("mcp-server-git", "--repository", str(repo)) as mcp:
        with anyio.fail_after(300):
            result = await Agent(model, tools=[mcp]).run("what changed?")
        outside = _tools(mcp)["git_status"]
        with pytest.raises(ModelRetry, match="outside the allowed repository"):
            await outside.call(f'{{"repo_path": "{repo.parent}"}}')
    log, diff = [m.content for m in result.messages if isinstance(m, ToolMessage)]
    assert "Add notes" in log
    assert "+second line" in diff
    assert result.output == "seen"
