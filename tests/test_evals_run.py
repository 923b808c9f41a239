"""Running evals: parallel, repeated, traced, stored, resumable, re-scored and offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentkit.evals import Contains, Function, Regex, Report, compare, read_results, rescore, run_eval
from agentkit.exceptions import UserError
from agentkit.tracing import read_trace
from tests._evals import WeatherModel, weather_agent, weather_dataset

pytestmark = pytest.mark.anyio


async def test_cases_run_in_parallel_under_the_cap_and_are_scored() -> None:
    """Six cases at concurrency 2 overlap two at a time, never more, and each is scored."""
    model = WeatherModel(gate=2)
    report = await run_eval(weather_dataset(), weather_agent(model), concurrency=2)
    assert model.in_flight_max == 2
    assert report.summary.pass_rate == 1.0
    assert [c.case for c in report.cases] == ["oslo", "rome", "lima", "kyiv", "pune", "bern"]
    oslo = report.records[0]
    assert oslo.output == "The weather: Oslo: sunny, 21 C."
    assert [(c.name, c.arguments) for c in oslo.tool_calls] == [("weather", '{"city":"Oslo"}')]
    assert set(oslo.scores) == {"contains", "called:weather"}
    assert (oslo.turns, oslo.usage["input_tokens"]) == (2, 200)
    assert oslo.cost_usd == pytest.approx(0.002)


async def test_a_failing_progress_callback_does_not_stop_the_eval() -> None:
    """on_result raising for every run leaves every run recorded and scored."""

    def broken(record: object) -> None:
        raise RuntimeError("terminal gone")

    report = await run_eval(weather_dataset(), weather_agent(WeatherModel()), on_result=broken)
    assert report.summary.runs == 6
    assert report.summary.pass_rate == 1.0


async def test_failed_runs_are_kept_with_their_error_and_spend() -> None:
    """A run whose model fails is a failed record (error, 0 scores), and the others still run."""
    report = await run_eval(weather_dataset(), weather_agent(WeatherModel(fail=("Lima",), wrong=("Kyiv",))))
    lima = report.case("lima")
    assert (lima.runs, lima.failed_runs, lima.passed) == (1, 1, 0)
    assert lima.errors == ["ModelResponseError: the model server answered garbage"]
    kyiv = report.records[3]
    assert (kyiv.status, kyiv.scores["contains"].passed) == ("ok", False)
    assert report.summary.failed_runs == 1
    assert report.summary.pass_rate == pytest.approx(4 / 6)
    assert report.check(min_pass_rate=0.9) == ["pass rate 66.7% is below 90.0%"]


async def test_repetitions_give_a_mean_and_a_spread() -> None:
    """Three repetitions of a case that passes on some and fails on others show the pass rate and spread."""
    model = WeatherModel()
    answers = iter(["good", "bad", "good"])

    def flaky(case: object, run: object) -> bool:
        return next(answers) == "good"

    report = await run_eval(
        weather_dataset(("Oslo",)),
        weather_agent(model),
        repeat=3,
        concurrency=1,
        evaluators=[Function(func=flaky)],
    )
    oslo = report.case("oslo")
    assert (oslo.runs, oslo.passed) == (3, 2)
    assert oslo.pass_rate == pytest.approx(2 / 3)
    assert oslo.scores["flaky"].mean == pytest.approx(2 / 3)
    assert oslo.scores["flaky"].spread == pytest.approx(0.4714, abs=1e-4)
    assert [r.repetition for r in report.records] == [0, 1, 2]


async def test_results_resume_and_each_run_leaves_a_trace(tmp_path: Path) -> None:
    """A rerun on the same results file calls the model only for unfinished runs; traces open."""
    results = tmp_path / "exp.jsonl"
    first = WeatherModel(fail=("Rome",))
    await run_eval(weather_dataset(), weather_agent(first), results=results)
    assert first.calls == 11  # five cases of two turns, one failing at its first call
    header, records = read_results(results)
    assert header["dataset"] == "weather"
    assert len(records) == 6
    trace = read_trace(tmp_path / "exp.traces" / "oslo.jsonl")
    assert trace.final is not None
    assert trace.final["output"] == "The weather: Oslo: sunny, 21 C."
    by_case = {r.case: r for r in records}
    assert by_case["oslo"].trace == str(tmp_path / "exp.traces" / "oslo.jsonl")
    assert by_case["rome"].status == "failed"

    again = WeatherModel()
    report = await run_eval(weather_dataset(), weather_agent(again), results=results)
    assert again.calls == 0  # failed runs are finished too, unless asked to rerun them
    assert report.summary.failed_runs == 1
    retried = await run_eval(weather_dataset(), weather_agent(again), results=results, rerun_failed=True)
    assert again.calls == 2
    assert retried.summary.failed_runs == 0
    assert len(read_results(results)[1]) == 6


async def test_an_interrupted_results_file_resumes_from_its_complete_lines(tmp_path: Path) -> None:
    """A results file cut mid-line keeps its finished runs; the cut one runs again."""
    results = tmp_path / "exp.jsonl"
    await run_eval(weather_dataset(("Oslo", "Rome")), weather_agent(WeatherModel()), results=results)
    data = results.read_bytes()
    results.write_bytes(data[: len(data) - 40])  # the last record is cut off
    model = WeatherModel()
    report = await run_eval(weather_dataset(("Oslo", "Rome")), weather_agent(model), results=results)
    assert model.calls == 2
    assert report.summary.runs == 2
    assert len(read_results(results)[1]) == 2


async def test_a_results_file_of_another_dataset_is_refused(tmp_path: Path) -> None:
    """Resuming into a file that holds another dataset's runs raises instead of mixing them."""
    results = tmp_path / "exp.jsonl"
    await run_eval(weather_dataset(("Oslo",)), weather_agent(WeatherModel()), results=results)
    other = weather_dataset(("Oslo",)).model_copy(update={"name": "other"})
    with pytest.raises(UserError, match="holds results of dataset 'weather'"):
        await run_eval(other, weather_agent(WeatherModel()), results=results)


async def test_rescoring_reruns_evaluators_without_the_model(tmp_path: Path) -> None:
    """Changed evaluators re-score the stored runs; the model is not called; the file is updated."""
    results = tmp_path / "exp.jsonl"
    model = WeatherModel()
    await run_eval(weather_dataset(("Oslo", "Rome")), weather_agent(model), results=results)
    calls = model.calls
    stricter = weather_dataset(("Oslo", "Rome")).model_copy(update={"evaluators": [Regex(pattern="Rome")]})
    report = await rescore(stricter, results)
    assert model.calls == calls
    assert [c.pass_rate for c in report.cases] == [0.0, 1.0]
    assert set(read_results(results)[1][0].scores) == {"regex:Rome", "called:weather"}


async def test_offline_eval_replays_recorded_traces_with_no_model(tmp_path: Path) -> None:
    """An eval recorded once runs again from its traces: same outputs, no model call, same trace origin."""
    live = tmp_path / "live.jsonl"
    recorded = await run_eval(
        weather_dataset(), weather_agent(WeatherModel()), results=live, trace_origin="recorded"
    )
    unused = WeatherModel(fail=tuple(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    offline = await run_eval(
        weather_dataset(),
        weather_agent(unused),
        replay=tmp_path / "live.traces",
        name="offline",
        results=tmp_path / "offline.jsonl",
    )
    assert unused.calls == 0
    # A replay's trace keeps the recording's origin (an in-process replay would otherwise say authored).
    assert read_trace(tmp_path / "offline.traces" / "oslo.jsonl").origin == "recorded"
    assert [r.output for r in offline.records] == [r.output for r in recorded.records]
    assert offline.summary.pass_rate == 1.0
    missing = await run_eval(
        weather_dataset(("Oslo", "Quito")), weather_agent(unused), replay=tmp_path / "live.traces"
    )
    assert missing.case("quito").errors[0].startswith("UserError: no recorded trace for case 'quito'")


async def test_a_changed_agent_fails_a_strict_replay_visibly(tmp_path: Path) -> None:
    """Replaying traces with changed instructions fails the runs with ReplayMismatch, not silently."""
    live = tmp_path / "live.jsonl"
    await run_eval(weather_dataset(("Oslo",)), weather_agent(WeatherModel()), results=live)
    changed = weather_agent(WeatherModel()).replace(instructions="Be terse.")
    report = await run_eval(weather_dataset(("Oslo",)), changed, replay=tmp_path / "live.traces")
    assert report.case("oslo").errors[0].startswith("ReplayMismatch: turn 1")


async def test_comparison_names_the_cases_whose_result_changed() -> None:
    """Two experiments compared: the cases that regressed or improved are listed, the rest same."""
    base = await run_eval(weather_dataset(), weather_agent(WeatherModel(wrong=("Rome",))), name="v1")
    new = await run_eval(weather_dataset(), weather_agent(WeatherModel(wrong=("Lima",))), name="v2")
    comparison = compare([base, new])
    assert {r.case: r.change for r in comparison.changed} == {"rome": "improved", "lima": "regressed"}
    assert comparison.experiments == ["v1", "v2"]
    assert comparison.deltas[0] is None
    same_rate = comparison.deltas[1]
    assert same_rate is not None
    assert same_rate.delta == 0.0
    assert not same_rate.significant
    with pytest.raises(UserError):
        compare([base])


async def test_a_large_pass_rate_drop_is_significant_and_a_small_one_is_not() -> None:
    """With 20 runs a fall from all passing to half is outside the 95 % interval; one case of six is not."""
    cities = tuple(f"City{i:02d}" for i in range(20))
    base = await run_eval(weather_dataset(cities), weather_agent(WeatherModel()), name="base")
    half = await run_eval(
        weather_dataset(cities), weather_agent(WeatherModel(wrong=cities[:10])), name="half"
    )
    one = await run_eval(weather_dataset(cities), weather_agent(WeatherModel(wrong=cities[:1])), name="one")
    big, small = compare([base, half, one]).deltas[1:]
    assert big is not None
    assert small is not None
    assert (big.delta, big.significant) == (-0.5, True)
    assert big.low == pytest.approx(-0.701, abs=1e-3)
    assert big.high == pytest.approx(-0.243, abs=1e-3)
    assert small.delta == pytest.approx(-0.05)
    assert not small.significant


async def test_reports_save_load_and_assert_thresholds(tmp_path: Path) -> None:
    """A report survives JSON; assert_thresholds lists each missed threshold and the failing case."""
    report = await run_eval(
        weather_dataset(("Oslo", "Rome")),
        weather_agent(WeatherModel(wrong=("Rome",))),
        evaluators=[Contains(value="weather")],
    )
    loaded = Report.load(report.save(tmp_path / "r.json"))
    assert loaded == report
    loaded.assert_thresholds(min_pass_rate=0.5, max_failed_runs=0)
    with pytest.raises(AssertionError) as failure:
        loaded.assert_thresholds(min_pass_rate=0.9, min_scores={"contains": 0.9, "judge": 0.5})
    text = str(failure.value)
    assert "pass rate 50.0% is below 90.0%" in text
    assert "no score named 'judge'" in text
    assert "case rome: 0/1 passed; contains: missing: 'Rome'" in text


def test_tool_call_failures_match_calls_by_position_not_by_the_models_ids() -> None:
    """Two calls sharing one id, the second refused: only the second counts as failed."""
    from agentkit.evals.runner import _tool_calls  # noqa: PLC0415 - the record builder under test
    from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage  # noqa: PLC0415

    same = "functions.send:0"
    messages: list[Message] = [
        AssistantMessage(
            tool_calls=(
                ToolCall(id=same, name="send", arguments='{"to": "bob"}'),
                ToolCall(id=same, name="send", arguments='{"to": "eve"}'),
            )
        ),
        ToolMessage(tool_call_id=same, name="send", content="sent"),
        ToolMessage(tool_call_id=same, name="send", content="duplicate id", is_error=True),
    ]
    assert [(c.arguments, c.is_error) for c in _tool_calls(messages)] == [
        ('{"to": "bob"}', False),
        ('{"to": "eve"}', True),
    ]
