"""The performance benchmark (issue 9, SPEC section 8): ``make bench SCALE=...``. See run.py."""
