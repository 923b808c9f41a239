"""Docstrings are written in the markup the docs site renders (Markdown and mkdocstrings cross-references).

The API reference is built by mkdocstrings from the docstrings of ``agentkit`` and ``agentkit_tools``.
A Sphinx role such as ``:class:`Agent``` is not Markdown: the site shows it as raw text. A
cross-reference is written ``[`Agent`][agentkit.Agent]`` (or ``[`agentkit.Agent`][]``), and
``make docs`` (mkdocs ``--strict``) fails on a target it cannot resolve.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "agentkit", ROOT / "tools" / "agentkit_tools"]
SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const|ref|doc):`[^`]+`")


def _docstrings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=False)
            if doc is not None:
                found.append((node.body[0].lineno, doc))
    return found


def _roles_in(paths: list[Path], root: Path) -> list[str]:
    hits: list[str] = []
    for path in paths:
        for line, doc in _docstrings(path):
            hits.extend(f"{path.relative_to(root)}:{line}: {m.group(0)}" for m in SPHINX_ROLE.finditer(doc))
    return hits


def test_no_sphinx_roles_in_docstrings() -> None:
    """No docstring of the package or the ready-made tools uses a Sphinx role the docs would show raw."""
    files = sorted(p for source in SOURCES for p in source.rglob("*.py"))
    assert len(files) > 50  # the scan found the package
    hits = _roles_in(files, ROOT)
    assert not hits, "Sphinx roles render as raw text; write [`Name`][dotted.path]:\n" + "\n".join(hits)


def test_the_scan_finds_a_role(tmp_path: Path) -> None:
    """The scan reports a role in a module, class or function docstring (so the test above can fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text('"""See :class:`agentkit.Agent`."""\n\ndef f():\n    """Calls :func:`g`."""\n')
    assert _roles_in([sample], tmp_path) == ["sample.py:1: :class:`agentkit.Agent`", "sample.py:4: :func:`g`"]
