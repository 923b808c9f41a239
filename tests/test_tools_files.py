"""File tools: reading, writing and listing stay inside the workspace."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest
from agentkit_tools import Workspace, WorkspaceError, file_tools
from agentkit_tools import workspace as workspace_module

from agentkit import Agent
from agentkit.models.function import ScriptedModel, call

pytestmark = pytest.mark.anyio


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh workspace under the test's temporary folder."""
    return Workspace(tmp_path / "ws")


def test_resolve_refuses_traversal_and_absolute_paths(workspace: Workspace) -> None:
    """`..` escapes, absolute paths and empty paths are refused; inner paths resolve under the root."""
    assert workspace.resolve("a/../b.txt") == workspace.root / "b.txt"
    for bad in ("../x", "a/../../x", "/etc/passwd", "", "a\x00b"):
        with pytest.raises(WorkspaceError):
            workspace.resolve(bad)


def test_resolve_refuses_symlink_escapes(workspace: Workspace, tmp_path: Path) -> None:
    """A symlink inside the workspace that points outside it cannot be used to reach the outside."""
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_text("top secret")
    os.symlink(outside, workspace.root / "link")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        workspace.resolve("link/key.txt")


async def test_write_read_list_round_trip(workspace: Workspace) -> None:
    """Files written through the tools can be read back and are listed by relative path."""
    read_file, write_file, list_files = file_tools(workspace)
    assert await write_file.call('{"path": "r/a.md", "content": "one"}') == "wrote r/a.md (3 characters)"
    await write_file.call('{"path": "r/a.md", "content": " two", "append": true}')
    await write_file.call('{"path": "r/b.csv", "content": "x"}')
    assert await read_file.call('{"path": "r/a.md"}') == "one two"
    assert await list_files.call("{}") == '["r/a.md","r/b.csv"]'
    assert await list_files.call('{"folder": "r", "pattern": "*.csv"}') == '["r/b.csv"]'


async def test_listing_skips_symlinks_to_the_outside(workspace: Workspace, tmp_path: Path) -> None:
    """A symlinked file leading out of the workspace is not listed."""
    (tmp_path / "out.txt").write_text("x")
    os.symlink(tmp_path / "out.txt", workspace.root / "escape.txt")
    (workspace.root / "in.txt").write_text("y")
    _, _, list_files = file_tools(workspace)
    assert await list_files.call("{}") == '["in.txt"]'


async def test_long_files_are_cut(workspace: Workspace) -> None:
    """read_file returns at most max_read_chars characters and says where it cut and how big the file is."""
    (workspace.root / "big.txt").write_text("x" * 50)
    read_file, _, _ = file_tools(workspace, max_read_chars=10)
    cut = "\n[... cut at 10 characters; the file has 50 bytes]"
    assert await read_file.call('{"path": "big.txt"}') == "x" * 10 + cut


async def test_a_huge_file_is_not_read_whole(workspace: Workspace) -> None:
    """Returning the first 1,000 characters of a 20 MB file allocates far less than the file's size."""
    with (workspace.root / "huge.txt").open("wb") as out:
        out.truncate(20_000_000)  # a sparse file: 20 MB of NUL characters
    read_file, _, _ = file_tools(workspace, max_read_chars=1000)
    tracemalloc.start()
    try:
        text = await read_file.call('{"path": "huge.txt"}')
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text.endswith("[... cut at 1000 characters; the file has 20000000 bytes]")
    assert peak < 2_000_000  # reading it whole took over 20 MB


async def test_escape_attempt_reaches_the_model_as_a_tool_error(workspace: Workspace, tmp_path: Path) -> None:
    """Through an agent, a path outside the workspace becomes an error message and nothing is written."""
    model = ScriptedModel([call("write_file", {"path": "../evil.txt", "content": "x"}), "ok"])
    result = await Agent(model, tools=file_tools(workspace)).run("write it")
    [tool_message] = [m for m in result.messages if m.role == "tool"]
    assert getattr(tool_message, "is_error", False)
    assert "outside the workspace" in str(tool_message.content)
    assert not (tmp_path / "evil.txt").exists()


async def test_symlinks_fifos_and_hard_links_are_not_opened(workspace: Workspace, tmp_path: Path) -> None:
    """A symlinked file is not followed, a FIFO is refused unblocked, a hard-linked file is not written."""
    outside = tmp_path / "outside.txt"
    outside.write_text("outside")
    os.symlink(outside, workspace.root / "link.txt")
    os.mkfifo(workspace.root / "pipe")
    os.link(outside, workspace.root / "hard.txt")
    read_file, write_file, _ = file_tools(workspace)
    with pytest.raises(WorkspaceError, match="symlink"):
        await read_file.call('{"path": "link.txt"}')
    with pytest.raises(WorkspaceError, match="symlink"):
        await write_file.call('{"path": "link.txt", "content": "x"}')
    with pytest.raises(WorkspaceError, match="not a regular file"):
        await read_file.call('{"path": "pipe"}')  # opening a FIFO for reading would wait for a writer
    with pytest.raises(WorkspaceError, match="hard links"):
        await write_file.call('{"path": "hard.txt", "content": "x"}')
    assert outside.read_text() == "outside"


async def test_listing_a_huge_tree_gives_up(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """list_files stops walking past MAX_WALK_ENTRIES entries and asks for a narrower folder."""
    monkeypatch.setattr(workspace_module, "MAX_WALK_ENTRIES", 5)
    for i in range(6):
        (workspace.root / f"f{i}.txt").write_text("x")
    _, _, list_files = file_tools(workspace)
    with pytest.raises(WorkspaceError, match="over 5 files"):
        await list_files.call("{}")
