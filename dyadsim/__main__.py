"""``python -m dyadsim``: the same commands as ``run.py`` and the installed ``dyadsim`` script."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
