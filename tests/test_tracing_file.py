"""The JSONL trace file: written per event, read back, truncated, versioned, free of secrets."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.events import ModelCallFinished, RunStarted
from agentkit.exceptions import TraceFormatError
from agentkit.messages import AssistantMessage, UserMessage
from agentkit.models.abstract import ModelRequest, ModelResponse
from agentkit.models.function import ScriptedModel
from agentkit.tracing import (
    TRACE_DIR_ENV,
    Redactor,
    TraceWriter,
    TruncatedTraceWarning,
    read_trace,
    read_traces,
    spans_from_trace,
)
from agentkit.usage import Usage
from tests.builders import calls

pytestmark = pytest.mark.anyio

FAKE_KEY = "sk-FAKE-test-key-0123456789abcdef"
LINES_SEEN: list[list[str]] = []


@tool
def lookup(city: str) -> dict[str, str]:
    """Look a city up.

    Args:
        city: City name.
    """
    return {"city": city, "country": "NO"}


def _agent(*replies: object) -> Agent[str]:
    model = ScriptedModel(list(replies))  # type: ignore[arg-type]  # replies are Reply values
    return Agent(model, instructions="Be brief.", tools=[lookup], name="geo")


async def test_written_trace_reads_back_whole(tmp_path: Path) -> None:
    """A run traced with trace=path reads back with header, every call, result and final record."""
    path = tmp_path / "run.jsonl"
    result = await _agent(calls(("lookup", {"city": "Oslo"})), "Oslo is in Norway.").run("Where?", trace=path)
    trace = read_trace(path)
    assert trace.header["format"] == "agentkit-trace"
    assert trace.header["version"] == 1
    assert trace.header["agent"] == "geo"
    assert trace.header["model"] == "scripted"
    assert [t.name for t in trace.tools] == ["lookup"]
    assert trace.origin == "authored"  # a ScriptedModel's answers never crossed a wire
    assert [r["type"] for r in trace.records] == [
        "model_call",
        "tool_call",
        "turn",
        "model_call",
        "turn",
        "final",
    ]
    assert trace.of_type("tool_call")[0]["result"] == {
        "content": '{"city":"Oslo","country":"NO"}',
        "is_error": False,
    }
    assert trace.final is not None
    assert trace.final["output"] == "Oslo is in Norway."
    assert trace.messages() == result.messages
    assert not trace.truncated


async def test_requests_are_delta_coded_but_rebuild_exactly(tmp_path: Path) -> None:
    """Each request stores only new messages, and requests() rebuilds every full request."""
    path = tmp_path / "run.jsonl"
    await _agent(calls(("lookup", {"city": "Oslo"})), calls(("lookup", {"city": "Rome"})), "ok").run(
        "Where?", trace=path
    )
    trace = read_trace(path)
    stored = [r["request"] for r in trace.model_calls]
    assert [s["base"] for s in stored] == [0, 2, 4]
    assert [s["tools"] == "same" for s in stored] == [False, True, True]
    full = list(trace.requests())
    assert [len(r["messages"]) for r in full] == [2, 4, 6]
    assert [t["name"] for t in full[2]["tools"]] == ["lookup"]


async def test_each_event_is_flushed_as_it_happens(tmp_path: Path) -> None:
    """While a tool runs, the file already holds the header and the model call that asked for it."""
    path = tmp_path / "run.jsonl"

    @tool
    def peek() -> str:
        """Read the trace so far."""
        LINES_SEEN.append([orjson.loads(line)["type"] for line in path.read_bytes().splitlines()])
        return "ok"

    LINES_SEEN.clear()
    await Agent(ScriptedModel([calls(("peek", {})), "done"]), tools=[peek]).run("go", trace=path)
    assert LINES_SEEN == [["header", "model_call"]]


async def test_truncated_last_line_loads_with_a_warning(tmp_path: Path) -> None:
    """A file cut mid-record (a crash) loads its complete records and warns about the rest."""
    path = tmp_path / "run.jsonl"
    await _agent(calls(("lookup", {"city": "Oslo"})), "done").run("Where?", trace=path)
    data = path.read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: data.rindex(b'{"type":"turn"') + 20])
    with pytest.warns(TruncatedTraceWarning, match="incomplete"):
        trace = read_trace(cut)
    assert trace.truncated
    assert [r["type"] for r in trace.records] == ["model_call", "tool_call", "turn", "model_call"]
    spans = spans_from_trace(trace)
    assert spans[-1].kind == "run"
    assert spans[-1].error is not None
    assert "Incomplete" in spans[-1].error


def test_wrong_format_version_is_rejected_clearly(tmp_path: Path) -> None:
    """A header with another version raises TraceFormatError naming both versions."""
    path = tmp_path / "v99.jsonl"
    path.write_bytes(b'{"type":"header","format":"agentkit-trace","version":99}\n')
    with pytest.raises(
        TraceFormatError, match=r"version 99 is not supported \(this agentkit reads version 1\)"
    ):
        read_trace(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "empty trace file"),
        (b'{"type":"model_call"}\n', "expected the header record first"),
        (b'{"type":"header","format":"other"}\n', "not an agentkit trace"),
        (
            b'{"type":"header","format":"agentkit-trace","version":1}\nnot json\n{}\n',
            r":2: not a JSON record",
        ),
    ],
)
def test_malformed_files_are_rejected(tmp_path: Path, content: bytes, match: str) -> None:
    """Files that are not traces raise TraceFormatError with the file and line."""
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceFormatError, match=match):
        read_trace(path)


async def test_secrets_never_reach_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The env API key, configured secrets and credential-named fields are redacted everywhere."""
    monkeypatch.setenv("MOONSHOT_API_KEY", FAKE_KEY)

    @tool
    def leak() -> dict[str, str]:
        """Return credentials (a badly written tool)."""
        return {
            "api_key": "tool-secret-value",
            "Authorization": "Bearer abcdefghijklmnop",
            "db": "pw-hunter22",
        }

    path = tmp_path / "run.jsonl"
    agent = Agent(ScriptedModel([calls(("leak", {})), f"the key is {FAKE_KEY}"]), tools=[leak])
    writer = TraceWriter(path, secrets=["pw-hunter22"])
    result = await agent.run(f"my key is {FAKE_KEY}", trace=writer)
    assert FAKE_KEY in result.output  # the run itself is untouched
    text = path.read_text()
    for secret in (FAKE_KEY, "tool-secret-value", "abcdefghijklmnop", "pw-hunter22"):
        assert secret not in text
    assert "[redacted]" in text
    read_trace(path)  # still valid JSON lines


def test_a_raw_body_with_non_string_keys_is_still_written() -> None:
    """A raw body with int keys (orjson refuses them by default) is still written, not dropped."""
    buffer = io.BytesIO()
    writer = TraceWriter(buffer)
    prompt = (UserMessage(content="hi"),)
    writer.on_event(RunStarted(run_id="r1", agent_name="a", model_name="m", messages=prompt))
    response = ModelResponse(
        message=AssistantMessage(content="ok"),
        finish_reason="stop",
        usage=Usage(),
        model_name="m",
        raw={1: "one", "choices": []},  # type: ignore[dict-item]  # a provider breaking the Mapping[str, Any] type
    )
    call = ModelCallFinished(turn=1, request=ModelRequest(messages=prompt), response=response, duration_s=0.1)
    writer.on_event(call)
    records = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    assert [r["type"] for r in records] == ["header", "model_call"]
    assert records[1]["raw"] == {"1": "one", "choices": []}
    assert records[0]["origin"] == "recorded"


async def test_trace_to_a_binary_writer() -> None:
    """trace= accepts a writer hook over an open binary file object, left open afterwards."""
    buffer = io.BytesIO()
    await _agent("hi").run("hello", trace=TraceWriter(buffer, origin="authored"))
    lines = [orjson.loads(line) for line in buffer.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["header", "model_call", "turn", "final"]
    assert not buffer.closed


async def test_env_var_records_every_run_into_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With AGENTKIT_TRACE_DIR set, each run writes its own file there."""
    monkeypatch.setenv(TRACE_DIR_ENV, str(tmp_path / "traces"))
    first = await _agent("one").run("a")
    second = await _agent("two").run("b")
    files = sorted((tmp_path / "traces").iterdir())
    assert {f.name for f in files} == {f"geo-{first.run_id}.jsonl", f"geo-{second.run_id}.jsonl"}
    assert {read_trace(f).final["output"] for f in files} == {"one", "two"}  # type: ignore[index]  # runs ended


async def test_one_writer_several_runs_reads_as_several_traces(tmp_path: Path) -> None:
    """A writer over one stream records consecutive runs; read_traces splits them, read_trace refuses."""
    buffer = io.BytesIO()
    writer = TraceWriter(buffer)
    await _agent("one").run("a", trace=writer)
    await _agent("two").run("b", trace=writer)
    path = tmp_path / "two.jsonl"
    path.write_bytes(buffer.getvalue())
    assert [t.final["output"] for t in read_traces(path)] == ["one", "two"]  # type: ignore[index]  # runs ended
    with pytest.raises(TraceFormatError, match="holds 2 runs"):
        read_trace(path)


def test_redactor_keeps_ordinary_keys_and_removes_credentials() -> None:
    """A parameter named "key" or a token count is kept; api keys, tokens and passwords are not."""
    line = (
        b'{"key":"louvre.hours","input_tokens":3,"x_api_key":"k1k1k1","access_token":"t1t1t1",'
        b'"args":"{\\"password\\":\\"p1p1p1\\",\\"key\\":\\"v\\"}"}'
    )
    out = Redactor().redact(line)
    assert out == (
        b'{"key":"louvre.hours","input_tokens":3,"x_api_key":"[redacted]","access_token":"[redacted]",'
        b'"args":"{\\"password\\":\\"[redacted]\\",\\"key\\":\\"v\\"}"}'
    )


def test_redactor_scan_lets_through_only_lines_the_rules_would_not_change() -> None:
    """The one-scan shortcut never skips a line that the full rules would rewrite (any case, overlaps)."""
    secret, overlapping = "Zq9-VAULT-pass-77", "xx-apikey-token-00"
    redactor = Redactor([secret, overlapping], env_vars=())
    fragments = [
        '"key":"louvre.hours"',
        '"input_tokens":3',
        '"API_KEY":"k1k1k1"',
        '"Api-Key" : "k2k2k2"',
        '"PassWord":"p"',
        '"client_secret":"c"',
        '"refresh_token":"r"',
        '"args":"{\\"Access_Token\\":\\"t\\"}"',
        '"h":"Bearer abcdefghijk"',
        '"h":"bearer abcdefghijk"',
        f'"content":"the vault is {secret}."',
        f'"content":"{secret.lower()}"',
        f'"content":"{overlapping}"',
        '"content":"a token of thanks"',
        '"token":"t"',
        '"Api_Token":"t"',
        '"secret_key":"s"',
        '"private_key":"k"',
        '"h":"authorization: bearer abcdefghijk"',
        '"h":"Authorization: Basic dXNlcjpwYXNzd29yZA=="',
        '"content":"the basic idea"',
    ]
    changed = 0
    for i, first in enumerate(fragments):
        for second in fragments[i:]:
            line = ("{" + first + "," + second + "}").encode()
            fast, full = redactor.redact(line), redactor.redact_all(line)
            assert fast == full, line
            changed += fast != line
    assert secret.encode() not in redactor.redact(f'{{"c":"{secret}"}}'.encode())
    assert overlapping.encode() not in redactor.redact(f'{{"c":"{overlapping}"}}'.encode())
    assert changed > 50  # the corpus really exercises the rules, not only the shortcut


async def test_streamed_run_is_traced_too(tmp_path: Path) -> None:
    """A streamed run writes the same record types as a plain run."""
    path = tmp_path / "stream.jsonl"
    async with _agent(calls(("lookup", {"city": "Oslo"})), "Norway.").stream("Where?", trace=path) as run:
        async for _ in run:
            pass
    trace = read_trace(path)
    assert [r["type"] for r in trace.records] == [
        "model_call",
        "tool_call",
        "turn",
        "model_call",
        "turn",
        "final",
    ]
    assert trace.final is not None
    assert trace.final["output"] == run.result.output


async def test_extra_header_fields_say_what_was_recorded(tmp_path: Path) -> None:
    """header= adds fields to the trace header; the standard ones keep their values on a clash."""
    path = tmp_path / "run.jsonl"
    writer = TraceWriter(path, header={"server": "llama-cpp-python", "origin": "forged", "model": "x"})
    await Agent(ScriptedModel(["hi"]), name="plain").run("hello", trace=writer)
    header = read_trace(path).header
    assert header["server"] == "llama-cpp-python"
    assert header["origin"] == "authored"
    assert header["model"] != "x"
