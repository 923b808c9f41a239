"""The pytest plugin's replay fixture, marker and --agentkit-record, run in an inner pytest session."""

from __future__ import annotations

import pytest

from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import read_trace

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture
def anyio_backend():
    return "asyncio"
"""

TEST_FILE = '''
import pytest
from agentkit import Agent, tool

pytestmark = pytest.mark.anyio

@tool
def weather(city: str) -> str:
    """Weather.

    Args:
        city: City name.
    """
    return f"{city}: 21 C"

@pytest.mark.agentkit_trace("traces/weather.jsonl")
async def test_weather(agentkit_replay):
    agent = Agent(agentkit_replay.model, instructions="Weather bot.", tools=[weather])
    result = await agentkit_replay.run(agent, "Oslo?")
    assert result.output == "Oslo is mild."
'''


def _write_project(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_weather=TEST_FILE)


def _record(pytester: pytest.Pytester, fake: FakeKimiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOONSHOT_API_KEY", "sk-plugin-test-key")
    monkeypatch.setenv("MOONSHOT_BASE_URL", fake.base_url)
    fake.add(Reply.tool_calls(("weather", {"city": "Oslo"})), Reply.text("Oslo is mild."))
    pytester.runpytest_inprocess("--agentkit-record", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_record_then_replay(
    pytester: pytest.Pytester, fake_kimi: FakeKimiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--agentkit-record writes the trace from the endpoint; a plain run then replays it offline."""
    _write_project(pytester)
    _record(pytester, fake_kimi, monkeypatch)
    trace_path = pytester.path / "traces" / "weather.jsonl"
    assert read_trace(trace_path).origin == "recorded"
    assert "sk-plugin-test-key" not in trace_path.read_text()
    fake_kimi.stop()
    monkeypatch.delenv("MOONSHOT_API_KEY")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_record_without_a_key_skips_clearly(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--agentkit-record without MOONSHOT_API_KEY skips the test and says why."""
    monkeypatch.delenv("MOONSHOT_API_KEY", raising=False)
    _write_project(pytester)
    result = pytester.runpytest_inprocess("--agentkit-record", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*--agentkit-record needs MOONSHOT_API_KEY*"])


def test_missing_trace_fails_with_the_record_command(pytester: pytest.Pytester) -> None:
    """Replaying a trace that does not exist fails and tells how to record it."""
    _write_project(pytester)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no trace at*record it with `pytest --agentkit-record`*"])
    assert "agentkit/testing/plugin.py" not in result.stdout.str()  # the message, not the fixture's source


def test_mismatch_is_one_failure_with_the_diff(
    pytester: pytest.Pytester, fake_kimi: FakeKimiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replayed run that asks something else fails once, showing the diff, with no teardown error."""
    _write_project(pytester)
    _record(pytester, fake_kimi, monkeypatch)
    pytester.makepyfile(test_weather=TEST_FILE.replace('"Oslo?"', '"Bergen?"'))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*replay mismatch: turn 1*messages?1?.content*", "-Oslo?", "+Bergen?"])
    assert "_loop.py" not in result.stdout.str()  # no traceback through the agent loop


def test_unused_recorded_calls_fail_the_test(
    pytester: pytest.Pytester, fake_kimi: FakeKimiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test whose agent stops early leaves recorded calls unused, which fails it on teardown."""
    _write_project(pytester)
    _record(pytester, fake_kimi, monkeypatch)
    early = TEST_FILE.replace('result = await agentkit_replay.run(agent, "Oslo?")', "pass").replace(
        'assert result.output == "Oslo is mild."', ""
    )
    pytester.makepyfile(test_weather=early)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*2 recorded calls left unused*"])
