"""`python -m opscenter …` is the `opscenter` command (for machines without the script on PATH)."""

import sys

from opscenter.cli import main

if __name__ == "__main__":
    sys.exit(main())
