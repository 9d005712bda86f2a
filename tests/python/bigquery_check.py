"""Is every model's SQL valid BigQuery? An offline check (no BigQuery, no credentials, no network).

1. **Render with the real BigQuery adapter.** ``dbt compile --target bigquery`` opens a
   connection first, so it cannot run here as is. This module runs it in a subprocess where
   only dbt-bigquery's network layer is replaced: opening a connection hands out an offline
   client, ``get_relation`` answers from a fixed assumption (nothing exists yet, or every
   relation exists), and any query that would be sent to BigQuery fails the node with the SQL
   it tried to send. Everything else is dbt's own: Jinja, ``adapter.dispatch`` (so the
   ``bigquery__`` macros of this project and of dbt-bigquery, ``dbt.date_trunc`` and
   friends), configs, refs rendered with backticks. It compiles every model, data test and
   analysis twice: as a first build (nothing exists) and, for the incremental models, as an
   incremental run (their ``is_incremental()`` branches).
2. **Check the rendered SQL** (:func:`check_sql`): it must parse with sqlglot's BigQuery
   dialect, and it must not use what BigQuery lacks although sqlglot would accept it: ``::``
   casts, type names BigQuery does not have (``double``, ``varchar``, ``text``...),
   functions BigQuery does not have (every function name is looked up in BigQuery's
   function list below: ``list_value``, ``try_cast``, ``date_diff`` spelt ``datediff``,
   ``generate_series``, ``median``, ``regexp_matches``...), ``interval '1 day'``,
   ``filter (where ...)``, ``within group``, ``distinct on``, a bare ``union``, ``select *
   exclude``, ``ilike``, double-quoted identifiers (a string in BigQuery), table aliases with
   column lists, ``lateral``, ``at time zone``, reserved words as bare identifiers, and
   DuckDB/PostgreSQL argument order in ``date_trunc('day', x)``.
3. **Check the BigQuery configs** (:func:`check_configs`): ``partition_by`` parses with
   dbt-bigquery's own ``PartitionConfig``, its field is a column of the model, ``cluster_by``
   has at most four columns of the model.

What it cannot see: types (BigQuery's TIMESTAMP vs DATETIME, INT64 vs NUMERIC in a
comparison), permissions, quotas. Those need a real BigQuery (docs/bigquery.md).

Run it: ``python scripts/check_bigquery_sql.py`` (exit status 1 when something is found), or
the pytest ``tests/python/test_bigquery_sql.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

with warnings.catch_warnings():  # sqlglotrs, pulled in by sqlglot, announces its deprecation
    warnings.simplefilter("ignore", DeprecationWarning)
    import sqlglot  # noqa: F401

# --------------------------------------------------------------------------------------
# What BigQuery has (GoogleSQL, 2026). Lowercase.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


BIGQUERY_FUNCTIONS = _words(
    """
    any_value array_agg array_concat_agg avg bit_and bit_or bit_xor count countif grouping
    logical_and logical_or max max_by min min_by string_agg sum approx_count_distinct
    approx_quantiles approx_top_count approx_top_sum corr covar_pop covar_samp stddev
    stddev_pop stddev_samp var_pop var_samp variance cume_dist dense_rank first_value lag
    last_value lead nth_value ntile percent_rank percentile_cont percentile_disc rank
    row_number cast safe_cast parse_bignumeric parse_numeric ascii byte_length char_length
    character_length chr code_points_to_bytes code_points_to_string collate concat
    contains_substr edit_distance ends_with format from_base32 from_base64 from_hex initcap
    instr left length lower lpad ltrim normalize normalize_and_casefold octet_length
    regexp_contains regexp_extract regexp_extract_all regexp_instr regexp_replace
    regexp_substr repeat replace reverse right rpad rtrim safe_convert_bytes_to_string
    soundex split starts_with strpos substr substring to_base32 to_base64 to_code_points
    to_hex translate trim unicode upper abs acos acosh asin asinh atan atan2 atanh cbrt ceil
    ceiling cos cosh cot coth csc csch div exp floor greatest ieee_divide is_inf is_nan
    least ln log log10 mod pow power rand range_bucket round safe_add safe_divide
    safe_multiply safe_negate safe_subtract sec sech sign sin sinh sqrt tan tanh trunc
    cosine_distance euclidean_distance current_date current_datetime current_time
    current_timestamp date date_add date_bucket date_diff date_from_unix_date date_sub
    date_trunc datetime datetime_add datetime_bucket datetime_diff datetime_sub
    datetime_trunc extract format_date format_datetime format_time format_timestamp
    generate_date_array generate_timestamp_array last_day parse_date parse_datetime
    parse_time parse_timestamp time time_add time_diff time_sub time_trunc timestamp
    timestamp_add timestamp_bucket timestamp_diff timestamp_micros timestamp_millis
    timestamp_seconds timestamp_sub timestamp_trunc unix_date unix_micros unix_millis
    unix_seconds justify_days justify_hours justify_interval make_interval array
    array_concat array_first array_last array_length array_reverse array_slice
    array_to_string generate_array offset ordinal safe_offset safe_ordinal array_includes
    array_includes_all array_includes_any coalesce if ifnull nullif nullifzero zeroifnull
    iferror error struct unnest json_extract json_extract_scalar json_extract_array
    json_extract_string_array json_query json_query_array json_value json_value_array
    to_json to_json_string parse_json json_type json_object json_array json_set json_remove
    json_strip_nulls lax_bool lax_float64 lax_int64 lax_string bool float64 int64 string
    generate_uuid farm_fingerprint md5 sha1 sha256 sha512 session_user bit_count range
    range_contains range_end range_intersect range_overlaps range_start
    """
)

BIGQUERY_TYPES = _words(
    """
    int64 int smallint integer bigint tinyint byteint numeric decimal bignumeric bigdecimal
    float64 bool boolean string bytes date datetime time timestamp interval geography json
    array struct range
    """
)

# Reserved keywords of GoogleSQL that cannot be bare identifiers.
BIGQUERY_RESERVED = _words(
    """
    all and any array as asc assert_rows_modified at between by case cast collate contains
    create cross cube current default define desc distinct else end enum escape except
    exclude exists extract false fetch following for from full group grouping groups hash
    having if ignore in inner intersect interval into is join lateral left like limit lookup
    merge natural new no not null nulls of on or order outer over partition preceding proto
    qualify range recursive respect right rollup rows select set some struct tablesample
    then to treat true unbounded union unnest using when where window with within
    """
)

# Words followed by "(" that are syntax, not function calls.
STRUCTURAL = _words(
    """
    in over exists values as using on and or not from join where select with by into union
    all distinct when then else case is between like group order partition rows range any
    some array struct unnest interval except intersect recursive lateral table qualify
    having window ignore respect nulls filter within returning set limit offset cube rollup
    grouping sets
    """
)

# Better spellings to suggest.
SUGGESTIONS = {
    "try_cast": "safe_cast(x as type) or dbt.safe_cast()",
    "list_value": "[a, b] (BigQuery array literal) or a dispatch macro",
    "generate_series": "generate_date_array / generate_timestamp_array (see time_spine())",
    "median": "percentile_cont(expression, 0.5) macro",
    "quantile_cont": "percentile_cont() macro",
    "datediff": "dbt.datediff()",
    "dateadd": "dbt.dateadd()",
    "date_part": "extract(part from x)",
    "split_part": "dbt.split_part()",
    "regexp_matches": "regexp_contains()",
    "strftime": "format_timestamp() / format_date()",
    "to_char": "format_timestamp() / format_date()",
    "now": "current_timestamp()",
    "epoch": "unix_seconds()",
    "listagg": "dbt.listagg() / string_agg()",
    "len": "length()",
    "hash": "farm_fingerprint()",
    "hmac": "the bigquery__ variant of the macro",
    "range": "generate_array()",
    "struct_pack": "struct()",
    "isnull": "x is null",
    "nvl": "coalesce()",
}


@dataclass(frozen=True)
class Finding:
    node: str  # unique_id, or a label
    path: str  # the file it comes from
    rule: str
    message: str
    line: int | None = None
    excerpt: str = ""
    mode: str = ""  # "first build" / "incremental"

    def render(self) -> str:
        where = f"{self.path}" + (f" (compiled line {self.line})" if self.line else "")
        mode = f" [{self.mode}]" if self.mode else ""
        excerpt = f"\n      {self.excerpt}" if self.excerpt else ""
        return f"  {where}{mode}: {self.rule}: {self.message}{excerpt}"


@dataclass
class CheckReport:
    nodes_checked: int = 0
    nodes_by_mode: dict[str, int] = field(default_factory=dict)
    nodes_type_checked: int = 0
    not_type_checked: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.findings

    def render(self) -> str:
        modes = ", ".join(f"{n} {m}" for m, n in self.nodes_by_mode.items())
        lines = [
            f"BigQuery check: {self.nodes_checked} compiled nodes ({modes}), "
            f"{self.nodes_type_checked} type-checked ({len(self.not_type_checked)} not typable), "
            f"{len(self.findings)} finding(s) in {self.seconds:.0f}s"
        ]
        for f in sorted(set(self.findings), key=lambda f: (f.path, f.line or 0, f.rule)):
            lines.append(f.render())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "nodes_checked": self.nodes_checked,
            "nodes_by_mode": self.nodes_by_mode,
            "nodes_type_checked": self.nodes_type_checked,
            "not_type_checked": self.not_type_checked,
            "seconds": round(self.seconds, 1),
            "findings": [asdict(f) for f in self.findings],
        }


# --------------------------------------------------------------------------------------
# 2. The SQL rules


def _line_of(sql: str, position: int) -> int:
    return sql.count("\n", 0, position) + 1


def _excerpt(sql: str, start: int, end: int) -> str:
    line_start = sql.rfind("\n", 0, start) + 1
    line_end = sql.find("\n", end)
    text = sql[line_start : line_end if line_end != -1 else len(sql)].strip()
    return text[:160]


def check_sql(sql: str, node: str = "", path: str = "", mode: str = "") -> list[Finding]:
    """Findings for one compiled statement (empty list: nothing BigQuery would refuse)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError
    from sqlglot.tokens import TokenType

    findings: list[Finding] = []

    def add(rule: str, message: str, start: int | None = None, end: int | None = None):
        line = _line_of(sql, start) if start is not None else None
        excerpt = (
            _excerpt(sql, start, end if end is not None else start) if start is not None else ""
        )
        findings.append(Finding(node, path, rule, message, line, excerpt, mode))

    try:
        tokens = sqlglot.tokenize(sql, read="bigquery")
    except TokenError as e:
        add("tokenize", f"not BigQuery SQL: {e}")
        return findings

    depth_of_cast: list[int] = []  # paren depths at which a CAST( / SAFE_CAST( is open
    depth = 0
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        after = tokens[i + 2] if i + 2 < len(tokens) else None
        text = tok.text.lower()
        raw = sql[tok.start : tok.end + 1]
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            if depth_of_cast and depth_of_cast[-1] == depth:
                depth_of_cast.pop()
            depth -= 1

        if tok.token_type == TokenType.DCOLON:
            add("cast-syntax", "`::` casts are not BigQuery: use cast(x as type)", tok.start)
        elif tok.token_type == TokenType.STRING and raw.startswith('"'):
            add(
                "double-quoted-identifier",
                f'"{tok.text}" is a string in BigQuery, not an identifier: quote identifiers '
                "with adapter.quote() (backticks on BigQuery)",
                tok.start,
            )
        elif tok.token_type == TokenType.INTERVAL and nxt and nxt.token_type == TokenType.STRING:
            add(
                "interval-literal",
                f"interval '{nxt.text}' is PostgreSQL/DuckDB: BigQuery writes interval <n> <part> "
                "(use dbt.dateadd())",
                tok.start,
                nxt.end,
            )
        elif tok.token_type == TokenType.FILTER and nxt and nxt.token_type == TokenType.L_PAREN:
            add(
                "aggregate-filter",
                "aggregate FILTER (WHERE ...) is not BigQuery: use countif() or sum(case ...)",
                tok.start,
            )
        elif text == "within" and nxt and nxt.text.lower() == "group":
            add(
                "within-group",
                "ordered-set aggregates (WITHIN GROUP) are not BigQuery: use the "
                "percentile_cont() macro",
                tok.start,
            )
        elif (
            text == "distinct"
            and prev
            and prev.token_type == TokenType.SELECT
            and nxt
            and (nxt.text.lower() == "on")
        ):
            add(
                "distinct-on",
                "SELECT DISTINCT ON is not BigQuery: use qualify row_number()",
                tok.start,
            )
        elif tok.token_type in (TokenType.UNION, TokenType.INTERSECT) or (
            tok.token_type == TokenType.EXCEPT and not (prev and prev.token_type == TokenType.STAR)
        ):
            if not (nxt and nxt.token_type in (TokenType.ALL, TokenType.DISTINCT)):
                add(
                    "set-operation",
                    f"a bare {tok.text.upper()} is not BigQuery: write {tok.text.upper()} ALL or "
                    f"{tok.text.upper()} DISTINCT",
                    tok.start,
                )
        elif text == "exclude" and prev and prev.token_type == TokenType.STAR:
            add(
                "select-exclude",
                "SELECT * EXCLUDE is DuckDB: BigQuery writes SELECT * EXCEPT (...)",
                tok.start,
            )
        elif tok.token_type == TokenType.ILIKE:
            add("ilike", "ILIKE is not BigQuery: lower(x) like lower(pattern)", tok.start)
        elif tok.token_type == TokenType.LATERAL:
            add(
                "lateral",
                "LATERAL is not BigQuery: correlated joins go through UNNEST or a join",
                tok.start,
            )
        elif (
            text == "at"
            and nxt
            and nxt.text.lower() == "time"
            and after
            and after.text.lower() == "zone"
        ):
            add(
                "at-time-zone",
                "AT TIME ZONE is not BigQuery: datetime(ts, zone) / timestamp(dt, zone)",
                tok.start,
            )
        elif tok.token_type == TokenType.TILDE or text in ("~*", "!~", "!~*"):
            add("regex-operator", "regex operators are not BigQuery: regexp_contains()", tok.start)

        # function calls: a name followed by "("
        if (
            nxt is not None
            and nxt.token_type == TokenType.L_PAREN
            and tok.token_type not in (TokenType.STRING, TokenType.NUMBER, TokenType.IDENTIFIER)
            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok.text)
        ):
            if text in ("cast", "safe_cast", "try_cast"):
                depth_of_cast.append(depth + 1)
            if prev is not None and prev.token_type == TokenType.ALIAS:
                if not (depth_of_cast and depth_of_cast[-1] == depth):
                    add(
                        "alias-column-list",
                        f"a table alias with a column list ({tok.text}(...)) is not BigQuery",
                        tok.start,
                    )
            elif prev is not None and prev.token_type == TokenType.DOT:
                pass  # a namespaced function: net.ip_trunc, safe.parse_date, hll_count.merge
            elif (
                text not in STRUCTURAL
                and text not in BIGQUERY_FUNCTIONS
                and text not in BIGQUERY_TYPES
            ):
                hint = SUGGESTIONS.get(text)
                add(
                    "function",
                    f"{tok.text}() is not a BigQuery function" + (f": use {hint}" if hint else ""),
                    tok.start,
                )
            elif (
                text
                in (
                    "date_trunc",
                    "datetime_trunc",
                    "timestamp_trunc",
                    "date_diff",
                    "datetime_diff",
                    "timestamp_diff",
                )
                and after is not None
                and (after.token_type == TokenType.STRING)
            ):
                add(
                    "date-part-order",
                    f"{tok.text}('{after.text}', ...) is DuckDB/PostgreSQL argument order: "
                    "BigQuery takes the part last and unquoted (use dbt.date_trunc/dbt.datediff)",
                    tok.start,
                )

        # the type of a cast: CAST(x AS <type>)
        if (
            tok.token_type == TokenType.ALIAS
            and depth_of_cast
            and depth_of_cast[-1] == depth
            and nxt is not None
        ):
            type_name = nxt.text.lower()
            if type_name not in BIGQUERY_TYPES:
                add(
                    "cast-type",
                    f"type {nxt.text} does not exist in BigQuery (INT64, NUMERIC, FLOAT64, "
                    "STRING, BOOL, DATE, DATETIME, TIMESTAMP...): use dbt.type_*() or "
                    "type_double()",
                    nxt.start,
                )

    try:
        statements = sqlglot.parse(sql, read="bigquery")
    except ParseError as e:
        first = e.errors[0] if e.errors else {}
        add("parse", f"sqlglot's BigQuery parser refuses it: {first.get('description', e)}")
        return findings
    for statement in statements:
        if statement is None:
            continue
        for identifier in statement.find_all(exp.Identifier):
            if not identifier.quoted and identifier.name.lower() in BIGQUERY_RESERVED:
                add(
                    "reserved-word",
                    f"{identifier.name} is a reserved word in BigQuery: quote it with "
                    "adapter.quote() or rename it",
                )
    return findings


# --------------------------------------------------------------------------------------
# 2b. Types: what BigQuery would refuse although every function and keyword exists

# The raw tables on BigQuery (docs/bigquery.md): the landing contract's logical types.
CONTRACT_TO_BIGQUERY = {
    "varchar": "STRING",
    "integer": "INT64",
    "decimal": "NUMERIC",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOL",
}
PROVENANCE_BIGQUERY = {
    "_load_id": "STRING",
    "_source_file": "STRING",
    "_row_number": "INT64",
    "_loaded_at": "TIMESTAMP",
}
SNAPSHOT_COLUMNS = {
    "dbt_scd_id": "STRING",
    "dbt_updated_at": "TIMESTAMP",
    "dbt_valid_from": "TIMESTAMP",
    "dbt_valid_to": "TIMESTAMP",
}
_FAMILIES = {
    "INT64": "number",
    "INT": "number",
    "BIGINT": "number",
    "SMALLINT": "number",
    "TINYINT": "number",
    "BYTEINT": "number",
    "INTEGER": "number",
    "NUMERIC": "number",
    "DECIMAL": "number",
    "BIGNUMERIC": "number",
    "BIGDECIMAL": "number",
    "FLOAT64": "number",
    "STRING": "string",
    "BOOL": "bool",
    "BOOLEAN": "bool",
    "BYTES": "bytes",
    "TIMESTAMP": "timestamp",
    "DATETIME": "datetime",
    "DATE": "date",
    "TIME": "time",
    "INTERVAL": "interval",
    "JSON": "json",
    "GEOGRAPHY": "geography",
}


@dataclass
class TypeResult:
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0
    not_typed: list[str] = field(default_factory=list)  # sqlglot could not type these
    tables: dict = field(default_factory=dict)  # the typed relations, for a later pass


def _family(data_type) -> str | None:
    if data_type is None:
        return None
    text = data_type.sql("bigquery").upper()
    base = re.split(r"[(<]", text, maxsplit=1)[0].strip()
    if base in ("ARRAY", "STRUCT"):
        return text  # compared whole
    return _FAMILIES.get(base)


def _compatible(a: str, b: str) -> bool:
    return a == b or {a, b} == {"date", "datetime"}


def _seed_types(relation: dict) -> dict[str, str]:
    import csv

    declared = {k.lower(): v for k, v in relation.get("column_types", {}).items()}
    columns: dict[str, str] = {}
    path = relation.get("csv")
    if not path or not Path(path).exists():
        return {k: _bigquery_type_name(v) for k, v in declared.items()}
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, values = (rows[0], rows[1:]) if rows else ([], [])
    for i, name in enumerate(header):
        key = name.strip().lower()
        if key in declared:
            columns[key] = _bigquery_type_name(declared[key])
            continue
        sample = [r[i] for r in values if i < len(r) and r[i] != ""]
        if sample and all(re.fullmatch(r"-?\d+", v) for v in sample):
            columns[key] = "INT64"
        elif sample and all(re.fullmatch(r"-?\d*\.?\d+([eE][-+]?\d+)?", v) for v in sample):
            columns[key] = "FLOAT64"
        elif sample and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) for v in sample):
            columns[key] = "DATE"
        elif sample and all(v.lower() in ("true", "false") for v in sample):
            columns[key] = "BOOL"
        else:
            columns[key] = "STRING"
    return columns


def _bigquery_type_name(data_type: str) -> str:
    """The seed type translation of macros/bigquery_seeds.sql, for the type check."""
    base = data_type.lower().strip()
    if base.startswith(("decimal", "numeric")):
        return "NUMERIC"
    return {
        "varchar": "STRING",
        "text": "STRING",
        "string": "STRING",
        "double": "FLOAT64",
        "double precision": "FLOAT64",
        "float": "FLOAT64",
        "real": "FLOAT64",
        "integer": "INT64",
        "int": "INT64",
        "bigint": "INT64",
        "smallint": "INT64",
        "boolean": "BOOL",
        "date": "DATE",
        "timestamp": "TIMESTAMP",
    }.get(base, data_type.upper())


def _source_types(table: str) -> dict[str, str]:
    sys.path.insert(0, str(REPO))
    from ingestion.contract import TABLES

    spec = TABLES.get(table)
    if spec is None:
        return {}
    columns = {c.name: CONTRACT_TO_BIGQUERY[c.type] for c in spec.columns}
    return columns | PROVENANCE_BIGQUERY


def _order(nodes: dict[str, dict], relations: dict[str, dict]) -> list[str]:
    """Compiled nodes, parents first."""
    seen: set[str] = set()
    ordered: list[str] = []

    def visit(unique_id: str, trail: tuple = ()) -> None:
        if unique_id in seen or unique_id in trail:
            return
        for parent in relations.get(unique_id, {}).get("depends_on", []):
            if parent in nodes:
                visit(parent, (*trail, unique_id))
        seen.add(unique_id)
        ordered.append(unique_id)

    for unique_id in sorted(nodes):
        visit(unique_id)
    return ordered


def check_types(
    nodes: dict[str, dict], relations: dict[str, dict], mode: str = "", tables: dict | None = None
) -> TypeResult:
    """Type every compiled node with sqlglot's BigQuery type rules, parents first (sources
    typed from the landing contract, seeds from their column_types), and report what BigQuery
    has no implicit conversion for: a comparison, BETWEEN, COALESCE/IFNULL/GREATEST/LEAST, a
    CASE or a UNION ALL mixing TIMESTAMP with DATETIME or DATE, a string with a number, a
    boolean with anything else. A string literal may meet a date or a number (BigQuery
    coerces literals); unknown types are never reported."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.annotate_types import annotate_types
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    result = TypeResult()
    tables = json.loads(json.dumps(tables)) if tables else {}
    result.tables = tables

    def put(relation: dict, columns: dict[str, str]) -> None:
        if not relation.get("schema") or not relation.get("name") or not columns:
            return
        database = (relation.get("database") or "").lower()
        tables.setdefault(database, {}).setdefault(relation["schema"].lower(), {})[
            relation["name"].lower()
        ] = {k.lower(): v for k, v in columns.items()}

    for relation in relations.values():
        if relation["resource_type"] == "source":
            put(relation, _source_types(relation.get("source_table") or relation["name"]))
        elif relation["resource_type"] == "seed":
            put(relation, _seed_types(relation))
    # the BigQuery e-mail key table (macros/pii.sql, var pii_key_table)
    tables.setdefault("", {}).setdefault("secrets", {})["pii_hash_key"] = {"key": "STRING"}

    def conflict(node_sql: str, types: list, what: str) -> str | None:
        families = [f for f in types if f is not None]
        for i, a in enumerate(families):
            for b in families[i + 1 :]:
                if not _compatible(a, b):
                    return (
                        f"{what} mixes {a.upper()} with {b.upper()}: BigQuery has no implicit "
                        "conversion (cast one side)"
                    )
        return None

    def typed(expression) -> str | None:
        if isinstance(expression, exp.Null) or (
            isinstance(expression, exp.Literal) and expression.is_string
        ):
            return None  # NULL and string literals go with anything
        if isinstance(expression, exp.Paren):
            return typed(expression.this)
        return _family(expression.type)

    for unique_id in _order(nodes, relations):
        node = nodes[unique_id]
        path = node["original_file_path"]
        try:
            schema = MappingSchema(tables, dialect="bigquery")
            tree = sqlglot.parse_one(node["compiled_code"], read="bigquery")
            tree = qualify(
                tree,
                schema=schema,
                dialect="bigquery",
                validate_qualify_columns=False,
                quote_identifiers=False,
            )
            tree = annotate_types(tree, schema=schema, dialect="bigquery")
        except Exception:  # noqa: BLE001 - sqlglot cannot type it: nothing to say
            result.not_typed.append(unique_id)
            continue
        result.checked += 1
        messages: list[tuple[str, str]] = []
        comparisons = (
            exp.EQ,
            exp.NEQ,
            exp.GT,
            exp.GTE,
            exp.LT,
            exp.LTE,
            exp.NullSafeEQ,
            exp.NullSafeNEQ,
        )
        for found in tree.find_all(*comparisons):
            message = conflict("", [typed(found.left), typed(found.right)], "a comparison")
            if message:
                messages.append((message, found.sql("bigquery")))
        for found in tree.find_all(exp.Between):
            message = conflict(
                "",
                [typed(found.this), typed(found.args.get("low")), typed(found.args.get("high"))],
                "BETWEEN",
            )
            if message:
                messages.append((message, found.sql("bigquery")))
        for found in tree.find_all(exp.Coalesce, exp.Greatest, exp.Least):
            args = [found.this, *found.expressions]
            message = conflict("", [typed(a) for a in args], f"{found.key.upper()}")
            if message:
                messages.append((message, found.sql("bigquery")))
        for found in tree.find_all(exp.Case):
            branches = [i.args.get("true") for i in found.args.get("ifs", [])]
            if found.args.get("default") is not None:
                branches.append(found.args["default"])
            message = conflict("", [typed(b) for b in branches if b is not None], "CASE")
            if message:
                messages.append((message, found.sql("bigquery")))
        for found in tree.find_all(exp.Union):
            left, right = found.left, found.right
            if not (isinstance(left, exp.Query) and isinstance(right, exp.Query)):
                continue
            for position, (a, b) in enumerate(zip(left.selects, right.selects, strict=False), 1):
                message = conflict(
                    "", [typed(a), typed(b)], f"UNION column {position} ({a.alias_or_name})"
                )
                if message:
                    messages.append((message, ""))
        for message, excerpt in dict.fromkeys(messages):
            result.findings.append(
                Finding(unique_id, path, "types", message, None, excerpt[:200], mode)
            )
        # this node's output columns, for its children
        relation = relations.get(unique_id, {})
        if (
            relation.get("resource_type") in ("model", "snapshot")
            and relation.get("materialized") != "ephemeral"
        ):
            columns = {}
            try:
                for select in tree.selects:
                    if select.type is not None:
                        columns[select.alias_or_name] = select.type.sql("bigquery") or "UNKNOWN"
            except Exception:  # noqa: BLE001
                columns = {}
            if relation.get("resource_type") == "snapshot":
                columns |= SNAPSHOT_COLUMNS
            put(relation, columns)
    return result


# --------------------------------------------------------------------------------------
# 3. The configs


def check_configs(nodes: dict[str, dict]) -> list[Finding]:
    """partition_by / cluster_by of the models as dbt-bigquery would read them."""
    import sqlglot
    from dbt.adapters.bigquery.impl import PartitionConfig

    findings = []
    for unique_id, node in nodes.items():
        if node["resource_type"] != "model":
            continue
        config = node.get("config", {})
        partition_by = config.get("partition_by")
        cluster_by = config.get("cluster_by")
        if not partition_by and not cluster_by:
            continue
        columns: set[str] | None = None
        try:
            select = sqlglot.parse_one(node["compiled_code"], read="bigquery")
            names = [e.alias_or_name.lower() for e in select.selects]
            if "*" not in names:
                columns = set(names)
        except Exception:  # noqa: BLE001 - the SQL rules report unparseable SQL already
            columns = None
        path = node["original_file_path"]
        if partition_by:
            try:
                parsed = PartitionConfig.parse(partition_by)
            except Exception as e:  # noqa: BLE001 - dbt-bigquery's own validation
                findings.append(
                    Finding(unique_id, path, "partition-by", f"invalid partition_by: {e}")
                )
                parsed = None
            if parsed is not None:
                if parsed.data_type.lower() not in ("date", "timestamp", "datetime", "int64"):
                    findings.append(
                        Finding(
                            unique_id,
                            path,
                            "partition-by",
                            f"partition data_type {parsed.data_type}",
                        )
                    )
                if columns is not None and parsed.field.lower() not in columns:
                    findings.append(
                        Finding(
                            unique_id,
                            path,
                            "partition-by",
                            f"partition field {parsed.field} is not a column of the model",
                        )
                    )
        if cluster_by:
            clusters = [cluster_by] if isinstance(cluster_by, str) else list(cluster_by)
            if len(clusters) > 4:
                findings.append(
                    Finding(unique_id, path, "cluster-by", "BigQuery clusters by at most 4 columns")
                )
            for column in clusters:
                if columns is not None and column.lower() not in columns:
                    findings.append(
                        Finding(
                            unique_id,
                            path,
                            "cluster-by",
                            f"cluster column {column} is not a column of the model",
                        )
                    )
    return findings


# --------------------------------------------------------------------------------------
# 1. Rendering (runs in a subprocess: `python -m tests.python.bigquery_check render ...`)


class OfflineError(RuntimeError):
    """dbt tried to reach BigQuery."""


def _install_offline_adapter(assume_existing: bool) -> None:
    """Replace dbt-bigquery's network layer (see the module doc). Test tooling only."""
    from dbt.adapters.bigquery.connections import BigQueryConnectionManager
    from dbt.adapters.bigquery.impl import BigQueryAdapter
    from dbt.adapters.bigquery.relation import BigQueryRelation
    from dbt.adapters.contracts.connection import ConnectionState

    class OfflineClient:
        project = "offline"

        def close(self):
            pass

        def __getattr__(self, name):
            raise OfflineError(f"BigQuery client.{name}() called: no network in this check")

    def open_(cls, connection):
        connection.handle = OfflineClient()
        connection.state = ConnectionState.OPEN
        return connection

    def raw_execute(self, sql, *args, **kwargs):
        raise OfflineError("this node sends a query to BigQuery while compiling:\n" + sql[:400])

    def get_relation(self, database, schema, identifier):
        if not assume_existing:
            return None
        return BigQueryRelation.create(
            database=database, schema=schema, identifier=identifier, type="table"
        )

    def nothing(self, *args, **kwargs):
        return []

    def refuse(self, *args, **kwargs):
        raise OfflineError("dbt asked BigQuery for the columns of a relation")

    BigQueryConnectionManager.open = classmethod(open_)
    BigQueryConnectionManager.raw_execute = raw_execute
    BigQueryAdapter.get_relation = get_relation
    BigQueryAdapter.list_relations_without_caching = nothing
    BigQueryAdapter.list_schemas = nothing
    BigQueryAdapter.get_columns_in_relation = refuse


def _render_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bigquery_check render")
    parser.add_argument("--project-dir", required=True)
    parser.add_argument("--profiles-dir", required=True)
    parser.add_argument("--target-path", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--assume-existing", action="store_true")
    parser.add_argument("--select", nargs="*", default=None)
    args = parser.parse_args(argv)
    _install_offline_adapter(args.assume_existing)
    from dbt.cli.main import dbtRunner

    command = [
        "compile",
        "--target",
        "bigquery",
        "--project-dir",
        args.project_dir,
        "--profiles-dir",
        args.profiles_dir,
        "--target-path",
        args.target_path,
        "--no-populate-cache",
        "--no-use-colors",
        "--quiet",
        "--threads",
        "2",
        "--exclude",
        "test_type:unit",
    ]
    if args.select:
        command += ["--select", *args.select]
    result = dbtRunner().invoke(command)
    nodes: dict[str, dict] = {}
    errors: dict[str, dict] = {}
    run = result.result
    for item in getattr(run, "results", None) or []:
        node = item.node
        if str(node.resource_type) == "seed":
            continue  # seeds have no SQL to compile (bigquery_seeds.sql maps their types)
        record = {
            "resource_type": str(node.resource_type),
            "original_file_path": node.original_file_path,
            "config": {
                "materialized": node.config.get("materialized"),
                "partition_by": node.config.get("partition_by"),
                "cluster_by": node.config.get("cluster_by"),
            },
        }
        if str(item.status) in ("error", "fail", "runtime error") or not getattr(
            node, "compiled_code", None
        ):
            errors[node.unique_id] = record | {"message": str(item.message or "")}
        else:
            nodes[node.unique_id] = record | {"compiled_code": node.compiled_code}
    failure = None
    if not nodes and not errors and not result.success:
        failure = str(result.exception or "dbt compile failed")
    relations = _relations_from_manifest(Path(args.target_path) / "manifest.json")
    for unique_id, record in nodes.items():
        record.update(relations.get(unique_id, {}))
    Path(args.out).write_text(
        json.dumps({"nodes": nodes, "errors": errors, "failure": failure, "relations": relations})
    )
    return 0


def _relations_from_manifest(path: Path) -> dict[str, dict]:
    """Where each source, seed, model and snapshot lives, what it depends on, its seed types."""
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text())
    relations = {}
    for unique_id, node in {**manifest.get("nodes", {}), **manifest.get("sources", {})}.items():
        kind = node.get("resource_type")
        relations[unique_id] = {
            "resource_type": kind,
            "database": node.get("database"),
            "schema": node.get("schema"),
            "name": node.get("identifier") or node.get("alias") or node.get("name"),
            "depends_on": (node.get("depends_on") or {}).get("nodes", []),
            "materialized": (node.get("config") or {}).get("materialized"),
            "column_types": (node.get("config") or {}).get("column_types") or {},
            "csv": str(Path(node.get("root_path", "")) / node["original_file_path"])
            if kind == "seed" and node.get("original_file_path")
            else None,
            "source_table": node.get("name") if kind == "source" else None,
        }
    return relations


def _profiles_dir(project_dir: Path, work: Path) -> Path:
    """profiles.yml for the check: the project's own, so its bigquery target is what is
    exercised (no credential is read: connections are offline)."""
    profiles = work / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    example = project_dir / "profiles.yml"
    if not example.exists():
        example = REPO / "profiles.yml"
    shutil.copy(example, profiles / "profiles.yml")
    return profiles


def render(
    project_dir: Path, work: Path, assume_existing: bool, select: list[str] | None = None
) -> dict:
    out = work / f"render_{'incremental' if assume_existing else 'first'}.json"
    if os.environ.get("BIGQUERY_CHECK_REUSE_RENDER") == "1" and out.exists():
        return json.loads(out.read_text())  # development: re-check without re-rendering
    env = dict(os.environ)
    env.update(
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_LOG_PATH=str(work / "logs"),
        DBT_TARGET="bigquery",
        # nothing here is used to connect; the example's defaults need no value
        DBT_ENV_SECRET_BQ_KEYFILE=env.get("DBT_ENV_SECRET_BQ_KEYFILE", ""),
    )
    command = [
        sys.executable,
        "-m",
        "tests.python.bigquery_check",
        "render",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(_profiles_dir(project_dir, work)),
        "--target-path",
        str(work / ("target_incremental" if assume_existing else "target_first")),
        "--out",
        str(out),
    ]
    if assume_existing:
        command.append("--assume-existing")
    if select:
        command += ["--select", *select]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(
            f"rendering for BigQuery failed (exit {done.returncode}):\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    data = json.loads(out.read_text())
    if data["failure"]:
        raise RuntimeError(f"dbt compile --target bigquery failed: {data['failure']}")
    return data


def check_project(
    project_dir: str | Path = REPO,
    work_dir: str | Path | None = None,
    select: list[str] | None = None,
) -> CheckReport:
    """Render every node (or the ``select``ed ones) for BigQuery, as a first build and, for
    the incremental models, as an incremental run, and check them."""
    import time

    started = time.perf_counter()
    project_dir = Path(project_dir).resolve()
    report = CheckReport()
    with tempfile.TemporaryDirectory(prefix="bigquery_check_") as tmp:
        work = Path(work_dir) if work_dir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        relations: dict[str, dict] = {}
        typed_tables: dict = {}
        incremental = ["config.materialized:incremental"]
        if select:
            incremental = [f"{chosen},config.materialized:incremental" for chosen in select]
        passes = [("first build", False, select), ("incremental", True, incremental)]
        for mode, assume_existing, select in passes:
            data = render(project_dir, work, assume_existing, select)
            report.nodes_by_mode[mode] = len(data["nodes"])
            report.nodes_checked += len(data["nodes"])
            for unique_id, error in data["errors"].items():
                report.findings.append(
                    Finding(
                        unique_id,
                        error["original_file_path"],
                        "compile",
                        f"does not compile for BigQuery: {error['message'][:600]}",
                        mode=mode,
                    )
                )
            for unique_id, node in data["nodes"].items():
                report.findings += check_sql(
                    node["compiled_code"], unique_id, node["original_file_path"], mode
                )
            if not assume_existing:
                report.findings += check_configs(data["nodes"])
                relations = data["relations"]
            types = check_types(data["nodes"], relations, mode, typed_tables)
            typed_tables = types.tables  # the incremental pass reads the first build's types
            report.findings += types.findings
            report.nodes_type_checked += types.checked
            report.not_type_checked += [f"{n} ({mode})" for n in types.not_typed]
    report.findings = sorted(
        set(report.findings), key=lambda f: (f.path, f.line or 0, f.rule, f.mode)
    )
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "render":
        return _render_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="check_bigquery_sql",
        description="Compile every model for BigQuery offline; report SQL BigQuery would refuse.",
    )
    parser.add_argument("--project-dir", default=str(REPO))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work-dir", default=None, help="keep the rendered SQL here")
    parser.add_argument("--select", nargs="*", default=None, help="dbt selection (default: all)")
    args = parser.parse_args(argv)
    report = check_project(args.project_dir, args.work_dir, args.select)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.render())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
