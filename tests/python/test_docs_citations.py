"""Comments and docs cite the repository's own pages, never a document outside it.

The contract the code is held to is stated in docs/ (landing_contract.md, kpis.md, aml_rules.md,
reliability.md, metrics.md). A citation of a document that is not in the repository (the
product specification the project was built from, notes beside the checkout) sends a reader
nowhere; a citation of a docs page that does not exist, or of an anchor that is not on it, too.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from .conftest import REPO
from .test_documentation import anchors

TEXT_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".md", ".csv", ".toml", ".txt", ".cfg", ".j2"}
# Folders of generated or installed files (and every hidden folder: .git, .venv, caches).
SKIPPED_DIRS = {
    "data",
    "target",
    "logs",
    "dbt_packages",
    "node_modules",
    "__pycache__",
    "reports",
}
# "SPEC section 5", "SPEC 7", "the SPEC's definition", "../shared/SPEC.md", "STACK_NOTES"...
OUTSIDE_CITATION = re.compile(r"\bSPEC\b(?!_)|\.\./shared/|\bSTACK_NOTES\b|\bHOUSE_STYLE\b")
DOCS_CITATION = re.compile(r"\bdocs/(\w+\.md)(?:#([\w-]+))?")


def repository_files(root: Path = REPO) -> list[Path]:
    """The text files of the repository, without virtualenvs, data and build output."""
    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if d not in SKIPPED_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
        ]
        for name in names:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES or name == "Makefile":
                files.append(path)
    return sorted(files)


def outside_citations(root: Path = REPO) -> list[str]:
    found = []
    for path in repository_files(root):
        if path.name == Path(__file__).name:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE_CITATION.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_file_cites_a_document_outside_the_repository():
    found = outside_citations()
    assert not found, (
        f"{len(found)} citations of documents outside the repository; cite the docs/ page that "
        "states the fact instead:\n" + "\n".join(found[:50])
    )


def test_the_check_finds_a_citation_of_the_outside_spec(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.sql").write_text("-- the daily KPIs (SPEC section\n-- 4)\n")
    (tmp_path / "b.py").write_text('"""See ../shared/SPEC.md."""\nSPEC_BLACK = {"KP"}\n')
    (tmp_path / "c.md").write_text("Cites [the contract](docs/landing_contract.md).\n")
    assert outside_citations(tmp_path) == [
        'b.py:1: """See ../shared/SPEC.md."""',
        "models/a.sql:1: -- the daily KPIs (SPEC section",
    ]


def test_every_cited_docs_page_and_anchor_exists():
    broken = []
    anchors_of = functools.cache(anchors)
    for path in repository_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            for page, anchor in DOCS_CITATION.findall(line):
                target = REPO / "docs" / page
                if not target.exists():
                    broken.append(f"{path.relative_to(REPO)}:{number}: docs/{page}")
                elif anchor and anchor not in anchors_of(target):
                    broken.append(f"{path.relative_to(REPO)}:{number}: docs/{page}#{anchor}")
    assert not broken, "citations of docs pages or anchors that do not exist:\n" + "\n".join(broken)
