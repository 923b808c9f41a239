"""``agentkit eval``: the real command in a subprocess, live on the loopback fake server, then offline."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from agentkit.evals import Case, Contains, Dataset, LLMJudge, ToolCalled
from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli, write_agent


def weather_kimi(body: dict[str, Any]) -> Reply:
    """Ask for the weather of the city in the prompt, then answer from the tool's result."""
    messages = body["messages"]
    results = [m for m in messages if m["role"] == "tool"]
    if results:
        return Reply.text(f"Today: {results[-1]['content']}.")
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    found = re.search(r"in (\w+)", prompt)
    return Reply.tool_calls(("weather", {"city": found[1] if found else "?"}))


def _dataset(tmp_path: Path) -> Path:
    cases = [
        Case(
            name=c.lower(),
            prompt=f"Weather in {c}?",
            expected_output=c,
            checks=[ToolCalled(tool="weather", arguments={"city": c})],
        )
        for c in ("Oslo", "Rome")
    ]
    return Dataset(name="weather", cases=cases, evaluators=[Contains()]).save(tmp_path / "weather.yaml")


@pytest.mark.timeout(240)  # three cold starts of the command on a loaded machine
def test_eval_live_then_offline_with_a_comparison(tmp_path: Path) -> None:
    """A live eval stores results, traces and a report; an offline rerun replays them and compares."""
    agent = f"{write_agent(tmp_path)}:build"
    dataset = _dataset(tmp_path)
    with FakeKimiServer(weather_kimi) as server:
        live = run_cli(
            "eval",
            str(dataset),
            "--agent",
            agent,
            "--base-url",
            server.base_url,
            "--name",
            "v1",
            cwd=tmp_path,
        )
    assert live.returncode == 0, live.stderr
    assert "2 cases, 2 runs, pass rate 100.0%" in live.stdout
    assert "[2/2]" in live.stderr
    report = orjson.loads((tmp_path / "eval-v1.json").read_bytes())
    assert report["summary"]["pass_rate"] == 1.0
    assert report["summary"]["input_tokens"] > 0
    assert sorted(p.name for p in (tmp_path / "eval-v1.traces").iterdir()) == ["oslo.jsonl", "rome.jsonl"]

    offline = run_cli(
        "eval",
        str(dataset),
        "--agent",
        agent,
        "--replay",
        "eval-v1.traces",
        "--name",
        "replayed",
        "--compare",
        "eval-v1.json",
        "--html",
        "report.html",
        "--min-pass-rate",
        "1.0",
        cwd=tmp_path,
    )
    assert offline.returncode == 0, offline.stderr
    assert "0 of 2 cases changed" in offline.stdout
    assert "replayed" in offline.stdout
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


@pytest.mark.timeout(240)  # three cold starts of the command on a loaded machine
def test_eval_exits_1_below_the_pass_rate_and_rescoring_needs_no_model(tmp_path: Path) -> None:
    """--min-pass-rate fails when missed; --rescore needs no server; a judge without a model is refused."""
    agent = f"{write_agent(tmp_path)}:build"
    dataset = _dataset(tmp_path)
    with FakeKimiServer(lambda body: Reply.text("No idea.")) as server:
        done = run_cli(
            "eval",
            str(dataset),
            "--agent",
            agent,
            "--base-url",
            server.base_url,
            "--name",
            "bad",
            "--min-pass-rate",
            "0.5",
            "--quiet",
            cwd=tmp_path,
        )
    assert done.returncode == 1
    assert done.stderr == "pass rate 0.0% is below 50.0%\n"  # --quiet: no progress, no 'results ...' line
    rescored = run_cli(
        "eval",
        str(dataset),
        "--agent",
        agent,
        "--name",
        "bad",
        "--rescore",
        "--base-url",
        "http://127.0.0.1:9/v1",
        cwd=tmp_path,
    )
    assert rescored.returncode == 0, rescored.stderr
    assert "pass rate 0.0%" in rescored.stdout
    missing = run_cli("eval", str(tmp_path / "nope.yaml"), "--agent", agent, cwd=tmp_path)
    assert missing.returncode == 2
    assert "cannot read dataset" in missing.stderr
    judged = Dataset(cases=[Case(name="a", prompt="x")], evaluators=[LLMJudge(rubric="Polite.")])
    no_judge = run_cli("eval", str(judged.save(tmp_path / "judged.yaml")), "--agent", agent, cwd=tmp_path)
    assert no_judge.returncode == 2
    assert "has LLM judges but no judge model; add --judge-model" in no_judge.stderr


@pytest.mark.timeout(240)  # two cold starts of the command on a loaded machine
def test_eval_exits_1_when_runs_failed_and_retries_them(tmp_path: Path) -> None:
    """Runs that raised exit 1 with one line naming the error (it was 0); --retry-failed runs them again."""
    agent = f"{write_agent(tmp_path)}:build"
    dataset = _dataset(tmp_path)
    refused = Reply.error(400, "invalid_request_error", "bad request")
    with FakeKimiServer(lambda body: refused) as server:
        failed = run_cli(
            "eval",
            str(dataset),
            "--agent",
            agent,
            "--base-url",
            server.base_url,
            "--name",
            "v1",
            cwd=tmp_path,
        )
    assert failed.returncode == 1, failed.stderr
    assert (
        "error: 2 of 2 runs failed (ModelHTTPError; the errors are in eval-v1.jsonl); "
        "rerun with --retry-failed to run them again"
    ) in failed.stderr
    assert orjson.loads((tmp_path / "eval-v1.json").read_bytes())["summary"]["failed_runs"] == 2
    with FakeKimiServer(weather_kimi) as server:
        retried = run_cli(
            "eval",
            str(dataset),
            "--agent",
            agent,
            "--base-url",
            server.base_url,
            "--name",
            "v1",
            "--retry-failed",
            cwd=tmp_path,
        )
    assert retried.returncode == 0, retried.stderr
    assert "2 cases, 2 runs, pass rate 100.0%" in retried.stdout
