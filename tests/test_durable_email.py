"""Exactly one email per run in a loopback SMTP mailbox, even when the worker is killed mid-delivery."""

from __future__ import annotations

import asyncio
import email
import signal
import socket
import subprocess
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from aiosmtpd.controller import Controller

from agentkit.durable import DurableRequest
from agentkit.durable.client import DurableClient
from agentkit.testing import FakeKimiServer, Reply
from tests._durable_agents import SMTP_PORT_ENV, SYSTEM_DATABASES, URL_ENV, WORKSPACE_ENV, system_database
from tests.test_durable_crash import start_worker

pytestmark = pytest.mark.anyio

AGENT = "tests._durable_agents:mailer"
RUNS = 6


@pytest.fixture(params=SYSTEM_DATABASES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh system database URL: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        yield url


class Mailbox:
    """An SMTP handler that keeps every delivery and holds the first one until released.

    Holding the first message after its DATA arrived, before answering 250, lets the
    test kill the sending worker at the worst moment: the mail is delivered but the
    sender never learns it.
    """

    def __init__(self) -> None:
        self.deliveries: list[tuple[str, str]] = []  # (subject, Message-ID)
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        self.deliveries.append((str(message["Subject"]), str(message["Message-ID"])))
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            while not self.release.is_set():  # noqa: ASYNC110 - released from the test's thread
                await asyncio.sleep(0.02)
        return "250 OK"

    def by_subject(self) -> dict[str, list[str]]:
        """Message-IDs received per subject, in arrival order."""
        out: dict[str, list[str]] = defaultdict(list)
        for subject, message_id in self.deliveries:
            out[subject].append(message_id)
        return out


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def send_then_answer(body: dict[str, Any]) -> Reply:
    """Play a model that sends one email whose subject is the prompt, then says it is done."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        return Reply.text("sent")
    return Reply.tool_calls(
        ("send_email", {"to": ["ana@example.org"], "subject": last["content"], "body": "hi"})
    )


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    """Worker processes started by the test, killed at the end whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.timeout(900)  # worker processes start slowly on a loaded machine
async def test_one_email_per_run_when_worker_is_killed_mid_delivery(
    tmp_path: Path, database: str, workers: list[subprocess.Popen[str]]
) -> None:
    """The killed delivery is re-sent with the same Message-ID; the mailbox holds one email per run."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with FakeKimiServer(send_then_answer) as server:
            env = {
                URL_ENV: server.base_url,
                SMTP_PORT_ENV: str(controller.port),
                WORKSPACE_ENV: str(tmp_path / "workspace"),
            }
            workers.append(start_worker(database, "w0", env))
            async with DurableClient(database) as client:
                ids = [
                    await client.enqueue(DurableRequest(agent=AGENT, prompt=f"run {i}"), run_id=f"mail-{i}")
                    for i in range(RUNS)
                ]
                assert await anyio.to_thread.run_sync(mailbox.first_arrived.wait, 300)
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                mailbox.release.set()
                workers.append(start_worker(database, "w0", env))
                records = [await client.result(run_id) for run_id in ids]
    finally:
        mailbox.release.set()
        controller.stop()
    assert all(r.ok for r in records), [r.error for r in records]
    received = mailbox.by_subject()
    assert sorted(received) == sorted(f"run {i}" for i in range(RUNS))
    assert all(len(set(ids)) == 1 for ids in received.values())  # one distinct message per run
    held = mailbox.deliveries[0][0]
    assert len(received[held]) == 2  # the killed delivery came again, as the same message
