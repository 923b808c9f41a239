"""``agentkit verify`` against the loopback fake Kimi server: a well-behaved vendor and bad ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentkit.evals.verify import Endpoint, VerifyReport, verify
from agentkit.evals.verify.render import verify_html, verify_text
from agentkit.evals.verify.suite import SUITE, ideal_reply
from agentkit.testing import VENDOR_PROFILES, FakeKimiServer, Reply, bad_vendor
from tests._cli import run_cli

pytestmark = pytest.mark.anyio

MODEL = "kimi-k2-0905-preview"
TOOL_CASES = sum(bool(c.expect_tools) for c in SUITE)


def _endpoint(name: str, server: FakeKimiServer) -> Endpoint:
    return Endpoint(name=name, base_url=server.base_url, model=MODEL, api_key="sk-loopback-secret")


async def test_a_well_behaved_vendor_passes_every_check(tmp_path: Path) -> None:
    """The fake playing a correct Kimi: all requests succeed, no defect counted, usage everywhere."""
    with FakeKimiServer(ideal_reply) as server:
        report = await verify([_endpoint("good", server)])
    s = report.endpoint("good").summary
    assert (s.requests, s.succeeded, s.expected_behaviour) == (2 * len(SUITE), 2 * len(SUITE), 1.0)
    assert s.finish_reasons == {"stop": 2 * (len(SUITE) - TOOL_CASES), "tool_calls": 2 * TOOL_CASES}
    assert (s.schema_accuracy, s.schema_errors, s.malformed_args, s.double_encoded_args) == (1.0, 0, 0, 0)
    assert (s.markup_leaks, s.empty_answers, s.unknown_tools, s.duplicate_ids) == (0, 0, 0, 0)
    assert s.id_formats == {"kimi": s.calls}
    assert (s.usage_nonstream, s.usage_stream) == (f"{len(SUITE)}/{len(SUITE)}", f"{len(SUITE)}/{len(SUITE)}")
    assert (s.parallel_calls, s.reasoning_returned, s.reasoning_round_trip) == ("2/2", "2/2", "2/2")
    assert s.cost_usd > 0
    assert s.problems == []
    saved = VerifyReport.load(report.save(tmp_path / "ref.json"))
    assert saved == report
    assert "sk-loopback-secret" not in (tmp_path / "ref.json").read_text()


async def test_bad_vendor_profiles_each_show_in_their_metric(tmp_path: Path) -> None:
    """Side by side with a reference run, each bad profile is caught by the metric that names it."""
    with FakeKimiServer(ideal_reply) as good:
        reference = await verify([_endpoint("official", good)])
    servers = {p: FakeKimiServer(bad_vendor(ideal_reply, p)) for p in VENDOR_PROFILES}
    for server in servers.values():
        server.start()
    try:
        report = await verify([_endpoint(p, s) for p, s in servers.items()], reference=reference)
    finally:
        for server in servers.values():
            server.stop()
    markup = report.endpoint("markup_in_content").summary
    assert markup.markup_leaks == 2 * TOOL_CASES
    assert markup.calls == 0
    assert markup.similarity is not None
    assert (markup.similarity.recall, markup.similarity.false_negative) == (0.0, 2 * TOOL_CASES)
    double = report.endpoint("double_encoded_args").summary
    assert double.double_encoded_args == double.calls > 0
    assert double.schema_accuracy == 0.0
    assert double.similarity is not None
    assert double.similarity.f1 == 1.0  # it triggers like the reference; its arguments are the defect
    usage = report.endpoint("missing_usage").summary
    assert (usage.usage_nonstream, usage.usage_stream) == (f"0/{len(SUITE)}", f"0/{len(SUITE)}")
    assert usage.schema_accuracy == 1.0
    refusal = report.endpoint("null_content_refusal").summary
    assert refusal.empty_answers == 2 * len(SUITE)
    assert refusal.similarity is not None
    assert refusal.similarity.f1 == 0.0
    assert report.reference == "official"
    text = verify_text(report)
    assert "tool-call markup in content" in text
    assert "double_encoded_args: 0 problem" not in text


async def test_a_vendor_refusing_reasoning_content_fails_the_round_trip() -> None:
    """An endpoint that rejects reasoning_content in history fails those requests, with the error named."""

    def strict(body: dict[str, Any]) -> Reply:
        if any("reasoning_content" in m for m in body["messages"]):
            return Reply.error(400, "invalid_request_error", "unknown field reasoning_content")
        return ideal_reply(body)

    with FakeKimiServer(strict) as server:
        report = await verify([_endpoint("strict", server)])
    s = report.endpoint("strict").summary
    assert s.reasoning_round_trip == "0/2"
    assert s.succeeded == s.requests - 2
    assert any("reasoning-round-trip: HTTP 400" in p for p in s.problems)


async def test_unreachable_endpoints_and_hostile_answers_are_reported_safely() -> None:
    """A closed port fails every request (not the run); markup in an answer is escaped in the HTML."""

    def hostile(body: dict[str, Any]) -> Reply:
        return Reply.text("<script>alert(1)</script><|tool_call_begin|>")

    with FakeKimiServer(hostile) as server:
        report = await verify(
            [
                _endpoint("hostile", server),
                Endpoint(name="closed", base_url="http://127.0.0.1:9/v1", model=MODEL),
            ],
            timeout_s=5,
        )
    assert report.endpoint("closed").summary.succeeded == 0
    assert report.endpoint("hostile").summary.markup_leaks == 2 * len(SUITE)
    page = verify_html(report)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)" in page


@pytest.mark.timeout(240)  # a cold start of the command on a loaded machine
def test_verify_command_prints_the_table_and_saves_reports(tmp_path: Path) -> None:
    """``agentkit verify`` with two endpoints prints them side by side and writes JSON and HTML."""
    with FakeKimiServer(ideal_reply) as good, FakeKimiServer(bad_vendor(ideal_reply, "missing_usage")) as bad:
        done = run_cli(
            "verify",
            "-e",
            f"good={good.base_url}",
            "-e",
            f"bad={bad.base_url}::other-model",
            "--model",
            MODEL,
            "--save",
            "v.json",
            "--html",
            "v.html",
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    assert "usage present (streamed)" in done.stdout
    assert "other-model" in done.stdout
    report = VerifyReport.load(tmp_path / "v.json")
    assert [e.name for e in report.endpoints] == ["good", "bad"]
    assert (tmp_path / "v.html").read_text().startswith("<!doctype html>")
