"""Entry point for `python main.py [COMMAND ...]`; same as the `opscenter` command."""

import sys

from opscenter.cli import main

if __name__ == "__main__":
    sys.exit(main())
