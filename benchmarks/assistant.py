"""``scripts/bench --assistant``: how fast the assistant answers without a language model.

In a database of its own (``dental_bench_assistant``), on a fixed seed: one clinic with 10
professionals working 7:00–21:00 every day, 10 chairs, 400 patients and a 20-procedure
catalog. Scripted conversations (questions, a booking as a new patient, and a verified
cancellation with the code read from the development outbox) go through Django's whole stack
in this process (middleware, GraphQL, the service, PostgreSQL), as a request would, with no
network in between. Beside them, in the same run, the same client asks ``currentClinic``: a
trivial GraphQL request, the floor every request pays.

Reported: p50, p95 and max milliseconds per kind of message, overall p95 and its ratio to the
floor, and SQL statements per message. Results go to ``bench-results/assistant-<UTC>.json`` and,
with ``--docs``, to the "Speed" section of ``docs/assistant.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import sys
import time
from decimal import Decimal
from typing import Any

from benchmarks.database import BENCH_DATABASE, ROOT, Server

DATABASE = f"{BENCH_DATABASE}_assistant"
SEED = 20261130
MEASURED = "bench-assistant"
SEND = """mutation($input: AssistantMessageInput!) { assistantMessage(input: $input) {
  __typename ... on AssistantReply { conversationId text intent quickReplies handedOff }
  ... on OperationInfo { messages { code } } } }"""
FLOOR = "{ currentClinic { name } }"
QUESTIONS = [
    "hola",
    "¿a qué hora atienden?",
    "¿atienden los sábados?",
    "¿dónde quedan?",
    "¿tienen número de teléfono?",
    "¿a cuánto está la limpieza?",
    "cuanto sale una curacion",
    "¿qué servicios tienen?",
    "gracias",
]
PROCEDURES = [
    ("Consulta y evaluación", "60.00", 30), ("Limpieza dental (profilaxis)", "80.00", 30),
    ("Curación con resina", "120.00", 45), ("Extracción simple", "150.00", 45),
    ("Endodoncia (tratamiento de conducto)", "450.00", 90), ("Blanqueamiento", "600.00", 60),
    ("Corona de porcelana", "900.00", 60), ("Implante dental", "2500.00", 90),
    ("Ortodoncia: control mensual", "150.00", 30), ("Radiografía panorámica", "70.00", 15),
    *((f"Procedimiento {n}", f"{100 + n}.00", 30) for n in range(10)),
]  # fmt: skip


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --assistant", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Few conversations: a minute.")
    parser.add_argument("--rounds", type=int, help="Rounds of the scripted conversations.")
    parser.add_argument("--docs", action="store_true", help="Write docs/assistant.md's figures.")
    options = parser.parse_args(argv)
    if options.rounds is None:
        options.rounds = 3 if options.quick else 20
    return options


def _log(message: str) -> None:
    print(f"[assistant {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def measured_clinic() -> Any:
    """The measured clinic, made once per database."""
    from backend.clinic_admin.models import ClinicProfile, OpeningShift
    from backend.core.tenancy import clinic_context
    from backend.treatments.models import Procedure
    from benchmarks import dataset
    from tenants_core.models import Clinic

    clinic = Clinic.objects.filter(subdomain=MEASURED).first()
    if clinic is not None:
        return clinic
    clinic = dataset.clinic_create(MEASURED, plan="enterprise")
    with clinic_context(clinic):
        ClinicProfile.objects.filter(pk=1).update(
            address_line="Av. Larco 345", district="Miraflores", phone="+5114441234"
        )
        OpeningShift.objects.bulk_create(
            OpeningShift(weekday=day, opens_at=dt.time(7), closes_at=dt.time(21))
            for day in range(1, 8)
        )
        dataset.front_desk_seed(
            seed=SEED, document_base=60_000_000, phone_prefix="+5197", license_base=30000
        )
        Procedure.objects.bulk_create(
            Procedure(
                code=f"B{n:03d}",
                name=name,
                category="GENERAL",
                default_price=Decimal(price),
                default_duration_minutes=minutes,
            )
            for n, (name, price, minutes) in enumerate(PROCEDURES)
        )
    return clinic


class Timer:
    """Django's test client on the clinic's host: each call timed, its statements counted."""

    def __init__(self, host: str) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST=host, REMOTE_ADDR="198.51.100.7")
        self.samples: dict[str, list[float]] = {}
        self.statements: dict[str, list[int]] = {}

    def post(self, kind: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            response = self.client.post(
                "/graphql",
                data={"query": query, "variables": variables},
                content_type="application/json",
            )
            elapsed = time.perf_counter() - began
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"{kind}: {response.status_code} {body}")
        self.samples.setdefault(kind, []).append(elapsed)
        self.statements.setdefault(kind, []).append(len(queries))
        return body["data"]


class Conversation:
    def __init__(self, timer: Timer) -> None:
        self.timer, self.conversation_id = timer, None

    def say(self, kind: str, text: str) -> dict[str, Any]:
        data = self.timer.post(
            kind, SEND, {"input": {"conversationId": self.conversation_id, "text": text}}
        )
        reply = data["assistantMessage"]
        if reply["__typename"] != "AssistantReply":
            raise RuntimeError(f"{kind}: {reply}")
        self.conversation_id = reply["conversationId"]
        return reply


def _latest_code(clinic: Any) -> str:
    from backend.core.tenancy import clinic_context
    from backend.notifications.models import Notification

    # The code waits on its row until the worker sends it (a worker, not the request, does).
    with clinic_context(clinic):
        return Notification.objects.filter(kind="VERIFICATION_CODE").latest("id").one_time_code


def run_conversations(clinic: Any, host: str, *, rounds: int) -> dict[str, Any]:
    from benchmarks.stats import median, ms, p95, ratio

    timer = Timer(host)
    rng = random.Random(SEED)
    for round_ in range(rounds + 1):
        if round_ == 1:  # the first round warms the process up (imports, caches): not counted
            timer.samples.clear()
            timer.statements.clear()
        timer.post("floor (currentClinic)", FLOOR, {})
        chat = Conversation(timer)
        for text in rng.sample(QUESTIONS, 4):
            chat.say("question", text)
        booking = Conversation(timer)
        booking.say("booking: ask for times", "quiero separar una cita para mañana en la tarde")
        booking.say("booking: step", "1")
        dni = f"{70_000_000 + round_ * 7919 + rng.randrange(7000):08d}"
        booking.say("booking: step", dni)
        booking.say("booking: step", "Lucía Ramos")
        booking.say("booking: step", f"98{rng.randrange(10_000_000):07d}")
        done = booking.say("booking: book", "sí")
        if not done["text"]:
            raise RuntimeError(f"booking failed: {done}")
        cancel = Conversation(timer)
        cancel.say("cancel: verify", "quiero cancelar mi cita")
        cancel.say("cancel: send code", dni)
        cancel.say("cancel: check code", _latest_code(clinic))
        cancel.say("cancel: cancel", "sí")
        timer.post("floor (currentClinic)", FLOOR, {})
    replies = [
        value for kind, values in timer.samples.items() if not kind.startswith("floor")
        for value in values
    ]  # fmt: skip
    floor = timer.samples["floor (currentClinic)"]
    return {
        "rounds": rounds,
        "messages": len(replies),
        "p50_ms": ms(median(replies)),
        "p95_ms": ms(p95(replies)),
        "max_ms": ms(max(replies)),
        "floor_p95_ms": ms(p95(floor)),
        "p95_over_floor": ratio(p95(replies), p95(floor)),
        "by_kind": {
            kind: {
                "count": len(values),
                "p50_ms": ms(median(values)),
                "p95_ms": ms(p95(values)),
                "max_ms": ms(max(values)),
                "statements": max(timer.statements[kind]),
            }
            for kind, values in sorted(timer.samples.items())
        },
    }


def markdown(results: dict[str, Any]) -> str:
    section = results["conversations"]
    lines = [
        f"Measured by `{results['command']}` on {results['started_at']} "
        f"({results['machine']['cpus']} cores, Python {results['machine']['python']}): "
        f"{section['messages']} messages in {section['rounds']} rounds of scripted "
        "conversations, through Django's whole stack in one process.",
        "",
        f"**p95 reply: {section['p95_ms']} ms** (p50 {section['p50_ms']} ms, max "
        f"{section['max_ms']} ms); a trivial `currentClinic` request's p95 in the same run: "
        f"{section['floor_p95_ms']} ms, so the p95 reply costs {section['p95_over_floor']}× "
        "the floor.",
        "",
        "| Message | Count | p50 ms | p95 ms | max ms | SQL statements (max) |",
        "|---|---|---|---|---|---|",
    ]
    for kind, row in section["by_kind"].items():
        lines.append(
            f"| {kind} | {row['count']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} "
            f"| {row['statements']} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    options = _arguments(argv)
    server = Server()
    if server.comment(DATABASE) is None:
        server.create(DATABASE)
        server.set_comment(DATABASE, "assistant")
    from benchmarks.__main__ import _setup

    os.environ["MESSAGING_BACKEND"] = "outbox"  # the code is read from the outbox
    # One client sends every message: the per-address limit would stop the run.
    os.environ["ASSISTANT_RATE_PER_IP"] = "1000000"
    _setup(server.url(DATABASE))
    from django.core.management import call_command

    from tenants_core.models import Domain

    call_command("migrate_schemas", verbosity=0)
    clinic = measured_clinic()
    host = Domain.objects.filter(tenant=clinic, is_primary=True).values_list("domain", flat=True)[0]
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": ("scripts/bench --assistant " + " ".join(argv)).strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    _log(f"{options.rounds} rounds on {host} …")
    results["conversations"] = run_conversations(clinic, host, rounds=options.rounds)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench-results" / f"assistant-{stamp}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    text = markdown(results)
    print(text)
    if options.docs:
        _docs_write(text)
    return 0


def _docs_write(text: str) -> None:
    path = ROOT / "docs" / "assistant.md"
    current = path.read_text(encoding="utf-8") if path.exists() else "# The patient assistant\n"
    start = "<!-- speed:start -->"
    end = "<!-- speed:end -->"
    block = f"{start}\n{text}\n{end}"
    if start in current:
        current = re.sub(f"{start}.*?{end}", lambda _m: block, current, flags=re.DOTALL)
    else:
        current = current.rstrip() + "\n\n## Speed\n\n" + block + "\n"
    path.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
