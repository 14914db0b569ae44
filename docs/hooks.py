"""mkdocs hook: the README is the home page, and the repository files that the guide links (``results/``,
``benchmarks/results/``, ``ARCHITECTURE.md``, ``CHANGELOG.md``) become part of the site.

The pages link those files by their path in the repository (``../../results/quickstart/summary.md`` from
``docs/guide/``), which is right on GitHub; this hook adds the files to the build under their repository path
(``results/quickstart/summary.md``) and rewrites each such link to that path, so ``mkdocs build --strict`` checks
every one of them.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("results", "benchmarks/results")
SUFFIXES = {".md", ".png", ".json", ".svg"}
SINGLE = ("ARCHITECTURE.md", "CHANGELOG.md", "CITATION.cff", "LICENSE")
_TARGET = r"(results/|benchmarks/results/|ARCHITECTURE\.md|CHANGELOG\.md|CITATION\.cff|LICENSE)"


def on_files(files, config):
    from mkdocs.structure.files import File  # here, not at the top: the test suite imports this file without mkdocs

    paths = [ROOT / name for name in SINGLE]
    for tree in TREES:
        paths += sorted(p for p in (ROOT / tree).rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    for path in paths:
        uri = path.relative_to(ROOT).as_posix()
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":  # the home page is the README, its links made relative to docs/
        return re.sub(r"\]\(docs/", "](", (ROOT / "README.md").read_text())
    depth = page.file.src_uri.count("/")
    if page.file.abs_src_path and not str(page.file.abs_src_path).startswith(str(ROOT / "docs")):
        # a repository file itself: its links are relative to its own place; the README is the home page
        return re.sub(r"\]\(((?:\.\./)*)README\.md", lambda m: "](" + "../" * depth + "index.md", markdown)
    escape = "../" * (depth + 1)
    return re.sub(r"\]\(" + re.escape(escape) + _TARGET, lambda m: "](" + "../" * depth + m.group(1), markdown)
