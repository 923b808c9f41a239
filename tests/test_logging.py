"""agentkit is quiet in other people's processes: no log output until the application asks for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    from agentkit import Agent, tool
    from agentkit.models import KimiModel
    from agentkit.testing import FakeKimiServer, Reply

    if sys.argv[1:] == ["configured"]:
        logging.basicConfig(level=logging.INFO)

    @tool
    def explode(n: int) -> int:
        \"\"\"Fail on purpose.

        Args:
            n: Anything.
        \"\"\"
        raise RuntimeError("boom")

    script = [
        Reply.error(500, "server_error", "try again", retry_after=0.01),
        Reply.tool_calls(("explode", {"n": 1})),
        Reply.text("done"),
    ]
    with FakeKimiServer(script) as server:
        model = KimiModel(base_url=server.base_url, api_key="k")
        result = Agent(model, tools=[explode]).run_sync("go")
    print(result.output)
    """
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True, timeout=60, check=True
    )


def test_a_failed_tool_and_a_retry_print_nothing_by_default() -> None:
    """A retried model call and a failing tool write nothing to stderr when logging is not configured."""
    done = _run()
    assert done.stdout.strip() == "done"
    assert done.stderr == ""


def test_configured_logging_shows_the_events() -> None:
    """Once the application configures logging, the retry and the tool failure are logged."""
    done = _run("configured")
    assert "model.retry" in done.stderr
    assert "tool_failed" in done.stderr
