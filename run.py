#!/usr/bin/env python3
"""Entry point: ``python run.py --help`` lists the subcommands."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
