"""The dbt arguments shared by every build of the data, kept import-light (no Dagster, no dbt):
Dagster's runs (orchestration/assets/dbt.py ``dbt_build_args``), the benchmark's builds
(benchmarks/run.py) and the tests that build a warehouse of their own import them from here.
"""

# dbt's unit tests check the SQL on hand-made rows, not the data, and under a partition's vars
# their fixture rows fall outside the window: a build of the data leaves them out, and CI runs
# them (`make test`: the tiny warehouse's build, tests/python/conftest.py).
EXCLUDE_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]
DATA_BUILD = ["build", *EXCLUDE_UNIT_TESTS]
