"""The landing contract (docs/landing_contract.md): every source table, its columns, types and
rules.

One definition serves the simulator (what it writes), the loaders (what they validate and
how they type the raw tables), the dbt sources (scripts/generate_source_yaml.py writes their
YAML) and the tests (what they hold all to). Column names are
exactly those of the design document's DDL.
"""

from __future__ import annotations

from dataclasses import dataclass

# Logical types and the DuckDB type the raw tables use for each.
DUCKDB_TYPES = {
    "varchar": "VARCHAR",
    "integer": "INTEGER",
    "decimal": "DECIMAL(20,8)",
    "timestamp": "TIMESTAMP",  # UTC, without zone; offsets in files are converted to UTC
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "varchar"
    required: bool = False  # NULL is bad input
    enum: tuple[str, ...] | None = None  # accepted values (NULL allowed unless required)
    positive: bool = False  # must be > 0 where present
    description: str = ""  # what the column means; "" = COLUMN_DESCRIPTIONS[name]

    @property
    def doc(self) -> str:
        """The column's description: its own, else the one the column name has everywhere."""
        return self.description or COLUMN_DESCRIPTIONS[self.name]


@dataclass(frozen=True)
class VersionRule:
    """Which of two rows of one key is the later version
    (docs/landing_contract.md#keys-and-versions), decided by the row.

    In order: the greatest of ``timestamps`` (NULLs ignored; a row without any ranks lowest);
    then the rank of ``status_column`` in ``precedence`` (groups of equal rank, lowest first:
    a terminal status outranks pending or open; NULL ranks lowest); then load order (file
    loaded last, then the highest row number in the file). With ``first_seen`` (tables whose
    rows carry no version: user_tiers, trading_pairs) a row's load order is that of the first
    load of the same content, so an old export delivered again is no newer than it was.
    Rows of one key equal on version and status rank but different in value are a conflict:
    ingestion/loaders/versions.py.
    """

    timestamps: tuple[str, ...] = ()
    status_column: str | None = None
    precedence: tuple[tuple[str, ...], ...] = ()
    first_seen: bool = False

    def status_rank(self, status: str | None) -> int:
        """1 for the first group of ``precedence``, 2 for the next...; 0 for NULL or unlisted."""
        for rank, group in enumerate(self.precedence, start=1):
            if status in group:
                return rank
        return 0


LOAD_ORDER = VersionRule()  # immutable tables: a key has one row; replays and conflicts aside


def _rule(*timestamps, status=None, precedence=(), first_seen=False) -> VersionRule:
    groups = tuple((g,) if isinstance(g, str) else tuple(g) for g in precedence)
    return VersionRule(tuple(timestamps), status, groups, first_seen)


@dataclass(frozen=True)
class Freshness:
    """How stale a source table may get before dbt's `source freshness` warns or errors."""

    warn_after_hours: int = 26
    error_after_hours: int = 72
    # Judged on this column's latest value: by default when rows were loaded.
    loaded_at_column: str = "_loaded_at"
    # Why a table departs from its system's default (appended to its description).
    reason: str = ""


@dataclass(frozen=True)
class SourceTable:
    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    event_time: str  # the column that says when the row happened
    mutable: bool = False  # rows arrive again as the entity changes; the latest version wins
    version_column: str | None = None  # orders versions where present, else load order
    version: VersionRule = LOAD_ORDER  # docs/landing_contract.md#keys-and-versions
    system: str = "exchange"  # the source system (SYSTEMS): the dbt source the table is in
    freshness: Freshness | None = None  # None: the system's default
    # A dbt doc block that describes the table at length (models/**/_*__docs.md), if any.
    doc_block: str | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, type="varchar", required=False, enum=None, positive=False, doc="") -> Column:
    return Column(name, type, required, tuple(enum) if enum else None, positive, doc)


SIDES = ("buy", "sell")

TABLES: dict[str, SourceTable] = {
    t.name: t
    for t in [
        SourceTable(
            "users",
            "Registered users (registration system). Mutable: tier and status change.",
            (
                _c("user_id", required=True),
                _c("email", required=True),
                _c("created_at", "timestamp", required=True),
                _c("last_login", "timestamp"),
                _c("status", enum=("active", "suspended", "closed")),
                _c("user_tier_id", "integer"),
                _c("country_code"),
                _c("referral_code"),
                _c("referred_by"),
                _c("updated_at", "timestamp"),  # not in the DDL: version of the row
            ),
            ("user_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "updated_at", status="status", precedence=("active", "suspended", "closed")
            ),
            version_column="updated_at",
        ),
        SourceTable(
            "user_tiers",
            "Fee tiers (Basic, Pro, VIP) with their trading fee rate and withdrawal limit.",
            (
                _c("id", "integer", required=True),
                _c("tier_name", required=True),
                _c("trading_fee_rate", "decimal"),
                _c("withdrawal_limit_daily", "decimal"),
                _c("minimum_balance_requirement", "decimal"),
            ),
            ("id",),
            "id",
            mutable=True,
            version=_rule(first_seen=True),
        ),
        SourceTable(
            "user_kyc",
            "KYC verification state per user (KYC system). Mutable: status moves on.",
            (
                _c("user_id", required=True),
                _c("kyc_level", "integer", required=True),
                _c("verification_status", enum=("pending", "approved", "rejected")),
                _c("approved_at", "timestamp"),
                _c("risk_score", "decimal"),
                _c("compliance_notes"),
                _c("updated_at", "timestamp"),  # not in the DDL: version of the row
            ),
            ("user_id",),
            "updated_at",
            mutable=True,
            version=_rule(
                "updated_at",
                status="verification_status",
                precedence=("pending", ("approved", "rejected")),
            ),
            version_column="updated_at",
        ),
        SourceTable(
            "trading_pairs",
            "Listed trading pairs with their fee rates.",
            (
                _c("pair_id", "integer", required=True),
                _c("symbol", required=True),
                _c("base_asset", required=True),
                _c("quote_asset", required=True),
                _c("status", enum=("active", "inactive", "delisted")),
                _c("min_order_size", "decimal"),
                _c("maker_fee_rate", "decimal"),
                _c("taker_fee_rate", "decimal"),
                _c("created_at", "timestamp"),
            ),
            ("pair_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "created_at",
                status="status",
                precedence=(("active", "inactive"), "delisted"),
                first_seen=True,
            ),
        ),
        SourceTable(
            "orders",
            "Orders (order management system). Mutable: status and filled quantity change.",
            (
                _c("order_id", required=True),
                _c("user_id", required=True),
                _c("pair_id", "integer", required=True),
                _c("order_type", enum=("market", "limit", "stop_loss")),
                _c("side", required=True, enum=SIDES),
                _c("quantity", "decimal", required=True, positive=True),
                _c(
                    "price",
                    "decimal",
                    positive=True,
                    doc="Limit price in the quote asset (NULL for market orders).",
                ),
                _c("status", enum=("pending", "partial", "filled", "cancelled")),
                _c("filled_quantity", "decimal"),
                _c("created_at", "timestamp", required=True),
                _c("updated_at", "timestamp"),  # not in the DDL: version of the row
            ),
            ("order_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "updated_at",
                status="status",
                precedence=("pending", "partial", ("filled", "cancelled")),
            ),
            version_column="updated_at",
        ),
        SourceTable(
            "trades",
            "Fills (matching engine): each match gives a maker fill and a taker fill.",
            (
                _c("trade_id", required=True),
                _c("order_id", required=True),
                _c("user_id", required=True),
                _c("pair_id", "integer", required=True),
                _c("side", required=True, enum=SIDES),
                _c("quantity", "decimal", required=True, positive=True),
                _c(
                    "price",
                    "decimal",
                    required=True,
                    positive=True,
                    doc="Fill price in the quote asset.",
                ),
                _c("fee", "decimal", required=True),
                _c("fee_asset", required=True),
                _c("is_maker", "boolean"),
                _c("executed_at", "timestamp", required=True),
            ),
            ("trade_id",),
            "executed_at",
        ),
        SourceTable(
            "wallets",
            "Balances per user and asset (wallet service). Mutable: the latest balance wins.",
            (
                _c("wallet_id", required=True),
                _c("user_id", required=True),
                _c("asset", required=True),
                _c("balance", "decimal", required=True),
                _c("locked_balance", "decimal", required=True),
                _c("updated_at", "timestamp"),
            ),
            ("wallet_id",),
            "updated_at",
            mutable=True,
            version=_rule("updated_at"),
            version_column="updated_at",
        ),
        SourceTable(
            "transactions",
            "Balance movements (wallet service, payment gateway): a chain per user and asset.",
            (
                _c("transaction_id", required=True),
                _c("user_id", required=True),
                _c(
                    "transaction_type",
                    required=True,
                    enum=("deposit", "withdrawal", "trade", "fee"),
                ),
                _c("asset", required=True),
                _c("amount", "decimal", required=True),
                _c("balance_before", "decimal", required=True),
                _c("balance_after", "decimal", required=True),
                _c("reference_id"),
                _c("status", enum=("pending", "completed", "failed")),
                _c("created_at", "timestamp", required=True),
            ),
            ("transaction_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "created_at", status="status", precedence=("pending", ("completed", "failed"))
            ),
        ),
        SourceTable(
            "fee_collections",
            "Fees charged (fee calculation engine): trading and withdrawal fees.",
            (
                _c("fee_id", required=True),
                _c("user_id", required=True),
                _c("fee_type", required=True, enum=("trading_fee", "withdrawal_fee")),
                _c("fee_amount", "decimal", required=True),
                _c("fee_asset", required=True),
                _c("trading_pair_id", "integer"),
                _c("collected_at", "timestamp", required=True),
            ),
            ("fee_id",),
            "collected_at",
        ),
        SourceTable(
            "market_data_1h",
            "Hourly OHLCV candles from the matching engine; `timestamp` is the open time.",
            (
                _c("pair_id", "integer", required=True),
                _c("timestamp", "timestamp", required=True, doc="Candle open time (UTC)."),
                _c("open_price", "decimal", required=True, positive=True),
                _c("high_price", "decimal", required=True, positive=True),
                _c("low_price", "decimal", required=True, positive=True),
                _c("close_price", "decimal", required=True, positive=True),
                _c("volume", "decimal", required=True),
                _c("trade_count", "integer", required=True),
            ),
            ("pair_id", "timestamp"),
            "timestamp",
            freshness=Freshness(
                warn_after_hours=3,
                error_after_hours=26,
                loaded_at_column="timestamp",
                reason="Freshness is judged on candle time: the latest "
                "candle's open time, not when it was loaded, so a reload of old candles is not "
                "fresh.",
            ),
        ),
        SourceTable(
            "order_book_snapshots",
            "Top of book and depth within 1% per pair, sampled by the matching engine.",
            (
                _c("snapshot_id", required=True),
                _c("pair_id", "integer", required=True),
                _c("timestamp", "timestamp", required=True, doc="Snapshot time (UTC)."),
                _c("best_bid_price", "decimal", positive=True),
                _c("best_ask_price", "decimal", positive=True),
                _c("spread_bps", "integer"),
                _c("bid_depth_1_percent", "decimal"),
                _c("ask_depth_1_percent", "decimal"),
            ),
            ("snapshot_id",),
            "timestamp",
        ),
        SourceTable(
            "security_events",
            "Fraud and security alerts raised by the security systems.",
            (
                _c("event_id", required=True),
                _c("user_id"),
                _c("event_type", enum=("login_failed", "suspicious_activity", "large_withdrawal")),
                _c("severity", enum=("low", "medium", "high", "critical")),
                _c("ip_address"),
                _c("risk_score", "decimal"),
                _c("status", enum=("open", "resolved")),
                _c("created_at", "timestamp", required=True),
            ),
            ("event_id",),
            "created_at",
            mutable=True,
            version=_rule("created_at", status="status", precedence=("open", "resolved")),
        ),
        SourceTable(
            "compliance_alerts",
            "Alerts raised by the exchange's existing (system) compliance monitoring.",
            (
                _c("alert_id", required=True),
                _c("user_id"),
                _c("transaction_id"),
                _c(
                    "alert_type", enum=("large_transaction", "unusual_pattern", "high_risk_country")
                ),
                _c("transaction_amount", "decimal"),
                _c("investigation_status", enum=("pending", "completed")),
                _c("disposition", enum=("no_action", "reported", "account_flagged")),
                _c("created_at", "timestamp", required=True),
            ),
            ("alert_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "created_at", status="investigation_status", precedence=("pending", "completed")
            ),
        ),
        SourceTable(
            "system_metrics",
            "Platform performance samples (application monitoring).",
            (
                _c("metric_id", required=True),
                _c(
                    "metric_type",
                    required=True,
                    enum=("api_response_time", "database_connections", "order_processing_time"),
                ),
                _c("value", "decimal", required=True),
                _c("recorded_at", "timestamp", required=True),
            ),
            ("metric_id",),
            "recorded_at",
        ),
        SourceTable(
            "login_events",
            "Authentication events (authentication system).",
            (
                _c("event_id", required=True),
                _c("user_id", required=True),
                _c(
                    "event_type",
                    required=True,
                    enum=(
                        "login_success",
                        "login_failed",
                        "password_change",
                        "2fa_enabled",
                        "2fa_disabled",
                    ),
                ),
                _c("ip_address"),
                _c("country_code"),
                _c("device_id"),
                _c("occurred_at", "timestamp", required=True),
            ),
            ("event_id",),
            "occurred_at",
        ),
        SourceTable(
            "support_tickets",
            "Customer support tickets. Mutable: status moves on until solved or closed.",
            (
                _c("ticket_id", required=True),
                _c("user_id", required=True),
                _c("category"),
                _c("status", enum=("open", "pending", "solved", "closed")),
                _c("created_at", "timestamp", required=True),
                _c("resolved_at", "timestamp"),
            ),
            ("ticket_id",),
            "created_at",
            mutable=True,
            version=_rule(
                "created_at",
                "resolved_at",
                status="status",
                precedence=("open", "pending", "solved", "closed"),
            ),
        ),
        SourceTable(
            "marketing_campaigns",
            "Retention campaigns (CRM): one row per campaign and targeted user, with the user's "
            "random group (treatment: contacted; control: not contacted).",
            (
                _c("campaign_id", required=True),
                _c("campaign_name", required=True),
                _c(
                    "action",
                    required=True,
                    enum=("win_back_offer", "retention_attention", "tier_upgrade_nudge"),
                ),
                _c("user_id", required=True, doc="The targeted user (UUID)."),
                _c("campaign_group", required=True, enum=("treatment", "control")),
                _c("targeted_at", "timestamp", required=True),
            ),
            ("campaign_id", "user_id"),
            "targeted_at",
            system="crm",
            doc_block="marketing_campaigns_source",
        ),
        SourceTable(
            "external_prices",
            "Reference prices from external APIs (CoinGecko, CoinMarketCap).",
            (
                _c("source", required=True, enum=("coingecko", "coinmarketcap")),
                _c("asset", required=True),
                _c("price_usd", "decimal", required=True, positive=True),
                _c("observed_at", "timestamp", required=True),
            ),
            ("source", "asset", "observed_at"),
            "observed_at",
            system="market_feeds",
        ),
    ]
}


@dataclass(frozen=True)
class SourceSystem:
    """A family of source tables landed together: one dbt source (its YAML is generated)."""

    name: str
    description: str
    sources_yml: str  # the generated dbt source file, relative to the repository
    freshness: Freshness = Freshness()


SYSTEMS: dict[str, SourceSystem] = {
    s.name: s
    for s in [
        SourceSystem(
            "exchange",
            "The exchange's own systems, landed by the loaders (ingestion/loaders) into the raw "
            "schema.",
            "models/staging/exchange/_exchange__sources.yml",
        ),
        SourceSystem(
            "crm",
            "The CRM's retention campaigns, landed by the loaders (ingestion/loaders) into the "
            "raw schema.",
            "models/staging/crm/_crm__sources.yml",
        ),
        SourceSystem(
            "market_feeds",
            "External price APIs, landed by the loaders (ingestion/loaders) into the raw schema.",
            "models/staging/market_feeds/_market_feeds__sources.yml",
        ),
    ]
}

# What a column means, by name: a column name means the same in every table that has it
# (a table whose column means something narrower says so in its own Column.description).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    # keys and references
    "user_id": "The user (UUID).",
    "order_id": "The order (UUID).",
    "trade_id": "The fill (UUID).",
    "wallet_id": "The wallet (UUID).",
    "transaction_id": "The transaction (UUID).",
    "fee_id": "The fee collection (UUID).",
    "snapshot_id": "The snapshot (UUID).",
    "event_id": "The event (UUID).",
    "alert_id": "The alert (UUID).",
    "metric_id": "The sample (UUID).",
    "ticket_id": "The ticket (UUID).",
    "campaign_id": "The campaign.",
    "pair_id": "Trading pair.",
    "trading_pair_id": "Pair the trading fee came from.",
    "reference_id": "Related trade or order.",
    "id": "Tier id.",
    # times (UTC)
    "created_at": "When the row's entity was created (UTC).",
    "updated_at": "When this version of the row was written (UTC); the latest version wins.",
    "last_login": "Last successful login (UTC).",
    "approved_at": "When KYC was approved (UTC).",
    "executed_at": "When the fill happened (UTC).",
    "collected_at": "When the fee was collected (UTC).",
    "recorded_at": "When the sample was taken (UTC).",
    "occurred_at": "When the event happened (UTC).",
    "resolved_at": "When the ticket was solved (UTC).",
    "targeted_at": "When the user was targeted (UTC).",
    "observed_at": "When the price was observed (UTC).",
    # users, tiers, KYC
    "email": "E-mail address (PII: hashed in staging).",
    "status": "Lifecycle status.",
    "user_tier_id": "Fee tier (user_tiers.id).",
    "country_code": "ISO 3166-1 alpha-2 country.",
    "referral_code": "The user's own referral code.",
    "referred_by": "User who referred this user.",
    "tier_name": "Basic, Pro or VIP.",
    "trading_fee_rate": "Taker fee rate of the tier (0.0010 = 0.10%).",
    "withdrawal_limit_daily": "Daily withdrawal limit in USD.",
    "minimum_balance_requirement": "Minimum balance in USD to hold the tier.",
    "kyc_level": "0 unverified, 1 basic, 2 advanced.",
    "verification_status": "pending, approved or rejected.",
    "risk_score": "Risk score from 0.00 to 1.00.",
    "compliance_notes": "Free-text notes.",
    # pairs, orders, fills
    "symbol": "Pair symbol, e.g. BTCUSDT.",
    "base_asset": "Asset bought or sold.",
    "quote_asset": "Asset prices are quoted in.",
    "min_order_size": "Smallest order quantity accepted.",
    "maker_fee_rate": "Fee rate charged to maker fills.",
    "taker_fee_rate": "Listed taker fee rate of the pair.",
    "order_type": "market, limit or stop_loss.",
    "side": "buy or sell.",
    "quantity": "Quantity in the base asset.",
    "price": "Price in the quote asset.",
    "filled_quantity": "Quantity filled so far.",
    "fee": "Fee charged on the fill, in fee_asset.",
    "fee_asset": "Asset the fee is charged in.",
    "is_maker": "True for the liquidity-providing (maker) side of a match.",
    # wallets, transactions, fees
    "asset": "Asset symbol.",
    "balance": "Available balance.",
    "locked_balance": "Balance locked in open orders.",
    "transaction_type": "deposit, withdrawal, trade or fee.",
    "amount": "Signed amount (negative = outflow).",
    "balance_before": "Balance before the movement.",
    "balance_after": "Balance after the movement.",
    "fee_type": "trading_fee or withdrawal_fee.",
    "fee_amount": "Fee amount in fee_asset.",
    # market data
    "open_price": "First price of the hour.",
    "high_price": "Highest price of the hour.",
    "low_price": "Lowest price of the hour.",
    "close_price": "Last price of the hour.",
    "volume": "Base-asset quantity traded.",
    "trade_count": "Number of fills.",
    "best_bid_price": "Best bid.",
    "best_ask_price": "Best ask.",
    "spread_bps": "Spread in basis points as reported.",
    "bid_depth_1_percent": "Bid quantity within 1% of the best bid.",
    "ask_depth_1_percent": "Ask quantity within 1% of the best ask.",
    "source": "coingecko or coinmarketcap.",
    "price_usd": "Reference price in USD.",
    # security, compliance, operations, support, CRM
    "event_type": "Kind of event.",
    "severity": "low, medium, high or critical.",
    "ip_address": "IP address (PII: truncated in staging).",
    "alert_type": "Kind of alert.",
    "transaction_amount": "Amount of the transaction alerted on.",
    "investigation_status": "pending or completed.",
    "disposition": "no_action, reported or account_flagged.",
    "metric_type": "api_response_time, database_connections or order_processing_time.",
    "value": "Sample value.",
    "device_id": "Device fingerprint.",
    "category": "Ticket category.",
    "campaign_name": "The campaign's name.",
    "action": "What the campaign does: win_back_offer, retention_attention or tier_upgrade_nudge.",
    "campaign_group": "treatment (contacted) or control (targeted but, at random, not contacted).",
}

FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")

# Provenance columns the loaders add to every raw table.
PROVENANCE_COLUMNS = ("_load_id", "_source_file", "_row_number", "_loaded_at")


@dataclass(frozen=True)
class LandingRule:
    """One rule of the landing contract that is prose, not a property of a column or table.

    ``scripts/generate_landing_contract.py`` renders these, after the tables, into
    docs/landing_contract.md; ``anchor`` is the rule's link target on that page.
    """

    anchor: str
    title: str
    text: str


LANDING_RULES: tuple[LandingRule, ...] = (
    LandingRule(
        "folders-and-files",
        "Folders and files",
        "A landing directory holds one folder per source table, `<landing>/<table>/`, with any "
        "number of files in it and in its sub-folders, loaded in path order. A file is never "
        "changed once written: new data comes as new files. Names starting with `_` or `.` and "
        "uploads in progress (`*.tmp`, `*.part`, `*.partial`: write, then rename) are ignored. "
        "A file of another type, a file at the landing root or a folder that is no table of "
        "this page is not loaded but reported, and fails a `--strict` load. The loaders do not "
        "care whether the files came from the simulator or from a real exchange.",
    ),
    LandingRule(
        "file-formats",
        "File formats",
        "CSV: a header row naming the columns, comma-separated, double quotes, UTF-8, an empty "
        "field is NULL. JSON lines: one object per line, keys are column names. Parquet: its "
        "own types, cast to the contract's. CSV and JSON lines may be gzip-compressed "
        "(`.csv.gz`, `.jsonl.gz`). Column order does not matter; names match exactly.",
    ),
    LandingRule(
        "values",
        "Values",
        "Timestamps are ISO-8601 in UTC; a trailing `Z`, `+00:00` or another offset is "
        "converted to UTC, no zone means UTC. A timestamp must be written as a date: `epoch`, "
        "`infinity`, `now` are bad input. Decimals are `DECIMAL(20,8)`: a value with more "
        "digits than that holds is quarantined, never rounded. A required column that is "
        "NULL or blank, a value that does not cast to its type, an enum value outside its "
        "list or a non-positive value where the column must be positive is bad input.",
    ),
    LandingRule(
        "event-time-range",
        "Plausible event times",
        "Every timestamp lies in a plausible range, from the first Bitcoin block to a "
        "little after the load started (the bounds below). A time outside is quarantined, so a "
        "typo'd year 9999 never reaches a date spine. Events years before the simulator's "
        "window (history backfills) are inside the range and load as any other row.",
    ),
    LandingRule(
        "schema-drift",
        "Extra columns and schema drift",
        "Columns a file brings beyond the contract's are kept, as text, in extra columns of "
        "the raw table, added when first seen. A required column missing from a file makes "
        "every row of the file bad input (quarantined, so it can be replayed). Keys that "
        "differ only in case (`price`, `PRICE`): the one spelled like the contract column is "
        "loaded, the others are kept as extra columns and the file's message says so.",
    ),
    LandingRule(
        "keys-and-versions",
        "Keys and versions",
        "Each table has a primary key. Rows of an immutable table arrive once per key "
        "(replays aside). Rows of a mutable table arrive again as the entity changes, and "
        "the latest version of each key wins. Which version is the latest is decided by "
        "the row, never by the order in which files load, because exports are re-sent: an "
        "old file delivered again never undoes a newer state. The version rule of each "
        "mutable table is stated with the table; load order (the file loaded last, then the "
        "highest row number) breaks a tie only after every column of the rule.",
    ),
    LandingRule(
        "replays-and-conflicts",
        "Replays and conflicts",
        "An exact duplicate row (a replay) counts once. Two rows of one key with the same "
        "version and status rank but different values are a conflict: one is kept by the "
        "rule, and every conflict is reported with its table, key, files and differing "
        "columns (`fct_source_version_conflicts`), never resolved silently. Rows sharing a "
        "timestamp (a fill and its fee booked in the same millisecond) are normal data.",
    ),
    LandingRule(
        "changed-files",
        "Re-sent and changed files",
        "A file is known by its content (SHA-256), never by its name or size. The same path "
        "with the same content is skipped; the same content under another name is recorded "
        "as a duplicate and not loaded again; a path whose content changed after it was "
        "loaded is loaded again with a warning, and its rows are ranked by the version rule.",
    ),
    LandingRule(
        "quarantine",
        "Quarantine",
        "Bad input never fails a load and is never dropped: each bad row goes to "
        "`raw._quarantine` with its table, file, row number, every reason (each naming its "
        "column) and its original values; the good rows of the file load. A file that "
        "cannot be read at all is moved to `<landing>/_rejected/<table>/` and recorded in "
        "`raw._loaded_files` with the reason; the rest of the data loads. "
        "`fct_quarantined_rows_daily` counts quarantined rows per day, table and reason.",
    ),
    LandingRule(
        "damaged-raw-tables",
        "Damaged raw tables",
        "Before loading, each raw table is held to its record in `raw._loaded_files`: rows "
        "missing (a table dropped or truncated by hand) are loaded again from their files, "
        "or the load stops with an error naming the table and files when those files are "
        "gone; an empty table is never reported as a success.",
    ),
    LandingRule(
        "other-extracts",
        "Other extracts",
        "The exchange's operational PostgreSQL database (the same tables, extracted "
        "incrementally by cursor; docs/postgres.md, docs/deletes.md) and the external price "
        "APIs over HTTP (`external_prices`) land in the same raw tables under the same rules.",
    ),
)
