"""python -m warehouse: print the settings table; ``--write README.md`` updates it in place."""

import sys
from pathlib import Path

from .settings import markdown_table, with_table

if sys.argv[1:2] == ["--write"]:
    for name in sys.argv[2:]:
        page = Path(name)
        page.write_text(with_table(page.read_text()))
else:
    print(markdown_table())
