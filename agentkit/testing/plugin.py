"""The agentkit pytest plugin (entry point ``agentkit``; loaded automatically).

- ``fake_kimi`` fixture: a started :class:`~agentkit.testing.FakeKimiServer`
  with an empty script (queue replies with ``fake_kimi.add(...)``); stopped
  after the test, which fails on teardown if the server saw a problem
  (script exhausted, responder raised). Clear ``fake_kimi.problems`` in a test
  that provokes one on purpose.
- Network blocking: while a test sets up, runs and tears down, connecting to
  anything but loopback (127.0.0.0/8, ::1, localhost, AF_UNIX) raises
  :class:`~agentkit.testing.NetworkBlockedError`. Opt out per test with
  ``@pytest.mark.allow_network`` or for the whole session with
  ``--agentkit-allow-network`` (e.g. when re-recording against a live endpoint).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from agentkit.testing._fake_kimi import FakeKimiServer
from agentkit.testing._network_guard import NetworkGuard

__all__ = ["fake_kimi"]

_GUARD = NetworkGuard()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--agentkit-allow-network``."""
    parser.addoption(
        "--agentkit-allow-network",
        action="store_true",
        default=False,
        help="agentkit: do not block non-loopback network access during tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``allow_network`` marker."""
    config.addinivalue_line(
        "markers", "allow_network: let this test reach non-loopback addresses (agentkit blocks them)"
    )


def _network_blocked(item: pytest.Item) -> bool:
    if item.config.getoption("--agentkit-allow-network"):
        return False
    return item.get_closest_marker("allow_network") is None


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
