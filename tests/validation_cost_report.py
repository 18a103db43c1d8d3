"""Prints the CPU time of parsing and validating each document of validation_cost_cases, as
markdown rows (docs/benchmarks.md, "Validation cost").

    python -m tests.validation_cost_report                 # this checkout
    python -m tests.validation_cost_report --root DIR      # another checkout's graphql_api

Each document runs in a child process limited to ``--cpu-limit`` seconds of CPU (the
exponential ones never finish on an unbounded pipeline), after one warm-up request, up to
``--runs`` times (or until 0.25 s of CPU), and the mean is printed: this machine's CPU clock
ticks every 4 ms, so one run is too coarse. Introspection is off (production). The time is the operation's own CPU time (``time.process_time``) from its start
to the end of validation, errors logged included; no database is needed. "refused" means
refused before execution (a parse or validation error).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import importlib.util, json, logging, os, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
import django
django.setup()
from django.conf import settings
settings.GRAPHQL_INTROSPECTION = False
logging.disable(logging.CRITICAL)
from strawberry.extensions import SchemaExtension
from graphql_api.schema import schema
spec = importlib.util.spec_from_file_location("cases", {cases!r})
cases = sys.modules["cases"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cases)

spent, refused = [], []

class Clock(SchemaExtension):
    def on_operation(self):
        start, self.end, self.refused = time.process_time(), None, True
        try:
            yield
        finally:
            spent.append((self.end or time.process_time()) - start)
            refused.append(self.refused)

    def on_validate(self):
        yield
        self.end = time.process_time()
        self.refused = bool(self.execution_context.pre_execution_errors)

schema.extensions = [Clock, *schema.extensions]
case = cases.CASES[{index}]
text = case.build()
schema.execute_sync("{{ __typename }}")  # warm: imports, translations, caches
spent.clear()
for run in range({runs}):
    schema.execute_sync(text + " " * run)  # a new text for the parse and validation caches
    if sum(spent) > 0.25:
        break
print(json.dumps({{"ms": sum(spent) / len(spent) * 1000, "refused": refused[-1]}}))
"""


def measure(root: Path, index: int, runs: int, cpu_limit: int) -> dict[str, object] | None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit, cpu_limit))

    cases = str(HERE / "validation_cost_cases.py")
    code = CHILD.format(root=str(root), cases=cases, index=index, runs=runs)
    env = {**os.environ, "DEBUG": "1", "PYTHONPATH": str(root)}
    child = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True,
        preexec_fn=limit, check=False,
    )  # fmt: skip
    lines = child.stdout.strip().splitlines()
    return json.loads(lines[-1]) if child.returncode == 0 and lines else None


def main() -> None:
    from tests.validation_cost_cases import CASES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE.parent)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cpu-limit", type=int, default=10)
    args = parser.parse_args()
    for index, case in enumerate(CASES):
        result = measure(args.root.resolve(), index, args.runs, args.cpu_limit)
        if result is None:
            figure = f"> {args.cpu_limit} s"
        else:
            figure = f"{result['ms']:.1f} ms, {'refused' if result['refused'] else 'accepted'}"
        print(f"| {case.name} | {figure} |", flush=True)


if __name__ == "__main__":
    main()
