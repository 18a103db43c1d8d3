"""``python -m benchmarks [--quick] [--clinics 1,100,1000]``: see ``scripts/bench``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.database import BENCH_DATABASE, ROOT, Server
from devtools.processes import production_secrets

QUICK = {
    "clinics": "1,20",
    "rounds": 3,
    "per_round": 40,
    "latency_requests": 60,
    "provision": 2,
    "concurrency": 4,
}
FULL = {
    "clinics": "1,100,1000",
    "rounds": 5,
    "per_round": 200,
    "latency_requests": 300,
    "provision": 10,
    "concurrency": 4,
}


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small counts: under 2 minutes.")
    parser.add_argument("--clinics", help="Clinic counts for (d), e.g. 1,100,1000,5000.")
    parser.add_argument("--rounds", type=int, help="(a) rounds per endpoint.")
    parser.add_argument("--per-round", type=int, help="(a) requests per round.")
    parser.add_argument("--concurrency", type=int, help="(a) requests in flight.")
    parser.add_argument("--latency-requests", type=int, help="(d) sequential requests.")
    parser.add_argument("--provision", type=int, help="(c) clinics per provisioning path.")
    parser.add_argument("--workers", type=int, default=2, help="Processes creating clinics.")
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set.")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Rewrite docs/benchmarks.md (default: on, off with --quick).",
    )
    parser.add_argument("--provision-worker", nargs=3, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--provision-timing", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    defaults = QUICK if options.quick else FULL
    for key, value in defaults.items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    options.clinics = sorted({int(n) for n in str(options.clinics).split(",")})
    if options.clinics[0] < 1:
        parser.error("--clinics: counts start at 1")
    if options.docs is None:
        options.docs = not options.quick
    return options


def _setup(database_url: str) -> None:
    """Django, with production settings, on the benchmark's database."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    for name, value in production_secrets().items():
        os.environ.setdefault(name, value)  # the servers it starts inherit them
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()


def _provision_worker(start: int, stop: int, step: int) -> None:
    """Child process: create the extra clinics ``range(start, stop, step)``."""
    _setup(os.environ["DATABASE_URL"])
    from benchmarks import dataset

    for index in range(start, stop, step):
        dataset.clinic_create(dataset.extra_subdomain(index))


def main(argv: list[str]) -> int:
    options = _arguments(argv)
    if options.provision_worker:
        _provision_worker(*options.provision_worker)
        return 0
    if options.provision_timing:
        _setup(os.environ["DATABASE_URL"])
        from benchmarks import suites

        print(json.dumps(suites.provisioning(options.provision_timing)))
        return 0
    began = time.monotonic()
    server = Server()
    if server.comment(BENCH_DATABASE) is None:
        server.create(BENCH_DATABASE)  # Django checks the database while it starts
    _setup(server.url(BENCH_DATABASE))
    from benchmarks import runner

    results = runner.run(server, options, log=_log)
    results["total_seconds"] = round(time.monotonic() - began, 1)
    from benchmarks import report

    command = "scripts/bench " + " ".join(argv) if argv else "scripts/bench"
    print(report.markdown(results, command=command))
    path = report.write_json(results, command=command)
    _log(f"JSON: {path.relative_to(ROOT)}")
    if options.docs and not results.get("errors"):
        report.write_docs(results, command=command)
        _log("docs/benchmarks.md rewritten")
    elif options.docs:
        _log("docs/benchmarks.md left as it was: some sections failed")
    _log(f"done in {results['total_seconds']} s")
    if results.get("errors"):
        _log(f"FAILED sections: {', '.join(results['errors'])}")
        return 1
    return 0


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
