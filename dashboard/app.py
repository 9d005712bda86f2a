"""The Streamlit entry point: sidebar filters, navigation, and a clear page when the
warehouse cannot be read. Run it with `make dashboard` (see dashboard/__init__.py).

Filters can be given in the URL, so a view can be shared as a link:
``/liquidity?start=2026-10-10&end=2026-10-20&pair=BTCUSDT&pair=ETHUSDT``,
``/compliance?severity=high&status=pending&rule=structuring``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import queries, views
from dashboard.sitemap import PAGES

st.set_page_config(
    page_title="Exchange analytics", page_icon=":material/monitoring:", layout="wide"
)

# URL parameter -> session-state key of the widget it fills.
URL_LISTS = {
    "pair": "symbols",
    "severity": "severities",
    "rule": "rules",
    "status": "statuses",
    "tier": "tiers",
}


def _url_date(name: str) -> dt.date | None:
    value = st.query_params.get(name)
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        st.warning(f"Ignored the URL parameter {name}={value!r}: expected YYYY-MM-DD.")
        return None


def _seed_widgets_from_url() -> None:
    """Preset the filter widgets from the URL on a session's first run."""
    if st.session_state.get("_url_read"):
        return
    st.session_state["_url_read"] = True
    for param, key in URL_LISTS.items():
        values = st.query_params.get_all(param)
        if values:
            st.session_state[key] = values


def sidebar_filters(page_path: str) -> views.Filters:
    path = queries.warehouse_path()
    bounds = views.load("date_bounds").iloc[0]
    if pd.isna(bounds.last_kpi_date):
        raise queries.WarehouseMissing(
            "marts.fct_daily_exchange_kpis has no rows yet: load data and run `make build`."
        )
    first_kpi = bounds.first_kpi_date.date()
    last_kpi = bounds.last_kpi_date.date()
    if "date_range" not in st.session_state:
        # From the URL when given, kept inside the data window and in order.
        start, end = sorted(
            min(max(day, first_kpi), last_kpi)
            for day in (_url_date("start") or first_kpi, _url_date("end") or last_kpi)
        )
        st.session_state["date_range"] = (start, end)
    with st.sidebar:
        chosen = st.date_input(
            "Dates (UTC)",
            min_value=first_kpi,
            max_value=last_kpi,
            key="date_range",
            format="YYYY-MM-DD",
        )
        if st.button("Whole data window", width="stretch"):
            del st.session_state["date_range"]
            for name in ("start", "end"):
                st.query_params.pop(name, None)
            st.rerun()
        start, end = chosen if len(chosen) == 2 else (chosen[0], chosen[0])
        symbols: list[str] = []
        if page_path == "liquidity":
            pairs = views.load("pairs").symbol.tolist()
            symbols = views.multiselect(st, "Pairs", pairs, "symbols", "All pairs")
        st.caption(
            f"Data: {first_kpi:%Y-%m-%d} to {last_kpi:%Y-%m-%d}.  \n"
            f"Warehouse: `{path}` (read-only)."
        )
    # The other filters (severity, rule, status, tier) are the pages' own widgets.
    return views.Filters(start_date=start, end_date=end, symbols=symbols)


def _page(spec):
    view = getattr(views, spec.url_path)

    def render() -> None:
        view(sidebar_filters(spec.url_path))

    return st.Page(render, title=spec.title, icon=spec.icon, url_path=spec.url_path)


def _home(first: st.Page) -> st.Page:
    """The root URL: Streamlit serves its default page only at "/", so the default is a
    hidden page that moves on to the first real one, and every page has its own URL
    (/executive, /revenue...)."""

    def home() -> None:
        st.switch_page(first)

    return st.Page(home, title=PAGES[0].title, url_path="home", default=True, visibility="hidden")


def main() -> None:
    _seed_widgets_from_url()
    pages = [_page(spec) for spec in PAGES]
    page = st.navigation([_home(pages[0]), *pages])
    try:
        page.run()
    except queries.WarehouseLocked as e:
        st.warning(str(e), icon=":material/lock:")
        if st.button("Retry"):
            st.rerun()
    except queries.WarehouseMissing as e:
        st.error(str(e), icon=":material/database:")


main()
