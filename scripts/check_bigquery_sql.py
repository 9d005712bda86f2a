#!/usr/bin/env python
"""Compile every model for BigQuery offline and report SQL that BigQuery would refuse.

    .venv/bin/python scripts/check_bigquery_sql.py            # exit status 1 on findings
    .venv/bin/python scripts/check_bigquery_sql.py --select fct_trades+ --json

No BigQuery, credential or network is needed: dbt compiles with the real dbt-bigquery adapter
whose network layer is replaced, and the rendered SQL is checked with sqlglot's BigQuery
dialect plus rules for what sqlglot accepts but BigQuery does not (tooling/bigquery_check.py
explains the method; docs/bigquery.md how to run the project on a real BigQuery).
"""

import sys

from tooling.bigquery_check import main

if __name__ == "__main__":
    sys.exit(main())
