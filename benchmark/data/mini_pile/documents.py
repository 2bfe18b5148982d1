"""One mini-pile document with its provenance, and the two operations every domain shares:
cutting long files into document-sized pieces and thinning a domain down to its size budget."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

MAX_DOCUMENT_CHARS = 6000   # Pile documents are whole files; pieces give the small splits enough units


@dataclass(frozen=True)
class Document:
    domain: str          # becomes meta.pile_set_name
    package: str
    version: str
    path: str            # path inside the package's archive (or the generator module)
    part: int            # index of this piece within that path
    licence: str
    text: str

    @property
    def key(self) -> tuple[str, str, str, int]:
        return self.domain, self.package, self.path, self.part

    def record(self) -> dict[str, Any]:
        """What the manifest says about the document (everything but the text)."""
        return {"domain": self.domain, "package": self.package, "version": self.version, "path": self.path,
                "part": self.part, "licence": self.licence, "chars": len(self.text)}


def decode(data: bytes) -> str:
    """UTF-8 with replacement (a few 2008 texts have stray bytes) and Unix newlines."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


def pieces(text: str, limit: int = MAX_DOCUMENT_CHARS) -> Iterator[str]:
    """Consecutive pieces of at most `limit` characters, cut at line ends where a line allows."""
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        while len(line) > limit:          # a single over-long line is cut hard
            yield from _flush(current)
            current, size = [], 0
            yield line[:limit]
            line = line[limit:]
        if size + len(line) > limit:
            yield from _flush(current)
            current, size = [], 0
        current.append(line)
        size += len(line)
    yield from _flush(current)


def _flush(lines: list[str]) -> Iterator[str]:
    text = "".join(lines)
    if text.strip():
        yield text


def thin(documents: Sequence[Document], budget_chars: int) -> list[Document]:
    """Every k-th document, k the smallest stride that fits the budget: a spread over all sources
    (not the first few files) that depends only on the sorted input."""
    total = sum(len(d.text) for d in documents)
    stride = max(1, math.ceil(total / budget_chars))
    return list(documents[::stride])
