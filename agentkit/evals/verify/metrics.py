"""What the observations of one endpoint add up to: the verifier's metrics.

Per tool call: are the arguments a JSON object (else malformed, or a JSON string holding JSON:
double-encoded), do they validate against the tool's schema, is the tool one that was offered,
what format is the id (Kimi's ``functions.NAME:IDX``, the older ``NAME:IDX``, other, missing).
Per answer: the finish reason, raw tool-call markup leaked into the content, an empty answer
(no content, no calls: a null-content refusal), usage present, reasoning returned, whether it
did what the suite expects. Against a reference run (e.g. the official API's, saved as JSON):
precision, recall and F1 of *triggering* a tool call, as Moonshot's vendor verifier defines it.

>>> import orjson
>>> from agentkit.evals.verify.probe import WireCall
>>> twice = orjson.dumps(orjson.dumps({"city": "Paris"}).decode()).decode()
>>> classify_arguments(WireCall(arguments=twice))
('double_encoded', {'city': 'Paris'})
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
import orjson
from pydantic import BaseModel, ConfigDict, Field

from agentkit.evals.report import percentile
from agentkit.evals.verify.probe import Observation, WireCall
from agentkit.evals.verify.suite import SUITE, SuiteCase
from agentkit.usage import ModelPrice, Usage, cost_usd

__all__ = ["EndpointSummary", "Similarity", "classify_arguments", "id_format", "leaked_markup", "summarise"]

_MARKUP = re.compile(r"<\|tool_call|<\|tool_calls_section|</?tool_call>|<\|tool▁call|<\|python_tag\|>")
_KIMI_ID = re.compile(r"^functions\.[A-Za-z_$][\w$.-]*:\d+$")
_LEGACY_ID = re.compile(r"^[A-Za-z_$][\w$.-]*:\d+$")


def leaked_markup(content: str | None) -> bool:
    """Whether ``content`` holds raw tool-call markup (the engine's parser did not run or failed)."""
    return bool(content) and _MARKUP.search(content or "") is not None


def id_format(call_id: str | None) -> str:
    """``kimi`` (functions.NAME:IDX), ``legacy`` (NAME:IDX), ``other`` or ``missing``."""
    if not call_id:
        return "missing"
    if _KIMI_ID.match(call_id):
        return "kimi"
    return "legacy" if _LEGACY_ID.match(call_id) else "other"


def classify_arguments(call: WireCall) -> tuple[str, Any]:
    """``("ok", args)``, ``("double_encoded", args)`` or ``("malformed", None)``."""
    raw = call.arguments
    if raw is None or call.arguments_type != "string":
        return "malformed", None
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "malformed", None
    if isinstance(decoded, dict):
        return "ok", decoded
    if isinstance(decoded, str):
        try:
            inner = orjson.loads(decoded)
        except orjson.JSONDecodeError:
            return "malformed", None
        if isinstance(inner, dict):
            return "double_encoded", inner
    return "malformed", None


def _triggered(o: Observation) -> bool:
    return bool(o.tool_calls) or o.finish_reason == "tool_calls"


def _usage_ok(o: Observation) -> bool:
    u = o.usage or {}
    return isinstance(u.get("prompt_tokens"), int) and isinstance(u.get("completion_tokens"), int)


class Similarity(BaseModel):
    """Tool-call triggering compared with a reference run (by case and streaming)."""

    model_config = ConfigDict(frozen=True)

    compared: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int
    precision: float
    recall: float
    f1: float


def similarity(observations: Sequence[Observation], reference: Sequence[Observation]) -> Similarity | None:
    """Trigger precision/recall/F1 against ``reference`` (its majority per case and mode)."""
    votes: dict[tuple[str, bool], list[bool]] = {}
    for r in reference:
        if r.ok:
            votes.setdefault((r.case, r.stream), []).append(_triggered(r))
    expected = {key: sum(v) * 2 > len(v) for key, v in votes.items()}
    tp = fp = fn = tn = 0
    for o in observations:
        want = expected.get((o.case, o.stream))
        if want is None:
            continue
        got = o.ok and _triggered(o)
        tp += got and want
        fp += got and not want
        fn += want and not got
        tn += not got and not want
    compared = tp + fp + fn + tn
    if not compared:
        return None
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Similarity(
        compared=compared,
        true_positive=tp,
        false_positive=fp,
        false_negative=fn,
        true_negative=tn,
        precision=precision,
        recall=recall,
        f1=f1,
    )


class EndpointSummary(BaseModel):
    """One endpoint's verifier metrics (see the module docs); counts are over all requests."""

    model_config = ConfigDict(frozen=True)

    requests: int
    succeeded: int
    success_rate: float
    finish_reasons: dict[str, int]
    tool_call_answers: int
    calls: int
    schema_valid_calls: int
    schema_accuracy: float
    schema_errors: int
    malformed_args: int
    double_encoded_args: int
    unknown_tools: int
    markup_leaks: int
    empty_answers: int
    id_formats: dict[str, int]
    duplicate_ids: int
    usage_nonstream: str
    usage_stream: str
    reasoning_returned: str
    reasoning_round_trip: str
    parallel_calls: str
    expected_behaviour: float
    similarity: Similarity | None = None
    latency_p50_s: float
    latency_p95_s: float
    input_tokens: int
    output_tokens: int
    cost_usd: float
    problems: list[str] = Field(default_factory=list)


def _fraction(hits: int, total: int) -> str:
    return f"{hits}/{total}"


def _call_counts(o: Observation, case: SuiteCase, counts: Counter[str], problems: list[str]) -> None:
    ids = [c.id for c in o.tool_calls if c.id]
    counts["duplicate_ids"] += len(ids) - len(set(ids))
    for call in o.tool_calls:
        counts["calls"] += 1
        counts[f"id:{id_format(call.id)}"] += 1
        schema = case.schema_of(call.name or "")
        kind, args = classify_arguments(call)
        if kind != "ok":
            counts[f"{kind}_args"] += 1
            problems.append(
                f"{o.case}{' (stream)' if o.stream else ''}: {call.name} arguments {kind.replace('_', '-')}: "
                f"{(call.arguments or '')[:80]!r}"
            )
        if schema is None:
            counts["unknown_tools"] += 1
            problems.append(f"{o.case}: called {call.name!r}, which was not offered")
        elif kind == "ok":
            errors = list(jsonschema.Draft202012Validator(dict(schema)).iter_errors(args))
            if errors:
                counts["schema_errors"] += 1
                problems.append(f"{o.case}: {call.name} arguments fail the schema: {errors[0].message[:100]}")
            else:
                counts["schema_valid"] += 1


def _behaved(o: Observation, case: SuiteCase) -> bool:
    names = sorted(c.name or "" for c in o.tool_calls)
    return o.ok and names == sorted(case.expect_tools) and not leaked_markup(o.content)


def _answer_counts(o: Observation, case: SuiteCase, counts: Counter[str], problems: list[str]) -> None:
    where = f"{o.case}{' (stream)' if o.stream else ''}"
    counts["succeeded"] += 1
    counts[
        f"finish:{o.finish_reason if o.finish_reason in ('stop', 'tool_calls', 'length') else 'other'}"
    ] += 1
    counts["tool_call_answers"] += bool(o.tool_calls)
    if leaked_markup(o.content):
        counts["markup_leaks"] += 1
        problems.append(f"{where}: raw tool-call markup in content: {(o.content or '')[:80]!r}")
    if not o.tool_calls and not (o.content or "").strip():
        counts["empty_answers"] += 1
        problems.append(f"{where}: an empty answer (no content, no tool calls; finish {o.finish_reason})")
    counts["usage_stream" if o.stream else "usage_nonstream"] += _usage_ok(o)
    if case.thinking == "enabled" and case.expect_tools:
        counts["reasoning_asked"] += 1
        counts["reasoning_returned"] += bool(o.reasoning_content)
    if case.id == "parallel-two-cities":
        counts["parallel_ok"] += len(o.tool_calls) >= 2
    counts["behaved"] += _behaved(o, case)
    _call_counts(o, case, counts, problems)


def summarise(
    observations: Sequence[Observation],
    *,
    price: ModelPrice | None = None,
    reference: Sequence[Observation] | None = None,
    suite: Sequence[SuiteCase] = SUITE,
) -> EndpointSummary:
    """Add up one endpoint's observations (``price`` for cost, ``reference`` for similarity)."""
    cases: Mapping[str, SuiteCase] = {c.id: c for c in suite}
    counts: Counter[str] = Counter()
    problems: list[str] = []
    tokens_in = tokens_out = 0
    for o in observations:
        case = cases[o.case]
        counts["stream_requests" if o.stream else "nonstream_requests"] += 1
        counts["round_trip_sent"] += case.id == "reasoning-round-trip"
        if o.usage:
            tokens_in += int(o.usage.get("prompt_tokens") or 0)
            tokens_out += int(o.usage.get("completion_tokens") or 0)
        if not o.ok:
            problems.append(f"{o.case}{' (stream)' if o.stream else ''}: {o.error}")
            continue
        counts["round_trip_ok"] += case.id == "reasoning-round-trip"
        _answer_counts(o, case, counts, problems)
    total = len(observations)
    calls = counts["calls"]
    return EndpointSummary(
        requests=total,
        succeeded=counts["succeeded"],
        success_rate=counts["succeeded"] / total if total else 0.0,
        finish_reasons={
            k.removeprefix("finish:"): v for k, v in sorted(counts.items()) if k.startswith("finish:")
        },
        tool_call_answers=counts["tool_call_answers"],
        calls=calls,
        schema_valid_calls=counts["schema_valid"],
        schema_accuracy=counts["schema_valid"] / calls if calls else 1.0,
        schema_errors=counts["schema_errors"],
        malformed_args=counts["malformed_args"],
        double_encoded_args=counts["double_encoded_args"],
        unknown_tools=counts["unknown_tools"],
        markup_leaks=counts["markup_leaks"],
        empty_answers=counts["empty_answers"],
        id_formats={k.removeprefix("id:"): v for k, v in sorted(counts.items()) if k.startswith("id:")},
        duplicate_ids=counts["duplicate_ids"],
        usage_nonstream=_fraction(counts["usage_nonstream"], counts["nonstream_requests"]),
        usage_stream=_fraction(counts["usage_stream"], counts["stream_requests"]),
        reasoning_returned=_fraction(counts["reasoning_returned"], counts["reasoning_asked"]),
        reasoning_round_trip=_fraction(counts["round_trip_ok"], counts["round_trip_sent"]),
        parallel_calls=_fraction(
            counts["parallel_ok"], sum(o.case == "parallel-two-cities" for o in observations)
        ),
        expected_behaviour=counts["behaved"] / total if total else 0.0,
        similarity=None if reference is None else similarity(observations, reference),
        latency_p50_s=percentile([o.latency_s for o in observations], 0.5),
        latency_p95_s=percentile([o.latency_s for o in observations], 0.95),
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=cost_usd(Usage(input_tokens=tokens_in, output_tokens=tokens_out), price),
        problems=list(dict.fromkeys(problems))[:50],
    )
