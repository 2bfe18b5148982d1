"""The repository is self-contained.

1. No text file of the project (tracked, or untracked but not ignored) refers to files outside the
   repository: a sibling folder of notes, the machine's absolute paths, or a home directory.
2. Every relative Markdown link in README.md and docs/**/*.md points to a file or folder that
   exists in the repository.

Files are listed with `git ls-files` (read-only); without git or outside a checkout the test skips.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Built from pieces so that this file does not match its own patterns.
_SHARED = "sha" + "red"
FORBIDDEN = [
    (re.compile(re.escape("../" + _SHARED)), "a sibling folder outside the repository"),
    (re.compile(re.escape(_SHARED + "/reference")), "a notes folder outside the repository"),
    (re.compile(re.escape(_SHARED + "/DESIGN")), "a design note outside the repository"),
    (re.compile(re.escape("/wo" + "rk/")), "an absolute path of the build machine"),
    (re.compile(r"(?<![\w.~-])/(?:ho" + r"me|Us" + r"ers)/[A-Za-z0-9_.-]+"), "an absolute home-directory path"),
    (re.compile(r"(?<![\w.~-])/ro" + r"ot/"), "an absolute home-directory path"),
]

MARKDOWN_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def _git(*args: str) -> list[str]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError:
        pytest.skip("not a git checkout")
    return [line for line in out.splitlines() if line.strip()]


def project_files() -> list[Path]:
    """Tracked files plus untracked files that git does not ignore (paths that exist now)."""
    _git("rev-parse", "--is-inside-work-tree")   # skips without git or outside a checkout
    names = set(_git_z("ls-files"))
    names |= set(_git_z("ls-files", "--others", "--exclude-standard"))
    return sorted(ROOT / n for n in names if (ROOT / n).is_file())


def _git_z(*args: str) -> list[str]:
    out = subprocess.run(["git", *args, "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name.decode("utf-8", "surrogateescape") for name in out.split(b"\0") if name]


def read_text(path: Path) -> str | None:
    """The file's text, or None for binary files (NUL bytes or not UTF-8)."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_references_outside_the_repository():
    problems = []
    for path in project_files():
        text = read_text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for pattern, what in FORBIDDEN:
                match = pattern.search(line)
                if match:
                    problems.append(f"{path.relative_to(ROOT)}:{number}: {what} ({match.group(0)!r}): "
                                    f"{line.strip()[:160]}")
    assert not problems, ("files refer to paths outside the repository (cite a docs/ page or the public "
                          "source instead):\n" + "\n".join(problems))


def markdown_files() -> list[Path]:
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [f for f in files if f.is_file()]


def relative_links(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every relative link outside fenced code blocks and inline code."""
    links, in_fence = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        line = re.sub(r"`[^`]*`", "", line)
        for pattern in (MARKDOWN_LINK, IMAGE_LINK):
            for match in pattern.finditer(line):
                target = match.group(1)
                if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "//")):
                    continue  # http(s):, mailto:, in-page anchors
                links.append((number, target))
    return links


def test_docs_exist_and_are_linked_from_readme():
    assert (ROOT / "docs" / "README.md").is_file()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/README.md" in readme or "(docs/)" in readme


def test_relative_markdown_links_resolve():
    broken = []
    for path in markdown_files():
        for number, target in relative_links(path.read_text(encoding="utf-8")):
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            if not file_part:
                continue
            resolved = (path.parent / file_part).resolve()
            where = f"{path.relative_to(ROOT)}:{number}: {target}"
            if ROOT not in resolved.parents and resolved != ROOT:
                broken.append(f"{where} (points outside the repository)")
            elif not resolved.exists():
                broken.append(f"{where} (no such file)")
    assert not broken, "broken relative links:\n" + "\n".join(broken)


def test_the_checks_catch_what_they_should():
    """The patterns flag the kinds of reference this test exists for, and accept ordinary text."""
    def flagged(line: str) -> bool:
        return any(p.search(line) for p, _ in FORBIDDEN)

    assert flagged("see ../" + _SHARED + "/DESIGN.md")
    assert flagged("facts in " + _SHARED + "/reference/odm.md")
    assert flagged("/wo" + "rk/venv/bin/python scripts/x.py")
    assert flagged("cache in /ho" + "me/alice/.cache")
    assert not flagged("the strategy's " + _SHARED + ", seeded RNG; a " + _SHARED + " transition matrix")
    assert not flagged("see docs/methods/odm.md and paper_tables/pile_weights.yaml")
    assert relative_links("[a](docs/x.md) [b](https://example.org) [c](#anchor) `[d](nope.md)`") == \
        [(1, "docs/x.md")]
