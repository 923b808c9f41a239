"""The agentkit pytest plugin (entry point ``agentkit``; loaded automatically).

- ``fake_kimi`` fixture: a started [`FakeKimiServer`][agentkit.testing.FakeKimiServer]
  with an empty script (queue replies with ``fake_kimi.add(...)``); stopped
  after the test, which fails on teardown if the server saw a problem
  (script exhausted, responder raised). Clear ``fake_kimi.problems`` in a test
  that provokes one on purpose.
- Network blocking, **opt-in** (installing agentkit changes nothing in your suite
  until you ask): with ``agentkit_block_network = true`` in your pytest ini
  options, ``--agentkit-block-network`` on the command line, or
  ``@pytest.mark.block_network`` on a test or module, connecting to anything but
  loopback (127.0.0.0/8, ::1, localhost, AF_UNIX) while a test sets up, runs and
  tears down raises [`NetworkBlockedError`][agentkit.testing.NetworkBlockedError]. Where blocking is
  on, opt out per test with ``@pytest.mark.allow_network`` or for the whole session
  with ``--agentkit-allow-network`` (e.g. when re-recording against a live endpoint).
- ``agentkit_replay`` fixture with the ``agentkit_trace(path, strict=True)`` marker: the
  test builds its agent on ``agentkit_replay.model`` (a
  [`ReplayModel`][agentkit.models.ReplayModel] of the trace) and runs it with
  ``await agentkit_replay.run(agent, prompt)``; after the test, recorded calls left
  unused fail it (strict mode). With ``--agentkit-record`` the same test runs against
  the live Kimi endpoint instead (``MOONSHOT_API_KEY``, ``MOONSHOT_BASE_URL``,
  ``MOONSHOT_MODEL``; network allowed) and rewrites the trace; without a key it is
  skipped, saying so.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

import pytest

from agentkit.exceptions import ReplayMismatch
from agentkit.testing._fake_kimi import FakeKimiServer
from agentkit.testing._network_guard import NetworkGuard

if TYPE_CHECKING:  # the plugin loads with pytest: the agent stack is imported only when used
    from agentkit.agent import Agent
    from agentkit.models.abstract import Model
    from agentkit.result import RunKwargs, RunResult

__all__ = ["AgentkitReplay", "agentkit_replay", "fake_kimi"]

_GUARD = NetworkGuard()
_CALL_FAILED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the plugin's command-line flags and its ini option."""
    parser.addini(
        "agentkit_block_network",
        type="bool",
        default=False,
        help="agentkit: block non-loopback network access in every test (off unless set)",
    )
    parser.addoption(
        "--agentkit-block-network",
        action="store_true",
        default=False,
        help="agentkit: block non-loopback network access in every test of this session",
    )
    parser.addoption(
        "--agentkit-allow-network",
        action="store_true",
        default=False,
        help="agentkit: do not block non-loopback network access during tests",
    )
    parser.addoption(
        "--agentkit-record",
        action="store_true",
        default=False,
        help="agentkit: re-record agentkit_trace traces against the live Kimi endpoint (MOONSHOT_API_KEY)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the plugin's markers."""
    config.addinivalue_line(
        "markers", "block_network: refuse non-loopback connections in this test (agentkit)"
    )
    config.addinivalue_line(
        "markers", "allow_network: let this test reach non-loopback addresses (agentkit blocks them)"
    )
    config.addinivalue_line(
        "markers",
        "agentkit_trace(path, strict=True): the trace the agentkit_replay fixture replays (or re-records)",
    )


def _network_blocked(item: pytest.Item) -> bool:
    config = item.config
    if config.getoption("--agentkit-allow-network"):
        return False
    if config.getoption("--agentkit-record") and item.get_closest_marker("agentkit_trace") is not None:
        return False  # re-recording talks to the live endpoint
    if item.get_closest_marker("allow_network") is not None:
        return False
    if item.get_closest_marker("block_network") is not None:
        return True
    return bool(config.getoption("--agentkit-block-network") or config.getini("agentkit_block_network"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Block the network while fixtures are set up."""
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Block the network while the test runs."""
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """Block the network while fixtures are torn down."""
    return (yield from _guarded(item))


def _guarded(item: pytest.Item) -> Generator[None, object, object]:
    if not _network_blocked(item):
        return (yield)
    _GUARD.install()
    try:
        return (yield)
    finally:
        _GUARD.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report a replay mismatch as its message and diff, not a traceback through agentkit's loop."""
    report = yield
    if call.when == "call":
        item.stash[_CALL_FAILED] = report.failed
        if call.excinfo is not None and call.excinfo.errisinstance(ReplayMismatch):
            where = f"{report.location[0]}:{(report.location[1] or 0) + 1}"
            report.longrepr = f"{where}: replay mismatch: {call.excinfo.value}"
    return report


@pytest.fixture
def fake_kimi() -> Iterator[FakeKimiServer]:
    """Yield a running fake Kimi server on 127.0.0.1 with an empty script; stopped after the test."""
    server = FakeKimiServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    if server.problems:
        pytest.fail("fake_kimi server problems:\n" + "\n".join(f"  - {p}" for p in server.problems))


class AgentkitReplay:
    """What the ``agentkit_replay`` fixture gives a test: a model, and a way to run on it.

    Attributes:
        path: the trace file.
        recording: ``True`` under ``--agentkit-record`` (live model, trace rewritten).
        model: the model to build the agent on (a `ReplayModel`, or live when recording).
    """

    def __init__(self, path: Path, model: Model, *, recording: bool) -> None:
        self.path = path
        self.model = model
        self.recording = recording

    async def run(
        self, agent: Agent[Any], prompt: str | None, **options: Unpack[RunKwargs]
    ) -> RunResult[Any]:
        """Run ``agent`` (built on `model`); when recording, the run is written to `path`."""
        if self.recording:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            options["trace"] = self.path
        return await agent.run(prompt, **options)


@pytest.fixture
async def agentkit_replay(request: pytest.FixtureRequest) -> AsyncIterator[AgentkitReplay]:
    """Replay the trace named by ``@pytest.mark.agentkit_trace(path)`` (re-record it with --agentkit-record).

    A relative path is taken from the test file's folder.
    """
    marker = request.node.get_closest_marker("agentkit_trace")
    if marker is None or not marker.args:
        raise pytest.UsageError("agentkit_replay needs @pytest.mark.agentkit_trace('path/to/trace.jsonl')")
    path = Path(marker.args[0])
    if not path.is_absolute():
        path = Path(request.node.path).parent / path
    strict = bool(marker.kwargs.get("strict", True))
    from agentkit.models import KimiModel, ReplayModel  # noqa: PLC0415 - see the TYPE_CHECKING note

    if request.config.getoption("--agentkit-record"):
        if not os.environ.get("MOONSHOT_API_KEY"):
            pytest.skip(
                "--agentkit-record needs MOONSHOT_API_KEY (the live endpoint's key) to re-record traces"
            )
        async with KimiModel() as live:
            yield AgentkitReplay(path, live, recording=True)
        return
    if not path.exists():
        pytest.fail(
            f"no trace at {path}: record it with `pytest --agentkit-record` (needs MOONSHOT_API_KEY)",
            pytrace=False,
        )
    replay = ReplayModel.from_trace(path, strict=strict)
    yield AgentkitReplay(path, replay, recording=False)
    if not request.node.stash.get(_CALL_FAILED, False):  # a failed test already said what differed
        replay.finish()
