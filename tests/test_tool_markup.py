"""Self-hosted Kimi-K2 markup in the content: quoted markers, streaming without leaks, truncated calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import orjson
import pytest

from agentkit import Agent, tool
from agentkit.events import TextDelta
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models import KIMI_PROFILE, KimiModel
from agentkit.models._tool_markup import UNREADABLE_CALL, MarkupFilter, recover_tool_calls
from agentkit.models.abstract import RetryPolicy
from agentkit.testing import FakeKimiServer, Reply

pytestmark = pytest.mark.anyio

BEGIN = "<|tool_calls_section_begin|><|tool_call_begin|>"
ARGS = "<|tool_call_argument_begin|>"
END = "<|tool_call_end|><|tool_calls_section_end|>"
PROFILE = replace(KIMI_PROFILE, retry=RetryPolicy(base_delay_s=0.001, max_delay_s=0.01))


@tool
def note(text: str) -> str:
    """Save a note.

    Args:
        text: The note.
    """
    return f"saved {len(text)} characters"


@pytest.fixture
async def kimi(fake_kimi: FakeKimiServer) -> AsyncIterator[KimiModel]:
    """A KimiModel on the fake server, closed after the test."""
    async with KimiModel(base_url=fake_kimi.base_url, api_key="sk-markup-test", profile=PROFILE) as model:
        yield model


def test_end_marker_inside_a_json_string_does_not_cut_the_arguments() -> None:
    """A literal <|tool_call_end|> quoted in the arguments is data: the whole JSON object is kept."""
    arguments = '{"text": "the marker <|tool_call_end|> is a token", "n": 2}'
    message = recover_tool_calls(AssistantMessage(content=f"{BEGIN}functions.note:0{ARGS}{arguments}{END}"))
    assert [c.name for c in message.tool_calls] == ["note"]
    assert orjson.loads(message.tool_calls[0].arguments) == orjson.loads(arguments)
    assert message.content is None


def test_two_calls_and_surrounding_text_are_recovered() -> None:
    """Two calls in one section become two calls with their ids verbatim; the text around stays."""
    text = (
        f"Saving.{BEGIN}functions.note:0{ARGS}"
        '{"text": "a"}<|tool_call_end|><|tool_call_begin|>functions.note:1'
        f'{ARGS}{{"text": "b"}}{END} Done.'
    )
    message = recover_tool_calls(AssistantMessage(content=text))
    assert [(c.id, c.arguments) for c in message.tool_calls] == [
        ("functions.note:0", '{"text": "a"}'),
        ("functions.note:1", '{"text": "b"}'),
    ]
    assert message.content == "Saving. Done."


def test_a_call_missing_its_end_marker_still_ends_at_its_json() -> None:
    """A call running straight into the next one (no end marker) keeps its quoted marker as data."""
    first = '{"text": "a <|tool_call_begin|> b"}'
    second = '<|tool_call_begin|>functions.note:1<|tool_call_argument_begin|>{"text": "c"}'
    text = f"{BEGIN}functions.note:0{ARGS}{first}{second}{END}"
    message = recover_tool_calls(AssistantMessage(content=text))
    assert [c.arguments for c in message.tool_calls] == [first, '{"text": "c"}']


def test_truncated_markup_never_gives_an_empty_name() -> None:
    """Markup cut before the arguments becomes the named unreadable call, not a call named ""."""
    message = recover_tool_calls(AssistantMessage(content=f"Let me save.{BEGIN}functions.no"))
    (call,) = message.tool_calls
    assert call.name == UNREADABLE_CALL
    assert call.id == f"functions.{UNREADABLE_CALL}:0"
    assert message.content == "Let me save."


def test_arguments_cut_off_keep_the_name_for_a_clear_arguments_error() -> None:
    """Arguments cut mid-JSON keep the call's name; the broken JSON is left for the tool layer."""
    message = recover_tool_calls(AssistantMessage(content=f'{BEGIN}functions.note:0{ARGS}{{"text": "unfin'))
    (call,) = message.tool_calls
    assert (call.name, call.arguments) == ("note", '{"text": "unfin')


@pytest.mark.parametrize("cut", [1, 5, 12, 20, 31, 47])
def test_filter_never_shows_markup_whatever_the_chunking(cut: int) -> None:
    """However the stream splits the text, the shown deltas are the prose without any markup."""
    text = f"Saving now.{BEGIN}functions.note:0{ARGS}{{}}{END}"
    pieces = [text[i : i + cut] for i in range(0, len(text), cut)]
    markup_filter = MarkupFilter()
    shown = "".join(markup_filter.feed(p) for p in pieces) + markup_filter.flush()
    assert shown == "Saving now."


def test_filter_gives_back_text_that_only_looked_like_markup() -> None:
    """A "<|" that turns out not to start a marker is shown, at the latest when the stream ends."""
    markup_filter = MarkupFilter()
    assert markup_filter.feed("a <|tool") == "a "
    assert markup_filter.feed("bar|> b") == "<|toolbar|> b"
    assert markup_filter.feed("<|") == ""
    assert markup_filter.flush() == "<|"


async def test_streamed_markup_reaches_users_as_no_text_delta(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """A streamed answer of raw markup yields only its prose as TextDelta; the call still runs."""
    markup = f'Saving.{BEGIN}functions.note:0{ARGS}{{"text": "hello"}}{END}'
    fake_kimi.add(Reply.text(markup), Reply.text("Saved."))
    async with Agent(kimi, tools=[note]).stream("Save hello.") as run:
        deltas = [e.text async for e in run if isinstance(e, TextDelta)]
    assert "<|" not in "".join(deltas)
    assert "".join(deltas) == "Saving.Saved."
    results = [m for m in run.result.messages if isinstance(m, ToolMessage)]
    assert [(m.name, m.content, m.is_error) for m in results] == [("note", "saved 5 characters", False)]


async def test_truncated_markup_is_answered_and_never_sent_back_nameless(
    fake_kimi: FakeKimiServer, kimi: KimiModel
) -> None:
    """Cut-off markup gets an error result for the model, and the next request names no empty function."""
    fake_kimi.add(Reply.text(f"{BEGIN}functions.no", finish_reason="length"), Reply.text("Sorry."))
    result = await Agent(kimi, tools=[note]).run("Save hello.")
    (answer,) = [m for m in result.messages if isinstance(m, ToolMessage)]
    assert answer.is_error
    assert "could not be read" in answer.content
    sent = fake_kimi.requests[1].body
    assert sent is not None
    names = [c["function"]["name"] for m in sent["messages"] for c in m.get("tool_calls") or ()]
    assert names == [UNREADABLE_CALL]
    assert result.output == "Sorry."
