"""SQL that types and checks landed rows against the landing contract, set-based.

The loader never looks at a row in Python. It reads each file with the values as they are in
the file (text for CSV and JSON lines, native types for Parquet) through the one SELECT built
here (:func:`build_validation`): one row per source row with every contract column cast to its
contract type, the extra columns as text, ``_row_number``, ``_reason`` (NULL for a good row,
else every problem of the row, each naming its column: ``quantity: must be positive, got -1``)
and ``_record`` (the original values as JSON text, for bad rows). The loader materialises that
once per file, then sends the good rows to the raw table and the bad ones to quarantine.

The checks are those of the contract: a value that does not cast to its type, a NULL (or blank)
where ``required``, a value outside the ``enum``, a value <= 0 where ``positive``, and a required
column missing from the file altogether (``missing required column <name>``). And the value rules
of docs/landing_contract.md#values: a decimal with more digits than ``DECIMAL(20,8)`` holds is
quarantined, never rounded (``fee: more digits than decimal(20,8) holds: '0.000000004'``); a
timestamp must be written as a date (``epoch``, ``infinity``, ``now`` are no times) within the
plausible range of :class:`TimeBounds` (from 2009-01-03, the first Bitcoin block, to a day after the
load), so a typo'd year 9999 never reaches a date spine.

The SQL comes from a :class:`Dialect`, so the same rules can run elsewhere: ``DUCKDB`` is what the
file loader uses; ``POSTGRES`` is for a later extractor that stages rows in PostgreSQL (text
columns) and wants the same raw tables. PostgreSQL has no ``try_cast``, so that dialect calls
small helper functions that :func:`postgres_helper_functions_sql` creates (PostgreSQL 12+).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingestion.contract import DUCKDB_TYPES, Column, SourceTable
from warehouse import settings

# How a logical type is named in reasons.
TYPE_LABELS = {
    "varchar": "text",
    "integer": "integer",
    "decimal": "decimal(20,8)",
    "timestamp": "timestamp",
    "boolean": "boolean",
}

# Longest piece of an offending value quoted in a reason.
REASON_VALUE_CHARS = 80


@dataclass(frozen=True)
class TimeBounds:
    """Event times a load accepts: from ``earliest`` to ``latest`` (both UTC, without zone).

    ``latest`` is the load's start plus ``max_future_hours``; reasons name the rule, not the
    instant, so the same file quarantined by two loads gets the same reason.
    """

    earliest: dt.datetime
    latest: dt.datetime
    max_future_hours: float

    @classmethod
    def from_env(cls, now: dt.datetime | None = None) -> TimeBounds:
        """The plausible range of event times: ``EXCHANGE_LOADER_MIN_EVENT_TIME`` and
        ``EXCHANGE_LOADER_MAX_FUTURE_HOURS`` (``warehouse/settings.py``)."""
        current = settings.current()
        hours = current.loader_max_future_hours
        now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return cls(current.loader_min_event_time, now + dt.timedelta(hours=hours), hours)

    def describe_future(self) -> str:
        hours = self.max_future_hours
        if hours % 24 == 0:
            days = int(hours // 24)
            return f"more than {days} day{'s' if days != 1 else ''} after the load"
        return f"more than {hours:g} hours after the load"


@dataclass(frozen=True)
class SourceColumn:
    """A column of the staged file: its name there and what its values are.

    ``native_type`` is ``None`` when the values are text to be parsed (CSV, JSON lines), else
    the DuckDB type the file declared (Parquet), e.g. ``DOUBLE`` or ``TIMESTAMP_NS``.
    """

    name: str
    native_type: str | None = None
    file_name: str | None = None  # the name in the file, where the staged name had to differ

    @property
    def original_name(self) -> str:
        return self.file_name if self.file_name is not None else self.name

    @property
    def is_text(self) -> bool:
        return self.native_type is None or self.native_type.upper() == "VARCHAR"


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's columns meet the contract of its table."""

    table: SourceTable
    mapped: dict[str, SourceColumn]  # contract column -> file column (names match ignoring case)
    missing_required: tuple[str, ...]
    missing_optional: tuple[str, ...]
    extras: tuple[SourceColumn, ...]  # file columns the contract does not know, kept as text
    source_columns: tuple[SourceColumn, ...] = field(default=())
    # contract column -> the file's names for it that differ only in case (the first is mapped)
    case_clashes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def matches_contract(self) -> bool:
        """True when at least one column of the file is a contract column."""
        return bool(self.mapped)


def plan_columns(table: SourceTable, source_columns: Sequence[SourceColumn]) -> ColumnPlan:
    """Match a file's columns to the contract columns, ignoring case and surrounding blanks.

    Keys that differ only in case (``price`` and ``PRICE``): the one spelled exactly as the
    contract column wins, else the first in the file; the others stay extra columns and the
    clash is recorded in ``case_clashes`` (the loader reports it,
    docs/landing_contract.md#schema-drift).
    """
    by_key: dict[str, list[SourceColumn]] = {}
    for column in source_columns:
        by_key.setdefault(column.original_name.strip().lower(), []).append(column)
    mapped: dict[str, SourceColumn] = {}
    clashes: dict[str, tuple[str, ...]] = {}
    for column in table.columns:
        candidates = by_key.get(column.name.lower(), [])
        exact = [c for c in candidates if c.original_name.strip() == column.name]
        found = (exact or candidates or [None])[0]
        if found is not None:
            mapped[column.name] = found
        if len(candidates) > 1:
            clashes[column.name] = tuple(
                c.original_name for c in [found, *(c for c in candidates if c is not found)]
            )
    used = {id(c) for c in mapped.values()}
    extras = tuple(c for c in source_columns if id(c) not in used)
    missing_required = tuple(c.name for c in table.columns if c.required and c.name not in mapped)
    missing_optional = tuple(
        c.name for c in table.columns if not c.required and c.name not in mapped
    )
    return ColumnPlan(
        table, mapped, missing_required, missing_optional, extras, tuple(source_columns), clashes
    )


# --------------------------------------------------------------------------------------
# Dialects


def _native_family(native_type: str) -> str:
    t = native_type.upper()
    if t in {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    }:
        return "integral"
    if t in {"FLOAT", "DOUBLE", "REAL"} or t.startswith("DECIMAL"):
        return "fractional"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "temporal"
    if t == "BOOLEAN":
        return "boolean"
    if t == "VARCHAR":
        return "text"
    return "other"


class Dialect:
    """The few SQL spellings that differ between engines."""

    name = "generic"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def as_text(self, expr: str, column: SourceColumn) -> str:
        return expr if column.is_text else f"CAST({expr} AS VARCHAR)"

    def trimmed(self, expr: str) -> str:
        """Text with surrounding blanks removed, NULL when nothing is left."""
        return f"NULLIF(TRIM({expr}), '')"

    def left(self, expr: str, chars: int) -> str:
        return f"LEFT({expr}, {chars})"

    def concat_reasons(self, parts: Sequence[str]) -> str:
        if not parts:
            return "CAST(NULL AS VARCHAR)"
        return f"NULLIF(CONCAT_WS('; ', {', '.join(parts)}), '')"

    def typed(self, expr: str, column: SourceColumn, logical: str) -> str:  # pragma: no cover
        raise NotImplementedError

    def invalid(self, typed: str, logical: str) -> str:
        """True when a present value did not cast (``typed`` is the cast value)."""
        return f"{typed} IS NULL"

    def digits_lost(self, expr: str, column: SourceColumn, typed: str) -> str | None:
        """True when a decimal value is a number the raw type cannot hold exactly (too many
        digits before or after the point): it is quarantined, never rounded
        (docs/landing_contract.md#values)."""
        return None

    def timestamp_literal(self, value: str) -> str:
        """``value`` (trimmed text) when it is written as a date, else NULL: ``epoch``,
        ``infinity``, ``now`` or ``today`` cast to times in some engines but are none."""
        return f"CASE WHEN {value} LIKE '____-%' THEN {value} END"

    def json_record(self, pairs: Sequence[tuple[str, str]]) -> str:  # pragma: no cover
        raise NotImplementedError

    def sql_type(self, logical: str) -> str:
        return DUCKDB_TYPES[logical]


class DuckDBDialect(Dialect):
    name = "duckdb"

    def typed(self, expr: str, column: SourceColumn, logical: str) -> str:
        sql_type = self.sql_type(logical)
        if logical == "varchar":
            return self.as_text(expr, column)
        family = "text" if column.is_text else _native_family(column.native_type or "")
        if family == "other":  # e.g. a nested Parquet type: judge it by its text
            family, expr = "text", f"CAST({expr} AS VARCHAR)"
        if family == "text":
            value = self.trimmed(expr)
            if logical == "integer":  # no silent rounding of '1.5', no '1e3'
                return (
                    f"CASE WHEN regexp_full_match({value}, '[+-]?[0-9]+') "
                    f"THEN TRY_CAST({value} AS INTEGER) END"
                )
            if logical == "timestamp":  # offsets are applied: the session time zone is UTC
                tz = f"TRY_CAST({self.timestamp_literal(value)} AS TIMESTAMPTZ)"
                return f"CAST({tz} AS TIMESTAMP)"
            return f"TRY_CAST({value} AS {sql_type})"
        # natively typed values (Parquet)
        if logical == "integer" and family == "fractional":
            return f"CASE WHEN {expr} = trunc({expr}) THEN TRY_CAST({expr} AS INTEGER) END"
        if logical == "timestamp":
            if family != "temporal":
                text = self.timestamp_literal(f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')")
                tz = f"TRY_CAST({text} AS TIMESTAMPTZ)"
            else:
                tz = f"TRY_CAST({expr} AS TIMESTAMPTZ)"
            return f"CAST({tz} AS TIMESTAMP)"
        compatible = {
            "decimal": {"integral", "fractional"},
            "integer": {"integral"},
            "boolean": {"boolean", "integral"},
        }[logical]
        if family not in compatible:
            expr = f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"
        return f"TRY_CAST({expr} AS {sql_type})"

    def invalid(self, typed: str, logical: str) -> str:
        if logical == "timestamp":  # 'infinity' casts, but is no time
            return f"({typed} IS NULL OR NOT isfinite({typed}))"
        return f"{typed} IS NULL"

    def digits_lost(self, expr: str, column: SourceColumn, typed: str) -> str | None:
        family = "text" if column.is_text else _native_family(column.native_type or "")
        if family == "text":
            v = self.trimmed(expr)
            # Only a value with more than 8 characters after its point (or no point), or with
            # an exponent, can have digits DECIMAL(20,8) loses: the exact checks run for those
            # alone (a CASE is evaluated lazily), so the usual 8-place value costs a byte count
            # and two searches (measured on 2M CSV trades: 0.3 s of the checks' 3.1 s CPU).
            # DECIMAL(38,20) is exact for the digits that can be lost (also in '4e-09'); a
            # plain decimal of more than 20 places is read by its digits.
            maybe = (
                f"strlen({expr}) - instr({expr}, '.') > 8 "
                f"OR contains({expr}, 'e') OR contains({expr}, 'E')"
            )
            return (
                f"CASE WHEN {typed} IS NULL THEN isfinite(TRY_CAST({v} AS DOUBLE)) "
                f"WHEN {maybe} THEN TRY_CAST({v} AS DECIMAL(38,20)) <> {typed} "
                f"OR (length({v}) > 21 AND regexp_full_match({v}, "
                f"'[+-]?[0-9]*[.][0-9]{{8}}0*[1-9][0-9]*')) ELSE false END"
            )
        if family != "fractional":
            return None
        if (column.native_type or "").upper().startswith("DECIMAL"):
            return f"({expr} IS NOT NULL AND ({typed} IS NULL OR {typed} <> {expr}))"
        # a binary float is approximate: digits past its 12th significant one are its noise
        return (
            f"(isfinite({expr}) AND ({typed} IS NULL "
            f"OR abs(CAST({typed} AS DOUBLE) - {expr}) > abs({expr}) * 1e-12))"
        )

    def json_record(self, pairs: Sequence[tuple[str, str]]) -> str:
        if not pairs:
            return "'{}'"
        args = ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs)
        return f"CAST(json_object({args}) AS VARCHAR)"


class PostgresDialect(Dialect):
    """PostgreSQL: staged values are text; casts go through the helper functions."""

    name = "postgres"

    def __init__(self, helper_schema: str = "raw"):
        self.helper_schema = helper_schema

    def sql_type(self, logical: str) -> str:
        return {
            "varchar": "TEXT",
            "integer": "INTEGER",
            "decimal": "NUMERIC(20,8)",
            "timestamp": "TIMESTAMP",
            "boolean": "BOOLEAN",
        }[logical]

    def as_text(self, expr: str, column: SourceColumn) -> str:
        return expr if column.is_text else f"CAST({expr} AS TEXT)"

    def concat_reasons(self, parts: Sequence[str]) -> str:
        if not parts:
            return "CAST(NULL AS TEXT)"
        return f"NULLIF(CONCAT_WS('; ', {', '.join(parts)}), '')"

    def typed(self, expr: str, column: SourceColumn, logical: str) -> str:
        if logical == "varchar":
            return self.as_text(expr, column)
        text = self.trimmed(self.as_text(expr, column))
        return f"{self.ident(self.helper_schema)}._loader_try_{logical}({text})"

    def digits_lost(self, expr: str, column: SourceColumn, typed: str) -> str | None:
        exact = (
            f"{self.ident(self.helper_schema)}._loader_try_numeric("
            f"{self.trimmed(self.as_text(expr, column))})"
        )
        return f"({exact} IS NOT NULL AND ({typed} IS NULL OR {typed} <> {exact}))"

    def json_record(self, pairs: Sequence[tuple[str, str]]) -> str:
        if not pairs:
            return "'{}'"
        args = ", ".join(f"{self.literal(k)}, {v}" for k, v in pairs)
        return f"CAST(json_build_object({args}) AS TEXT)"


DUCKDB = DuckDBDialect()
POSTGRES = PostgresDialect()


def postgres_helper_functions_sql(schema: str = "raw") -> str:
    """The try-cast helpers the PostgreSQL dialect calls (NULL for a bad value)."""
    s = '"' + schema.replace('"', '""') + '"'
    body = {
        "integer": (
            "INTEGER",
            "IF v !~ '^[+-]?[0-9]+$' THEN RETURN NULL; END IF; RETURN v::integer;",
        ),
        "decimal": (
            "NUMERIC(20,8)",
            "IF lower(v) IN ('nan', 'infinity', '-infinity', '+infinity', 'inf', '-inf') "
            "THEN RETURN NULL; END IF; RETURN v::numeric(20,8);",
        ),
        # the exact value, to tell a decimal that NUMERIC(20,8) would round (never silently)
        "numeric": (
            "NUMERIC",
            "IF lower(v) IN ('nan', 'infinity', '-infinity', '+infinity', 'inf', '-inf') "
            "THEN RETURN NULL; END IF; RETURN v::numeric;",
        ),
        "timestamp": (
            "TIMESTAMP",
            "IF v NOT LIKE '____-%' THEN RETURN NULL; END IF; "
            "RETURN (v::timestamptz AT TIME ZONE 'UTC');",
        ),
        "boolean": ("BOOLEAN", "RETURN v::boolean;"),
    }
    statements = [f"CREATE SCHEMA IF NOT EXISTS {s};"]
    for logical, (sql_type, code) in body.items():
        statements.append(
            f"CREATE OR REPLACE FUNCTION {s}._loader_try_{logical}(v TEXT) RETURNS {sql_type}\n"
            f"LANGUAGE plpgsql IMMUTABLE AS $$\nBEGIN\n    IF v IS NULL THEN RETURN NULL; END IF;\n"
            f"    {code}\nEXCEPTION WHEN others THEN\n    RETURN NULL;\nEND;\n$$;"
        )
    return "\n".join(statements)


# --------------------------------------------------------------------------------------
# Queries


def _timestamp_literal(value: dt.datetime) -> str:
    return f"CAST('{value.isoformat(sep=' ')}' AS TIMESTAMP)"


def _column_check(
    column: Column,
    source: str,
    typed: str,
    text: str,
    blank: str,
    dialect: Dialect,
    digits_lost: str | None = None,
    time_bounds: TimeBounds | None = None,
) -> str | None:
    """The reason expression for one contract column: NULL when its value passes every check.

    ``source`` is the value as in the file, ``text`` the same as text (for messages), ``typed``
    the value cast to the column's type and ``blank`` a condition true when there is no value;
    ``digits_lost`` is true when a decimal would be rounded, ``time_bounds`` the plausible range
    of a timestamp.
    """
    name = column.name
    lit = dialect.literal
    quoted_value = f"{lit(chr(39))} || {dialect.left(text, REASON_VALUE_CHARS)} || {lit(chr(39))}"
    missing = lit(f"{name}: required value missing")
    branches: list[str] = []
    if column.type == "varchar":
        if column.required:
            branches.append(f"WHEN {source} IS NULL OR TRIM({text}) = '' THEN {missing}")
        else:
            branches.append(f"WHEN {source} IS NULL THEN NULL")
    else:
        branches.append(f"WHEN {blank} THEN {missing if column.required else 'NULL'}")
        if digits_lost:
            lost = lit(f"{name}: more digits than {TYPE_LABELS[column.type]} holds: ")
            branches.append(f"WHEN {digits_lost} THEN {lost} || {quoted_value}")
        invalid = lit(f"{name}: not a valid {TYPE_LABELS[column.type]}: ")
        branches.append(
            f"WHEN {dialect.invalid(typed, column.type)} THEN {invalid} || {quoted_value}"
        )
        if column.type == "timestamp" and time_bounds is not None:
            implausible = lit(f"{name}: implausible time ")
            early = lit(f" (before {time_bounds.earliest:%Y-%m-%d})")
            late = lit(f" ({time_bounds.describe_future()})")
            branches.append(
                f"WHEN {typed} < {_timestamp_literal(time_bounds.earliest)} "
                f"THEN {implausible} || {quoted_value} || {early}"
            )
            branches.append(
                f"WHEN {typed} > {_timestamp_literal(time_bounds.latest)} "
                f"THEN {implausible} || {quoted_value} || {late}"
            )
    if column.positive:
        positive = lit(f"{name}: must be positive, got ")
        branches.append(f"WHEN {typed} <= 0 THEN {positive} || {text}")
    if column.enum:
        allowed = ", ".join(lit(v) for v in column.enum)
        unknown = lit(f"{name}: unknown value ")
        expected = lit(f" (expected one of: {', '.join(column.enum)})")
        branches.append(
            f"WHEN {typed} NOT IN ({allowed}) THEN {unknown} || {quoted_value} || {expected}"
        )
    if len(branches) == 1 and branches[0].endswith("THEN NULL"):
        return None  # an optional text column: anything goes
    return "CASE " + " ".join(branches) + " END"


@dataclass(frozen=True)
class ValidationQuery:
    """The typing and checking SQL for the rows of one file."""

    plan: ColumnPlan
    sql: str  # SELECT _row_number, <contract columns>, <extras>, _reason, _record
    raw_columns: tuple[str, ...]  # contract columns, in contract order
    extra_columns: tuple[str, ...]  # extra columns, named as they go to the raw table


def build_validation(
    plan: ColumnPlan,
    relation: str,
    row_number_expr: str | None = None,
    dialect: Dialect = DUCKDB,
    extra_names: dict[str, str] | None = None,
    time_bounds: TimeBounds | None = None,
) -> ValidationQuery:
    """One SELECT over ``relation`` (aliased ``src``) that types and checks every row.

    Columns: ``_row_number`` (``row_number_expr``, or NULL when the caller numbers rows by
    position), the contract columns cast to their types (NULL where the file lacks them), the
    extra columns as text (renamed by ``extra_names``), ``_reason`` (NULL for a good row) and
    ``_record`` (the row's original values as JSON text, only for bad rows). Timestamps are
    checked against ``time_bounds`` (default: :meth:`TimeBounds.from_env`, from now).

    Three nested SELECTs, each naming what the next one uses: the source values and their casts
    (each cast written once), then the checks over those names, then the record of the bad
    rows. Small statements plan fast (a file of a few rows costs little) and the engine never
    has to find the repeated casts itself.
    """
    q = dialect.ident
    extra_names = extra_names or {}
    time_bounds = time_bounds or TimeBounds.from_env()
    source_alias = {c.name: f"__s{i}" for i, c in enumerate(plan.source_columns)}
    by_name = {c.name: c for c in plan.source_columns}
    row_number = row_number_expr or "CAST(NULL AS BIGINT)"
    # 1. source values and their casts
    inner = [f"{row_number} AS __row_number"]
    inner += [f"src.{q(name)} AS {alias}" for name, alias in source_alias.items()]
    # 2. contract columns, extras and the reasons
    middle: list[str] = ["__row_number AS _row_number"]
    reasons: list[str] = [
        dialect.literal(f"missing required column {name}") for name in plan.missing_required
    ]
    raw_columns: list[str] = []
    for i, column in enumerate(plan.table.columns):
        raw_columns.append(column.name)
        source_column = plan.mapped.get(column.name)
        if source_column is None:
            middle.append(f"CAST(NULL AS {dialect.sql_type(column.type)}) AS {q(column.name)}")
            continue
        source = source_alias[source_column.name]
        typed, blank = f"__t{i}", f"__b{i}"
        original = f"src.{q(source_column.name)}"
        inner.append(f"{dialect.typed(original, source_column, column.type)} AS {typed}")
        if column.type != "varchar":  # beside the cast, which trims text the same way
            empty = dialect.trimmed(original) if source_column.is_text else original
            inner.append(f"{empty} IS NULL AS {blank}")
        middle.append(f"{typed} AS {q(column.name)}")
        text = dialect.as_text(source, source_column)
        lost = (
            dialect.digits_lost(source, source_column, typed) if column.type == "decimal" else None
        )
        check = _column_check(column, source, typed, text, blank, dialect, lost, time_bounds)
        if check:
            reasons.append(check)
    extra_columns: list[str] = []
    for extra in plan.extras:
        name = extra_names.get(extra.name, extra.name)
        extra_columns.append(name)
        middle.append(f"{dialect.as_text(source_alias[extra.name], extra)} AS {q(name)}")
    middle.append(f"{dialect.concat_reasons(reasons)} AS _reason")
    middle += list(source_alias.values())
    # 3. what leaves: everything but the source values, which make the record of a bad row
    outer = ["_row_number", *(q(c) for c in raw_columns), *(q(c) for c in extra_columns)]
    record = dialect.json_record(
        [(by_name[name].original_name, source_alias[name]) for name in by_name]
    )
    outer += ["_reason", f"CASE WHEN _reason IS NOT NULL THEN {record} END AS _record"]
    sep = ",\n    "
    sql = (
        f"SELECT\n    {sep.join(outer)}\nFROM (\nSELECT\n    {sep.join(middle)}\nFROM (\n"
        f"SELECT\n    {sep.join(inner)}\nFROM {relation} AS src\n) AS typed\n) AS checked"
    )
    return ValidationQuery(plan, sql, tuple(raw_columns), tuple(extra_columns))
