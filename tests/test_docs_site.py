"""The documentation site: it builds with warnings as errors (mkdocs --strict; skipped when mkdocs,
mkdocs-material or mkdocstrings are missing), and the code on its pages runs and prints what the pages
show. ``python tests/test_docs_site.py --update`` rewrites the shown outputs from a run."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["index.md", "course.md"]  # pages whose ```python blocks are each followed by their ```text output
BLOCK = re.compile(r"```python\n(.*?)```\n\n```text\n(.*?)```", re.S)


def run_page(text: str) -> list[tuple[str, str, str]]:
    """(code, shown output, actual output) for each block of a page, run in one namespace in order."""
    namespace: dict = {"__name__": "__docs__"}
    results = []
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        for code, shown in BLOCK.findall(text):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(code, "<docs>", "exec"), namespace)  # the page's own code
            results.append((code, shown, buffer.getvalue()))
    finally:
        os.chdir(cwd)
    return results


@pytest.mark.parametrize("page", PAGES)
def test_the_code_on_the_page_prints_what_the_page_shows(page):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    results = run_page(text)
    assert results, f"{page} has no runnable examples"
    for code, shown, actual in results:
        assert actual == shown, f"{page}: the output of\n{code}\nis\n{actual}"


def test_the_course_follows_the_notes_sequence():
    text = (ROOT / "docs" / "course.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \d\. (.*)$", text, re.M)
    assert [h.split()[1] if h.startswith("The ") else h.split()[0] for h in headings] == [
        "univariate", "worked", "multivariate", "vectorised", "Matrix", "What", "SGD", "Three"]


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module)
    completed = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                                str(ROOT / "mkdocs.yml"), "-d", str(tmp_path / "site")],
                               capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr[-3000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file() and (site / "course" / "index.html").is_file()
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "value_and_grad" in api and "to_html" in api and "&gt;&gt;&gt;" in api
    for name in ("read_idx", "CheckpointCallback", "encode_safetensors", "DistributedSampler", "scale_by_learning_rate",
                 "he_normal"):  # the training stack's modules are in the reference too
        assert name in api, name
    assert (site / "sgd-curves.png").is_file()  # the course's SGD figure
    assert "<blockquote>" not in api and "<span class=\"gp\">&gt;&gt;&gt; </span>" in api  # examples: code, not quotes
    functions = (site / "numpy-api" / "index.html").read_text(encoding="utf-8")
    for name in ("numpy.sin", "numpy.mean", "numpy.argmax", "numpy.linalg.solve", "numpy.fft.fft2",
                 "scipy.special.erf", "scipy.stats.norm.logpdf"):  # primitives, composites, values-only, SciPy's
        assert f'id="chainrule.{name}"' in functions, name
    assert "x̄ = ḡ · cos(x)" in functions and "carries no gradient" in functions  # their run-time docstrings
    for optional in ("training", "benchmarks", "migration", "distributed"):  # in the nav when present
        assert (site / optional / "index.html").is_file() == (ROOT / "docs" / f"{optional}.md").is_file()


def _update() -> None:
    for page in PAGES:
        path = ROOT / "docs" / page
        text = path.read_text(encoding="utf-8")
        outputs = iter(actual for _, _, actual in run_page(text))
        path.write_text(BLOCK.sub(lambda m: f"```python\n{m.group(1)}```\n\n```text\n{next(outputs)}```", text),
                        encoding="utf-8")


if __name__ == "__main__" and "--update" in sys.argv:
    sys.path.insert(0, str(ROOT))
    _update()
