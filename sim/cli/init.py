"""``dyadsim init DIR``: write the example project (scenarios, record, aliases, sweeps, calibrations) to edit.

An installed package carries the example project as package data; this puts a
copy where the user can read and change it. The files keep their relative
layout, so ``extends``, ``meta.record`` and a sweep's ``scenario`` still resolve.
"""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "init", help="write the example project (scenarios, record, sweeps) into a folder",
        description="Copy the bundled example project into DIR: scenarios/ (baseline and counterfactuals), "
                    "calibration/ (the historical record, the alias list, calibration files) and sweeps/. "
                    "Every command then runs on those files from DIR.",
        epilog="example:\n  python run.py init my_project && cd my_project\n"
               "  python run.py run scenarios/baseline.yaml --replicates 20",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", metavar="DIR", help="folder to write into (created when missing)")
    p.add_argument("--force", action="store_true", help="overwrite files that already exist")
    p.set_defaults(func=cmd_init)


def cmd_init(args) -> int:
    from sim.core.bundle import write_example_project

    written = write_example_project(args.folder, force=args.force)
    print(f"wrote {len(written)} files to {args.folder}/: scenarios/, calibration/, sweeps/")
    print(f"next: cd {args.folder} && dyadsim run scenarios/baseline.yaml --replicates 20")
    return 0
