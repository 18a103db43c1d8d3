"""The assistant on WhatsApp: patients' messages in, replies out.

In: the messaging webhook hands every WhatsApp message that no reply rule understood (not an
opt-out, not a bare "1"/"sí" answering a confirmation request) to ``whatsapp_message_handle``
(registered from ``AssistantConfig.ready`` through ``notifications.delivery``'s hook: the
messaging app may not import this one). It runs in the webhook's transaction; replays never
reach it (the webhook's ``InboundEvent``). One conversation per phone number: the service finds
or opens it.

Out: ``whatsapp_reply_send`` defers a job, inside the caller's transaction, that sends the
message as a free-form WhatsApp text (the patient wrote within the last 24 hours, so no
template is needed), with retries like notification sends. Quick replies become a numbered
list under the text, and a bare number from the patient picks that option.

Refused messages (the assistant off, rate-limited, too long, empty) get no reply: the staff's
inbox keeps them."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django_tenants.utils import tenant_context
from procrastinate import JobContext

from backend.assistant.models import (
    Conversation,
    ConversationChannel,
    ConversationMessage,
    ConversationStatus,
    MessageAuthor,
)
from backend.assistant.selectors import assistant_settings_get
from backend.core.db_backend.connection import tenant_connection
from backend.core.tenancy import public_context
from backend.jobs.runtime import app, clinic_job, retry_strategy
from backend.notifications import channels
from backend.notifications.delivery import InboundOutcome, inbound_handler_register
from backend.notifications.models import Channel, Notification
from backend.notifications.tasks import is_final_attempt
from backend.patients.models import Patient
from tenants_core.models import Clinic, ClinicStatus

logger = logging.getLogger(__name__)

REPLY_TASK_NAME = "assistant.whatsapp_reply"
# WhatsApp's free-form messages are allowed this long after the patient's last message.
CUSTOMER_SERVICE_WINDOW = dt.timedelta(hours=24)
MAX_TEXT = 4096  # WhatsApp's limit for a text message's body
_NOT_TEXT = re.compile(r"^\[[a-z_]+\]$")  # what the webhook writes for an image, audio…
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.)]?\s*$")
_OPTION = re.compile(r"^(\d{1,2})\. (.+)$")


def register() -> None:
    """Called once from ``AssistantConfig.ready``."""
    inbound_handler_register(whatsapp_message_handle, claims=conversation_spoke_since)


def _open_conversation(phone: str) -> Conversation | None:
    return (
        Conversation.objects.filter(channel=ConversationChannel.WHATSAPP, phone=phone)
        .exclude(status=ConversationStatus.CLOSED)
        .first()
    )


def conversation_spoke_since(*, channel: str, sender: str, since: dt.datetime) -> bool:
    """The hook's claim: this number's open conversation has spoken after ``since`` (when a
    confirmation request went out), so a bare "1" or "sí" answers the conversation."""
    if channel != Channel.WHATSAPP or not assistant_settings_get().enabled:
        return False
    conversation = _open_conversation(sender)
    return conversation is not None and conversation.last_message_at > since


# --- quick replies as a numbered list ---------------------------------------------------------


def whatsapp_text(text: str, quick_replies: Sequence[str]) -> str:
    """``text`` with its quick replies as a numbered list below it; unchanged when there are
    none or the text already numbers its options (the engine lists times that way)."""
    if not quick_replies or re.search(r"(?m)^1\. ", text):
        return text[:MAX_TEXT]
    options = "\n".join(f"{index}. {label}" for index, label in enumerate(quick_replies, 1))
    return f"{text}\n\n{options}"[:MAX_TEXT]


def _option_chosen(conversation: Conversation | None, body: str) -> str | None:
    """A bare number answering the numbered list under the assistant's last message: that
    option's words (which the assistant understands like a tapped quick reply)."""
    number = _NUMBER.match(body)
    if conversation is None or number is None:
        return None
    last = (
        conversation.messages.exclude(author=MessageAuthor.PATIENT)
        .order_by("-created_at", "-id")
        .only("author", "text")
        .first()
    )
    if last is None or last.author != MessageAuthor.ASSISTANT or "\n\n" not in last.text:
        return None
    options: dict[int, str] = {}
    for line in last.text.rsplit("\n\n", 1)[1].splitlines():
        option = _OPTION.match(line)
        if option is None:
            return None  # not a list of ours
        options[int(option[1])] = option[2]
    return options.get(int(number[1]))


# --- in ---------------------------------------------------------------------------------------


def whatsapp_message_handle(
    *,
    channel: str,
    sender: str,
    body: str,
    patient: Patient | None,
    in_reply_to: Notification | None,
    reminder_appointment_id: int | None,
    provider_message_id: str,
    now: dt.datetime,
) -> InboundOutcome | None:
    """The assistant answers a patient's WhatsApp message and its reply is queued; None (the
    inbox) when the assistant is off, the message is not text, or the service refuses it."""
    from backend.assistant.services import assistant_message_handle  # it imports the engine

    if channel != Channel.WHATSAPP or not sender or _NOT_TEXT.match(body):
        return None
    if not assistant_settings_get().enabled:
        return None
    text = _option_chosen(_open_conversation(sender), body) or body
    before = ConversationMessage.objects.order_by("-id").values_list("id", flat=True).first()
    try:
        with transaction.atomic():
            reply = assistant_message_handle(
                conversation_id=None,
                text=text,
                channel=ConversationChannel.WHATSAPP,
                phone=sender,
                now=now,
                reminder_appointment_id=reminder_appointment_id,
            )
    except ValidationError as refusal:
        logger.info(
            "WhatsApp message %s left to the inbox: %s", provider_message_id, _codes(refusal)
        )
        return None
    answer = (
        ConversationMessage.objects.filter(
            conversation=reply.conversation, author=MessageAuthor.ASSISTANT, id__gt=before or 0
        )
        .order_by("-id")
        .first()
    )
    if answer is not None:
        whatsapp_reply_send(answer, quick_replies=reply.quick_replies)
    return InboundOutcome("assistant")


def _codes(refusal: ValidationError) -> list[str]:
    groups = refusal.error_dict.values() if hasattr(refusal, "error_dict") else [refusal.error_list]
    return sorted({str(error.code or "") for errors in groups for error in errors})


# --- out --------------------------------------------------------------------------------------


def whatsapp_window_open(conversation: Conversation, now: dt.datetime) -> bool:
    """Whether a free-form message may still be sent: the patient wrote in the last 24 h."""
    last = (
        conversation.messages.filter(author=MessageAuthor.PATIENT)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last is not None and now - last < CUSTOMER_SERVICE_WINDOW


def whatsapp_reply_send(
    message: ConversationMessage, *, quick_replies: Sequence[str] = ()
) -> int | None:
    """Queue ``message`` (the assistant's or a staff member's, in a WhatsApp conversation) for
    sending, inside the caller's transaction; its quick replies become a numbered list, which
    the stored text keeps (the transcript shows what the patient received). The job id; None
    when the conversation is not on WhatsApp or the message is empty."""
    conversation = message.conversation
    if conversation.channel != ConversationChannel.WHATSAPP or not conversation.phone:
        return None
    text = whatsapp_text(message.text, quick_replies)
    if not text.strip():
        return None
    if text != message.text:
        message.text = text
        ConversationMessage.objects.filter(pk=message.pk).update(text=text)
    return clinic_job(send_whatsapp_reply, message_id=message.pk)


def _active_clinic(clinic_id: int, clinic_schema: str) -> Clinic | None:
    with public_context():
        clinic = Clinic.objects.filter(pk=clinic_id, schema_name=clinic_schema).first()
    if clinic is None or clinic.status != ClinicStatus.ACTIVE:
        logger.warning("Job %s skipped: clinic %s is gone or suspended.", REPLY_TASK_NAME,
                       clinic_schema)  # fmt: skip
        return None
    return clinic


@app.task(name=REPLY_TASK_NAME, pass_context=True, retry=retry_strategy())
def send_whatsapp_reply(
    context: JobContext, *, clinic_id: int, clinic_schema: str, message_id: int
) -> None:
    clinic = _active_clinic(clinic_id, clinic_schema)
    if clinic is None:
        return
    attempts_before = context.job.attempts if context.job is not None else 0
    with tenant_context(clinic):
        whatsapp_reply_deliver(
            message_id=message_id, final_attempt=is_final_attempt(attempts_before)
        )


def whatsapp_reply_deliver(*, message_id: int, final_attempt: bool = True) -> str | None:
    """The job's body: send one stored message to its conversation's phone; the provider's
    message id, or None when nothing was sent. An unreachable provider raises
    ``ProviderUnavailable`` (the job retries) until the final attempt, which gives up. The
    text is never logged. At least once: a worker killed after the provider accepted the
    message and before the job was marked done sends it again on the rerun."""
    with transaction.atomic():
        message = (
            ConversationMessage.objects.select_related("conversation")
            .filter(pk=message_id, author__in=(MessageAuthor.ASSISTANT, MessageAuthor.STAFF))
            .first()
        )
        if message is None or message.conversation.channel != ConversationChannel.WHATSAPP:
            return None
        outgoing = channels.OutgoingMessage(
            channel=Channel.WHATSAPP,
            recipient=message.conversation.phone,
            body=message.text[:MAX_TEXT],
            sender=channels.sender_for(Channel.WHATSAPP),
            reference=f"{tenant_connection().schema_name}:assistant:{message.pk}",
        )
    try:
        return channels.send(outgoing)
    except channels.ProviderRejected as error:
        # 131047: more than 24 h since the patient's last message (a late staff reply).
        logger.warning("WhatsApp reply %s refused: %s", message_id, error.code)
        return None
    except channels.ProviderUnavailable:
        if final_attempt:
            logger.error("WhatsApp reply %s not sent: the provider stayed unreachable.", message_id)
            return None
        raise
