"""MkDocs hook: show the docstrings' doctest examples as Python console code.

The package's docstrings hold doctests (``>>> ...`` lines and their output) in their
descriptions, as Gymnasium's do. Markdown reads ``>>>`` as nested block quotes and
``x["key"]`` as a reference link, so mkdocstrings would render them garbled and strict
mode would report the brackets as broken cross-references. This hook adds a Markdown
preprocessor, before mkdocstrings reads the extension list, that fences each run of
doctest lines (``>>>``, ``...`` and the output lines up to a blank line) as ``pycon``.
"""

from __future__ import annotations

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_PROMPT = re.compile(r"^(?P<indent>\s*)>>> ")
_FENCE = re.compile(r"^\s*(```|~~~)")


class DoctestFences(Preprocessor):
    """Wrap every unfenced run of doctest lines in a ``pycon`` code fence."""

    def run(self, lines: list[str]) -> list[str]:
        """Return the lines with each doctest run between pycon fences."""
        out: list[str] = []
        in_fence = False
        i = 0
        while i < len(lines):
            line = lines[i]
            if _FENCE.match(line):
                in_fence = not in_fence
            prompt = None if in_fence else _PROMPT.match(line)
            if prompt is None:
                out.append(line)
                i += 1
                continue
            indent = prompt["indent"]
            out.append(f"{indent}```pycon")
            while i < len(lines) and lines[i].strip():
                out.append(lines[i])
                i += 1
            out.append(f"{indent}```")
        return out


class DoctestFencesExtension(Extension):
    """Register :class:`DoctestFences` before Python-Markdown's own block parsing."""

    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 (Python-Markdown's name)
        """Add the preprocessor (priority above the fenced-code one, 25)."""
        md.preprocessors.register(DoctestFences(md), "doctest_fences", 30)


@event_priority(100)  # before mkdocstrings copies the extension list
def on_config(config: Any) -> Any:
    """Add the extension to the site's (and so the docstrings') Markdown extensions."""
    config.markdown_extensions.append(DoctestFencesExtension())
    return config
