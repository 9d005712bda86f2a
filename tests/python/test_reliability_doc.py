"""docs/reliability.md names, for every guarantee, the test that holds it: those tests exist.

A guarantee whose test was renamed or deleted would otherwise read as held when nothing holds
it. Also holds the one guarantee of the page that no other test covers: the web UIs of the
Makefile bind to 127.0.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import REPO

PAGE = REPO / "docs" / "reliability.md"
PYTEST_REFERENCE = re.compile(r"`(test_\w+\.py)::(test_\w+)`")
DBT_TEST_REFERENCE = re.compile(r"`(assert_\w+)`")
# The commands that serve a web UI, and how each is told where to listen.
UI_COMMANDS = {
    "dagster dev": r"(?:-h|--host)\s+(\S+)",
    "dagster-webserver": r"(?:-h|--host)\s+(\S+)",
    "streamlit run": r"--server\.address[= ](\S+)",
    "docs serve": r"--host\s+(\S+)",
}


def missing_tests(text: str, repo: Path = REPO) -> list[str]:
    """Every test the text names that does not exist, and every table row naming none."""
    missing = []
    for module, name in PYTEST_REFERENCE.findall(text):
        path = repo / "tests" / "python" / module
        if not path.exists() or not re.search(rf"^def {name}\(", path.read_text(), re.M):
            missing.append(f"{module}::{name}")
    for name in DBT_TEST_REFERENCE.findall(text):
        if not (repo / "tests" / "dbt" / f"{name}.sql").exists():
            missing.append(name)
    for line in text.splitlines():
        if not line.startswith("| "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        last = cells[-1]
        is_header = last in ("test", "held by") or set(last) <= {"-", " "}
        if not is_header and not (PYTEST_REFERENCE.search(last) or DBT_TEST_REFERENCE.search(last)):
            missing.append(f"no test for: {cells[0]}")
    return missing


def test_every_test_named_on_the_reliability_page_exists():
    text = PAGE.read_text()
    assert len(PYTEST_REFERENCE.findall(text)) > 40
    assert not missing_tests(text), "\n".join(missing_tests(text))


def test_the_check_finds_a_renamed_test_and_a_guarantee_without_one():
    text = (
        "| guarantee | test |\n| --- | --- |\n"
        "| loads are idempotent | `test_loaders.py::test_loading_three_times` |\n"
        "| chains hold | `assert_chains_are_fine` |\n"
        "| nothing holds this | a promise |\n"
    )
    assert missing_tests(text) == [
        "test_loaders.py::test_loading_three_times",
        "assert_chains_are_fine",
        "no test for: nothing holds this",
    ]


def makefile_commands(makefile: Path = REPO / "Makefile") -> list[str]:
    """The Makefile's recipe lines, continuation lines joined."""
    return re.sub(r"\\\n\s*", " ", makefile.read_text()).splitlines()


def test_web_uis_bind_to_localhost():
    served = {}
    for line in makefile_commands():
        for command, host_flag in UI_COMMANDS.items():
            if command in line:
                hosts = re.findall(host_flag, line)
                served[command] = hosts
                assert hosts == ["127.0.0.1"], f"{command} listens on {hosts or 'its default'}"
    assert {"streamlit run", "docs serve"} <= set(served), served
    assert "dagster dev" in served or "dagster-webserver" in served, served
