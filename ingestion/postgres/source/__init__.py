"""Source side: a demo of the exchange's operational PostgreSQL database.

`populate_oltp` fills the OLTP schema (oltp_schema.py) from a landing directory, usually the
simulator's, so the extract loader has a "production database" to read. A real deployment
does not run it: its operational database is the source."""
