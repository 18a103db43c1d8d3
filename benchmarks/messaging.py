"""``scripts/bench --messaging``: what reminders cost, measured side by side in one run.

In a database of its own (``dental_bench_messaging``), on a fixed seed:

(a) **Booking with reminders on against off.** The same bookings through the production
    service (``appointment_schedule``, one transaction each, as a request's), alternating rounds
    with the clinic's messaging enabled and disabled: median milliseconds per booking, the
    ratio, and SQL statements per booking in each mode.
(b) **Worker throughput.** N due SMS notifications sent by one ``manage.py worker --burst``
    process through the live SMS client to a local fake of the provider's REST API, against the
    same N through the development outbox (no HTTP): messages per second, side by side.
(c) **Planning for many clinics.** C clinics (default 1,000; 20 with ``--quick``) × 100
    appointments each, inserted without planning; then every appointment's messages planned
    through the scheduling hook, clinic by clinic in its own transaction: total seconds,
    per clinic and per appointment.

Results go to ``bench-results/messaging-<UTC>.json`` and, with ``--docs``, to
``docs/benchmarks-messaging.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

from benchmarks.database import BENCH_DATABASE, ROOT, Server

DATABASE = f"{BENCH_DATABASE}_messaging"
SEED = 20301107
MEASURED = "bench-msg"
PLAN_PREFIX = "bench-plan"
DAY = dt.date(2031, 3, 3)  # a Monday far in the future: every message is planned, none sent
SMS_SENDER = "+51900000001"
WHATSAPP_SENDER = "100000000000001"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench --messaging", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small counts: a few minutes.")
    parser.add_argument("--rounds", type=int, help="(a) rounds per mode.")
    parser.add_argument("--bookings", type=int, help="(a) bookings per round.")
    parser.add_argument("--messages", type=int, help="(b) messages per run.")
    parser.add_argument("--concurrency", type=int, default=4, help="(b) the worker's.")
    parser.add_argument("--clinics", type=int, help="(c) clinics.")
    parser.add_argument("--per-clinic", type=int, default=100, help="(c) appointments each.")
    parser.add_argument("--workers", type=int, default=2, help="Processes creating clinics.")
    parser.add_argument("--docs", action="store_true", help="Write docs/benchmarks-messaging.md.")
    parser.add_argument(
        "--only", help="Comma-separated sections to run: booking, worker, planning (default all)."
    )
    options = parser.parse_args(argv)
    quick = {"rounds": 3, "bookings": 20, "messages": 100, "clinics": 20}
    full = {"rounds": 7, "bookings": 50, "messages": 500, "clinics": 1000}
    for key, value in (quick if options.quick else full).items():
        if getattr(options, key) is None:
            setattr(options, key, value)
    return options


def _log(message: str) -> None:
    print(f"[messaging {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- data ----------------------------------------------------------------------------------


def _measured_clinic() -> Any:
    """The measured clinic: 10 professionals and chairs, 400 patients with phone and email,
    a WhatsApp and an SMS sender. Made once per database."""
    from backend.core.tenancy import clinic_context, public_context
    from backend.resources.models import WorkingHours
    from benchmarks import dataset
    from tenants_core.models import Clinic, MessagingSender

    clinic = Clinic.objects.filter(subdomain=MEASURED).first()
    if clinic is not None:
        with clinic_context(clinic):
            if WorkingHours.objects.exists():
                return clinic
        raise RuntimeError(f"{MEASURED} is incomplete: drop the database {DATABASE} and run again")
    clinic = dataset.clinic_create(MEASURED, plan="enterprise")
    with public_context():
        MessagingSender.objects.create(clinic=clinic, channel="SMS", external_id=SMS_SENDER)
        MessagingSender.objects.create(
            clinic=clinic, channel="WHATSAPP", external_id=WHATSAPP_SENDER
        )
    with clinic_context(clinic):
        dataset.front_desk_seed(
            seed=SEED, document_base=50_000_000, phone_prefix="+5198", license_base=20000
        )
    return clinic


def _slots(day: dt.date, count: int) -> list[tuple[int, dt.datetime]]:
    """``count`` non-overlapping 30-minute slots on ``day`` (clinic time), spread over the 10
    professionals: (professional index, start)."""
    from benchmarks.dataset import ZONE

    start = dt.datetime.combine(day, dt.time(8), ZONE)
    return [(n % 10, start + dt.timedelta(minutes=30 * (n // 10))) for n in range(count)]


# --- (a) booking with reminders on and off --------------------------------------------------


def booking_cost(clinic: Any, *, rounds: int, bookings: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from backend.accounts.models import User
    from backend.core.tenancy import clinic_context
    from backend.notifications.models import MessagingSettings
    from backend.patients.models import Patient
    from backend.resources.models import Chair, Professional
    from backend.scheduling.models import Appointment
    from backend.scheduling.services import appointment_schedule
    from benchmarks.stats import median, ms, ratio

    with clinic_context(clinic):
        admin = User.objects.order_by("pk").first()
        professionals = list(Professional.objects.order_by("pk"))
        chairs = list(Chair.objects.order_by("pk"))
        patients = list(Patient.objects.order_by("pk"))
        # Each run books days of its own, after whatever an earlier run booked.
        last = (
            Appointment.objects.order_by("-starts_at").values_list("starts_at", flat=True).first()
        )
    samples: dict[str, list[float]] = {"on": [], "off": []}
    statements: dict[str, int] = {}
    day = max(DAY + dt.timedelta(days=7), last.date() if last else DAY)
    for round_ in range(rounds):
        order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
        for mode in order:
            with clinic_context(clinic):
                MessagingSettings.objects.update_or_create(pk=1, defaults={"enabled": mode == "on"})
            day += dt.timedelta(days=1)
            for n, (which, starts) in enumerate(_slots(day, bookings)):
                began = time.perf_counter()
                with clinic_context(clinic), CaptureQueriesContext(connection) as queries:
                    appointment_schedule(
                        actor=admin,
                        patient=patients[(round_ * 97 + n) % len(patients)],
                        professional=professionals[which],
                        chair=chairs[which],
                        starts_at=starts,
                        ends_at=starts + dt.timedelta(minutes=30),
                    )
                samples[mode].append(time.perf_counter() - began)
                statements.setdefault(mode, len(queries))
    with clinic_context(clinic):
        MessagingSettings.objects.update_or_create(pk=1, defaults={"enabled": True})
    on, off = median(samples["on"]), median(samples["off"])
    return {
        "bookings_per_mode": len(samples["on"]),
        "median_ms_on": ms(on),
        "median_ms_off": ms(off),
        "ratio_on_over_off": ratio(on, off),
        "extra_ms": ms(on - off),
        "statements_on": statements.get("on"),
        "statements_off": statements.get("off"),
    }


# --- (b) worker throughput ------------------------------------------------------------------


def _forget_jobs() -> None:
    """The queue's pending send jobs from earlier runs (this benchmark's database only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM procrastinate_jobs WHERE status = 'todo' AND task_name = %s",
            ["notifications.send"],
        )


def _due_notifications(clinic: Any, count: int) -> None:
    """``count`` SMS notifications due now, each with its job deferred (committed). The
    month's usage starts at zero, so that the plan's quota never holds them."""
    from django.utils import timezone

    from backend.core.tenancy import clinic_context
    from backend.jobs.runtime import clinic_job
    from backend.notifications.models import MessageUsage, Notification, NotificationStatus
    from backend.notifications.tasks import send_notification
    from backend.scheduling.models import Appointment

    _forget_jobs()
    with clinic_context(clinic):
        MessageUsage.objects.all().delete()
        appointments = list(Appointment.objects.select_related("patient").order_by("pk")[:count])
        if len(appointments) < count:
            raise RuntimeError(f"(b) needs {count} appointments; run (a) first")
        now = timezone.now()
        rows = Notification.objects.bulk_create(
            Notification(
                kind="REMINDER",
                channel="SMS",
                status=NotificationStatus.SCHEDULED,
                patient=appointment.patient,
                appointment=appointment,
                send_at=now,
                recipient=appointment.patient.phone,
            )
            for appointment in appointments
        )
        for row in rows:
            clinic_job(send_notification, notification_id=row.pk)


def worker_throughput(clinic: Any, *, messages: int, concurrency: int) -> dict[str, Any]:
    from django.db import connection

    from benchmarks.server import child_env
    from tests.fakes.sms import FakeSms  # a real HTTP server checking Twilio's request shape

    database_url = os.environ["DATABASE_URL"]
    figures: dict[str, Any] = {"messages": messages, "concurrency": concurrency}
    provider = FakeSms(account_sid="AC" + "b" * 32, auth_token="bench-token", numbers={SMS_SENDER})
    provider.start()
    try:
        for mode, extra in (
            ("outbox", {"MESSAGING_BACKEND": "outbox"}),
            (
                "live_fake_sms",
                {
                    "MESSAGING_BACKEND": "live",
                    "SMS_API_BASE_URL": provider.url,
                    "SMS_ACCOUNT_SID": provider.account_sid,
                    "SMS_AUTH_TOKEN": provider.auth_token,
                },
            ),
        ):
            _due_notifications(clinic, messages)
            with connection.cursor() as cursor:
                cursor.execute("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
                first_job = cursor.fetchone()[0] - messages
            env = child_env(database_url, JOB_LOG_LEVEL="WARNING", **extra)
            began = time.perf_counter()
            subprocess.run(
                [sys.executable, "manage.py", "worker", "--burst", "--no-periodic",
                 "--concurrency", str(concurrency)],
                cwd=ROOT, env=env, check=True,
            )  # fmt: skip
            seconds = time.perf_counter() - began
            # The steady rate: first job started → last job done (no process start-up).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(DISTINCT j.id) FILTER (WHERE e.type = 'succeeded'),"
                    " extract(epoch FROM max(e.at) FILTER (WHERE e.type = 'succeeded')"
                    " - min(e.at) FILTER (WHERE e.type = 'started'))"
                    " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
                    " WHERE j.id > %s AND j.task_name = 'notifications.send'",
                    [first_job],
                )
                done, span = cursor.fetchone()
            figures[mode] = {
                "succeeded": done,
                "wall_seconds_with_startup": round(seconds, 2),
                "sending_seconds": round(float(span), 2),
                "messages_per_second": round(done / float(span), 1),
            }
        figures["provider_accepted"] = len(provider.accepted())
    finally:
        provider.stop()
    figures["ratio_live_over_outbox"] = round(
        figures["live_fake_sms"]["messages_per_second"] / figures["outbox"]["messages_per_second"],
        2,
    )
    return figures


# --- (c) planning for many clinics ----------------------------------------------------------


def _plan_clinics(count: int, workers: int) -> list[Any]:
    """The (c) clinics, created once per database by ``workers`` processes."""
    from tenants_core.models import Clinic, MessagingSender

    have = Clinic.objects.filter(subdomain__startswith=PLAN_PREFIX).count()
    if have < count:
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.messaging",
                    "--create-clinics",
                    str(have + worker),
                    str(count),
                    str(workers),
                ],
                cwd=ROOT,
                env=dict(os.environ),
            )
            for worker in range(min(workers, count - have))
        ]
        if any(process.wait() != 0 for process in processes):
            raise RuntimeError("clinic creation failed")
    clinics = list(
        Clinic.objects.filter(subdomain__startswith=PLAN_PREFIX).order_by("subdomain")[:count]
    )
    # Each with its own WhatsApp number, as a clinic that sends reminders has.
    MessagingSender.objects.bulk_create(
        (
            MessagingSender(clinic=clinic, channel="WHATSAPP", external_id=f"2{clinic.pk:014d}")
            for clinic in clinics
        ),
        ignore_conflicts=True,
    )
    return clinics


def planning(*, clinics: int, per_clinic: int, workers: int) -> dict[str, Any]:
    from backend.core.tenancy import clinic_context
    from backend.notifications.delivery import appointment_messages_plan
    from backend.notifications.models import Notification
    from backend.patients.models import Patient
    from backend.resources.models import Chair, Professional
    from backend.scheduling.hooks import AppointmentEvent
    from backend.scheduling.models import Appointment
    from benchmarks.stats import median, ms, p95

    targets = _plan_clinics(clinics, workers)
    _forget_jobs()
    # 100 appointments per clinic, inserted directly (no planning), the same in every clinic.
    for clinic in targets:
        with clinic_context(clinic):
            if Appointment.objects.exists():
                Notification.objects.all().delete()
                continue
            professionals = Professional.objects.bulk_create(
                Professional(full_name=f"Dr. Plan {i}", license_number=f"{30000 + i}")
                for i in range(10)
            )
            chairs = Chair.objects.bulk_create(Chair(name=f"Sillón {i + 1}") for i in range(10))
            patients = Patient.objects.bulk_create(
                Patient(first_name="Plan", last_name=f"Paciente {i}", document_type="DNI",
                        document_number=f"{60_000_000 + i}", phone=f"+5197{i:07d}")
                for i in range(per_clinic)
            )  # fmt: skip
            Appointment.objects.bulk_create(
                Appointment(patient=patients[n], professional=professionals[which],
                            chair=chairs[which], starts_at=starts,
                            ends_at=starts + dt.timedelta(minutes=30))
                for n, (which, starts) in enumerate(_slots(DAY, per_clinic))
            )  # fmt: skip
    per_clinic_seconds: list[float] = []
    planned = 0
    began = time.perf_counter()
    for clinic in targets:
        started = time.perf_counter()
        with clinic_context(clinic):
            for appointment in Appointment.objects.select_related("patient").order_by("pk"):
                appointment_messages_plan(appointment, AppointmentEvent.SCHEDULED)
            planned += Notification.objects.count()
        per_clinic_seconds.append(time.perf_counter() - started)
    total = time.perf_counter() - began
    appointments = len(targets) * per_clinic
    return {
        "clinics": len(targets),
        "appointments": appointments,
        "notifications_planned": planned,
        "total_seconds": round(total, 1),
        "per_clinic_ms_median": ms(median(per_clinic_seconds)),
        "per_clinic_ms_p95": ms(p95(per_clinic_seconds)),
        "per_appointment_ms": ms(total / appointments) if appointments else None,
    }


# --- the run --------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    a, b, c = results.get("booking", {}), results.get("worker", {}), results.get("planning", {})
    lines = [
        f"Run: {results['started_at']} (UTC), `{results['command']}`, "
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}.",
        "",
        "### (a) Booking with reminders on vs off (median per booking, one transaction each)",
        "",
        "| reminders on (ms) | off (ms) | on ÷ off | extra (ms) | statements on / off |",
        "|---|---|---|---|---|",
        f"| {a.get('median_ms_on')} | {a.get('median_ms_off')} | {a.get('ratio_on_over_off')}× "
        f"| {a.get('extra_ms')} | {a.get('statements_on')} / {a.get('statements_off')} |",
        "",
        f"### (b) Worker throughput, {b.get('messages')} messages, concurrency "
        f"{b.get('concurrency')} (one worker process)",
        "",
        "| development outbox (msg/s) | live SMS client → local fake provider (msg/s) | ratio |",
        "|---|---|---|",
        f"| {b.get('outbox', {}).get('messages_per_second')} "
        f"| {b.get('live_fake_sms', {}).get('messages_per_second')} "
        f"| {b.get('ratio_live_over_outbox')}× |",
        "",
        f"### (c) Planning reminders: {c.get('clinics')} clinics × "
        f"{(c.get('appointments') or 0) // max(c.get('clinics') or 1, 1)} appointments",
        "",
        "| appointments | messages planned | total (s) | per clinic, median / p95 (ms) "
        "| per appointment (ms) |",
        "|---|---|---|---|---|",
        f"| {c.get('appointments')} | {c.get('notifications_planned')} | {c.get('total_seconds')} "
        f"| {c.get('per_clinic_ms_median')} / {c.get('per_clinic_ms_p95')} "
        f"| {c.get('per_appointment_ms')} |",
    ]
    if results.get("errors"):
        lines += ["", f"Failed sections: {json.dumps(results['errors'])}"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--create-clinics"]:
        from benchmarks.__main__ import _setup

        _setup(os.environ["DATABASE_URL"])
        from benchmarks import dataset

        first, stop, step = (int(x) for x in argv[1:4])
        for index in range(first, stop, step):
            dataset.clinic_create(f"{PLAN_PREFIX}{index:05d}")
        return 0
    options = _arguments(argv)
    server = Server()
    if server.comment(DATABASE) is None:
        server.create(DATABASE)
        server.set_comment(DATABASE, "messaging")
    from benchmarks.__main__ import _setup

    _setup(server.url(DATABASE))
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate_schemas", verbosity=0)
    command = "scripts/bench --messaging " + " ".join(argv)
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "options": vars(options),
    }
    clinic = _measured_clinic()
    sections = [
        ("booking", lambda: booking_cost(clinic, rounds=options.rounds, bookings=options.bookings)),
        ("worker", lambda: worker_throughput(
            clinic, messages=options.messages, concurrency=options.concurrency)),
        ("planning", lambda: planning(
            clinics=options.clinics, per_clinic=options.per_clinic, workers=options.workers)),
    ]  # fmt: skip
    wanted = set(options.only.split(",")) if options.only else {key for key, _ in sections}
    for key, section in sections:
        if key not in wanted:
            continue
        _log(f"({key}) …")
        try:
            results[key] = section()
        except Exception as error:  # one broken section must not lose the others' figures
            _log(f"    FAILED: {type(error).__name__}: {error}")
            results.setdefault("errors", {})[key] = f"{type(error).__name__}: {error}"[:2000]
        else:
            _log(f"    {json.dumps(results[key])}")
        connections.close_all()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = ROOT / "bench-results" / f"messaging-{stamp}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))
    text = markdown(results)
    print(text)
    if options.docs and not results.get("errors"):
        (ROOT / "docs" / "benchmarks-messaging.md").write_text(
            "# Messaging benchmarks\n\nRegenerated by `scripts/bench --messaging --docs`; "
            "see `benchmarks/messaging.py` for what each section does.\n\n" + text + "\n"
        )
    _log(f"JSON: {path.relative_to(ROOT)}")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
