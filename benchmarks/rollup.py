"""``scripts/bench --rollup``: the per-clinic metrics rollup over 1,000 clinics.

Provisions the clinics the way ``scripts/bench --scaling`` does (``benchmarks.scaling.Run``:
``clinic_provision`` one after another) into a database of its own, ``dental_bench_rollup``,
then measures (see ``measure``).
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks.database import BENCH_DATABASE, Server

DATABASE = f"{BENCH_DATABASE}_rollup"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --rollup", description=__doc__)
    parser.add_argument("--clinics", type=int, default=1000, help="Clinics to roll up.")
    parser.add_argument("--resume", action="store_true", help="Keep the clinics already made.")
    parser.add_argument(
        "--provision-only", action="store_true", help="Make the clinics, measure nothing."
    )
    return parser.parse_args(argv)


def _log(message: str) -> None:
    print(f"[rollup {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str]) -> int:
    options = _arguments(argv)
    server = Server()
    if server.comment(DATABASE) is None:
        server.create(DATABASE)  # Django checks the database while it starts
    from benchmarks.__main__ import _setup

    _setup(server.url(DATABASE))
    from benchmarks.scaling import Run

    run = Run(server, options, database=DATABASE, name="rollup")
    have = run.prepare()
    _log(f"{have} clinics present")
    if have < options.clinics:
        seconds = run.provision(have, options.clinics, 0.0)
        have += len(seconds)
        _log(f"{have} clinics provisioned")
    if options.provision_only:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
