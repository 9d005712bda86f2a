"""A generated corpus of bad landing files, each with what must become of every record in it.

``write_corpus(landing)`` writes every case under ``<landing>/<table>/corpus/`` and returns the
cases. Each :class:`Case` says exactly where each record of its file goes: which record numbers
reach ``raw.<table>``, which land in ``raw._quarantine`` and with which reason, or that the
whole file is moved to ``_rejected/`` (and why), plus a few typed values to check. Every file
that is not rejected also holds good records, so a test can see that the rest of the file loads.

Decisions (docs/reliability.md, ``ingestion/contract.py``); each case's ``decision`` repeats the one
it tests:

* The loader quarantines only what the contract rules out: a value that does not cast to its
  type, a missing required value or column, a value outside an ``enum``, a value <= 0 in a
  ``positive`` column, a record that does not parse. Everything else loads as sent.
* Event times outside the plausible range (before 2009-01-03, or more than a day after the
  load: docs/landing_contract.md#event-time-range) are quarantined, so a typo'd year 9999 never
  reaches a date spine; a time a few hours ahead (a source clock running fast) loads. Words that
  some engines cast to times (``epoch``, ``infinity``, ``now``) are no timestamps.
* A decimal with more digits than ``DECIMAL(20,8)`` holds is quarantined, never rounded
  (``0.000000004`` is not ``0``); trailing zeros past the 8th place are no digits.
* Keys that differ only in case (``price`` and ``PRICE``): the key spelled like the contract
  column is loaded, the other is kept as an extra column, and the file's message reports it.
* A record that is not UTF-8 is quarantined with a reason naming the encoding it looks like.
* Negative amounts: ``quantity`` and ``price`` are ``positive`` (quarantined); a negative
  ``fee`` (a maker rebate) and a negative transaction ``amount`` (an outflow) are valid.
* Duplicate primary keys with different content both load: a mutable source re-sends rows as
  they change, so raw keeps every version and staging keeps the latest by the table's version
  rule (``latest_version``). Two rows of one key with the same version but different values
  are a conflict: staging keeps the one loaded last (then the highest row number) and
  ``stg_loader__version_conflicts`` reports it (docs/landing_contract.md#keys-and-versions).
* An old export delivered again (same rows, other bytes: CRLF line endings) must not undo a
  newer state: :func:`resent_exports` has one for every mutable table.
* Text is kept as sent (no trimming), so ``' buy'`` is not the enum value ``buy``; numbers,
  booleans and timestamps are trimmed before they are cast.
* A truncated or corrupt compressed file is rejected whole: its readable prefix is an
  incomplete delivery, and loading it would double those rows when the full file comes again.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb

from ingestion.contract import TABLES

TRADE_COLUMNS = TABLES["trades"].column_names
TRANSACTION_COLUMNS = TABLES["transactions"].column_names
FOLDER = "corpus"


def trade(i: int, **changes) -> dict:
    """A valid trade as text values, as a CSV or JSON export has it."""
    row = {
        "trade_id": f"C{i:06d}",
        "order_id": f"O{i:06d}",
        "user_id": f"U{i % 5}",
        "pair_id": str(1 + i % 3),
        "side": "buy" if i % 2 else "sell",
        "quantity": "1.5",
        "price": "100.25",
        "fee": "0.01",
        "fee_asset": "USDT",
        "is_maker": "true",
        "executed_at": "2026-01-01T00:00:00Z",
    }
    row.update(changes)
    return row


def transaction(i: int, **changes) -> dict:
    row = {
        "transaction_id": f"X{i:06d}",
        "user_id": "U1",
        "transaction_type": "deposit",
        "asset": "BTC",
        "amount": "2.5",
        "balance_before": "0",
        "balance_after": "2.5",
        "reference_id": "",
        "status": "completed",
        "created_at": "2026-01-01T00:00:00Z",
    }
    row.update(changes)
    return row


@dataclass(frozen=True)
class Case:
    name: str
    table: str
    file_name: str
    content: bytes
    loaded: tuple[int, ...]  # record numbers that reach raw.<table>
    quarantined: dict[int, str] = field(default_factory=dict)  # record -> reason; "..." = prefix
    rejected: str | None = None  # the whole file moved aside; a piece of the message
    values: dict[int, dict] = field(default_factory=dict)  # record -> {column: typed value}
    decision: str = ""
    message: str | None = None  # a piece of the file's raw._loaded_files message

    @property
    def source_file(self) -> str:
        return f"{self.table}/{FOLDER}/{self.file_name}"


# --------------------------------------------------------------------------------------
# encoders


def csv_bytes(rows: list[dict], columns: list[str] | None = None, newline: str = "\n") -> bytes:
    columns = columns or list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in columns])
    return out.getvalue().encode()


def jsonl_bytes(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def parquet_bytes(select: str) -> bytes:
    """A Parquet file of a DuckDB SELECT, as bytes."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "x.parquet"
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
        finally:
            con.close()
        return path.read_bytes()


def _values_sql(rows: list[dict]) -> str:
    """A VALUES list of text rows as a SELECT (columns named by the first row)."""
    names = list(rows[0])

    def lit(v):
        return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"

    body = ", ".join("(" + ", ".join(lit(r[c]) for c in names) + ")" for r in rows)
    cols = ", ".join(f'"{c}"' for c in names)
    return f"SELECT * FROM (VALUES {body}) AS t({cols})"


# --------------------------------------------------------------------------------------
# the cases


def cases() -> list[Case]:
    header = ",".join(TRADE_COLUMNS).encode()
    good = [",".join(trade(i).values()).encode() for i in range(1000, 1010)]
    truncated = gzip.compress(csv_bytes([trade(i) for i in range(3000)]), mtime=0)
    corpus = [
        Case(
            "wrong types",
            "trades",
            "wrong_types.csv",
            csv_bytes(
                [
                    trade(1),
                    trade(2, quantity="abc"),
                    trade(3, pair_id="1.5"),
                    trade(4, is_maker="maybe"),
                    trade(5, executed_at="2026-13-01T00:00:00"),
                    trade(6, price="1,5"),
                    trade(7, pair_id="99999999999"),
                    trade(8, quantity=" 2.5 ", pair_id=" 3 "),
                ]
            ),
            loaded=(1, 8),
            quarantined={
                2: "quantity: not a valid decimal(20,8): 'abc'",
                3: "pair_id: not a valid integer: '1.5'",
                4: "is_maker: not a valid boolean: 'maybe'",
                5: "executed_at: not a valid timestamp: '2026-13-01T00:00:00'",
                6: "price: not a valid decimal(20,8): '1,5'",
                7: "pair_id: not a valid integer: '99999999999'",
            },
            values={8: {"quantity": Decimal("2.5"), "pair_id": 3}},
            decision="a value that does not cast to its contract type is quarantined; "
            "blanks around a number are trimmed",
        ),
        Case(
            "missing required column",
            "trades",
            "missing_required_column.csv",
            csv_bytes([trade(i) for i in range(10, 13)], [c for c in TRADE_COLUMNS if c != "fee"]),
            loaded=(),
            quarantined=dict.fromkeys((1, 2, 3), "missing required column fee"),
            decision="every row is quarantined (replayable), the file is not moved",
        ),
        Case(
            "missing optional column",
            "trades",
            "missing_optional_column.csv",
            csv_bytes(
                [trade(i) for i in range(13, 15)], [c for c in TRADE_COLUMNS if c != "is_maker"]
            ),
            loaded=(1, 2),
            values={1: {"is_maker": None}},
            decision="an optional column may be absent: NULL",
        ),
        Case(
            "missing required fields",
            "trades",
            "missing_required_fields.jsonl",
            jsonl_bytes(
                [
                    trade(20),
                    {k: v for k, v in trade(21).items() if k != "user_id"},
                    trade(22, user_id=None),
                    trade(23, user_id=""),
                    trade(24, user_id="   "),
                    trade(25, executed_at=""),
                    trade(26, is_maker=None),
                    trade(27, quantity=None, side=None),
                ]
            ),
            loaded=(1, 7),
            quarantined={
                2: "user_id: required value missing",
                3: "user_id: required value missing",
                4: "user_id: required value missing",
                5: "user_id: required value missing",
                6: "executed_at: required value missing",
                8: "side: required value missing; quantity: required value missing",
            },
            decision="absent key, null, empty and blank are all missing; every problem of a "
            "row is named",
        ),
        Case(
            "unknown enum values",
            "trades",
            "unknown_enum.csv",
            csv_bytes(
                [trade(30), trade(31, side="hold"), trade(32, side="BUY"), trade(33, side=" buy")]
                + [trade(34)]
            ),
            loaded=(1, 5),
            quarantined={
                2: "side: unknown value 'hold' (expected one of: buy, sell)",
                3: "side: unknown value 'BUY' (expected one of: buy, sell)",
                4: "side: unknown value ' buy' (expected one of: buy, sell)",
            },
            decision="enum values match exactly (text is never trimmed or case-folded)",
        ),
        Case(
            "invalid UTF-8 in a CSV record",
            "trades",
            "invalid_utf8.csv",
            b"\n".join([header, good[0], good[1].replace(b"USDT", b"US\xffDT"), good[2]]) + b"\n",
            loaded=(1, 3),
            quarantined={
                2: "record is not valid UTF-8 (looks like Latin-1 (ISO-8859-1 or Windows-1252))"
            },
            decision="the record is quarantined (its bytes shown with U+FFFD); the rest loads",
        ),
        Case(
            "invalid UTF-8 in a JSON line",
            "trades",
            "invalid_utf8.jsonl",
            jsonl_bytes([trade(40)]) + b'{"trade_id": "C\xff\xfe"}\n' + jsonl_bytes([trade(41)]),
            loaded=(1, 3),
            quarantined={
                2: "line is not valid UTF-8 (looks like Latin-1 (ISO-8859-1 or Windows-1252))"
            },
        ),
        Case(
            "header row not UTF-8",
            "trades",
            "invalid_utf8_header.csv",
            header.replace(b"trade_id", b"trade\xff_id") + b"\n" + good[3] + b"\n",
            loaded=(),
            rejected="CSV header row is not valid UTF-8 (looks like Latin-1",
            decision="without a readable header no record can be mapped: the file is moved aside",
        ),
        Case(
            "byte-order mark, CSV",
            "trades",
            "bom.csv",
            b"\xef\xbb\xbf" + csv_bytes([trade(50), trade(51)]),
            loaded=(1, 2),
            values={1: {"trade_id": "C000050"}},
        ),
        Case(
            "byte-order mark, JSON lines",
            "trades",
            "bom.jsonl",
            b"\xef\xbb\xbf" + jsonl_bytes([trade(52), trade(53)]),
            loaded=(1, 2),
            values={1: {"trade_id": "C000052"}},
            decision="the BOM is no part of the first record (was: record 1 quarantined)",
        ),
        Case(
            "quoted newlines and CRLF",
            "trades",
            "quoted_newlines.csv",
            csv_bytes(
                [trade(60), trade(61, user_id="U\n61", fee_asset="US\r\nDT"), trade(62)],
                newline="\r\n",
            ),
            loaded=(1, 2, 3),
            values={2: {"user_id": "U\n61", "fee_asset": "US\r\nDT"}, 3: {"trade_id": "C000062"}},
            decision="a quoted newline is data; row numbers count records, not lines",
        ),
        Case(
            "wrong number of fields",
            "trades",
            "ragged.csv",
            b"\n".join([header, good[4], good[5] + b",surplus", good[6], b"C9,O9"]) + b"\n",
            loaded=(1, 3),
            quarantined={
                2: "malformed CSV record: expected 11 fields, found 12",
                4: "malformed CSV record: expected 11 fields, found 2",
            },
        ),
        Case(
            "duplicate primary keys with different content",
            "trades",
            "duplicate_keys.csv",
            csv_bytes([trade(70), trade(70, price="101.5"), trade(71)]),
            loaded=(1, 2, 3),
            values={1: {"price": Decimal("100.25")}, 2: {"price": Decimal("101.5")}},
            decision="both versions load; staging keeps row 2 (same version: the last row of the "
            "file) and reports the conflict (stg_loader__version_conflicts: trades, price)",
        ),
        Case(
            "event times outside the plausible range",
            "trades",
            "implausible_times.csv",
            csv_bytes(
                [
                    trade(80, executed_at="9999-12-31T23:59:59Z"),
                    trade(81),
                    trade(82, executed_at="2999-12-31T23:59:59Z"),
                    trade(83, executed_at="1970-01-01T00:00:00Z"),
                    trade(84, executed_at="2009-01-02T23:59:59Z"),
                    trade(85, executed_at="2009-01-03T00:00:00Z"),
                    trade(86, executed_at=f"{SOON:%Y-%m-%dT%H:%M:%S}Z"),
                    trade(87, executed_at=f"{TOO_LATE:%Y-%m-%dT%H:%M:%S}Z"),
                ]
            ),
            loaded=(2, 6, 7),
            quarantined={
                1: "executed_at: implausible time '9999-12-31T23:59:59Z' "
                "(more than 1 day after the load)",
                3: "executed_at: implausible time '2999-12-31T23:59:59Z' "
                "(more than 1 day after the load)",
                4: "executed_at: implausible time '1970-01-01T00:00:00Z' (before 2009-01-03)",
                5: "executed_at: implausible time '2009-01-02T23:59:59Z' (before 2009-01-03)",
                8: "executed_at: implausible time ...",
            },
            values={
                6: {"executed_at": dt.datetime(2009, 1, 3)},
                7: {"executed_at": SOON},
            },
            decision="issue 18: a trade dated 9999-12-31 loaded and grew the hourly rate spine "
            "to 629M rows; now it is quarantined, and a clock a few hours fast still loads",
        ),
        Case(
            "timestamp literals",
            "trades",
            "timestamp_literals.csv",
            csv_bytes(
                [trade(180)]
                + [
                    trade(181 + n, executed_at=word)
                    for n, word in enumerate(
                        ["epoch", "infinity", "-infinity", "now", "today", "allballs"]
                    )
                ]
            ),
            loaded=(1,),
            quarantined={
                2: "executed_at: not a valid timestamp: 'epoch'",
                3: "executed_at: not a valid timestamp: 'infinity'",
                4: "executed_at: not a valid timestamp: '-infinity'",
                5: "executed_at: not a valid timestamp: 'now'",
                6: "executed_at: not a valid timestamp: 'today'",
                7: "executed_at: not a valid timestamp: 'allballs'",
            },
            decision="issue 18: 'epoch' loaded as 1970-01-01; a timestamp is written as a date",
        ),
        Case(
            "more digits than DECIMAL(20,8) holds, CSV",
            "trades",
            "too_many_digits.csv",
            csv_bytes(
                [
                    trade(190, fee="0.000000004"),
                    trade(191, fee="0.1234567800"),
                    trade(192, price="100.123456789"),
                    trade(193, quantity="123456789012345"),
                    trade(194, fee="4e-09"),
                    trade(195, fee="1.5e-3"),
                    trade(196, fee="0.0000000000000000000001"),
                ]
            ),
            loaded=(2, 6),
            quarantined={
                1: "fee: more digits than decimal(20,8) holds: '0.000000004'",
                3: "price: more digits than decimal(20,8) holds: '100.123456789'",
                4: "quantity: more digits than decimal(20,8) holds: '123456789012345'",
                5: "fee: more digits than decimal(20,8) holds: '4e-09'",
                7: "fee: more digits than decimal(20,8) holds: '0.0000000000000000000001'",
            },
            values={2: {"fee": Decimal("0.12345678")}, 6: {"fee": Decimal("0.0015")}},
            decision="issue 18: a fee of 0.000000004 was rounded to 0 without a word",
        ),
        Case(
            "more digits than DECIMAL(20,8) holds, JSON numbers",
            "trades",
            "too_many_digits.jsonl",
            jsonl_bytes([trade(200, fee=0.000000004), trade(201, fee=0.25, price=100.5)]),
            loaded=(2,),
            quarantined={1: "fee: more digits than decimal(20,8) holds: '4e-09'"},
            values={2: {"fee": Decimal("0.25"), "price": Decimal("100.5")}},
            decision="a JSON number is read as DuckDB prints it ('4e-09') and checked the same",
        ),
        Case(
            "more digits than DECIMAL(20,8) holds, Parquet",
            "trades",
            "too_many_digits.parquet",
            parquet_bytes(
                "SELECT * REPLACE (CAST(fee AS DOUBLE) AS fee, "
                "CAST(price AS DECIMAL(38, 18)) AS price) "
                f"FROM ({_values_sql(PARQUET_DIGITS_ROWS)})"
            ),
            loaded=(1,),
            quarantined={
                2: "fee: more digits than decimal(20,8) holds: '4e-09'",
                3: "price: more digits than decimal(20,8) holds: '100.000000000000000001'",
            },
            values={1: {"fee": Decimal("0.1"), "price": Decimal("100.25")}},
            decision="a double's float noise past its 12th digit is not a digit (0.1 loads); a "
            "decimal of the file's own type is compared exactly",
        ),
        Case(
            "keys that differ only in case, JSON lines",
            "trades",
            "case_clash.jsonl",
            jsonl_bytes(
                [
                    {**trade(210), "PRICE": "999"},
                    {**trade(211, price="101.5"), "PRICE": "998"},
                ]
            ),
            loaded=(1, 2),
            values={
                1: {"price": Decimal("100.25"), "PRICE_extra": "999"},
                2: {"price": Decimal("101.5")},
            },
            message="keys that differ only in case for price: price, PRICE",
            decision="issue 18: raw.price took the PRICE value; the exact-case key wins",
        ),
        Case(
            "keys that differ only in case, CSV header",
            "trades",
            "case_clash.csv",
            csv_bytes([{**trade(220), "Fee": "7"}], ["Fee", *TRADE_COLUMNS]),
            loaded=(1,),
            values={1: {"fee": Decimal("0.01")}},
            message="keys that differ only in case for fee: fee, Fee",
            decision="the header's exact-case column wins even when the other comes first",
        ),
        Case(
            "a whole file in Windows-1252",
            "trades",
            "windows_1252.csv",
            csv_bytes([trade(230)])
            + "C000231,O000231,U1,1,buy,1.5,100.25,0.01,\u201cUSDT\u201d,true,2026-01-01\n".encode(
                "cp1252"
            ),
            loaded=(1,),
            quarantined={2: "record is not valid UTF-8 (looks like Windows-1252)"},
            decision="the reason says which encoding the record looks like",
        ),
        Case(
            "a UTF-16 file",
            "trades",
            "utf16.csv",
            csv_bytes([trade(240)]).decode().encode("utf-16"),
            loaded=(),
            rejected="it is UTF-16",
            decision="not one record is UTF-8: the file is moved aside with the encoding named",
        ),
        Case(
            "negative amounts, trades",
            "trades",
            "negative.csv",
            csv_bytes(
                [
                    trade(90, quantity="-1"),
                    trade(91, price="-5"),
                    trade(92, quantity="0"),
                    trade(93, fee="-0.01"),
                    trade(94),
                ]
            ),
            loaded=(4, 5),
            quarantined={
                1: "quantity: must be positive, got -1",
                2: "price: must be positive, got -5",
                3: "quantity: must be positive, got 0",
            },
            values={4: {"fee": Decimal("-0.01")}},
            decision="quantity and price are positive; a negative fee is a maker rebate",
        ),
        Case(
            "negative amounts, transactions",
            "transactions",
            "negative.csv",
            csv_bytes(
                [
                    transaction(1, transaction_type="withdrawal", amount="-1.5"),
                    transaction(2, amount="-0.5", balance_after="-0.5"),
                    transaction(3, transaction_type="refund"),
                ]
            ),
            loaded=(1, 2),
            quarantined={
                3: "transaction_type: unknown value 'refund' "
                "(expected one of: deposit, withdrawal, trade, fee)",
            },
            values={1: {"amount": Decimal("-1.5")}},
            decision="amounts are signed (negative = outflow); a negative balance loads and is "
            "for the ledger tests in dbt",
        ),
        Case(
            "timestamps with and without zones",
            "trades",
            "zones.csv",
            csv_bytes(
                [
                    trade(100, executed_at=v)
                    for v in (
                        "2026-03-01T12:00:00Z",
                        "2026-03-01T12:00:00+00:00",
                        "2026-03-01 12:00:00",
                        "2026-03-01T12:00:00",
                        "2026-03-01T14:00:00+02:00",
                        "2026-03-01T07:00:00-05:00",
                        "2026-03-01T17:30:00+0530",
                        "2026-03-01T12:00:00.000Z",
                        "2026-03-01T13:00:00 Europe/Paris",
                        "1772366400",
                    )
                ]
            ),
            loaded=tuple(range(1, 10)),
            quarantined={10: "executed_at: not a valid timestamp: '1772366400'"},
            values={n: {"executed_at": dt.datetime(2026, 3, 1, 12)} for n in range(1, 10)},
            decision="every zone is applied, no zone means UTC; an epoch number is no timestamp",
        ),
        Case("empty CSV", "trades", "empty.csv", b"", loaded=()),
        Case("empty JSON lines", "trades", "empty.jsonl", b"", loaded=()),
        Case("empty Parquet (0 bytes)", "trades", "empty.parquet", b"", loaded=()),
        Case("empty gzip", "trades", "empty.csv.gz", gzip.compress(b"", mtime=0), loaded=()),
        Case("header-only CSV", "trades", "header_only.csv", header + b"\n", loaded=()),
        Case(
            "header-only gzip CSV",
            "trades",
            "header_only.csv.gz",
            gzip.compress(header + b"\n", mtime=0),
            loaded=(),
        ),
        Case(
            "truncated gzip",
            "trades",
            "truncated.csv.gz",
            truncated[: len(truncated) // 2],
            loaded=(),
            rejected="gzip",
            decision="rejected whole: a prefix is an incomplete delivery",
        ),
        Case(
            "Parquet with a changed schema (types, a dropped and a new column)",
            "trades",
            "changed_schema.parquet",
            parquet_bytes(
                "SELECT trade_id, order_id, user_id, pair_id, side, "
                "CAST(quantity AS DOUBLE) AS quantity, CAST(price AS DECIMAL(12, 2)) AS price, "
                "CAST(fee AS VARCHAR) AS fee, fee_asset, CAST(executed_at AS TIMESTAMP_NS) "
                f"AS executed_at, 'dark' AS venue FROM ({_values_sql(PARQUET_ROWS)})"
            ),
            loaded=(1, 3),
            quarantined={2: "pair_id: not a valid integer: 'two'"},
            values={
                1: {"quantity": Decimal("1.5"), "is_maker": None, "venue": "dark"},
                3: {"pair_id": 3},
            },
            decision="values are cast from the file's own types; the new column is kept as "
            "text, the dropped optional one is NULL",
        ),
        Case(
            "Parquet with a renamed required column",
            "trades",
            "renamed_column.parquet",
            parquet_bytes(
                "SELECT * EXCLUDE (fee_asset), fee_asset AS feeAsset "
                f"FROM ({_values_sql([trade(120), trade(121)])})"
            ),
            loaded=(),
            quarantined=dict.fromkeys((1, 2), "missing required column fee_asset"),
            decision="a renamed column is a missing one (every row quarantined, replayable) "
            "and an extra one (kept)",
        ),
    ]
    names = [c.source_file for c in corpus]
    assert len(names) == len(set(names)), "two cases write the same file"
    return corpus


# relative to the wall clock when the corpus is built: a fast clock loads, a day and more not
SOON = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(tzinfo=None, microsecond=0)
TOO_LATE = SOON + dt.timedelta(days=2)

PARQUET_DIGITS_ROWS = [
    trade(250, fee="0.1"),
    trade(251, fee="0.000000004"),
    trade(252, price="100.000000000000000001"),
]

PARQUET_ROWS = [
    {k: v for k, v in trade(110).items() if k != "is_maker"},
    {k: v for k, v in trade(111, pair_id="two").items() if k != "is_maker"},
    {k: v for k, v in trade(112, pair_id="3").items() if k != "is_maker"},
]


# Files the loader does not load, and how the load report names them
# (docs/landing_contract.md#folders-and-files: reported, an error under --strict). Issue 18: these
# were ignored with a debug log, --strict exited 0.
UNSUPPORTED_FILES = {
    "trades/corpus/export.json": "not a landing file type",
    "trades/corpus/export.tsv": "not a landing file type",
    "trades/corpus/export.csv.zip": "not a landing file type",
    "stray.csv": "a file at the landing root, not in a table folder",
}
UNKNOWN_FOLDER = "tradez"  # a typo'd table folder
IN_PROGRESS = "trades/corpus/upload.csv.tmp"  # written, then renamed: not reported


def write_unsupported(landing: Path) -> None:
    """The files of UNSUPPORTED_FILES, an unknown table folder and an upload in progress."""
    content = csv_bytes([trade(900)])
    for relative in [*UNSUPPORTED_FILES, f"{UNKNOWN_FOLDER}/a.csv", IN_PROGRESS]:
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def write_corpus(landing: Path, corpus: list[Case] | None = None) -> list[Case]:
    """Write every case under ``<landing>/<table>/corpus/``, and the files the loader must
    report instead of loading (write_unsupported); returns the cases."""
    corpus = cases() if corpus is None else corpus
    for case in corpus:
        path = landing / case.source_file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.content)
    write_unsupported(landing)
    return corpus


# --------------------------------------------------------------------------------------
# exports delivered again: every mutable table, an older state re-sent after a newer one


@dataclass(frozen=True)
class ResentExport:
    """Three files of one mutable table, loaded in this order: the old export, the newer one,
    and the old export delivered again (same rows, CRLF line endings: other bytes, so it is no
    duplicate file). Staging must end with ``expected`` (key -> {staging column: value})."""

    table: str
    old: list[dict]
    new: list[dict]
    expected: dict[str, dict]
    decision: str

    def files(self) -> dict[str, bytes]:
        columns = TABLES[self.table].column_names
        return {
            f"{self.table}/resent/2026-01-01.csv": csv_bytes(self.old, columns),
            f"{self.table}/resent/2026-01-02.csv": csv_bytes(self.new, columns),
            f"{self.table}/resent/2026-01-03-old-export-again.csv": csv_bytes(
                self.old, columns, newline="\r\n"
            ),
        }


def _rows(base: dict, *changes: dict) -> list[dict]:
    return [{**base, **c} for c in changes]


def resent_exports() -> list[ResentExport]:
    t0, t1 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"
    user = {
        "user_id": "RU1",
        "email": "ru1@example.com",
        "created_at": t0,
        "status": "active",
        "user_tier_id": "1",
        "country_code": "DE",
    }
    order = {
        "order_id": "RO1",
        "user_id": "RU1",
        "pair_id": "1",
        "order_type": "limit",
        "side": "buy",
        "quantity": "1",
        "price": "100",
        "created_at": t0,
    }
    pair = {
        "pair_id": "901",
        "symbol": "RSX/USDT",
        "base_asset": "RSX",
        "quote_asset": "USDT",
        "status": "active",
        "min_order_size": "0.001",
        "maker_fee_rate": "0.001",
        "taker_fee_rate": "0.002",
        "created_at": t0,
    }
    return [
        ResentExport(
            "users",
            _rows(user, {"updated_at": t0}),
            _rows(user, {"user_tier_id": "2", "updated_at": t1}),
            {"RU1": {"tier_id": 2}},
            "updated_at decides",
        ),
        ResentExport(
            "user_tiers",
            [{"id": "91", "tier_name": "Resent", "trading_fee_rate": "0.0010"}],
            [{"id": "91", "tier_name": "Resent", "trading_fee_rate": "0.0008"}],
            {"91": {"trading_fee_rate": Decimal("0.0008")}},
            "no version in the row: the content first loaded last wins (a replay is not newer)",
        ),
        ResentExport(
            "user_kyc",
            [
                {
                    "user_id": "RU1",
                    "kyc_level": "1",
                    "verification_status": "pending",
                    "updated_at": t0,
                }
            ],
            [
                {
                    "user_id": "RU1",
                    "kyc_level": "2",
                    "verification_status": "approved",
                    "approved_at": t1,
                    "updated_at": t1,
                }
            ],
            {"RU1": {"verification_status": "approved"}},
            "updated_at decides",
        ),
        ResentExport(
            "trading_pairs",
            _rows(pair, {}, {"pair_id": "902", "symbol": "RSY/USDT"}),
            _rows(
                pair,
                {"status": "delisted"},
                {"pair_id": "902", "symbol": "RSY/USDT", "maker_fee_rate": "0.0005"},
            ),
            {"901": {"status": "delisted"}, "902": {"maker_fee_rate": Decimal("0.0005")}},
            "same created_at: delisted outranks active; a fee change is newer by first load",
        ),
        ResentExport(
            "orders",
            _rows(order, {"status": "pending", "filled_quantity": "0", "updated_at": t0}),
            _rows(order, {"status": "filled", "filled_quantity": "1", "updated_at": t1}),
            {"RO1": {"status": "filled"}},
            "updated_at decides",
        ),
        ResentExport(
            "wallets",
            [
                {
                    "wallet_id": "RW1",
                    "user_id": "RU1",
                    "asset": "BTC",
                    "balance": "1",
                    "locked_balance": "0",
                    "updated_at": t0,
                }
            ],
            [
                {
                    "wallet_id": "RW1",
                    "user_id": "RU1",
                    "asset": "BTC",
                    "balance": "2",
                    "locked_balance": "0",
                    "updated_at": t1,
                }
            ],
            {"RW1": {"balance": Decimal("2")}},
            "updated_at decides",
        ),
        ResentExport(
            "transactions",
            [transaction(901, status="pending")],
            [transaction(901, status="completed")],
            {"X000901": {"status": "completed"}},
            "same created_at: completed outranks pending",
        ),
        ResentExport(
            "security_events",
            [
                {
                    "event_id": "RE1",
                    "user_id": "RU1",
                    "event_type": "login_failed",
                    "severity": "low",
                    "status": "open",
                    "created_at": t0,
                }
            ],
            [
                {
                    "event_id": "RE1",
                    "user_id": "RU1",
                    "event_type": "login_failed",
                    "severity": "low",
                    "status": "resolved",
                    "created_at": t0,
                }
            ],
            {"RE1": {"status": "resolved"}},
            "same created_at: resolved outranks open",
        ),
        ResentExport(
            "compliance_alerts",
            [
                {
                    "alert_id": "RA1",
                    "user_id": "RU1",
                    "alert_type": "large_transaction",
                    "investigation_status": "pending",
                    "created_at": t0,
                }
            ],
            [
                {
                    "alert_id": "RA1",
                    "user_id": "RU1",
                    "alert_type": "large_transaction",
                    "investigation_status": "completed",
                    "disposition": "no_action",
                    "created_at": t0,
                }
            ],
            {"RA1": {"investigation_status": "completed"}},
            "same created_at: completed outranks pending",
        ),
        ResentExport(
            "support_tickets",
            [
                {
                    "ticket_id": "RT1",
                    "user_id": "RU1",
                    "category": "kyc",
                    "status": "open",
                    "created_at": t0,
                },
                {
                    "ticket_id": "RT2",
                    "user_id": "RU1",
                    "category": "kyc",
                    "status": "open",
                    "created_at": t0,
                },
            ],
            [
                {
                    "ticket_id": "RT1",
                    "user_id": "RU1",
                    "category": "kyc",
                    "status": "solved",
                    "created_at": t0,
                    "resolved_at": t1,
                },
                {
                    "ticket_id": "RT2",
                    "user_id": "RU1",
                    "category": "kyc",
                    "status": "pending",
                    "created_at": t0,
                },
            ],
            {"RT1": {"status": "solved"}, "RT2": {"status": "pending"}},
            "greatest(created_at, resolved_at), then pending outranks open",
        ),
    ]
