"""The planted compliance cases' script: which users are reserved, what they deposit,
withdraw and log in from, and when (`ScriptedUsers.setup_users`, part of `PlantedCases`).

Each scripted event names its case; planted.py turns the script into rows on its day and
lists every case in `_simulator/planted_cases.csv`.
"""

from __future__ import annotations

import numpy as np

from .config import COUNTRY_CODES, DAY, HOUR, INF_TIME, MIN, SEC, A

USDT = A["USDT"]
SHARED_IP = (185 << 24) | (220 << 16) | (101 << 8) | 47
KP_IP = (175 << 24) | (45 << 16) | (176 << 8) | 23
BURST_IP = (45 << 24) | (155 << 16) | (205 << 8) | 12
# The engine writes an IPv6 value v as 2a02:{v>>48}:{v>>32}:{v>>16}::{(v & 0xffff) + 1}.
RING_IPV6 = (0x1B << 48) | (0x4E0 << 32) | (0x77 << 16)


def hour_minute(h: int, m: int = 0) -> int:
    """Microseconds from midnight to h:m."""
    return h * HOUR + m * MIN


class ScriptedUsers:
    """Mixin of `PlantedCases` (planted.py): the scripted users and their events."""

    def setup_users(self) -> None:
        """Reserve and shape the scripted users; script their deposits, withdrawals, logins."""
        sim = self.sim
        D, fd, s0 = sim.n_days, sim.day_at_fraction, sim.start_us
        rng = sim.rng("planted")
        pre = np.flatnonzero(sim.is_pre)
        new = np.flatnonzero(~sim.is_pre)
        picks = rng.choice(pre, 9, replace=False)
        names = ["L1", "L2", "A1", "S1", "R1", "H1", "H2", "H3", "Z1"]
        self.u = dict(zip(names, (int(x) for x in picks), strict=True))
        n_day = min(fd(0.1), D - 3)
        cand = new[
            (sim.created[new] >= s0 + n_day * DAY) & (sim.created[new] < s0 + (n_day + 1) * DAY)
        ]
        self.u["N1"] = int(cand[0]) if cand.size else int(rng.choice(new))
        countries = {"H1": "IR", "H2": "VN", "H3": "DE"}
        for name, u in self.u.items():
            created = s0 - (300 if name == "Z1" else 120) * DAY + hour_minute(8)
            if name == "N1":
                created = s0 + n_day * DAY + hour_minute(9)
            sim.created[u] = created
            sim.submit[u] = created + 5 * MIN
            sim.decision[u] = created + 90 * MIN
            sim.approved[u] = created + 90 * MIN
            sim.kyc[u] = 1
            sim.kyc_level[u] = 1
            sim.kyc_note[u] = 5 if name in ("H1", "H2") else 0
            sim.risk[u] = (75 if name in ("H1", "H2") else 20) * 1_000_000
            sim.tier0[u] = sim.tier1[u] = 2 if name in ("L1", "L2") else 1
            sim.upgrade_us[u] = sim.suspend_us[u] = sim.close_us[u] = INF_TIME
            sim.never[u] = True
            sim.reserved[u] = True
            sim.referred_by[u] = -1
            if name in countries:
                sim.country[u] = COUNTRY_CODES.index(countries[name])

        self.history = [  # (user, days before the window, amount)
            ("L1", 40, 800),
            ("L2", 50, 4_000),
            ("L2", 45, 4_500),
            ("L2", 35, 4_800),
            ("A1", 20, 300),
            ("S1", 25, 500),
            ("R1", 30, 400),
            ("H1", 15, 600),
            ("H2", 12, 500),
            ("H3", 18, 700),
            ("Z1", 250, 800),
        ]
        r_day = min(fd(0.6), D - 2)
        z_day = fd(0.8)
        h3_day = fd(0.7)
        # (day, time of day, user, deposit(+)/withdrawal(-) in USDT, case)
        script = [
            (fd(0.2), hour_minute(10, 15), "L1", 15_000, "CMP-01"),
            (fd(0.4), hour_minute(15, 40), "L2", -12_000, "CMP-02"),
            (fd(0.3), hour_minute(9), "A1", 6_000, "CMP-03"),
            (fd(0.3), hour_minute(15, 30), "A1", 4_500, "CMP-03"),
            (fd(0.5), hour_minute(8), "S1", 9_000, "CMP-04"),
            (fd(0.5), hour_minute(13), "S1", 8_500, "CMP-04"),
            (fd(0.5), hour_minute(18, 30), "S1", 9_200, "CMP-04"),
            (r_day, hour_minute(21), "R1", 7_000, "CMP-05"),
            (r_day + 1, hour_minute(3), "R1", -6_800, "CMP-05"),
            (fd(0.35), hour_minute(11), "H1", 2_500, "CMP-06"),
            (fd(0.45), hour_minute(16, 20), "H2", 1_800, "CMP-07"),
            (h3_day, hour_minute(14), "H3", 3_000, "CMP-08"),
            (z_day, hour_minute(12), "Z1", 6_000, "CMP-09"),
            (n_day, hour_minute(12), "N1", 3_000, "CMP-10"),
            (n_day + 2, hour_minute(16), "N1", -2_800, "CMP-10"),
        ]
        U = self.u
        last = {}
        for day, _, _, _, cid in script:
            last[cid] = max(last.get(cid, -1), day)
        self.add(
            "CMP-01",
            "compliance",
            [("large_transaction", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "one deposit of 15,000 USDT",
            [U["L1"]],
            last_day=last["CMP-01"],
        )
        self.add(
            "CMP-02",
            "compliance",
            [("large_transaction", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "one withdrawal of 12,000 USDT from savings deposited over weeks",
            [U["L2"]],
            last_day=last["CMP-02"],
        )
        self.add(
            "CMP-03",
            "compliance",
            [("daily_aggregate", "medium")],
            "transactions",
            "deposits of 6,000 and 4,500 USDT on one day (10,500 in total)",
            [U["A1"]],
            last_day=last["CMP-03"],
        )
        self.add(
            "CMP-04",
            "compliance",
            [("structuring", "high"), ("daily_aggregate", "medium")],
            "transactions",
            "three deposits of 9,000, 8,500 and 9,200 USDT within 11 hours",
            [U["S1"]],
            last_day=last["CMP-04"],
        )
        self.add(
            "CMP-05",
            "compliance",
            [("rapid_in_out", "high")],
            "transactions",
            "deposit of 7,000 USDT at 21:00, withdrawal of 6,800 six hours later (next day), "
            "no trading",
            [U["R1"]],
            last_day=last["CMP-05"],
        )
        self.add(
            "CMP-06",
            "compliance",
            [("high_risk_country", "high")],
            "transactions",
            "deposit of 2,500 USDT by a user from IR (FATF black list)",
            [U["H1"]],
            last_day=last["CMP-06"],
        )
        self.add(
            "CMP-07",
            "compliance",
            [("high_risk_country", "medium")],
            "transactions",
            "deposit of 1,800 USDT by a user from VN (FATF grey list)",
            [U["H2"]],
            last_day=last["CMP-07"],
        )
        self.add(
            "CMP-08",
            "compliance",
            [("high_risk_country", "high")],
            "transactions",
            "user from DE logs in from KP at 10:00, deposits 3,000 USDT at 14:00 the same day",
            [U["H3"]],
            last_day=last["CMP-08"],
        )
        self.add(
            "CMP-09",
            "compliance",
            [("dormant_reactivation", "medium")],
            "transactions",
            "last transaction 250+ days before the window, then a deposit of 6,000 USDT",
            [U["Z1"]],
            last_day=last["CMP-09"],
        )
        self.add(
            "CMP-10",
            "compliance",
            [("new_account_drain", "high")],
            "transactions",
            "registers, deposits 3,000 USDT, withdraws 2,800 USDT two days later",
            [U["N1"]],
            last_day=last["CMP-10"],
        )
        self.script = [(day, tod, U[name], amount, cid) for day, tod, name, amount, cid in script]
        # logins before each scripted movement, and the scripted IP cases
        for day, tod, u, _, _ in self.script:
            country = int(sim.country[u])
            self.login_script.append(
                (day, tod - 20 * MIN, u, 0, int(sim.ip_kind[u]), int(sim.ip_val[u]), country, None)
            )
        self.login_script.append(
            (
                n_day,
                hour_minute(9, 2),
                U["N1"],
                0,
                int(sim.ip_kind[U["N1"]]),
                int(sim.ip_val[U["N1"]]),
                int(sim.country[U["N1"]]),
                None,
            )
        )
        self.login_script.append(
            (h3_day, hour_minute(10), U["H3"], 0, 0, KP_IP, COUNTRY_CODES.index("KP"), "CMP-08")
        )

        ordinary = np.flatnonzero(sim.is_pre & (sim.kyc == 1) & ~sim.reserved & (sim.approved < s0))
        shared = rng.choice(ordinary, 4, replace=False)
        s_day = fd(0.25)
        days = [min(s_day + k, D - 1) for k in range(4)]
        self.add(
            "CMP-11",
            "compliance",
            [("shared_ip", "medium")],
            "login_events",
            "four users log in from 185.220.101.47 on four consecutive days",
            [int(x) for x in shared],
            last_day=max(days),
        )
        for k, u in enumerate(shared):
            self.login_script.append(
                (
                    days[k],
                    hour_minute(19, 7 * k),
                    int(u),
                    0,
                    0,
                    SHARED_IP,
                    int(sim.country[u]),
                    "CMP-11",
                )
            )
        burst_user = int(rng.choice(np.setdiff1d(ordinary, shared)))
        b_day = fd(0.55)
        self.burst = (b_day, burst_user)
        self.add(
            "CMP-12",
            "compliance",
            [("failed_login_burst", "medium")],
            "login_events",
            "six failed logins within about six minutes from 45.155.205.12",
            [burst_user],
            last_day=b_day,
        )
        for off in (0, 50, 115, 190, 260, 370):
            self.login_script.append(
                (
                    b_day,
                    hour_minute(2, 10) + off * SEC,
                    burst_user,
                    1,
                    0,
                    BURST_IP,
                    COUNTRY_CODES.index("NL"),
                    "CMP-12",
                )
            )
        self.self_day = fd(0.65)

        # churn-risk attention: more than 2 tickets in the last 30 days
        t_users = rng.choice(
            np.setdiff1d(ordinary, np.append(shared, burst_user)), 3, replace=False
        )
        window = [max(0, D - k) for k in (26, 17, 9, 3)]
        for i, u in enumerate(t_users):
            n = 3 + (i == 1)
            for j in range(n):
                self.ticket_script.append(
                    (window[j], hour_minute(9 + 2 * i + j), int(u), f"ANO-T{i + 1}")
                )
            self.add(
                f"ANO-T{i + 1}",
                "anomaly",
                [("support_tickets_attention", "")],
                "support_tickets",
                f"{n} support tickets in the last 30 days (churn-risk indicator: more than 2)",
                [int(u)],
                last_day=max(window[:n]),
            )

        for rule, day in sorted(sim.anomaly_days.items(), key=lambda kv: kv[1]):
            table = {
                "registration_surge": "users",
                "volume_spike": "trades",
                "revenue_drop": "fee_collections",
            }[rule]
            desc = {
                "registration_surge": "a marketing campaign: about five times the registrations",
                "volume_spike": "about three times the usual trading volume and fills",
                "revenue_drop": "matching-engine outage 06:00-15:00 UTC: few fills, fees; slow API",
            }[rule]
            self.add(
                f"ANO-{rule}",
                "anomaly",
                [(rule, "")],
                table,
                desc,
                refs=[sim.label(day)],
                last_day=day,
            )

        # A shared-device ring on IPv6: three users, three addresses of one /64 (temporary
        # addresses of one household's devices) within a week. One address for shared_ip.
        ring = rng.choice(
            np.setdiff1d(ordinary, np.concatenate([shared, [burst_user], t_users])),
            3,
            replace=False,
        )
        r_days = [min(fd(0.6) + k, D - 1) for k in (0, 3, 6)]
        self.add(
            "CMP-IP6",
            "compliance",
            [("shared_ip", "medium")],
            "login_events",
            "three users log in from three addresses of one IPv6 /64 (2a02:1b:4e0:77::/64) "
            "within a week",
            [int(x) for x in ring],
            last_day=max(r_days),
        )
        for k, u in enumerate(ring):
            self.login_script.append(
                (
                    r_days[k],
                    hour_minute(20, 11 * k),
                    int(u),
                    0,
                    1,
                    RING_IPV6 | (0x5EED + 7 * k),
                    int(sim.country[u]),
                    "CMP-IP6",
                )
            )

        self.market_days = {"candles": fd(0.4), "books": fd(0.5), "external": fd(0.6)}
