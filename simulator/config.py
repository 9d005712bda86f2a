"""Static configuration of the exchange simulator: scales, assets, pairs, tiers, file formats."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SEC = 1_000_000  # time is int64 microseconds since the Unix epoch throughout
MIN = 60 * SEC
HOUR = 60 * MIN
DAY = 24 * HOUR
UNIT = 100_000_000  # amounts are int64 units of 1e-8
INF_TIME = 2**62

DEFAULT_END_DATE = dt.date(2026, 10, 31)


@dataclass(frozen=True)
class Scale:
    name: str
    users: int
    days: int
    order_mult: float  # multiplies every user's taker orders per active day
    gap_days: tuple[int, int]  # length of a churned user's break before a win-back
    anomalies: bool  # volume spike, revenue drop, registration surge days


SCALES: dict[str, Scale] = {
    s.name: s
    for s in [
        Scale("tiny", 200, 10, 1.0, (3, 5), False),
        Scale("small", 2_000, 75, 1.0, (31, 45), True),
        Scale("medium", 50_000, 90, 0.8, (31, 45), True),
        Scale("large", 500_000, 30, 2.8, (5, 12), True),
    ]
}

# Assets: index in this tuple is the asset id used in the arrays.
ASSETS = ("USDT", "BTC", "ETH", "SOL", "BNB", "XRP", "ADA", "DOGE", "AVAX", "LTC", "LUNA")
A = {a: i for i, a in enumerate(ASSETS)}
N_ASSETS = len(ASSETS)

# name, start price (USD), daily volatility, beta to the market factor
BASE_ASSETS = {
    "BTC": (98_250.0, 0.025, 1.0),
    "ETH": (3_640.0, 0.032, 1.1),
    "SOL": (182.0, 0.045, 1.3),
    "BNB": (618.0, 0.025, 0.9),
    "XRP": (2.41, 0.040, 1.1),
    "ADA": (0.752, 0.040, 1.2),
    "DOGE": (0.2134, 0.050, 1.4),
    "AVAX": (32.6, 0.045, 1.3),
    "LTC": (96.4, 0.035, 1.0),
}

# Nice unit per asset (in 1e-8 units) for round deposit and withdrawal amounts.
NICE_UNIT = {
    "USDT": 10 * UNIT,
    "BTC": 10_000,
    "ETH": 100_000,
    "SOL": 1_000_000,
    "BNB": 1_000_000,
    "XRP": UNIT,
    "ADA": 10 * UNIT,
    "DOGE": 10 * UNIT,
    "AVAX": 10_000_000,
    "LTC": 1_000_000,
    "LUNA": UNIT,
}
# Flat withdrawal fee per asset, in asset units (1e-8).
WITHDRAWAL_FEE = {
    "USDT": UNIT,
    "BTC": 20_000,
    "ETH": 200_000,
    "SOL": 1_000_000,
    "BNB": 100_000,
    "XRP": 20_000_000,
    "ADA": UNIT,
    "DOGE": 5 * UNIT,
    "AVAX": 1_000_000,
    "LTC": 100_000,
    "LUNA": UNIT,
}


@dataclass(frozen=True)
class Pair:
    pair_id: int
    symbol: str
    base: str
    quote: str
    status: str
    price_dec: int  # tick = 10**-price_dec (quote asset)
    qty_dec: int  # lot = 10**-qty_dec (base asset); price_dec + qty_dec <= 8 keeps notionals exact
    maker_rate_e4: int  # fee rate in units of 1e-4
    taker_rate_e4: int
    weight: float  # share of taker orders
    created_at: str


PAIRS: tuple[Pair, ...] = (
    Pair(1, "BTCUSDT", "BTC", "USDT", "active", 2, 5, 6, 25, 0.30, "2019-07-01 00:00:00"),
    Pair(2, "ETHUSDT", "ETH", "USDT", "active", 2, 4, 6, 25, 0.22, "2019-07-01 00:00:00"),
    Pair(3, "SOLUSDT", "SOL", "USDT", "active", 2, 3, 10, 25, 0.11, "2021-03-15 00:00:00"),
    Pair(4, "BNBUSDT", "BNB", "USDT", "active", 2, 3, 10, 25, 0.07, "2020-02-10 00:00:00"),
    Pair(5, "XRPUSDT", "XRP", "USDT", "active", 4, 1, 10, 25, 0.07, "2019-09-01 00:00:00"),
    Pair(6, "ADAUSDT", "ADA", "USDT", "active", 4, 1, 10, 25, 0.04, "2020-05-20 00:00:00"),
    Pair(7, "DOGEUSDT", "DOGE", "USDT", "active", 5, 0, 10, 25, 0.07, "2021-01-28 00:00:00"),
    Pair(8, "AVAXUSDT", "AVAX", "USDT", "active", 2, 2, 10, 25, 0.04, "2021-09-22 00:00:00"),
    Pair(9, "LTCUSDT", "LTC", "USDT", "active", 2, 3, 10, 25, 0.03, "2019-07-01 00:00:00"),
    Pair(10, "ETHBTC", "ETH", "BTC", "active", 5, 3, 6, 25, 0.05, "2019-07-01 00:00:00"),
    Pair(11, "LUNAUSDT", "LUNA", "USDT", "delisted", 4, 2, 10, 25, 0.0, "2021-06-01 00:00:00"),
)
TRADED_PAIRS = tuple(p for p in PAIRS if p.status == "active")

# Tiers: id, name, taker fee rate (1e-4 units), withdrawal limit per day, minimum balance
TIERS = (
    (1, "Basic", 25, 10_000, 0),
    (2, "Pro", 15, 100_000, 1_000),
    (3, "VIP", 10, 1_000_000, 50_000),
)
TIER_RATE_E4 = {1: 25, 2: 15, 3: 10}

# Per tier (index 1..3): daily activity probability, taker orders per active day,
# median order notional in USD, weight as a maker.
TIER_ACTIVITY = {1: 0.16, 2: 0.34, 3: 0.55}
TIER_ORDERS = {1: 1.5, 2: 2.5, 3: 4.0}
TIER_NOTIONAL = {1: 1_500.0, 2: 25_000.0, 3: 150_000.0}
TIER_MAKER_WEIGHT = {1: 1.0, 2: 2.5, 3: 6.0}
# Whales trade the majors: a tier's pair weights are the pairs' weights to this power (Basic,
# Pro, VIP), so VIPs trade BTC and ETH most of all.
TIER_PAIR_FOCUS = (1.0, 1.5, 2.0)
# A user whose usual order is at least this much (USD) brings coins to trade (ledger.py).
WHALE_NOTIONAL_USD = 10_000.0

# Countries of ordinary users: none is on the FATF black or grey list of June 2026.
COUNTRIES = (
    ("US", 16),
    ("GB", 7),
    ("DE", 7),
    ("FR", 5),
    ("JP", 5),
    ("KR", 6),
    ("SG", 3),
    ("BR", 6),
    ("IN", 7),
    ("AU", 3),
    ("CA", 4),
    ("NL", 2),
    ("ES", 3),
    ("IT", 3),
    ("TR", 5),
    ("NG", 3),
    ("ZA", 2),
    ("AR", 2),
    ("MX", 2),
    ("PL", 2),
    ("PH", 2),
    ("TH", 2),
    ("ID", 2),
    ("AE", 2),
    ("CH", 1),
)
COUNTRY_CODES = tuple(c for c, _ in COUNTRIES) + ("IR", "KP", "VN")
FIRST_NAMES = (
    "alex",
    "maria",
    "john",
    "li",
    "wei",
    "fatima",
    "omar",
    "sofia",
    "lucas",
    "emma",
    "noah",
    "mia",
    "yuki",
    "hana",
    "ji",
    "min",
    "arjun",
    "priya",
    "carlos",
    "ana",
    "ivan",
    "olga",
    "tom",
    "sara",
    "ben",
    "lea",
    "max",
    "nina",
    "leo",
    "zoe",
    "ali",
    "eva",
)
LAST_NAMES = (
    "smith",
    "garcia",
    "kim",
    "chen",
    "wang",
    "muller",
    "rossi",
    "silva",
    "tanaka",
    "sato",
    "patel",
    "singh",
    "nguyen",
    "lopez",
    "martin",
    "brown",
    "jones",
    "lee",
    "park",
    "kowalski",
    "ivanov",
    "dubois",
    "novak",
    "cohen",
    "ahmed",
    "santos",
    "yilmaz",
    "schmidt",
    "rivera",
)
EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "mail.com")
TICKET_CATEGORIES = ("account_access", "deposit", "withdrawal", "trading", "kyc", "fees", "other")

# Activity by hour of day (UTC): Asia morning, Europe, and the US afternoon.
HOUR_WEIGHTS = (
    0.55,
    0.5,
    0.5,
    0.55,
    0.65,
    0.75,
    0.85,
    0.95,
    1.0,
    1.05,
    1.05,
    1.05,
    1.1,
    1.25,
    1.4,
    1.45,
    1.4,
    1.3,
    1.2,
    1.1,
    1.0,
    0.9,
    0.75,
    0.6,
)

# Output format of each table and how its text timestamps end ("Z", "+00:00", "" = no zone,
# "alt" = "Z" on even days and no zone on odd days). Parquet keeps typed timestamps.
FORMATS: dict[str, tuple[str, str]] = {
    "users": ("csv", "Z"),
    "user_tiers": ("csv", ""),
    "user_kyc": ("jsonl", "+00:00"),
    "trading_pairs": ("csv", ""),
    "orders": ("csv.gz", ""),
    "trades": ("parquet", ""),
    "wallets": ("csv", "+00:00"),
    "transactions": ("parquet", ""),
    "fee_collections": ("csv", "alt"),
    "market_data_1h": ("parquet", ""),
    "order_book_snapshots": ("csv", ""),
    "security_events": ("jsonl", "Z"),
    "compliance_alerts": ("csv", "+00:00"),
    "system_metrics": ("csv.gz", "Z"),
    "login_events": ("jsonl.gz", "+00:00"),
    "support_tickets": ("csv", "alt"),
    "external_prices": ("jsonl", "Z"),
    "marketing_campaigns": ("csv", "Z"),
}
# Tables whose timestamps carry microseconds; the others are whole seconds.
MICROSECOND_TABLES = {"orders", "trades", "transactions", "fee_collections", "wallets"}

# Ids: every entity's UUID is derived from (counter, entity code, seed).
ENTITY = {
    "user": 1,
    "order": 2,
    "trade": 3,
    "transaction": 4,
    "fee": 5,
    "wallet": 6,
    "snapshot": 7,
    "security": 8,
    "alert": 9,
    "metric": 10,
    "login": 11,
    "ticket": 12,
}
