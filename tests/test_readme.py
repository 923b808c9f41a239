"""Every Python code block in the README runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_readme_has_python_blocks() -> None:
    """The README shows at least one runnable Python example."""
    assert BLOCKS


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(source: str) -> None:
    """A README Python block executes without error (its own asserts check the outcome)."""
    exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})  # noqa: S102 - our own README


def _heading_anchors(page: Path) -> set[str]:
    """The anchors mkdocs gives a page's headings (lower case, punctuation dropped, spaces as -)."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[\s]+", "-", re.sub(r"[^\w\s-]", "", h).strip().lower()) for h in headings}


@pytest.mark.parametrize(
    "readme", [README, README.parent / "benchmarks" / "README.md"], ids=["README", "bench"]
)
def test_readme_relative_links_resolve(readme: Path) -> None:
    """Every relative link of a README names an existing file, and an existing heading when it has #anchor."""
    dead = []
    for target in re.findall(r"\]\(([^)\s]+)\)", readme.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        file = (readme.parent / path).resolve() if path else readme
        if not file.exists() or (anchor and file.suffix == ".md" and anchor not in _heading_anchors(file)):
            dead.append(target)
    assert dead == []
