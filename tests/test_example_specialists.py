"""The specialists example: a coordinator runs two agent tools in parallel, offline."""

from __future__ import annotations

import pytest

from examples.specialists import plan

pytestmark = pytest.mark.anyio


async def test_coordinator_gets_both_reports_and_their_usage() -> None:
    """Both specialists report back and their requests and cost roll up into the coordinator's result."""
    result, _ = await plan()
    assert result.output.startswith("Porto in May")
    reports = [m.content for m in result.messages if m.role == "tool"]
    assert reports == ["Porto: 64 EUR return.", "Porto: 95 EUR a night."]
    assert result.usage.requests == 6  # coordinator 2 + each specialist 2
    assert result.usage.tool_calls == 4  # 2 agent tools + 1 lookup per specialist
    assert result.cost_usd == pytest.approx(0.0018)
