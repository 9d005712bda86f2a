"""The FATF list history (seed fatf_high_risk_countries, docs/aml_rules.md) holds together.

The seed is hand-maintained from the FATF statements: these checks catch a typo in it. Periods
of one country never overlap, each list has its severity, the lists in force at each statement
have the sizes the sources report, every date of the seed has its provenance line in the doc
block (seeds/_seeds__docs.md), and the open periods are the lists of June 2026 that
docs/aml_rules.md names. No warehouse needed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict

from .conftest import REPO

SEED = REPO / "seeds" / "fatf_high_risk_countries.csv"
DOCS = REPO / "seeds" / "_seeds__docs.md"

# docs/aml_rules.md: the lists as of June 2026.
SPEC_BLACK = {"KP", "IR", "MM"}
SPEC_GREY = {
    *("AO", "BO", "BA", "BG", "CM", "CI", "CD", "HT", "IQ", "KE", "KW"),
    *("LA", "LB", "MC", "NP", "PG", "SS", "SY", "VE", "VN", "VG", "YE"),
}

# Grey-list sizes after a statement, as the sources quoted in the doc block give them.
GREY_COUNTS = {
    "2019-02-22": 12,
    "2019-06-21": 12,
    "2019-10-18": 12,
    "2020-02-21": 18,
    "2020-10-23": 16,
    "2020-12-18": 15,
    "2021-02-25": 19,
    "2022-06-17": 23,
    "2023-02-24": 23,
    "2023-06-23": 26,
    "2023-10-27": 23,
    "2024-02-23": 21,
    "2024-06-28": 21,
    "2025-02-21": 25,
    "2025-10-24": 20,
    "2026-02-13": 22,
    "2026-06-19": 22,
}


def rows() -> list[dict]:
    with open(SEED, newline="") as f:
        out = list(csv.DictReader(f))
    for row in out:
        row["from"] = dt.date.fromisoformat(row["effective_from"])
        row["to"] = dt.date.fromisoformat(row["effective_to"]) if row["effective_to"] else None
    return out


def in_force(day: dt.date, fatf_list: str) -> set[str]:
    return {
        r["country_code"]
        for r in rows()
        if r["fatf_list"] == fatf_list and r["from"] <= day and (r["to"] is None or day < r["to"])
    }


def test_periods_are_well_formed_and_never_overlap():
    by_country = defaultdict(list)
    for r in rows():
        assert re.fullmatch(r"[A-Z]{2}", r["country_code"]), r
        assert r["severity"] == {"black": "high", "grey": "medium"}[r["fatf_list"]], r
        assert r["to"] is None or r["from"] < r["to"], r
        by_country[r["country_code"]].append(r)
    for country, periods in by_country.items():
        periods.sort(key=lambda r: r["from"])
        for earlier, later in zip(periods, periods[1:], strict=False):
            # effective_to is exclusive: a move from grey to black on one day is no overlap.
            assert earlier["to"] is not None and earlier["to"] <= later["from"], (country, periods)


def test_history_reaches_back_to_2019_and_ends_on_the_spec_lists():
    assert min(r["from"] for r in rows()) <= dt.date(2019, 2, 28)
    open_periods = [r for r in rows() if r["to"] is None]
    assert {r["country_code"] for r in open_periods if r["fatf_list"] == "black"} == SPEC_BLACK
    assert {r["country_code"] for r in open_periods if r["fatf_list"] == "grey"} == SPEC_GREY


def test_list_sizes_match_the_sources_at_each_statement():
    for day, count in GREY_COUNTS.items():
        assert len(in_force(dt.date.fromisoformat(day), "grey")) == count, day
    assert in_force(dt.date(2022, 10, 20), "black") == {"IR", "KP"}
    assert in_force(dt.date(2022, 10, 21), "black") == {"IR", "KP", "MM"}
    # Myanmar moved from the grey list to the black list the same day.
    assert "MM" in in_force(dt.date(2022, 10, 20), "grey")
    assert "MM" not in in_force(dt.date(2022, 10, 21), "grey")


def test_every_date_of_the_seed_has_a_provenance_line():
    text = DOCS.read_text()
    table_dates = set(re.findall(r"^\| (\d{4}-\d{2}-\d{2})", text, flags=re.MULTILINE))
    seed_dates = {r["effective_from"] for r in rows()} | {
        r["effective_to"] for r in rows() if r["effective_to"]
    }
    assert seed_dates <= table_dates, sorted(seed_dates - table_dates)
