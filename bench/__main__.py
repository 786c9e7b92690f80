"""`python -m bench`: see bench/README.md and `python -m bench --help`."""

from __future__ import annotations

import sys

from bench.harness import main

if __name__ == "__main__":
    sys.exit(main())
