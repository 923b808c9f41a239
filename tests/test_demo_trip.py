"""The concert-trip demo: its authored trace replays with the real tools, files and email."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentkit_tools import EmailSettings, Mailer, Workspace

from agentkit.approval import approve_all
from agentkit.models import ReplayModel
from agentkit.testing import FakeKimiServer
from agentkit.tracing import read_trace
from examples.trip_planner.agent import TripRequest, build_agent
from examples.trip_planner.make_trace import TRACE, record, scripted_kimi
from tests._smtp import LOGIN, PASSWORD, smtp_server

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[1]


def _comparable(path: Path) -> list[dict[str, Any]]:
    """A trace's model calls without timings, ids and wire details (what a regeneration must keep)."""
    trace = read_trace(path)
    return [
        {"request": call["request"], "message": call["response"]["message"]} for call in trace.model_calls
    ]


def test_bundled_trace_is_authored_and_reproducible(tmp_path: Path) -> None:
    """The bundled trace says it is authored, and make_trace.py regenerates the same conversation."""
    assert read_trace(TRACE).header["origin"] == "authored"
    import anyio  # noqa: PLC0415 - a sync test driving the async recorder

    anyio.run(record, tmp_path / "again.jsonl")
    assert _comparable(tmp_path / "again.jsonl") == _comparable(TRACE)


async def test_strict_replay_writes_itinerary_calendar_and_outbox_email(tmp_path: Path) -> None:
    """A strict replay matches every request, and the real tools write the itinerary, .ics and .eml."""
    replay = ReplayModel.from_trace(TRACE)
    agent = build_agent(replay, workspace=Workspace(tmp_path))
    result = await agent.run(TripRequest().prompt(), approve=approve_all)
    replay.finish()
    assert "Lisbon on 2027-06-06" in result.output
    assert result.usage.tool_calls == 25  # 20 trip tools + 5 plan updates
    assert result.plan is not None
    assert [s.status for s in result.plan.steps] == ["completed"] * 5
    itinerary = (tmp_path / "itinerary.md").read_text()
    assert "SAMPLE DATA" in itinerary
    assert "| Lisbon | 2027-06-06 | €60 | €94 | €80 | sunny, 26 °C | **€234** |" in itinerary
    calendar = (tmp_path / "trip.ics").read_bytes().decode()
    assert calendar.count("BEGIN:VEVENT") == 4
    assert "DTSTART:20270606T193000Z" in calendar  # 20:30 in Lisbon (UTC+1 in June)
    [eml] = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["To"] == "alex@example.org"


async def test_replay_emails_the_itinerary_to_a_real_smtp_server(tmp_path: Path) -> None:
    """With SMTP settings the email reaches a loopback SMTP server with both files attached."""
    with smtp_server() as inbox:
        settings = EmailSettings(
            host="127.0.0.1",
            port=inbox.port,
            sender="planner@example.org",
            username=LOGIN,
            password=PASSWORD,
            security="none",
        )
        workspace = Workspace(tmp_path)
        # Lenient: the send_email result names the SMTP server instead of the recorded outbox file.
        agent = build_agent(
            ReplayModel.from_trace(TRACE, strict=False),
            workspace=workspace,
            mailer=Mailer(workspace, settings),
        )
        await agent.run(TripRequest().prompt(), approve=approve_all)
    [(sender, recipients, message)] = inbox.received
    assert (sender, recipients) == ("planner@example.org", ["alex@example.org"])
    assert message["Subject"] == "Your trip: The Midnight Lanterns in Lisbon"
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert set(attachments) == {"itinerary.md", "trip.ics"}
    sent_text = attachments["itinerary.md"].replace("\r\n", "\n")  # SMTP carries CRLF line ends
    assert sent_text == (tmp_path / "itinerary.md").read_text()


def test_offline_demo_runs_end_to_end(tmp_path: Path) -> None:
    """`python -m examples.trip_planner` replays offline, says so, and prints where the outputs are."""
    out = tmp_path / "demo"
    completed = subprocess.run(  # noqa: S603 - our own interpreter and example
        [sys.executable, "-m", "examples.trip_planner", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "OFFLINE DEMO" in completed.stdout
    assert "origin: authored" in completed.stdout
    assert "17 tool calls (in parallel)" in completed.stdout
    assert "plan 1/5 done, now: Compare flights, hotels and weather for every concert" in completed.stdout
    for name in ("itinerary.md", "trip.ics"):
        assert str(out / name) in completed.stdout
        assert (out / name).is_file()
    assert len(list((out / "outbox").glob("*.eml"))) == 1


def test_live_mode_against_an_openai_compatible_server_records_a_trace(tmp_path: Path) -> None:
    """`--base-url` runs the same demo against a server (here the loopback fake) and `--record` saves it."""
    trace = tmp_path / "mine.jsonl"
    flags = ["--yes", "--record", str(trace), "--out", str(tmp_path / "live")]
    with FakeKimiServer(scripted_kimi) as server:
        completed = subprocess.run(  # noqa: S603 - our own interpreter and example
            [sys.executable, "-m", "examples.trip_planner", "--base-url", server.base_url, *flags],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert completed.returncode == 0, completed.stderr
    assert "OFFLINE" not in completed.stdout
    assert read_trace(trace).final is not None
    assert len(read_trace(trace).model_calls) == 6
    assert (tmp_path / "live" / "trip.ics").is_file()
