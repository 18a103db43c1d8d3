"""Transcripts are deleted per the clinic's retention setting: conversations quiet for longer
than ``transcript_retention_days`` go with their messages and codes, in batches, audited once
per run with the count; a conversation a person still owes an answer (HANDED_OFF,
TAKEN_OVER) is kept; another clinic's are its own business. The daily job fans out per active
clinic and continues in a new job (a new transaction) when the backlog outgrows one run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context
from procrastinate.contrib.django.models import ProcrastinateJob

from backend.assistant import retention, tasks
from backend.assistant.models import (
    AssistantSettings,
    Conversation,
    ConversationMessage,
    VerificationCode,
)
from backend.audit.models import AuditEvent
from backend.jobs.runtime import active_clinics, app
from tests.assistant.staff.support import conversation
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _retention(days: int) -> None:
    AssistantSettings.objects.update_or_create(pk=1, defaults={"transcript_retention_days": days})


def test_expired_conversations_go_with_their_messages_and_codes_unless_someone_owes_an_answer(
    clinic1,
):
    with tenant_context(clinic1):
        _retention(30)
        patient = PatientFactory()
        expired = [
            conversation(ago=31 * DAY, status=status, messages=[("PATIENT", "hola")] * 2)
            for status in ("OPEN", "CLOSED")
        ]
        VerificationCode.objects.create(
            conversation=expired[0], patient=patient, code_hash="x" * 64,
            expires_at=timezone.now() - 30 * DAY,
        )  # fmt: skip
        waiting = [
            conversation(ago=400 * DAY, status=status, messages=[("PATIENT", "¿hola?")])
            for status in ("HANDED_OFF", "TAKEN_OVER")
        ]
        recent = conversation(ago=29 * DAY, messages=[("PATIENT", "hola")])
        result = retention.transcripts_purge()
        # The waiting ones stay, without their messages older than the period (2 more).
        assert (result.conversations, result.messages, result.more) == (2, 6, False)
        assert set(Conversation.objects.values_list("pk", flat=True)) == {
            waiting[0].pk, waiting[1].pk, recent.pk,
        }  # fmt: skip
        assert not ConversationMessage.objects.filter(conversation_id__in=[c.pk for c in expired])
        assert not VerificationCode.objects.exists()
        [event] = AuditEvent.objects.filter(action="assistant.purge_transcripts")
        assert event.actor_id is None
        assert (event.changes["conversations"], event.changes["messages"]) == (2, 6)
        assert event.changes["before"] == result.cutoff.isoformat()


def test_the_clinics_setting_decides_and_each_run_is_audited_even_when_nothing_goes(clinic1):
    with tenant_context(clinic1):
        row = conversation(ago=100 * DAY)
        assert retention.transcripts_purge().conversations == 0  # the default: 365 days
        _retention(90)
        assert retention.transcripts_purge().conversations == 1
        assert not Conversation.objects.filter(pk=row.pk).exists()
        counts = list(
            AuditEvent.objects.filter(action="assistant.purge_transcripts")
            .order_by("pk")
            .values_list("changes__conversations", flat=True)
        )
        assert counts == [0, 1]


def test_another_clinic_keeps_its_conversations(clinic1, clinic2):
    with tenant_context(clinic2):
        theirs = conversation(ago=3000 * DAY)
    with tenant_context(clinic1):
        _retention(30)
        conversation(ago=3000 * DAY)
        assert retention.transcripts_purge().conversations == 1
    with tenant_context(clinic2):
        assert Conversation.objects.filter(pk=theirs.pk).exists()


def test_batches_bound_one_run_and_report_what_is_left(clinic1):
    with tenant_context(clinic1):
        _retention(30)
        rows = [conversation(ago=(40 + i) * DAY) for i in range(7)]
        first = retention.transcripts_purge(batch_size=2, max_batches=2)
        assert (first.conversations, first.more) == (4, True)
        # The oldest go first.
        assert set(Conversation.objects.values_list("pk", flat=True)) == {r.pk for r in rows[:3]}
        second = retention.transcripts_purge(batch_size=2, max_batches=2)
        assert (second.conversations, second.more) == (3, False)
        assert not Conversation.objects.exists()


def _jobs(task_name: str) -> list[ProcrastinateJob]:
    connection.set_schema_to_public()
    return list(ProcrastinateJob.objects.filter(task_name=task_name).order_by("id"))


def test_the_job_deletes_in_the_clinics_schema_and_defers_the_rest_under_its_lock(
    clinic1, monkeypatch
):
    with tenant_context(clinic1):
        _retention(30)
        for i in range(5):
            conversation(ago=(40 + i) * DAY)
    monkeypatch.setattr(
        retention, "transcripts_purge",
        lambda purge=retention.transcripts_purge: purge(batch_size=2, max_batches=1),
    )  # fmt: skip
    before = len(_jobs(tasks.PURGE_TASK_NAME))
    # The job as the worker runs it: by clinic id and schema, in a transaction of its own.
    deleted = tasks.purge_transcripts.func(
        clinic_id=clinic1.pk, clinic_schema=clinic1.schema_name, timestamp=1_700_000_000
    )
    assert deleted == 2
    with tenant_context(clinic1):
        assert Conversation.objects.count() == 3
    [follow_up] = _jobs(tasks.PURGE_TASK_NAME)[before:]
    assert follow_up.args == {
        "clinic_id": clinic1.pk, "clinic_schema": clinic1.schema_name, "timestamp": 1_700_000_000,
    }  # fmt: skip
    assert follow_up.lock == f"{tasks.PURGE_TASK_NAME}:{clinic1.pk}"


def test_the_purge_is_a_daily_job_fanned_out_per_active_clinic():
    periodic = {task.periodic_id: task for task in app.periodic_registry.periodic_tasks.values()}
    job = periodic[tasks.PURGE_TASK_NAME]
    assert job.cron == "30 8 * * *"
    assert job.task.name == f"{tasks.PURGE_TASK_NAME}.fan_out"
    fan_out = tasks.purge_transcripts.fan_out  # type: ignore[attr-defined]
    before = len(_jobs(tasks.PURGE_TASK_NAME))
    assert fan_out.func(timestamp=1_700_000_000) == len(active_clinics())
    deferred = _jobs(tasks.PURGE_TASK_NAME)[before:]
    assert {(job.args["clinic_id"], job.args["clinic_schema"]) for job in deferred} == set(
        active_clinics()
    )  # the suspended clinic is left out


def test_a_conversation_that_lives_on_keeps_only_the_periods_messages(clinic1):
    with tenant_context(clinic1):
        _retention(30)
        monthly = conversation(
            ago=2 * DAY, channel="WHATSAPP", phone="+51987000111",
            messages=[("PATIENT", "hola"), ("ASSISTANT", "¡Hola!")],
        )  # fmt: skip
        ConversationMessage.objects.filter(conversation=monthly, text="hola").update(
            created_at=timezone.now() - 40 * DAY
        )
        result = retention.transcripts_purge()
        assert (result.conversations, result.messages) == (0, 1)
        assert list(monthly.messages.values_list("text", flat=True)) == ["¡Hola!"]
