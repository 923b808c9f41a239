"""A local process swapping a folder for a symlink cannot lead a tool's file access outside the workspace."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from agentkit_tools import (
    DataWorkspace,
    Mailer,
    Workspace,
    calendar_tools,
    data_tools,
    email_tools,
    file_tools,
)

from agentkit.exceptions import ModelRetry

# Hundreds of real tool calls per test: on a loaded machine they need more than the default hang guard.
pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

_ATTEMPTS = 500

# Swaps <workspace>/d, a real folder holding a harmless secret.txt, with a symlink to the outside
# folder, atomically (renameat2 RENAME_EXCHANGE), as fast as it can until the test ends it. A tool
# that checked the path while the folder was real would open through the symlink moments later.
_SWAPPER = """
import ctypes, os, sys
d, outside = sys.argv[1], sys.argv[2]
os.mkdir(d)
with open(os.path.join(d, "secret.txt"), "w") as inside:
    inside.write("inside")
os.symlink(outside, d + "-link")
libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2
a, b = d.encode(), (d + "-link").encode()
print("ready", flush=True)
while True:
    if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
"""


class Swapped(NamedTuple):
    """The workspace, the outside folder its `d` is swapped with, and a way to stop the swap."""

    workspace: Workspace
    outside: Path
    stop: Callable[[], None]


@pytest.fixture
def swapped(tmp_path: Path) -> Iterator[Swapped]:
    """A workspace whose folder `d` another process keeps swapping with a symlink to `outside`."""
    workspace = Workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET")
    (outside / "secret.png").write_text("TOP-SECRET")
    swapper = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _SWAPPER, str(workspace.root / "d"), str(outside)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert swapper.stdout is not None
    assert swapper.stdout.readline() == "ready\n"

    def stop() -> None:
        swapper.kill()
        swapper.wait()

    try:
        yield Swapped(workspace, outside, stop)
    finally:
        stop()


async def _hammer(call: Callable[[int], Awaitable[str]], attempts: int = _ATTEMPTS) -> list[str]:
    """Call the tool many times while the swap runs; return the results that succeeded."""
    results = []
    for attempt in range(attempts):
        # A refusal (a symlink, a missing folder) is what should happen while the link is there.
        with contextlib.suppress(ModelRetry):
            results.append(await call(attempt))
    return results


def _outside_files(outside: Path) -> list[str]:
    return sorted(p.name for p in outside.iterdir() if not p.name.startswith("secret."))


async def test_write_file_never_writes_outside(swapped: Swapped) -> None:
    """write_file into the swapped folder never creates a file in the folder the symlink points to."""
    workspace, outside, _ = swapped
    _, write_file, _ = file_tools(workspace)
    await _hammer(lambda i: write_file.call(json.dumps({"path": f"d/x{i}.txt", "content": "planted"})))
    assert _outside_files(outside) == []


async def test_read_file_never_reads_outside(swapped: Swapped) -> None:
    """read_file of the swapped folder's file never returns the outside file's content."""
    workspace, _, _ = swapped
    read_file, _, _ = file_tools(workspace)
    results = await _hammer(lambda _i: read_file.call('{"path": "d/secret.txt"}'))
    assert not any("TOP-SECRET" in r for r in results)


async def test_calendar_never_writes_outside(swapped: Swapped) -> None:
    """write_calendar into the swapped folder never creates an .ics file outside."""
    workspace, outside, _ = swapped
    write_calendar, _ = calendar_tools(workspace)
    event = {"summary": "x", "start": "2026-05-16T18:00", "end": "2026-05-16T19:00", "timezone": "UTC"}
    await _hammer(lambda i: write_calendar.call(json.dumps({"path": f"d/e{i}.ics", "events": [event]})))
    assert _outside_files(outside) == []


async def test_outbox_and_attachments_stay_inside(swapped: Swapped) -> None:
    """An outbox in the swapped folder gets no message outside, and no attachment comes from outside."""
    workspace, outside, stop = swapped
    (send_email,) = email_tools(Mailer(workspace, outbox="d"))
    args = {"to": ["ana@example.org"], "subject": "s", "body": "b", "attachments": ["d/secret.txt"]}
    await _hammer(lambda _i: send_email.call(json.dumps(args)), attempts=300)
    # Stop the swap before reading the outbox back: the real folder is then whichever of `d` and
    # `d-link` is not the symlink, and its messages cannot move while they are read.
    stop()
    assert _outside_files(outside) == []
    (real,) = [f for f in (workspace.root / "d", workspace.root / "d-link") if not f.is_symlink()]
    sent = [p.read_bytes() for p in real.glob("*.eml")]
    assert not any(b"TOP-SECRET" in m or b"VE9QLVNFQ1JFVA" in m for m in sent)


async def test_charts_never_write_outside(swapped: Swapped) -> None:
    """make_chart with its folder swapped for a symlink never writes a PNG outside."""
    workspace, outside, _ = swapped
    tools = {t.name: t for t in data_tools(DataWorkspace(workspace), chart_folder="d")}
    args = {"sql": "SELECT 1 AS x, 2 AS y", "kind": "bar", "x": "x", "y": ["y"], "title": "T"}
    await _hammer(lambda i: tools["make_chart"].call(json.dumps({**args, "filename": f"c{i}"})), attempts=20)
    assert _outside_files(outside) == []
