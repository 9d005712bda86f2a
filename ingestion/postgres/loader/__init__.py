"""The production loader path: the operational PostgreSQL database -> the DuckDB warehouse's
raw tables, incrementally by cursor, through the file loader's `load_table` (extractor.py)."""
