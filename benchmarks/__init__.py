"""The performance benchmark (issue 9, docs/reliability.md#scale-and-speed): ``make bench
SCALE=...``. See run.py."""
