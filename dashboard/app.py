"""The Streamlit entry point: sidebar filters, navigation, and a clear page when the
warehouse cannot be read. Run it with `make dashboard` (see dashboard/__init__.py).

Every filter is in the URL, both ways (dashboard/state.py; docs/dashboard.md#the-url), so a
view can be shared as a link: ``/liquidity?start=2026-10-10&end=2026-10-20&pair=BTCUSDT``,
``/compliance?severity=high&status=pending&rule=structuring``, ``/churn?tier=VIP``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import queries, state, views
from dashboard.sitemap import PAGES

st.set_page_config(
    page_title="Exchange analytics", page_icon=":material/monitoring:", layout="wide"
)


def data_window() -> state.Window:
    bounds = views.load("date_bounds").iloc[0]
    if pd.isna(bounds.last_kpi_date):
        raise queries.WarehouseMissing(
            "marts.fct_daily_exchange_kpis has no rows yet: load data and run `make build`."
        )
    first = bounds.first_kpi_date.date()
    # No trading yet (registrations only): the whole window is the default.
    trading = bounds.first_trading_date
    return state.Window(
        first, first if pd.isna(trading) else trading.date(), bounds.last_kpi_date.date()
    )


def sidebar_filters(page_path: str, window: state.Window) -> views.Filters:
    path = queries.warehouse_path()
    with st.sidebar:
        start, end = state.date_filter(st, window)
        symbols: list[str] = []
        if page_path == "liquidity":
            pairs = views.load("pairs").symbol.tolist()
            symbols = views.multiselect(st, "Pairs", pairs, "symbols", "All pairs")
        st.caption(
            f"Data: {window.first:%Y-%m-%d} to {window.last:%Y-%m-%d}. The default dates start "
            f"at the first trading day, {window.first_trading:%Y-%m-%d}; earlier days hold "
            f"registrations only.  \n"
            f"Warehouse: `{path}` (read-only)."
        )
    state.show_notes(state.DATE_KEY)  # on the page, above its title
    # The other filters (severity, rule, status, tier) are the pages' own widgets.
    note = ""
    if (start, end) == window.default and window.first_trading > window.first:
        note = (
            f"from the first trading day; the days from {window.first:%Y-%m-%d} "
            "hold registrations only"
        )
    return views.Filters(start_date=start, end_date=end, symbols=symbols, dates_note=note)


def _page(spec):
    view = getattr(views, spec.url_path)

    def render() -> None:
        window = data_window()
        view(sidebar_filters(spec.url_path, window))
        # Last, when every widget of the page has its value: the address bar is the view.
        state.write_url(spec.url_path, window)

    return st.Page(render, title=spec.title, icon=spec.icon, url_path=spec.url_path)


def _home(first: st.Page) -> st.Page:
    """The root URL: Streamlit serves its default page only at "/", so the default is a
    hidden page that moves on to the first real one, and every page has its own URL
    (/executive, /revenue...)."""

    def home() -> None:
        st.switch_page(first)

    return st.Page(home, title=PAGES[0].title, url_path="home", default=True, visibility="hidden")


def main() -> None:
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
