"""The README is a front door and the guides live in docs/: every relative link and anchor
in README.md and docs/*.md must lead somewhere, and every guide must be reachable from the
README. Anchors are GitHub's: a heading lower-cased, punctuation but `-` and `_` dropped,
spaces made `-`, repeats numbered `-1`, `-2`, ….
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DOCUMENTS = [PROJECT / "README.md", *sorted((PROJECT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~)")
README_MAX_LINES = 320


def _prose(text: str) -> list[str]:
    """The lines outside fenced code blocks (a `#` comment in a code block is no heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text.replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's GitHub anchor in a Markdown file."""
    seen: dict[str, int] = {}
    found = set()
    for line in _prose(path.read_text("utf-8")):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = _slug(match.group(1))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def relative_links(path: Path) -> list[str]:
    """The link targets in `path` that point inside the repository (not http:, mailto:, …)."""
    targets = []
    for line in _prose(path.read_text("utf-8")):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                targets.append(target)
    return targets


def broken_links(path: Path) -> list[str]:
    """`path`'s relative links whose file or heading does not exist, as `target: why`."""
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    return broken


def test_the_slugs_are_githubs() -> None:
    assert _slug("The ingest: `python -m ingest`") == "the-ingest-python--m-ingest"
    assert _slug("Several Mimecast accounts (tenants)") == "several-mimecast-accounts-tenants"
    assert _slug("ETag and 304") == "etag-and-304"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_and_anchor_resolves(document: Path) -> None:
    assert broken_links(document) == [], document.name


def test_every_guide_in_docs_is_linked_from_the_readme() -> None:
    linked = {
        (PROJECT / unquote(target.partition("#")[0])).resolve()
        for target in relative_links(PROJECT / "README.md")
    }
    guides = {path.resolve() for path in DOCUMENTS[1:]}
    assert sorted(path.name for path in guides - linked) == []


def test_the_readme_stays_a_front_door() -> None:
    """About 300 lines: what it is, the two commands, a short table, where is what; the
    manual is in docs/."""
    lines = (PROJECT / "README.md").read_text("utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, len(lines)
