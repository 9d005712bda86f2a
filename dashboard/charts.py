"""Charts for executives (issue 23 item 3; docs/dashboard.md#reading-the-charts).

Every chart has a human title on each axis with its unit, one number format per kind of
figure (USD, percentage, count, basis points), percentage axes scaled to the data with the
target drawn as a dashed line, and every pair told apart: small multiples, or the top pairs
with the rest summed as "Others".
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# d3 formats, one per kind of figure: axes compact, tooltips exact.
USD_AXIS = "$,.3~s"  # $1.2M, $950k
USD = "$,.0f"
USD_CENTS = "$,.2f"
PCT = ".1%"
COUNT = ",.0f"
BPS = ",.1f"
DATE_AXIS = "%b %d"
DATE = "%Y-%m-%d"
TARGET_COLOUR = "#444444"
OTHERS = "Others"


def _date_x(column: str, title: str = "Date (UTC)") -> alt.X:
    return alt.X(f"{column}:T", title=title, axis=alt.Axis(format=DATE_AXIS, labelAngle=0))


def padded_domain(
    *series: pd.Series, pad: float = 0.15, within: tuple[float, float] | None = None
) -> list[float] | None:
    """[min, max] of the values with a margin: a 94.8% beside a 95% target is not a flat line.
    `within`: the values a measure can take (a rate: 0..1), which the margin does not pass."""
    values = pd.concat([pd.Series(s, dtype="float64") for s in series]).dropna()
    if values.empty:
        return None
    lo, hi = float(values.min()), float(values.max())
    margin = (hi - lo) * pad or abs(hi) * 0.01 or 0.01
    lo, hi = lo - margin, hi + margin
    if within:
        lo, hi = max(lo, within[0]), min(hi, within[1])
    return [lo, hi]


def daily(
    frame: pd.DataFrame,
    x: str,
    y: str,
    y_title: str,
    fmt: str = COUNT,
    axis_fmt: str | None = None,
    mark: str = "line",
    height: int = 240,
) -> alt.Chart:
    """One measure by day."""
    chart = alt.Chart(frame, height=height)
    chart = (
        chart.mark_area(opacity=0.7) if mark == "area" else chart.mark_line(point=len(frame) < 40)
    )
    return chart.encode(
        x=_date_x(x),
        y=alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=axis_fmt or fmt)),
        tooltip=[
            alt.Tooltip(f"{x}:T", title="Date", format=DATE),
            alt.Tooltip(f"{y}:Q", title=y_title, format=fmt),
        ],
    )


def stacked_daily(
    frame: pd.DataFrame,
    x: str,
    y: str,
    colour: str,
    y_title: str,
    colour_title: str,
    fmt: str = USD,
    axis_fmt: str = USD_AXIS,
    height: int = 260,
    colours: dict[str, str] | None = None,
) -> alt.Chart:
    """Daily bars stacked by `colour`; `colours` fixes the colour of each value (severities)."""
    scale = (
        alt.Scale(domain=list(colours), range=list(colours.values())) if colours else alt.Undefined
    )
    return (
        alt.Chart(frame, height=height)
        .mark_bar()
        .encode(
            x=_date_x(x),
            y=alt.Y(f"sum({y}):Q", title=y_title, axis=alt.Axis(format=axis_fmt)),
            color=alt.Color(
                f"{colour}:N", title=colour_title, scale=scale, legend=alt.Legend(orient="bottom")
            ),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Date", format=DATE),
                alt.Tooltip(f"{colour}:N", title=colour_title),
                alt.Tooltip(f"sum({y}):Q", title=y_title, format=fmt),
            ],
        )
    )


def rate_against_target(
    frame: pd.DataFrame,
    x: str,
    measures: dict[str, tuple[str, str | None]],
    y_title: str,
    height: int = 240,
    x_title: str = "Date (UTC)",
) -> alt.Chart:
    """Rates (0..1) shown as percentages on an axis fitted to the data, each with its target as
    a dashed line. `measures`: label -> (rate column, target column or None)."""
    rows = []
    for label, (rate, target) in measures.items():
        rows.append(frame[[x]].assign(measure=label, kind="actual", value=frame[rate]))
        if target:
            rows.append(frame[[x]].assign(measure=label, kind="target", value=frame[target]))
    long = pd.concat(rows, ignore_index=True)
    domain = padded_domain(long.value, within=(0.0, 1.0))
    y = alt.Y(
        "value:Q",
        title=y_title,
        axis=alt.Axis(format=PCT),
        scale=alt.Scale(domain=domain, zero=False, clamp=True) if domain else alt.Scale(zero=False),
    )
    # The target is the dashed line (docs/dashboard.md#reading-the-charts); no target, no key.
    dash = alt.StrokeDash(
        "kind:N",
        title=None,
        scale=alt.Scale(domain=["actual", "target"], range=[[1, 0], [6, 4]]),
        legend=alt.Legend(orient="right") if (long.kind == "target").any() else None,
    )
    return (
        alt.Chart(long, height=height)
        .mark_line()
        .encode(
            x=_date_x(x, x_title),
            y=y,
            color=alt.Color(
                "measure:N", title=None, sort=list(measures), legend=alt.Legend(orient="right")
            ),
            strokeDash=dash,
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Date", format=DATE),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("kind:N", title="Line"),
                alt.Tooltip("value:Q", title=y_title, format=PCT),
            ],
        )
    )


def top_n_with_others(frame: pd.DataFrame, key: str, rank_by: str, n: int = 5) -> pd.Series:
    """`key` of each row, with every value outside the top n by total `rank_by` as "Others"."""
    top = frame.groupby(key)[rank_by].sum().nlargest(n).index
    return frame[key].where(frame[key].isin(top), OTHERS)


def share_by_day(
    frame: pd.DataFrame,
    x: str,
    key: str,
    value: str,
    n: int = 5,
    height: int = 260,
    key_title: str = "Pair",
) -> alt.Chart:
    """Each day's total split into the top n `key`s and Others, as 100% stacked bars."""
    grouped = (
        frame.assign(**{key: top_n_with_others(frame, key, value, n)})
        .groupby([x, key], as_index=False)[value]
        .sum()
    )
    order = [
        k
        for k in grouped.groupby(key)[value].sum().sort_values(ascending=False).index
        if k != OTHERS
    ] + ([OTHERS] if (grouped[key] == OTHERS).any() else [])
    grouped["share"] = grouped[value] / grouped.groupby(x)[value].transform("sum")
    grouped["stack_order"] = grouped[key].map({k: i for i, k in enumerate(order)})
    return (
        alt.Chart(grouped, height=height)
        .mark_bar()
        .encode(
            x=_date_x(x),
            y=alt.Y(
                "share:Q",
                title="Share of volume (%)",
                stack="zero",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color(
                f"{key}:N",
                title=key_title,
                sort=order,
                legend=alt.Legend(orient="bottom", columns=6, labelLimit=0),
            ),
            order=alt.Order("stack_order:Q"),
            tooltip=[
                alt.Tooltip(f"{x}:T", title="Date", format=DATE),
                alt.Tooltip(f"{key}:N", title=key_title),
                alt.Tooltip(f"{value}:Q", title="Volume (USD)", format=USD),
                alt.Tooltip("share:Q", title="Share", format=PCT),
            ],
        )
    )


def small_multiples(
    frame: pd.DataFrame,
    x: str,
    y: str,
    facet: str,
    y_title: str,
    fmt: str,
    facet_title: str = "Pair",
    columns: int = 5,
    height: int = 110,
    width: int = 125,
    independent: bool = False,
) -> alt.FacetChart:
    """One small line chart per pair, on a shared axis unless `independent`."""
    chart = (
        alt.Chart(frame, height=height, width=width)
        .mark_line()
        .encode(
            x=alt.X(
                f"{x}:T",
                title="Date (UTC)",
                axis=alt.Axis(format=DATE_AXIS, labelAngle=0, tickCount=4),
            ),
            y=alt.Y(
                f"{y}:Q", title=y_title, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=False)
            ),
            tooltip=[
                alt.Tooltip(f"{facet}:N", title=facet_title),
                alt.Tooltip(f"{x}:T", title="Date", format=DATE),
                alt.Tooltip(f"{y}:Q", title=y_title, format=fmt),
            ],
        )
        .facet(facet=alt.Facet(f"{facet}:N", title=None), columns=columns)
    )
    return chart.resolve_scale(y="independent") if independent else chart


def ranked_bars(
    frame: pd.DataFrame,
    key: str,
    value: str,
    x_title: str,
    fmt: str = USD,
    axis_fmt: str = USD_AXIS,
    key_title: str = "Pair",
    height: int = 260,
) -> alt.Chart:
    """One horizontal bar per `key`, largest first: comparable across pairs."""
    return (
        alt.Chart(frame, height=max(height, 26 * len(frame)))
        .mark_bar()
        .encode(
            y=alt.Y(f"{key}:N", title=key_title, sort="-x", axis=alt.Axis(labelOverlap=False)),
            x=alt.X(f"{value}:Q", title=x_title, axis=alt.Axis(format=axis_fmt)),
            tooltip=[
                alt.Tooltip(f"{key}:N", title=key_title),
                alt.Tooltip(f"{value}:Q", title=x_title, format=fmt),
            ],
        )
    )
