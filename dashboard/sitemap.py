"""The dashboard's pages: URL path, title and the marts each reads (from dashboard/queries.py).

Streamlit-free, so the browser test, the screenshot script and the exposures check read the
same list the app serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.queries import QUERIES

DEFAULT_PORT = 8501
HOST = "127.0.0.1"


@dataclass(frozen=True)
class PageSpec:
    url_path: str
    title: str
    icon: str
    summary: str

    @property
    def marts(self) -> tuple[str, ...]:
        """Every mart the page reads: its own queries and the sidebar's date bounds."""
        own = {m for q in QUERIES.values() if q.page == self.url_path for m in q.marts}
        return tuple(sorted(own | set(QUERIES["date_bounds"].marts)))

    def url(self, port: int = DEFAULT_PORT, host: str = HOST) -> str:
        return f"http://{host}:{port}/{self.url_path}"


PAGES = (
    PageSpec(
        "executive",
        "Executive KPIs",
        ":material/monitoring:",
        "Daily KPIs of the period beside their targets: revenue, volume, DAU, revenue per "
        "trade, fill rate, registrations.",
    ),
    PageSpec(
        "revenue",
        "Revenue by tier",
        ":material/payments:",
        "Monthly revenue by the user's fee tier at collection time, tier shares against "
        "target, month-on-month growth, effective fee rates, users near a tier boundary and "
        "the revenue forecast.",
    ),
    PageSpec(
        "funnel",
        "Funnel and retention",
        ":material/filter_alt:",
        "Registration → KYC approval → first trade by registration month, 7- and 30-day "
        "retention by first-trade cohort, the weekly cohort table.",
    ),
    PageSpec(
        "churn",
        "Churn risk",
        ":material/person_remove:",
        "Users by churn-risk level and tier, the at-risk list, the daily churn rate, the "
        "next-best action per user, campaign success and uplift, and the churn model's "
        "highest scores.",
    ),
    PageSpec(
        "compliance",
        "Compliance alerts",
        ":material/policy:",
        "The alert queue (rule, system and security alerts) filtered by date, severity, "
        "rule and investigation status.",
    ),
    PageSpec(
        "liquidity",
        "Market liquidity",
        ":material/candlestick_chart:",
        "Spread, depth within 1%, volume and market share per pair, daily candles and the "
        "deviation from external reference prices.",
    ),
)

PAGES_BY_PATH = {p.url_path: p for p in PAGES}
