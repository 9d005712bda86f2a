"""The self-service dashboard over the marts: the presentation layer.

`make dashboard` serves it on http://127.0.0.1:8501 against $EXCHANGE_WAREHOUSE, read-only.

Why Streamlit: it is pure Python, so it installs from PyPI into the project's venv with the
rest of the pinned stack (no Node toolchain or second build, unlike Evidence) and is tested
with the same pytest; it reads the DuckDB warehouse directly through the duckdb package the
loaders and dbt already use, so there is no extra database server, driver or copy of the
data; it is widely used and actively maintained. The pages are plain SQL over the marts
(dashboard/queries.py), so the numbers are the dbt models' numbers and nothing is recomputed.

Modules: ``queries`` (every SQL query, parameterised, no Streamlit), ``app`` (the Streamlit
entry point: filters and navigation), ``views`` (one function per page), ``browser`` (serve
the app and drive Debian's headless chromium, for the test and the screenshots),
``screenshots`` (``python -m dashboard.screenshots``), ``export`` (``python -m dashboard.export``:
the CSV exports of the regulatory reports, safe to open in a spreadsheet).
"""
