"""The documentation's links lead somewhere, and the README stays a front door.

The README links into `docs/` for the reference, and the documents link into each other's
sections: a file renamed or a heading reworded would leave a link that GitHub renders but that
leads nowhere. These tests read the Markdown files (no network, no product code) and check every
relative link: the file exists, and an `#anchor` is the slug GitHub makes of one of its headings.
The code and help texts that point a user at `docs/<file>.md` are checked the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
#: The Markdown a user reads: the front door, the reference and the benchmark results.
DOCUMENTS = (REPO / "README.md", REPO / "BENCHMARKS.md", *sorted((REPO / "docs").glob("*.md")))
#: The README's budget: what a newcomer needs on the first screens, the rest is in docs/.
README_MAX_LINES = 200
#: Where code, help texts and messages point at a document (`docs/<name>.md`).
POINTER_SOURCES = ("orchestrator/src", "orchestrator/images", "stacks", "tests", "benchmarks", "examples")

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
#: `[text](target)` and `![alt](target "title")`: the target is up to a space or the closing `)`.
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
#: `[label]: target` reference definitions.
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*<?(\S+?)>?(?:[ \t]+.*)?$", re.MULTILINE)
_POINTER = re.compile(r"\bdocs/[\w.-]+\.md\b")
#: The files those pointers are in: Python, TOML and Dockerfiles.
_POINTER_SUFFIXES = {".py", ".toml", ".Dockerfile"}


def _prose_lines(text: str) -> Iterator[str]:
    """The lines outside fenced code blocks (a link or heading in a code block is text)."""
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text, lowercased, punctuation dropped.

    Links render as their text and code spans as their content; then every character that is not
    a letter, digit, `_`, `-` or space goes, and each space becomes `-` (so `a: b` gives `a-b`).
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = _CODE_SPAN.sub(r"\2", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, with GitHub's `-1`, `-2` suffixes for repeated headings."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for line in _prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def link_targets(text: str) -> Iterator[str]:
    """The target of every inline link and reference definition, outside code.

    The prose is read as a whole, not line by line: a link's text may wrap onto the next line.
    """
    prose = "\n".join(_prose_lines(text))
    for match in _REFERENCE.finditer(prose):
        yield match.group(1)
    for match in _INLINE_LINK.finditer(_CODE_SPAN.sub("", prose)):
        yield match.group(1)


def _shown(document: Path) -> str:
    """A document as a user finds it: its path in the repository."""
    return str(document.relative_to(REPO)) if document.is_relative_to(REPO) else document.name


def broken_links(documents: Iterable[Path]) -> list[str]:
    """Each relative link of the documents that leads nowhere, as `file: target (why)`."""
    problems: list[str] = []
    for document in documents:
        text = document.read_text(encoding="utf-8")
        for target in link_targets(text):
            if not target or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
                continue  # an absolute URL (https:, mailto:): not ours to check offline
            path, _, anchor = target.partition("#")
            linked = (document.parent / path).resolve() if path else document
            where = f"{_shown(document)}: {target}"
            if not linked.exists():
                problems.append(f"{where} (no file {linked})")
            elif (
                anchor
                and linked.suffix == ".md"
                and anchor not in anchors(linked.read_text(encoding="utf-8"))
            ):
                problems.append(f"{where} (no heading #{anchor} in {linked.name})")
    return problems


def test_every_relative_link_and_anchor_in_the_documentation_resolves() -> None:
    assert (REPO / "docs").is_dir()
    assert broken_links(DOCUMENTS) == []


def test_the_readme_is_a_front_door_of_at_most_200_lines() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move the reference into docs/"


def test_every_docs_file_named_in_code_exists() -> None:
    sources = [REPO / "pyproject.toml"] + [
        source
        for folder in POINTER_SOURCES
        for source in sorted((REPO / folder).rglob("*"))
        if source.is_file() and source.suffix in _POINTER_SUFFIXES and source != Path(__file__)
    ]
    named = [
        (source, pointer)
        for source in sources
        for pointer in _POINTER.findall(source.read_text(encoding="utf-8"))
    ]
    missing = [
        f"{source.relative_to(REPO)}: {pointer}"
        for source, pointer in named
        if not (REPO / pointer).is_file()
    ]
    assert named, "no code points at docs/ any more: drop this test or the pointers it guards"
    assert missing == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text(
        "# The guide\n\n## Down and up again: `retain_data`\n\n## Notes\n\n## Notes\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n"
        "[ok](docs/guide.md#down-and-up-again-retain_data) [repeated](docs/guide.md#notes-1)\n"
        "[self](#title) [web](https://example.com/x#y) `[code](nowhere.md)`\n"
        "[gone](docs/missing.md) [wrong](docs/guide.md#down-and-up-again) [self-wrong](#nothing)\n\n"
        "```console\n[in a code block](nowhere.md)\n```\n\n"
        "[label]: docs/also-missing.md\n"
        "A [link whose text\nwraps](docs/wrapped.md) onto the next line.\n"
    )
    problems = broken_links([readme])
    assert sorted(p.split(" (")[0] for p in problems) == sorted(
        [
            "README.md: docs/missing.md",
            "README.md: docs/guide.md#down-and-up-again",
            "README.md: #nothing",
            "README.md: docs/also-missing.md",
            "README.md: docs/wrapped.md",
        ]
    )
