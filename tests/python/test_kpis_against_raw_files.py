"""The marts agree with docs/kpis.md computed independently: plain pandas over the landing
files (no DuckDB, no dbt), compared with marts.fct_daily_exchange_kpis on the tiny scale.
The tiny exchange has registrations and KYC approvals long before its first order: the daily
series must start with them and its sums must equal the counts of the source files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ingestion.contract import TABLES

STABLECOINS = {"USD", "USDT", "USDC", "BUSD", "DAI", "FDUSD", "TUSD"}


def read_table(landing: Path, table: str) -> pd.DataFrame:
    """Every file of a table folder in name order, as strings, the way the contract defines them."""
    frames = []
    for path in sorted((landing / table).iterdir()):
        name = path.name
        try:
            if name.endswith((".csv", ".csv.gz")):
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
            elif name.endswith(".parquet"):
                frame = pd.read_parquet(path).astype("string").astype(object)
            elif name.endswith((".jsonl", ".jsonl.gz")):
                frame = pd.read_json(path, lines=True, dtype=False).astype("string").astype(object)
            else:
                continue
        except Exception:  # unreadable files are moved aside by the loader and hold no data
            continue
        frame["_file"] = name
        frame["_row"] = np.arange(len(frame))
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    return data.replace({pd.NA: None})


def timestamps(series: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    return parsed.dt.tz_localize(None)


def valid_rows(data: pd.DataFrame, table: str) -> pd.DataFrame:
    """Drops the rows the contract calls bad input (they go to quarantine, not the marts)."""
    keep = pd.Series(True, index=data.index)
    for column in TABLES[table].columns:
        if column.name not in data:
            continue
        values = data[column.name]
        present = values.notna()
        if column.type == "timestamp":
            parsed = timestamps(values)
            keep &= ~(present & parsed.isna())
            data[column.name] = parsed
        elif column.type in ("decimal", "integer"):
            parsed = pd.to_numeric(values, errors="coerce")
            keep &= ~(present & parsed.isna())
            if column.positive:
                keep &= ~(parsed <= 0)
            data[column.name] = parsed
        elif column.type == "boolean":
            lowered = values.astype(str).str.lower()
            known = lowered.isin(["true", "false", "t", "f", "1", "0", "none"])
            keep &= ~(present & ~known)
            data[column.name] = lowered.isin(["true", "t", "1"])
        if column.required:
            keep &= present
        if column.enum:
            keep &= ~(present & ~values.isin(column.enum))
    return data[keep]


def latest(data: pd.DataFrame, key: list[str], version: str | None = None) -> pd.DataFrame:
    order = ([version] if version else []) + ["_file", "_row"]
    return data.sort_values(order, na_position="first").drop_duplicates(key, keep="last")


@pytest.fixture(scope="module")
def events(tiny_landing) -> dict[str, pd.DataFrame]:
    """Every event a daily KPI counts, read from the landing files, each with its UTC day."""
    trades = latest(valid_rows(read_table(tiny_landing, "trades"), "trades"), ["trade_id"])
    pairs = valid_rows(read_table(tiny_landing, "trading_pairs"), "trading_pairs")
    candles = valid_rows(read_table(tiny_landing, "market_data_1h"), "market_data_1h")
    fees = latest(
        valid_rows(read_table(tiny_landing, "fee_collections"), "fee_collections"), ["fee_id"]
    )
    orders = latest(
        valid_rows(read_table(tiny_landing, "orders"), "orders"), ["order_id"], "updated_at"
    )
    users = latest(
        valid_rows(read_table(tiny_landing, "users"), "users"), ["user_id"], "updated_at"
    )
    kyc = latest(
        valid_rows(read_table(tiny_landing, "user_kyc"), "user_kyc"), ["user_id"], "updated_at"
    )
    approvals = kyc[(kyc.verification_status == "approved") & kyc.approved_at.notna()].copy()

    # USD rate of an asset at an hour: the close of the latest USDT candle at or before it.
    usdt = candles.merge(pairs[pairs.quote_asset == "USDT"], on="pair_id")
    usdt = usdt[["base_asset", "timestamp", "close_price"]].rename(columns={"base_asset": "asset"})
    usdt = usdt.sort_values("timestamp")

    def usd_rate(assets: pd.Series, at: pd.Series) -> pd.Series:
        lookup = pd.DataFrame(
            {"asset": assets.values, "hour": at.dt.floor("h").values, "i": range(len(at))}
        )
        lookup = lookup.sort_values("hour")
        merged = pd.merge_asof(lookup, usdt, left_on="hour", right_on="timestamp", by="asset")
        rate = merged.sort_values("i")["close_price"].to_numpy(dtype=float)
        rate[np.isin(assets.values, list(STABLECOINS))] = 1.0
        return pd.Series(rate, index=assets.index)

    trades = trades.merge(pairs[["pair_id", "quote_asset"]], on="pair_id")
    trades["day"] = trades.executed_at.dt.floor("D")
    trades["notional_usd"] = (
        trades.quantity * trades.price * usd_rate(trades.quote_asset, trades.executed_at)
    )
    fees["day"] = fees.collected_at.dt.floor("D")
    fees["fee_usd"] = fees.fee_amount * usd_rate(fees.fee_asset, fees.collected_at)
    orders["day"] = orders.created_at.dt.floor("D")
    users = users[users.created_at.notna()].copy()
    users["day"] = users.created_at.dt.floor("D")
    approvals["day"] = approvals.approved_at.dt.floor("D")
    return {
        "trades": trades,
        "fees": fees,
        "orders": orders,
        "users": users,
        "approvals": approvals,
    }


@pytest.fixture(scope="module")
def expected(events) -> pd.DataFrame:
    trades, fees, orders = events["trades"], events["fees"], events["orders"]
    users, approvals = events["users"], events["approvals"]
    by_day = pd.DataFrame(
        {
            "active_traders": trades.groupby("day").user_id.nunique(),
            "trade_count": trades.groupby("day").size(),
            "trading_volume_usd": trades[~trades.is_maker].groupby("day").notional_usd.sum(),
            "revenue_usd": fees.groupby("day").fee_usd.sum(),
            "trading_fee_revenue_usd": fees[fees.fee_type == "trading_fee"]
            .groupby("day")
            .fee_usd.sum(),
            "orders_placed": orders.groupby("day").size(),
            "orders_executed": orders[orders.filled_quantity > 0].groupby("day").size(),
            "new_registrations": users.groupby("day").size(),
            "kyc_approvals": approvals.groupby("day").size(),
        }
    )
    # docs/kpis.md: from the first to the last day of data, of any counted event.
    counted = [trades, orders, fees, users, approvals]
    first_day = min(frame.day.min() for frame in counted)
    last_day = max(frame.day.max() for frame in counted)
    days = pd.date_range(first_day, last_day, freq="D")
    return by_day.reindex(days).fillna(0)


def test_daily_kpis_match_an_independent_computation(tiny_warehouse, expected):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    marts = con.sql("select * from marts.fct_daily_exchange_kpis order by kpi_date").df()
    marts.index = pd.to_datetime(marts.kpi_date)
    assert list(marts.index) == list(expected.index), "the mart has a row for every day of data"
    for column in expected.columns:
        np.testing.assert_allclose(
            marts[column].astype(float).to_numpy(),
            expected[column].to_numpy(),
            rtol=1e-9,
            atol=1e-6,
            err_msg=column,
        )
    assert (marts.trade_count > 0).any()
    with_fills = marts[marts.trade_count > 0]
    np.testing.assert_allclose(
        with_fills.revenue_per_trade_usd,
        with_fills.trading_fee_revenue_usd / with_fills.trade_count,
    )


def test_daily_sums_equal_the_source_counts_of_every_counted_event(tiny_warehouse, events):
    """Summed over the series, each daily count equals its events in the landing files, so
    none falls outside the date spine: registrations and KYC approvals before the first order
    (the tiny exchange has a year of them) included."""
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    marts = con.sql("select * from marts.fct_daily_exchange_kpis order by kpi_date").df()
    first = marts.iloc[0]
    assert first.new_registrations + first.kyc_approvals > 0 and first.trade_count == 0, (
        "the tiny exchange's first day of data is a registration day before any fill"
    )
    trades, orders = events["trades"], events["orders"]
    source_counts = {
        "new_registrations": len(events["users"]),
        "kyc_approvals": len(events["approvals"]),
        "orders_placed": len(orders),
        "orders_executed": int((orders.filled_quantity > 0).sum()),
        "trade_count": len(trades),
        "first_time_traders": trades.user_id.nunique(),
    }
    daily_sums = {column: int(marts[column].sum()) for column in source_counts}
    assert daily_sums == source_counts
    np.testing.assert_allclose(
        marts.revenue_usd.sum(), events["fees"].fee_usd.sum(), rtol=1e-9, err_msg="revenue_usd"
    )


def test_design_document_questions_answer_in_one_query(tiny_warehouse):
    con = duckdb.connect(str(tiny_warehouse.warehouse), read_only=True)
    (dau,) = con.execute(
        "select active_traders from marts.fct_daily_exchange_kpis order by kpi_date desc limit 1"
    ).fetchone()
    (revenue,) = con.execute(
        "select revenue_usd from marts.fct_daily_exchange_kpis order by kpi_date desc limit 1"
    ).fetchone()
    (churn,) = con.execute("select churn_rate from marts.rpt_churn_summary").fetchone()
    assert dau >= 0 and revenue >= 0 and 0 <= churn <= 1
