"""Developer tooling that is neither pipeline code nor a test: checks run by scripts and by
the test suite alike (`bigquery_check`: is every model's SQL valid BigQuery, offline)."""
