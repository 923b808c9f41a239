"""MCP Inspector's CLI (``@modelcontextprotocol/inspector --cli``) driving ``agentkit mcp serve``.

The Inspector is the MCP project's own client: what it lists and calls here is what coding
assistants see. Over stdio it starts the server itself; over streamable HTTP it connects to
one started on loopback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conformance._counterparts import node, npm_script

pytestmark = pytest.mark.timeout(600)

PACKAGE = "@modelcontextprotocol/inspector"
CONNECT_TIMEOUT_MS = "180000"  # agentkit starts slowly on a loaded 2-core machine; a bound only

SERVED = '''
from __future__ import annotations

from pydantic import BaseModel

from agentkit import tool
from agentkit.exceptions import ModelRetry


class Order(BaseModel):
    """An order line."""

    item: str
    count: int


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@tool
def total(order: Order, unit_price: int) -> int:
    """The price of an order line."""
    return order.count * unit_price


@tool
def polite(word: str) -> str:
    """Accept only a polite word."""
    if word != "please":
        raise ModelRetry("say 'please'")
    return "thank you"


tools = [add, total, polite]
'''


@pytest.fixture
def served(tmp_path: Path) -> str:
    """A tools file in the shape users write (postponed annotations, a pydantic parameter)."""
    path = tmp_path / "shop_tools.py"
    path.write_text(SERVED)
    return f"{path}:tools"


def _agentkit() -> str:
    return str(Path(sys.executable).with_name("agentkit"))


def _inspector(*args: str) -> subprocess.CompletedProcess[str]:
    launcher = npm_script(PACKAGE, "clients/launcher/build/index.js")
    command = [node(), str(launcher), "--cli", "--connect-timeout", CONNECT_TIMEOUT_MS, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=500, check=False)  # noqa: S603


def _stdio(served: str, *args: str) -> subprocess.CompletedProcess[str]:
    return _inspector(_agentkit(), "mcp", "serve", served, *args)


def _call(served: str, tool_name: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    pairs = [part for argument in arguments for part in ("--tool-arg", argument)]
    return _stdio(served, "--method", "tools/call", "--tool-name", tool_name, *pairs)


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.stdout.strip(), f"no output; stderr: {done.stderr[-2000:]}"
    value, _ = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("{") :])  # the first document
    return value


def test_tools_list_shows_every_tool_with_its_schema(served: str) -> None:
    """tools/list over stdio names the tools with descriptions and the schemas agentkit built."""
    done = _stdio(served, "--method", "tools/list")
    assert done.returncode == 0, done.stderr[-2000:]
    tools = {t["name"]: t for t in _json(done)["tools"]}
    assert set(tools) == {"add", "total", "polite"}
    first = {"type": "integer", "description": "The first number."}
    assert tools["add"]["inputSchema"]["properties"]["a"] == first
    assert tools["total"]["inputSchema"]["properties"]["order"]["required"] == ["item", "count"]


def test_tools_call_runs_the_tool(served: str) -> None:
    """tools/call with the Inspector's key=value arguments returns the tool's result as text."""
    done = _call(served, "add", "a=2", "b=40")
    assert done.returncode == 0, done.stderr[-2000:]
    result = _json(done)
    assert result["isError"] is False
    assert result["content"] == [{"type": "text", "text": "42"}]


def test_a_nested_model_argument_reaches_the_tool(served: str) -> None:
    """A JSON object argument becomes the file's pydantic model (the file uses postponed annotations)."""
    order = json.dumps({"item": "tea", "count": 3})
    done = _call(served, "total", f"order={order}", "unit_price=4")
    assert done.returncode == 0, done.stderr[-2000:]
    assert _json(done)["content"][0]["text"] == "12"


def test_errors_come_back_as_error_results(served: str) -> None:
    """A refused call (ModelRetry) and bad arguments are isError results saying why; an unknown tool fails."""
    refused = _call(served, "polite", "word=now")
    assert _json(refused)["isError"] is True
    assert "say 'please'" in _json(refused)["content"][0]["text"]
    bad = _call(served, "add", "a=1")
    assert _json(bad)["isError"] is True
    assert "missing required parameter 'b'" in _json(bad)["content"][0]["text"]
    unknown = _call(served, "nope")
    assert unknown.returncode != 0
    assert "nope" in unknown.stdout + unknown.stderr


def test_a_file_that_fails_to_import_is_reported_not_just_a_closed_connection(tmp_path: Path) -> None:
    """The Inspector fails to connect, and the server's one-line reason is on its stderr for the user."""
    broken = tmp_path / "broken_tools.py"
    broken.write_text("tools = [undefined_name]\n")
    done = _stdio(f"{broken}:tools", "--method", "tools/list")
    assert done.returncode != 0
    assert "broken_tools.py failed to import: NameError: name 'undefined_name' is not defined" in done.stderr


@pytest.fixture
def http_endpoint(served: str) -> Iterator[str]:
    """`agentkit mcp serve --http --port 0` on loopback; its URL as it announces it on stderr."""
    command = [_agentkit(), "mcp", "serve", served, "--http", "--port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)  # noqa: S603 - our own CLI
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/mcp", line)
        assert found, f"no URL announced: {line!r}"
        yield found.group(0)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]  # set by stderr=PIPE


def test_streamable_http_lists_and_calls(http_endpoint: str) -> None:
    """Over streamable HTTP the Inspector lists the tools and calls one."""
    listed = _inspector("--transport", "http", "--server-url", http_endpoint, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert {t["name"] for t in _json(listed)["tools"]} == {"add", "total", "polite"}
    called = _inspector(
        "--transport", "http", "--server-url", http_endpoint,
        "--method", "tools/call", "--tool-name", "add", "--tool-arg", "a=5", "--tool-arg", "b=6",
    )  # fmt: skip
    assert called.returncode == 0, called.stderr[-2000:]
    assert _json(called)["content"][0]["text"] == "11"
