"""Mutation testing of the modules where a silent change hurts most (``scripts/mutation``).

For each target of ``tests/mutation/plan.py``:

1. Cosmic Ray lists the mutants of its files (``cosmic-ray init``), with this project's
   operators on top of its own (``tests/mutation/operators.py``); ``selection.py`` keeps
   those worth a run.
2. The target's tests run once unmutated (they must pass; their time sets the timeout).
3. Each mutant is written into a scratch copy of the checkout (``.mutation/work``, so the
   checkout itself never holds a mutant), and the target's tests run there in a fresh
   ``pytest -x`` against one kept test database. A failing test kills the mutant.

Results are kept per target in ``.mutation/<target>.sqlite`` (``--resume`` carries on where
an interrupted run stopped), and summed up in ``.mutation/report.md``, with the diff of
every survivor. ``--record`` writes the scores into ``docs/testing.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".mutation"
WORK = STATE / "work"
DOCS = ROOT / "docs" / "testing.md"
SCORES_START = "<!-- mutation-scores:start (scripts/mutation --record) -->"
SCORES_END = "<!-- mutation-scores:end -->"

# What every mutant's pytest gets: stop at the first failure, no cache writes into the copy,
# the kept database, and no hypothesis or faker plugin (their imports cost ~4 s of CPU per
# process; a test that uses hypothesis imports it itself and runs the same).
PYTEST = (
    "-m pytest -x -q -p no:cacheprovider -p no:faker -p no:hypothesispytest"
    " -p tests.mutation.kept_database --reuse-db"
)


@dataclass
class Outcome:
    target: str
    mutants: int
    killed: int
    survived: int
    incompetent: int
    seconds: float
    baseline_seconds: float
    survivors: list[str]
    unsampled: int = 0
    killed_by_added: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        tested = self.killed + self.survived
        return self.killed / tested if tested else 1.0


def say(message: str) -> None:
    print(message, flush=True)


def copy_checkout() -> None:
    """The checkout's files (tracked, and new ones git does not ignore) into ``WORK``, with
    their bytecode compiled once there: a mutant's process then compiles only its one
    mutated module (Cosmic Ray runs tests with ``PYTHONDONTWRITEBYTECODE``)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    if WORK.exists():
        shutil.rmtree(WORK)
    for raw in listed:
        if not raw:
            continue
        relative = Path(os.fsdecode(raw))
        source = ROOT / relative
        if relative.parts[0] == ".mutation" or not source.is_file():
            continue
        (WORK / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, WORK / relative)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "backend", "tenants_core",
         "graphql_api", "devtools", "tests"],
        cwd=WORK, check=True,
    )  # fmt: skip


def environment() -> None:
    """Every test process (and the uvicorn it starts) imports the copy, and shares the
    checkout's embedded PostgreSQL (``DATA_DIR``), which this process keeps running."""
    os.environ["PYTHONPATH"] = str(WORK)
    os.environ["DATA_DIR"] = os.environ.get("DATA_DIR") or str(ROOT / ".data")
    os.environ["DEBUG"] = os.environ.get("DEBUG", "1")
    os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings"
    os.chdir(WORK)


def hold_the_database() -> None:
    """Load the settings here: the embedded server stops when its last user exits, and
    restarting it for every mutant would cost seconds each."""
    import logging

    import django

    django.setup()
    logging.getLogger("cosmic_ray").setLevel(logging.WARNING)  # it narrates every mutant


def build_database() -> None:
    """Drop the kept test database and let a first, small session build and seed it."""
    from django.db import connection

    from tests.mutation.kept_database import NAME

    say(f"Building the kept test database ({NAME}) ...")
    started = time.monotonic()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    command = [sys.executable, *PYTEST.split(), "tests/tenants_core/test_plans.py"]
    subprocess.run(command, cwd=WORK, check=True)
    say(f"  built in {time.monotonic() - started:.0f} s")


def enum_members(enums: dict[str, str]) -> dict[str, list[str]]:
    members = {}
    for alias, path in enums.items():
        module, _, name = path.rpartition(".")
        members[alias] = [m.name for m in getattr(importlib.import_module(module), name)]
    return members


def sources_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def forget_survivors(session: Path, digest: str) -> None:
    """Test the survivors of the last run again, and only them: tests were added, none was
    weakened, so what was killed stays killed. Valid only for the same source files, since
    mutants are stored by position."""
    recorded = session.with_suffix(".sources")
    if not recorded.exists() or recorded.read_text() != digest:
        raise SystemExit(f"{session.stem}: its files changed since the last run; run it afresh")
    with sqlite3.connect(session) as db:
        db.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'")


def run_target(
    name: str, *, resume: bool, survivors: bool = False, sample: int | None = None
) -> Outcome:
    from cosmic_ray.commands import init
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.testing import run_tests
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    from tests.mutation.plan import target
    from tests.mutation.selection import Selector

    chosen = target(name)
    # A test file the table names but this checkout lacks (a branch without it) is left out
    # with a word; tests/mutation/test_plan.py fails on it in an ordinary run.
    named = (*chosen.tests, *chosen.added)
    present = [t for t in named if (WORK / t.partition("::")[0]).is_file()]
    for missing in sorted(set(named) - set(present)):
        say(f"  (no {missing} in this checkout: left out)")
    tests = " ".join([*present, *(f"--deselect {t}" for t in chosen.deselect)])
    command = f"{sys.executable} {PYTEST} {tests}"
    session = STATE / f"{chosen.name}.sqlite"
    say(f"\n== {chosen.name}: {chosen.what}")

    started = time.monotonic()
    outcome, output = run_tests(command, timeout=1800)
    baseline = time.monotonic() - started
    if outcome != TestOutcome.SURVIVED:  # "survived" is Cosmic Ray's word for "all passed"
        say(output)
        raise SystemExit(f"{chosen.name}: the tests fail without any mutant; fix them first")
    timeout = max(60.0, 3 * baseline)
    say(f"  unmutated tests pass in {baseline:.1f} s; a mutant gets {timeout:.0f} s")

    paths = [WORK / s.path for s in chosen.sources]
    digest = sources_digest(paths)
    if survivors:
        forget_survivors(session, digest)
    fresh = not ((resume or survivors) and session.exists())
    with use_db(str(session), WorkDB.Mode.create) as db:
        if fresh:
            operators = {"dental/EnumSetMember": [{"members": enum_members(chosen.enums)}]}
            if not chosen.enums:
                operators = {}
            init(paths, db, operators)
            session.with_suffix(".sources").write_text(digest)
            selectors = {
                str(WORK / s.path): Selector.for_file(WORK / s.path, s.only) for s in chosen.sources
            }
            skipped = [
                item.job_id
                for item in db.work_items
                for m in item.mutations
                if not selectors[str(m.module_path)].runs(m.operator_name, m.start_pos, m.end_pos)
            ]
            db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
            if sample is not None:
                # A seeded sample: the same mutants on every run of the same code.
                population = sorted(
                    (str(m.module_path), m.operator_name, m.occurrence, item.job_id)
                    for item in db.pending_work_items
                    for m in item.mutations
                )
                picked = random.Random(0).sample(population, min(sample, len(population)))
                kept = {job_id for *_, job_id in picked}
                db.set_multiple_results(
                    [job_id for *_, job_id in population if job_id not in kept],
                    WorkResult(worker_outcome=WorkerOutcome.NO_TEST, output="not sampled"),
                )
        pending = sorted(db.pending_work_items, key=lambda w: (str(w.mutations[0].module_path),
                                                               w.mutations[0].start_pos))  # fmt: skip
        total = len(pending)
        for index, item in enumerate(pending, 1):
            mutation = item.mutations[0]
            began = time.monotonic()
            result = mutate_and_test(item.mutations, command, timeout)
            db.set_result(item.job_id, result)
            verdict = (result.test_outcome or result.worker_outcome).value
            where = f"{Path(mutation.module_path).relative_to(WORK)}:{mutation.start_pos[0]}"
            say(
                f"  [{index}/{total}] {where} {mutation.operator_name.split('/')[-1]}"
                f" → {verdict} ({time.monotonic() - began:.1f} s)"
            )
        seconds = time.monotonic() - started
        times = session.with_suffix(".json")
        if survivors and times.exists():  # the first run's time, plus this one's
            seconds += json.loads(times.read_text())["seconds"] - baseline
        times.write_text(json.dumps({"seconds": seconds, "baseline": baseline}))
        return summarise(chosen, db, seconds, baseline)


def report_target(name: str) -> Outcome:
    """The outcome of the last run of ``name``, from its session, without running anything."""
    from cosmic_ray.work_db import WorkDB, use_db

    from tests.mutation.plan import target

    session = STATE / f"{name}.sqlite"
    times = json.loads(session.with_suffix(".json").read_text())
    with use_db(str(session), WorkDB.Mode.open) as db:
        return summarise(target(name), db, times["seconds"], times["baseline"])


def killer(output: str | None) -> str:
    """The test that failed first, from pytest's summary ("timeout" if none did in time)."""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output or "", re.M)
    return found.group(1) if found else (output or "?").strip().splitlines()[-1][:80]


def summarise(chosen: Any, db: Any, seconds: float, baseline: float) -> Outcome:
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    counts: Counter[str] = Counter()
    survivors = []
    by_added = []
    for item, result in db.completed_work_items:  # type: ignore[attr-defined]
        if result.worker_outcome == WorkerOutcome.SKIPPED:
            continue
        if result.worker_outcome == WorkerOutcome.NO_TEST and result.output == "not sampled":
            counts["unsampled"] += 1
            continue
        if result.worker_outcome != WorkerOutcome.NORMAL:
            counts["incompetent"] += 1
            continue
        counts[str(result.test_outcome)] += 1
        if result.test_outcome == TestOutcome.KILLED:
            test = killer(result.output)
            if test.partition("::")[0] in chosen.added:
                by_added.append(f"{test}\n{result.diff}".replace(f"{WORK}/", ""))
        if result.test_outcome == TestOutcome.SURVIVED:
            survivors.append(
                f"{item.mutations[0].operator_name}\n{result.diff}".replace(f"{WORK}/", "")
            )
    return Outcome(
        target=chosen.name,
        mutants=sum(n for kind, n in counts.items() if kind != "unsampled"),
        killed=counts[str(TestOutcome.KILLED)],
        survived=counts[str(TestOutcome.SURVIVED)],
        incompetent=counts["incompetent"] + counts[str(TestOutcome.INCOMPETENT)],
        seconds=seconds,
        baseline_seconds=baseline,
        survivors=survivors,
        unsampled=counts["unsampled"],
        killed_by_added=by_added,
    )


def scores_table(outcomes: list[Outcome]) -> str:
    from tests.mutation.plan import target

    rows = [
        "| Target | Files | Mutants | Killed | Survived | Score | First killed by `added` | Tests alone"
        " | Run | Per mutant |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        files = ", ".join(
            f"`{s.path}`" + (f" ({', '.join(s.only)})" if s.only else "")
            for s in target(o.target).sources
        )
        if len(target(o.target).sources) > 3:
            files = (
                f"`{target(o.target).sources[0].path}` and {len(target(o.target).sources) - 1} more"
            )
        per_mutant = (o.seconds - o.baseline_seconds) / o.mutants if o.mutants else 0.0
        mutants = f"{o.mutants} of {o.mutants + o.unsampled}" if o.unsampled else str(o.mutants)
        rows.append(
            f"| {o.target} | {files} | {mutants} | {o.killed} | {o.survived} "
            f"| {o.score:.0%} | {len(o.killed_by_added)} | {o.baseline_seconds:.0f} s "
            f"| {o.seconds / 60:.1f} min "
            f"| {per_mutant:.1f} s |"
        )
    return "\n".join(rows)


def write_report(outcomes: list[Outcome]) -> Path:
    lines = ["# Mutation report", "", scores_table(outcomes), ""]
    for o in outcomes:
        lines += [f"## {o.target}: {len(o.survivors)} survivors", ""]
        lines += [f"```diff\n{survivor}\n```\n" for survivor in o.survivors]
        lines += [f"## {o.target}: killed first by the added tests", ""]
        lines += [f"```diff\n{kill}\n```\n" for kill in o.killed_by_added]
    report = STATE / "report.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    return report


def record(outcomes: list[Outcome]) -> None:
    """Replace the scores of the targets that ran in ``docs/testing.md``; rows of targets
    that did not run stay as they were."""
    text = DOCS.read_text(encoding="utf-8")
    head, _, rest = text.partition(SCORES_START)
    table, _, tail = rest.partition(SCORES_END)
    kept = {
        line.split("|")[1].strip(): line
        for line in table.strip().splitlines()[2:]
        if line.startswith("|")
    }
    new_rows = scores_table(outcomes).splitlines()
    for line in new_rows[2:]:
        kept[line.split("|")[1].strip()] = line
    from tests.mutation.plan import TARGETS

    ordered = [kept[t.name] for t in TARGETS if t.name in kept]
    body = "\n".join([*new_rows[:2], *ordered])
    DOCS.write_text(f"{head}{SCORES_START}\n{body}\n{SCORES_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from tests.mutation.plan import TARGETS

    parser = argparse.ArgumentParser(prog="scripts/mutation", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--resume", action="store_true", help="carry on an interrupted run")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="after adding tests: test again only the last run's survivors",
    )
    parser.add_argument("--record", action="store_true", help="write the scores to docs")
    parser.add_argument(
        "--report", action="store_true", help="sum up the last runs again, running nothing"
    )
    parser.add_argument(
        "--sample", type=int, metavar="N", help="run N mutants per target, a seeded sample"
    )
    args = parser.parse_args(argv)
    if args.list:
        for t in TARGETS:
            say(f"{t.name}: {t.what}\n  tests: {' '.join(t.tests)}")
        return 0
    names = args.targets or [t.name for t in TARGETS]
    if args.report:
        outcomes = [report_target(name) for name in names]
        say(f"{scores_table(outcomes)}\n\nSurvivors and their diffs: {write_report(outcomes)}")
        if args.record:
            record(outcomes)
        return 0

    from tests.mutation.operators import install

    install()
    STATE.mkdir(exist_ok=True)
    if not (args.resume and WORK.exists()):
        copy_checkout()
    environment()
    hold_the_database()
    build_database()
    outcomes = [
        run_target(name, resume=args.resume, survivors=args.survivors, sample=args.sample)
        for name in names
    ]
    say(f"\n{scores_table(outcomes)}\n\nSurvivors and their diffs: {write_report(outcomes)}")
    if args.record:
        record(outcomes)
        say(f"Scores recorded in {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
