"""mkdocs hook: pages written by other parts of the project (training, benchmarks, migration,
distributed) are in the navigation when they exist and left out when they do not, so the site builds
with warnings as errors either way; and the docstrings' ``>>>`` examples are shown as code (Markdown
would read their ``>>>`` as quotes nested three deep and run their lines together)."""

from __future__ import annotations

import os
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority


class _DoctestBlocks(Preprocessor):
    """Each run of lines starting at a ``>>>`` line and ending before a blank line (a doctest example and
    its output) becomes a fenced ``pycon`` block; fenced blocks already on a page are left as they are."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = in_example = False
        for line in lines:
            if in_example and not line.strip():
                out += ["```", ""]
                in_example = False
            if not in_example and line.lstrip().startswith("```"):
                fenced = not fenced
            elif not fenced and not in_example and line.startswith(">>>"):
                out += ["", "```pycon"]
                in_example = True
            out.append(line)
        if in_example:
            out.append("```")
        return out


class DoctestBlocks(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802  (Python-Markdown's name)
        md.preprocessors.register(_DoctestBlocks(md), "doctest_blocks", 29)  # before the fences (25)


def _keep(entries: list[Any], docs_dir: str) -> list[Any]:
    kept = []
    for entry in entries:
        if isinstance(entry, dict):
            (title, target), = entry.items()
            if isinstance(target, list):
                target = _keep(target, docs_dir)
                if target:
                    kept.append({title: target})
            elif "://" in str(target) or os.path.exists(os.path.join(docs_dir, str(target))):
                kept.append(entry)
        elif os.path.exists(os.path.join(docs_dir, str(entry))):
            kept.append(entry)
    return kept


@event_priority(100)  # before mkdocstrings reads the Markdown extensions for the docstrings
def on_config(config: Any, **kwargs: Any) -> Any:
    config["markdown_extensions"].append(DoctestBlocks())
    if config.get("nav"):
        config["nav"] = _keep(config["nav"], config["docs_dir"])
    return config
