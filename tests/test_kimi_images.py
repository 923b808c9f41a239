"""Images in, for vision models: prompts, tool and MCP results, traces storing them once, replay."""

from __future__ import annotations

import base64
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agentkit import Agent, tool
from agentkit.exceptions import UserError
from agentkit.images import ImagePart, load_image
from agentkit.mcp import MCPTools
from agentkit.messages import ToolMessage, UserMessage, message_from_dict, message_to_dict
from agentkit.models import KimiModel, ModelRequest, ReplayModel
from agentkit.models.kimi import KIMI_K26_PROFILE
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tool import ToolOutput
from agentkit.tracing import read_trace
from tests.builders import png

pytestmark = pytest.mark.anyio

KEY = "sk-images-test-0123456789"


def k26(server: FakeKimiServer, name: str = "kimi-k2.6", **kwargs: object) -> KimiModel:
    """A KimiModel on the fake server."""
    return KimiModel(name, base_url=server.base_url, api_key=KEY, **kwargs)  # type: ignore[arg-type]


@tool
async def snapshot(label: str) -> ToolOutput:
    """Take a picture of a dial.

    Args:
        label: Which dial.
    """
    return ToolOutput(text=f"picture of {label}", images=(ImagePart.from_bytes(png(noise=len(label))),))


def test_images_load_from_bytes_paths_and_urls(tmp_path: Path) -> None:
    """Bytes and files become PNG data URLs; URLs pass through; other content is a UserError."""
    data = png()
    file = tmp_path / "dial.png"
    file.write_bytes(data)
    from_bytes, from_file = load_image(data), load_image(file)
    assert from_bytes == from_file
    assert from_bytes.media_type == "image/png"
    assert from_bytes.size == len(data)
    assert base64.b64decode(from_bytes.url.partition(",")[2]) == data
    assert load_image("https://example.com/a.png").url == "https://example.com/a.png"
    assert load_image("ms://file-123").inline is False
    assert load_image(from_bytes.url) == from_bytes
    with pytest.raises(UserError, match="not PNG, JPEG, WebP or GIF"):
        load_image(b"%PDF-1.7 not an image")
    with pytest.raises(UserError, match="cannot read image"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(UserError, match="more than"):
        ImagePart.from_path(file, max_bytes=10)
    with pytest.raises(UserError, match="holds image/png"):
        ImagePart.from_url("data:image/jpeg;base64," + from_bytes.url.partition(",")[2])


def test_images_round_trip_through_the_json_form() -> None:
    """User and tool messages keep their images through message_to_dict / message_from_dict."""
    image = ImagePart.from_bytes(png())
    for message in (
        UserMessage(content="look", images=(image,)),
        ToolMessage(tool_call_id="functions.x:0", name="x", content="pic", images=(image,)),
    ):
        assert message_from_dict(message_to_dict(message)) == message


async def test_an_image_prompt_runs_through_the_k26_fake_is_traced_once_and_replays(tmp_path: Path) -> None:
    """run(prompt, images=[path]) sends an image_url data part; the trace stores it once; strict replay."""
    picture = tmp_path / "dial.png"
    picture.write_bytes(png(32, 32))
    trace = tmp_path / "image.jsonl"
    script = [Reply.tool_calls(("snapshot", {"label": "b"})), Reply.text("Both dials read 42.")]
    with FakeKimiServer(script, mode="k2.6") as server:
        async with k26(server) as model:
            agent = Agent(model, instructions="Read dials.", tools=[snapshot])
            result = await agent.run("What do the dials say?", images=[picture], trace=trace)
        assert server.problems == []
        first, second = (r.body for r in server.requests)
    assert result.output == "Both dials read 42."
    assert first is not None
    assert second is not None
    prompt = first["messages"][-1]
    assert prompt["content"][0] == {"type": "text", "text": "What do the dials say?"}
    assert prompt["content"][1]["image_url"]["url"] == load_image(picture).url
    # the tool's picture follows the tool result, as a user message naming the call
    tool_result, after = second["messages"][-2:]
    assert tool_result["role"] == "tool"
    assert tool_result["content"] == "picture of b"
    assert after["role"] == "user"
    assert "snapshot call functions.snapshot:0" in after["content"][0]["text"]
    assert after["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    payload = load_image(picture).url.partition(",")[2]
    text = trace.read_text()
    assert text.count(payload) == 1  # sent in both requests, stored once
    recorded = read_trace(trace)
    assert recorded.messages() == tuple(result.messages)
    replay = ReplayModel.from_trace(trace, strict=True)
    again = await Agent(replay, instructions="Read dials.", tools=[snapshot]).run(
        "What do the dials say?", images=[picture]
    )
    assert again.messages == result.messages
    replay.finish()


async def test_a_model_without_vision_refuses_images_before_sending() -> None:
    """An image for kimi-k2-0905-preview raises a UserError naming the problem; nothing is sent."""
    with FakeKimiServer([Reply.text("unused")]) as server:
        async with k26(server, "kimi-k2-0905-preview") as model:
            with pytest.raises(UserError, match="does not take images"):
                await Agent(model).run("Look", images=[png()])
        assert server.requests == []


async def test_an_image_over_the_profile_limit_is_refused() -> None:
    """An inline image larger than the profile's max_image_bytes is a UserError before sending."""
    small = replace(KIMI_K26_PROFILE, max_image_bytes=100)
    request = ModelRequest(
        messages=[UserMessage(content="Look", images=(ImagePart.from_bytes(png(64, 64, 3)),))]
    )
    with FakeKimiServer([Reply.text("unused")]) as server:
        async with k26(server, profile=small) as model:
            with pytest.raises(UserError, match="larger than"):
                await model.complete(request)
        assert server.requests == []


async def test_images_without_a_prompt_are_a_user_error() -> None:
    """images= with prompt=None has nothing to attach to."""
    with FakeKimiServer([Reply.text("unused")]) as server:
        async with k26(server) as model:
            with pytest.raises(UserError, match="go with a prompt"):
                await Agent(model).run(None, images=[png()])


MCP_IMAGE_SERVER = r'''
import base64
import hashlib
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import ImageContent, TextContent

server = MCPServer("camera")
PNG = base64.b64decode(sys.argv[1])


@server.tool()
def photo(subject: str) -> list[TextContent | ImageContent]:
    """Take a photo of the subject."""
    text = TextContent(type="text", text=f"photo of {subject}")
    return [text, Image(data=PNG, format="png").to_image_content()]


if __name__ == "__main__":
    server.run()
'''


async def test_an_mcp_image_result_reaches_a_vision_model_and_replays(tmp_path: Path) -> None:
    """A real MCP server's image content becomes an image part on the next request; traced and replayed."""
    script_path = tmp_path / "camera.py"
    script_path.write_text(MCP_IMAGE_SERVER)
    image = png(8, 8, 5)
    trace = tmp_path / "mcp.jsonl"
    args = [str(script_path), base64.b64encode(image).decode()]
    script = [Reply.tool_calls(("photo", {"subject": "cat"})), Reply.text("A cat.")]
    with FakeKimiServer(script, mode="k2.6") as server:
        async with MCPTools.stdio(sys.executable, args) as camera, k26(server) as model:
            agent = Agent(model, tools=[camera])
            result = await agent.run("Photograph the cat.", trace=trace)
            tools = list(await camera.list_tools())
        second = server.requests[1].body
        assert server.problems == []
    assert result.output == "A cat."
    assert second is not None
    follow = second["messages"][-1]
    assert follow["role"] == "user"
    assert follow["content"][1]["image_url"]["url"] == ImagePart.from_bytes(image).url
    tool_message = next(m for m in result.messages if isinstance(m, ToolMessage))
    assert tool_message.images == (ImagePart.from_bytes(image),)
    assert "photo of cat" in tool_message.content
    replay = ReplayModel.from_trace(trace, strict=True)
    again = await Agent(replay, tools=replay.recorded_tools(tools)).run("Photograph the cat.")
    assert again.messages == result.messages
    replay.finish()
