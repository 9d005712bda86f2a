"""The dashboard's state in the URL, both ways (docs/dashboard.md#the-url, issue 23 item 2).

Every filter is read from the URL when its widget first appears in a session and written back
to the URL at the end of every script run, so the address bar always holds a link to the view
on screen. A value the data does not have (a typo in a shared link, dates outside the data) is
never dropped or replaced silently: the page says what it asked for and what it shows instead.

The rules (`resolve_dates`, `known_values`) are plain functions, tested without Streamlit in
tests/python/test_dashboard.py; the widgets around them are in `date_filter` and `multiselect`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

# URL parameter -> (session-state key of its widget, the page that has the widget, noun).
# start and end (YYYY-MM-DD) are on every page. docs/dashboard.md documents each one.
LIST_PARAMS = {
    "pair": ("symbols", "liquidity", "pair"),
    "tier": ("tiers", "churn", "tier"),
    "severity": ("severities", "compliance", "severity"),
    "rule": ("rules", "compliance", "rule"),
    "status": ("statuses", "compliance", "investigation status"),
}
DATE_PARAMS = ("start", "end")
DATE_KEY = "date_range"
_NOTES = "_url_notes"  # widget key -> (the value the note is about, the note)


@dataclass(frozen=True)
class Window:
    """The days the data cover: registrations from `first`, trading from `first_trading`."""

    first: dt.date
    first_trading: dt.date
    last: dt.date

    @property
    def default(self) -> tuple[dt.date, dt.date]:
        """From the first trading day: earlier days hold registrations only."""
        return self.first_trading, self.last


def parse_date(name: str, value: str | None) -> tuple[dt.date | None, str | None]:
    """The URL's date, or None and why it was not used."""
    if not value:
        return None, None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        return None, f"{name}={value!r} is not a date (expected YYYY-MM-DD)"


def resolve_dates(
    start: dt.date | None, end: dt.date | None, window: Window
) -> tuple[tuple[dt.date, dt.date], str | None]:
    """The range to show for the dates a link asked for, and a note when it differs.

    A missing end falls back to the default range's. Dates in the wrong order are swapped.
    A range reaching past the data is cut to the data; a range wholly outside it becomes
    the same number of days at the nearest edge of the data (capped at the whole window).
    """
    default_start, default_end = window.default
    asked = (start or default_start, end or default_end)
    lo, hi = sorted(asked)
    notes = []
    if asked[0] > asked[1]:
        notes.append(f"start {asked[0]} is after end {asked[1]}: swapped")
    if lo >= window.first and hi <= window.last:
        shown = (lo, hi)
    elif hi < window.first or lo > window.last:
        span = min(hi - lo, window.last - window.first)
        if hi < window.first:
            shown = (window.first, window.first + span)
        else:
            shown = (window.last - span, window.last)
        notes.append(
            f"no data from {lo} to {hi}: the data cover {window.first} to {window.last}, "
            f"so this shows the nearest {(span.days + 1)} day(s), {shown[0]} to {shown[1]}"
        )
    else:
        shown = (max(lo, window.first), min(hi, window.last))
        notes.append(
            f"{lo} to {hi} reaches outside the data ({window.first} to {window.last}): "
            f"this shows {shown[0]} to {shown[1]}"
        )
    return shown, ("; ".join(notes) if notes else None)


def known_values(asked: list[str], options: list) -> tuple[list[str], list[str]]:
    """(the asked values among the options, in the link's order; the unknown ones)."""
    known = set(map(str, options))
    return [v for v in asked if v in known], [v for v in asked if v not in known]


def _note(key: str, value, text: str) -> None:
    st.session_state.setdefault(_NOTES, {})[key] = (value, text)


def show_notes(key: str, where=None) -> None:
    """The note about the widget's URL value while the widget still holds that value: once the
    reader changes the filter, the note has been dealt with."""
    value, text = st.session_state.get(_NOTES, {}).get(key, (None, None))
    if text is None:
        return
    if st.session_state.get(key) == value:
        (where or st).warning(text, icon=":material/link:")
    else:
        del st.session_state[_NOTES][key]


def date_filter(where, window: Window) -> tuple[dt.date, dt.date]:
    """The sidebar's date range: from the URL on the session's first run, else the default
    (the first trading day to the last day of data). Returns the chosen (start, end)."""
    if DATE_KEY not in st.session_state:
        problems = []
        start, why = parse_date("start", st.query_params.get("start"))
        problems += [why] if why else []
        end, why = parse_date("end", st.query_params.get("end"))
        problems += [why] if why else []
        shown, note = resolve_dates(start, end, window)
        if note:  # it names the dates shown
            problems.append(note)
        elif problems:  # an unreadable date: the default takes its place
            problems.append(f"showing {shown[0]} to {shown[1]}")
        st.session_state[DATE_KEY] = shown
        if problems:
            _note(DATE_KEY, shown, "Dates in the link: " + "; ".join(problems) + ".")
    chosen = where.date_input(
        "Dates (UTC)",
        min_value=window.first,
        max_value=window.last,
        key=DATE_KEY,
        format="YYYY-MM-DD",
    )
    if where.button("Default dates", width="stretch", help="From the first trading day on."):
        del st.session_state[DATE_KEY]
        st.session_state.get(_NOTES, {}).pop(DATE_KEY, None)
        for name in DATE_PARAMS:
            st.query_params.pop(name, None)
        st.rerun()
    return tuple(chosen) if len(chosen) == 2 else (chosen[0], chosen[0])


def multiselect(where, label: str, options: list, key: str, placeholder: str) -> list:
    """A multiselect filled from its URL parameter on its first appearance in a session.
    Values the data do not have are named on the page, and the rest are kept."""
    param = next(p for p, (k, _, _) in LIST_PARAMS.items() if k == key)
    noun = LIST_PARAMS[param][2]
    if key not in st.session_state:
        asked = st.query_params.get_all(param)
        kept, unknown = known_values(asked, options)
        st.session_state[key] = kept
        if unknown:
            choices = ", ".join(map(str, options[:12])) + (", ..." if len(options) > 12 else "")
            _note(
                key,
                kept,
                f"Unknown {noun} in the link: {', '.join(map(repr, unknown))} "
                f"({param}=). Showing {', '.join(kept) if kept else f'every {noun}'} instead. "
                f"Known: {choices}.",
            )
    else:  # a value that left the data since (a rebuilt warehouse) is dropped, not an error
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    value = where.multiselect(label, options, key=key, placeholder=placeholder)
    show_notes(key)
    return value


def url_state(page: str, window: Window) -> dict[str, list[str]]:
    """What the URL of the view on screen holds: dates that differ from the default, and the
    page's own filters that are set."""
    state: dict[str, list[str]] = {}
    chosen = st.session_state.get(DATE_KEY)
    if chosen is not None and len(chosen) == 2 and tuple(chosen) != window.default:
        state["start"], state["end"] = [str(chosen[0])], [str(chosen[1])]
    for param, (key, on_page, _) in LIST_PARAMS.items():
        if on_page == page and st.session_state.get(key):
            state[param] = [str(v) for v in st.session_state[key]]
    return state


def write_url(page: str, window: Window) -> None:
    """Put the view's state in the address bar (without a rerun), when it differs."""
    wanted = url_state(page, window)
    current = {k: st.query_params.get_all(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)
