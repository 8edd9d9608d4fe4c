"""``python -m rnnlab``: the same command line as ``rnnlab`` (see cli.py)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
