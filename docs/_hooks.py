"""mkdocs hook: pages written by other parts of the project (training, benchmarks, migration,
distributed) are in the navigation when they exist and left out when they do not, so the site builds
with warnings as errors either way."""

from __future__ import annotations

import os
from typing import Any


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


def on_config(config: Any, **kwargs: Any) -> Any:
    if config.get("nav"):
        config["nav"] = _keep(config["nav"], config["docs_dir"])
    return config
