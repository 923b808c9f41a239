"""Every code block in docs/ and the README runs in the test suite or says why it cannot.

A block is runnable when it is fenced as ``python``; its page's runnable blocks run in order in
one namespace (top-level ``await`` allowed), in a temporary working directory, offline. Any other
block, and a Python block that cannot run offline, carries a marker on the line above its fence::

    <!-- not-runnable: calls Moonshot's API (needs MOONSHOT_API_KEY and the network) -->

The marker is an HTML comment, so the built site does not show it.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*not-runnable:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    lang: str
    source: str
    reason: str | None  # why it is not runnable, when marked

    @property
    def runnable(self) -> bool:
        """Python and not marked."""
        return self.lang == "python" and self.reason is None

    def where(self) -> str:
        """page:line, for messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, with the not-runnable reason of each marked one."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(previous)
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        reason = marker["reason"] if marker else None
        blocks.append(Block(page=page, line=index + 1, lang=opening["lang"], source=body, reason=reason))
        index = end + 1
    return blocks


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    """Execute one block in ``namespace``; a block with top-level ``await`` runs in an event loop."""
    code = compile(block.source, block.where(), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = eval(code, namespace)  # noqa: S307 - our own documentation's examples
    if inspect.iscoroutine(outcome):
        coroutine = outcome

        async def _await() -> None:
            await coroutine

        anyio.run(_await)


ALL = [block for page in PAGES for block in parse_blocks(page)]


def test_docs_have_runnable_blocks() -> None:
    """The docs show runnable Python examples (the parser found them)."""
    assert sum(block.runnable for block in ALL) >= 10


def test_every_block_runs_or_says_why_not() -> None:
    """No code block is left neither runnable (python) nor marked not-runnable with a reason."""
    unmarked = [block.where() for block in ALL if not block.runnable and not block.reason]
    assert unmarked == []


def test_parser_reads_markers_and_indented_fences(tmp_path: Path) -> None:
    """A marker above a fence gives its reason; indented fences (in lists) are found and dedented."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-runnable: needs a GPU -->\n```python\nimport torch\n```\n\n"
        "- item\n\n    ```python\n    x = 1\n    ```\n\n```sh\nls\n```\n"
    )
    blocks = parse_blocks(page)
    assert [(b.lang, b.reason, b.source) for b in blocks] == [
        ("python", "needs a GPU", "import torch"),
        ("python", None, "x = 1"),
        ("sh", None, "ls"),
    ]


@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(b.runnable for b in parse_blocks(p))], ids=lambda p: p.name
)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's Python examples run as written, in order, offline (a placeholder key, no network)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOONSHOT_API_KEY", "sk-docs-placeholder")
    monkeypatch.delenv("MOONSHOT_MODEL", raising=False)  # pages show the default model's requests
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in parse_blocks(page):
        if block.runnable:
            run_block(block, namespace)
