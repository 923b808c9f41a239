"""examples/partial_mode.py: the four partial-mode uses, checked on the wire bodies agentkit sends."""

from __future__ import annotations

from typing import Any

import pytest

from agentkit import Agent
from agentkit.exceptions import UserError
from agentkit.models import KimiModel
from agentkit.models.abstract import ModelSettings
from agentkit.testing import FakeKimiServer, Reply
from examples import partial_mode

pytestmark = pytest.mark.anyio


async def test_every_request_ends_with_the_partial_message_and_answers_are_stitched() -> None:
    """Each use sends its prefix as the last, partial assistant message; answers are prefix + the rest."""
    seen: list[dict[str, Any]] = []

    def recording(body: dict[str, Any]) -> Reply:
        seen.append(body)
        return partial_mode._offline_kimi(body)

    with FakeKimiServer(recording) as server:
        async with KimiModel(base_url=server.base_url, api_key="offline") as model:
            results = await partial_mode.run_examples(model)

    lasts = [body["messages"][-1] for body in seen]
    assert all(m["role"] == "assistant" and m["partial"] is True for m in lasts)
    assert [m["content"] for m in lasts] == ["{", "", "", partial_mode.HEADER, partial_mode.DISCLAIMER]
    assert [m.get("name") for m in lasts[1:3]] == ["Marvin", "Marvin"]
    # The second Marvin turn sees the first one, stored as Marvin's own answer.
    history = seen[2]["messages"]
    assert history[-3] == {"role": "assistant", "content": results["marvin"][0], "name": "Marvin"}
    assert results["robot"] == partial_mode.Robot(name="Tidy", purpose="sorts socks", legs=6)
    assert results["code"].startswith(partial_mode.HEADER)
    namespace: dict[str, Any] = {}
    exec(results["code"], namespace)  # noqa: S102 - the completed function, from this example's own script
    assert namespace["is_palindrome"]("A man, a plan, a canal: Panama")
    assert results["advice"].startswith(partial_mode.DISCLAIMER)


def test_offline_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m examples.partial_mode` runs offline, says so, and shows all four uses."""
    assert partial_mode.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OFFLINE")
    assert "Starts with the mandatory disclaimer: True" in out


async def test_partial_mode_with_json_object_is_refused_before_sending() -> None:
    """Prefill together with response_format json_object (which Kimi forbids) is a UserError."""
    with FakeKimiServer([]) as server:
        model = KimiModel(base_url=server.base_url, api_key="offline")
        settings = ModelSettings(extra_body={"response_format": {"type": "json_object"}})
        with pytest.raises(UserError, match="json_object"):
            await Agent(model, model_settings=settings).run("JSON please", prefill="{")
        assert server.requests == []
        await model.aclose()
