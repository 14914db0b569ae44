"""The code blocks of README.md and docs/ run as tests (pytest-markdown-docs, ``--markdown-docs`` in pyproject's
addopts): each ```` ```python ```` block in a fresh namespace, in a temporary working directory.

A block whose fence follows a line ``<!-- docs-test: slow (REASON) -->`` runs only when ``QRP_SLOW_DOCS=1`` (it is
over the test suite's time budget); ``<!-- docs-test: skip (REASON) -->`` marks a block that cannot run here (an
account, a network). The reason is the skip message.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import pytest

# the docs build's own code (needs the docs extra) and the gallery pages mkdocs-gallery writes from examples/
# (tests/test_examples.py runs the examples)
collect_ignore_glob = ["docs/*.py", "docs/generated/*"]

_DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(slow|skip)\s*(.*?)\s*-->")


@cache
def _lines(path: str) -> tuple[str, ...]:
    return tuple(Path(path).read_text(encoding="utf8").splitlines())


def _directive(item) -> tuple[str, str] | None:
    """The ``docs-test`` comment on the lines just above the block's opening fence, if any."""
    lines = _lines(str(item.path))
    i = item.start_line - 2  # start_line is the fence's 1-based line number; i: the 0-based line above it
    while i >= 0 and not lines[i].strip():
        i -= 1
    m = _DIRECTIVE.fullmatch(lines[i].strip()) if i >= 0 else None
    return (m.group(1), m.group(2).strip("()")) if m else None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("markdown-docs") is None or not str(item.path).endswith(".md"):
            continue
        found = _directive(item)
        if found is None:
            continue
        kind, reason = found
        if kind == "skip":
            item.add_marker(pytest.mark.skip(reason=f"docs block not run: {reason}"))
        elif os.environ.get("QRP_SLOW_DOCS") != "1":
            item.add_marker(pytest.mark.skip(reason=f"slow docs block (QRP_SLOW_DOCS=1 runs it): {reason}"))


@pytest.fixture(autouse=True)
def _docs_block_in_a_temporary_directory(request):
    """A docs block writes files (study outputs, targets) into a fresh directory, never into the checkout."""
    if request.node.get_closest_marker("markdown-docs") is not None:
        request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
    yield
