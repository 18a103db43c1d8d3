"""The deterministic assistant: understand a message, move the conversation's state machine,
answer from templates. Works with no network and no model.

The state (``Conversation.state``) holds the open flow (``book``, ``cancel``, ``reschedule``,
``list``, ``confirm``), the slot the assistant waits for (``expecting``), what was collected,
the references it offered, and the count of messages in a row it did not understand. Every
change to the clinic goes through ``tools`` as the verified patient or an anonymous visitor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from backend.assistant import tools
from backend.assistant.llm import conversation_history, llm_enabled, llm_reply
from backend.assistant.models import HandoffReason
from backend.assistant.nlu import (
    CatalogEntry,
    Clinical,
    Intent,
    NamedEntry,
    Understanding,
    understand,
)
from backend.assistant.tools import ToolRefused, ToolSession, hand_off, local
from backend.audit.services import audit_record
from backend.patients.models import Patient
from backend.resources.models import Professional
from backend.treatments.models import Procedure

MAX_MISSES = 3
VERIFYING_FLOWS = ("cancel", "reschedule", "list", "confirm")
FLOW_INTENTS = {
    "book": Intent.BOOK,
    "cancel": Intent.CANCEL,
    "reschedule": Intent.RESCHEDULE,
    "list": Intent.MY_APPOINTMENTS,
    "confirm": Intent.CONFIRM,
}
INTENT_FLOWS = {intent: flow for flow, intent in FLOW_INTENTS.items()}


@dataclass
class Answer:
    text: str
    intent: Intent
    quick_replies: list[str] = field(default_factory=list)
    miss: bool = False  # the answer did not fit the question asked (counted already)


# --- formatting --------------------------------------------------------------------------------


def when(moment: dt.datetime | str) -> str:
    """ "jueves 3 de diciembre, 16:00" in the clinic's zone and the active language."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    moment = local(moment)
    # Translators: a date as Django's date format; Spanish: "l j \d\e F".
    day = formats.date_format(moment, _("l, F j"))
    if moment.year != local(timezone.now()).year:
        day = f"{day} {moment.year}"
    return _("%(day)s, %(time)s") % {"day": day, "time": moment.strftime("%H:%M")}


def _short(moment: str) -> str:
    value = local(dt.datetime.fromisoformat(moment))
    return f"{formats.date_format(value, 'D j')} {value:%H:%M}"


def _weekday(number: int) -> str:
    # 2024-01-01 is a Monday: its ISO weekday numbers the rest.
    return str(formats.date_format(dt.date(2024, 1, number), "l")).lower()


def hours_text(info: dict[str, Any]) -> str:
    if not info["hours"]:
        return _("We have not published our opening hours yet; call us to check.")
    days: dict[int, list[str]] = {}
    for shift in info["hours"]:
        days.setdefault(shift["weekday"], []).append(f"{shift['opens']}–{shift['closes']}")
    groups: list[tuple[list[int], str]] = []
    for weekday in sorted(days):
        ranges = _(" and ").join(days[weekday])
        if groups and groups[-1][1] == ranges and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], ranges))
    parts = []
    for weekdays, ranges in groups:
        label = (
            _weekday(weekdays[0])
            if len(weekdays) == 1
            else _("%(first)s to %(last)s")
            % {"first": _weekday(weekdays[0]), "last": _weekday(weekdays[-1])}
        )
        parts.append(f"{label[:1].upper()}{label[1:]}: {ranges}")
    text = _("Our hours: %(hours)s.") % {"hours": "; ".join(parts)}
    closed = [weekday for weekday in range(1, 8) if weekday not in days]
    if closed:
        text += " " + _("Closed on %(days)s.") % {
            "days": _(" and ").join(_weekday(day) for day in closed)
        }
    if info["closures"]:
        first = info["closures"][0]
        text += " " + _("Note: we are closed from %(first)s to %(last)s.") % {
            "first": formats.date_format(dt.date.fromisoformat(first["first"]), "j F"),
            "last": formats.date_format(dt.date.fromisoformat(first["last"]), "j F"),
        }
    return text


def location_text(info: dict[str, Any]) -> str:
    parts = []
    if info["address"]:
        parts.append(_("We are at %(address)s.") % {"address": info["address"]})
    if info["directions"]:
        parts.append(info["directions"])
    if info["phone"]:
        parts.append(_("Phone: %(phone)s.") % {"phone": info["phone"]})
    if info["whatsapp"] and info["whatsapp"] != info["phone"]:
        parts.append(_("WhatsApp: %(phone)s.") % {"phone": info["whatsapp"]})
    return " ".join(parts) or _("Write to us here and the front desk will give you directions.")


# --- the state machine -------------------------------------------------------------------------


class Engine:
    """One message of one conversation."""

    def __init__(self, session: ToolSession, *, reminder_appointment_id: int | None = None) -> None:
        self.session = session
        self.reminder_appointment_id = reminder_appointment_id
        self.bare_yes = False  # the message is a bare "sí" (set by respond)
        self.conversation = session.conversation
        self.state: dict[str, Any] = dict(self.conversation.state or {})
        self.today = local(session.now).date()

    # entry point
    def _understand(self, text: str) -> Understanding:
        catalog = [
            CatalogEntry(id=pk, name=name)
            for pk, name in Procedure.objects.filter(is_active=True).values_list("id", "name")
        ]
        professionals = [
            NamedEntry(id=pk, name=name)
            for pk, name in Professional.objects.filter(is_active=True).values_list(
                "id", "full_name"
            )
        ]
        return understand(
            text,
            today=self.today,
            catalog=catalog,
            professionals=professionals,
            expecting=self.state.get("expecting"),
        )

    def respond(self, text: str) -> Answer:
        heard = self._understand(text)
        self.bare_yes = heard.yes is True and len(text.split()) <= 2
        modelled = self._model(heard, text)
        if modelled is not None:
            return modelled
        answer = self._respond(heard, text)
        if answer.miss:
            pass  # counted where the question was asked again
        elif answer.intent == Intent.UNKNOWN:
            self.state["misses"] = self.state.get("misses", 0) + 1
            if self.state["misses"] >= MAX_MISSES:
                return self._hand_off(HandoffReason.MISUNDERSTOOD, Intent.UNKNOWN)
        else:
            self.state["misses"] = 0
        return answer

    def urgent(self, text: str) -> Answer | None:
        """For a conversation a person already handles: the urgent advice at once when the
        message tells of urgent symptoms (the reason becomes URGENT); else None."""
        if self._understand(text).clinical != Clinical.URGENT:
            return None
        conversation = self.conversation
        if conversation.handoff_reason != HandoffReason.URGENT:
            conversation.handoff_reason = HandoffReason.URGENT
            conversation.save(update_fields=["handoff_reason"])
            audit_record(
                actor=None,
                actor_email=self.session.actor_label,
                action="assistant.hand_off",
                entity=conversation,
                changes={"reason": HandoffReason.URGENT},
            )
        return Answer(self._urgent_text(), Intent.HUMAN)

    def _model(self, heard: Understanding, text: str) -> Answer | None:
        """The language model's reply, when one is configured; None: the engine answers.
        Never for a clinical or urgent message, nor a request for a person (those hand off),
        nor in the middle of a question the engine asked (its flow finishes as it began)."""
        if (
            not llm_enabled()
            or heard.clinical != Clinical.NONE
            or heard.intent == Intent.HUMAN
            or self.state.get("expecting")
        ):
            return None
        self._match_phone()  # on WhatsApp the number on file verifies, model or not
        outcome = llm_reply(self.session, conversation_history(self.conversation), text)
        if outcome is None:
            return None
        self._reset()
        self.state["misses"] = 0
        return Answer(outcome.text, heard.intent)

    def save_state(self) -> None:
        self.conversation.state = self.state

    def _respond(self, heard: Understanding, text: str) -> Answer:
        if heard.clinical == Clinical.URGENT:
            return self._hand_off(HandoffReason.URGENT, Intent.HUMAN)
        if heard.clinical == Clinical.CLINICAL:
            return self._hand_off(HandoffReason.CLINICAL, Intent.HUMAN)
        if heard.intent == Intent.HUMAN:
            return self._hand_off(HandoffReason.REQUESTED, Intent.HUMAN)
        expecting = self.state.get("expecting")
        if expecting:
            answer = self._continue(expecting, heard, text)
            if answer is not None:
                return answer
        return self._start(heard)

    # --- starting something new
    def _start(self, heard: Understanding) -> Answer:
        intent = heard.intent
        self._reset()
        if intent == Intent.GREETING:
            return self._greeting()
        if intent == Intent.HOURS:
            return Answer(hours_text(self._tool("clinic_info")), intent, [_("Book an appointment")])
        if intent == Intent.LOCATION:
            return Answer(location_text(self._tool("clinic_info")), intent)
        if intent == Intent.PRICES:
            return self._prices(heard)
        if intent == Intent.BOOK:
            self.state.update(flow="book", **self._wishes(heard))
            return self._book_next()
        if intent in INTENT_FLOWS:
            self.state["flow"] = INTENT_FLOWS[intent]
            if self.reminder_appointment_id and intent in (Intent.CONFIRM, Intent.CANCEL):
                # The reminder it answers names the appointment (still checked to be theirs).
                self.state["appointment"] = f"appointment:{self.reminder_appointment_id}"
            return self._verified_next()
        if intent == Intent.THANKS:
            return Answer(_("You are welcome! Anything else I can help you with?"), intent)
        if intent == Intent.DENY:
            return Answer(_("All right. Anything else I can help you with?"), intent)
        if heard.dates is not None:  # "¿y el jueves?" with nothing open: a booking
            self.state.update(flow="book", **self._wishes(heard))
            return self._book_next()
        return Answer(
            _(
                "Sorry, I did not understand. I can tell you our hours, address and prices, "
                "and book, change or cancel appointments."
            ),
            Intent.UNKNOWN,
            self._menu(),
        )

    def _reset(self) -> None:
        misses = self.state.get("misses", 0)
        self.state = {"misses": misses}

    def _menu(self) -> list[str]:
        return [_("Opening hours"), _("Prices"), _("Book an appointment"), _("Talk to a person")]

    def _greeting(self) -> Answer:
        from tenants_core.context import current_clinic

        return Answer(
            _(
                "Hello! I am the virtual assistant of %(clinic)s. I can tell you our hours, "
                "address and prices, and book, change or cancel your appointments."
            )
            % {"clinic": current_clinic().name},
            Intent.GREETING,
            self._menu(),
        )

    def _prices(self, heard: Understanding) -> Answer:
        if heard.procedure_id is not None:
            found = self._tool("price_list", ids=[heard.procedure_id])["procedures"]
            if found:
                item = found[0]
                self.state.update(flow="after_price", expecting="yes_no", procedure=item["id"])
                return Answer(
                    _("%(name)s costs %(price)s (about %(minutes)d minutes). Shall I book it?")
                    % item,
                    Intent.PRICES,
                    [_("Yes"), _("No")],
                )
        items = self._tool("price_list")["procedures"]
        if not items:
            return Answer(
                _("Our price list is not published yet; the front desk can tell you."),
                Intent.PRICES,
            )
        lines = [f"• {item['name']}: {item['price']}" for item in items[:12]]
        more = _(" (and %(count)d more)") % {"count": len(items) - 12} if len(items) > 12 else ""
        return Answer(
            _("Our services and prices%(more)s:") % {"more": more} + "\n" + "\n".join(lines),
            Intent.PRICES,
            [_("Book an appointment")],
        )

    # --- continuing what the assistant asked for
    def _continue(self, expecting: str, heard: Understanding, text: str) -> Answer | None:
        flow = self.state.get("flow", "")
        flow_intent = FLOW_INTENTS.get(flow, Intent.BOOK)
        switching = heard.intent not in (
            Intent.UNKNOWN,
            Intent.CONFIRM,
            Intent.DENY,
            flow_intent,
        )
        if expecting == "yes_no":
            if (
                heard.yes is None
                and (heard.dates or heard.times)
                and (flow == "book" or (flow == "reschedule" and self.state.get("appointment")))
            ):  # "mejor el jueves": other times, not a no
                self.state.update(self._wishes(heard, keep=True))
                for key in ("expecting", "slot"):
                    self.state.pop(key, None)
                return self._book_next() if flow == "book" else self._reschedule_next()
            if heard.yes is None and heard.intent not in (Intent.CONFIRM, Intent.DENY):
                return None if switching else self._again(flow_intent)
            yes = heard.yes if heard.yes is not None else heard.intent == Intent.CONFIRM
            return self._answered(flow, yes)
        if expecting == "choice":
            choice = self._choice(heard, text)
            if choice is not None:
                return self._chosen(flow, choice)
            choosing_slot = flow == "book" or (
                flow == "reschedule" and bool(self.state.get("appointment"))
            )
            if choosing_slot and (heard.dates is not None or heard.times is not None):
                self.state.update(self._wishes(heard, keep=True))
                self.state.pop("expecting", None)
                return self._book_next() if flow == "book" else self._reschedule_next()
            return None if switching else self._again(flow_intent)
        if expecting == "dates":
            if heard.dates is not None or heard.times is not None:
                self.state.update(self._wishes(heard, keep=True))
                self.state.pop("expecting", None)
                return self._book_next() if flow == "book" else self._reschedule_next()
            return None if switching else self._again(flow_intent)
        if expecting == "dni":
            dni = heard.dni or _digits(text, 8)
            if dni is None:
                return None if switching else self._again(flow_intent)
            self.state["dni"] = dni
            self.state.pop("expecting", None)
            return self._book_next() if flow == "book" else self._verified_next()
        if expecting == "names":
            if heard.first_name and heard.last_name:
                self.state.update(first_name=heard.first_name, last_name=heard.last_name)
                self.state.pop("expecting", None)
                return self._book_next()
            return None if switching else self._again(flow_intent)
        if expecting == "phone":
            phone = heard.phone or _digits(text, 9)
            if phone is None:
                return None if switching else self._again(flow_intent)
            self.state["phone"] = phone
            self.state.pop("expecting", None)
            return self._book_next()
        if expecting == "code":
            code = heard.code or _digits(text, 6)
            if code is None:
                return None if switching else self._again(flow_intent)
            return self._check_code(code)
        return None

    def _again(self, intent: Intent) -> Answer:
        """The answer did not fit the question: ask it again (and count the miss)."""
        question = self.state.get("question") or _("Could you say that again?")
        self.state["misses"] = self.state.get("misses", 0) + 1
        if self.state["misses"] >= MAX_MISSES:
            return self._hand_off(HandoffReason.MISUNDERSTOOD, Intent.UNKNOWN)
        return Answer(_("Sorry, I did not get that.") + " " + question, intent,
                      list(self.state.get("quick", [])), miss=True)  # fmt: skip

    def _ask(self, expecting: str, question: str, intent: Intent, quick: list[str]) -> Answer:
        self.state.update(expecting=expecting, question=question, quick=quick)
        return Answer(question, intent, quick)

    def _choice(self, heard: Understanding, text: str) -> int | None:
        offered = self.state.get("labels", [])
        folded = text.strip().lower()
        for index, label in enumerate(offered, start=1):
            if folded == label.lower():
                return index
        if heard.choice is not None and 1 <= heard.choice <= len(offered):
            return heard.choice
        return None

    def _wishes(self, heard: Understanding, *, keep: bool = False) -> dict[str, Any]:
        wishes: dict[str, Any] = {}
        if heard.dates is not None:
            wishes.update(first=heard.dates.first.isoformat(), last=heard.dates.last.isoformat())
        if heard.times is not None:
            wishes.update(start=heard.times.start.isoformat(), end=heard.times.end.isoformat())
        elif keep and heard.dates is not None:
            wishes.update(start=None, end=None)
        if heard.procedure_id is not None:
            wishes["procedure"] = heard.procedure_id
        if heard.professional_id is not None:
            wishes["professional"] = heard.professional_id
        return wishes

    # --- booking
    def _book_next(self) -> Answer:
        state = self.state
        if not state.get("slot"):
            return self._offer(Intent.BOOK)
        if self.session.verified_patient is None:
            if not state.get("dni"):
                return self._ask(
                    "dni",
                    _("To book it I need your details. What is your DNI number (8 digits)?"),
                    Intent.BOOK,
                    [],
                )
            if not state.get("first_name"):
                return self._ask("names", _("What are your first and last names?"), Intent.BOOK, [])
            if not state.get("phone"):
                return self._ask(
                    "phone",
                    _("What mobile number can we reach you on?"),
                    Intent.BOOK,
                    [],
                )
        label = self._slot_label(state["slot"])
        return self._ask(
            "yes_no",
            _("Shall I book %(slot)s?") % {"slot": label},
            Intent.BOOK,
            [_("Yes"), _("No")],
        )

    def _slot_label(self, ref: str) -> str:
        for slot in self.state.get("slots", []):
            if slot["slot"] == ref:
                return _("%(when)s with %(professional)s") % {
                    "when": when(slot["starts_at"]),
                    "professional": slot["professional"],
                }
        return ref

    def _offer(self, intent: Intent) -> Answer:
        state = self.state
        if not state.get("first"):
            return self._ask(
                "dates",
                _("For which day? You can write, for example, “tomorrow afternoon”."),
                intent,
                [_("Tomorrow"), _("Day after tomorrow"), _("Next week")],
            )
        start = dt.time.fromisoformat(state["start"]) if state.get("start") else None
        end = dt.time.fromisoformat(state["end"]) if state.get("end") else None
        slots = tools.find_slots(
            self.session,
            first=dt.date.fromisoformat(state["first"]),
            last=dt.date.fromisoformat(state["last"]),
            start=start,
            end=end,
            professional_id=state.get("professional"),
            procedure_id=state.get("procedure"),
            minutes=state.get("minutes"),
        )
        if not slots:
            for key in ("first", "last", "start", "end"):
                state.pop(key, None)
            return self._ask(
                "dates",
                _("I have no free times then. Would another day suit you?"),
                intent,
                [_("Tomorrow"), _("Next week")],
            )
        state["slots"] = slots
        state["labels"] = [_short(slot["starts_at"]) for slot in slots]
        lines = [
            f"{index}. {when(slot['starts_at'])} — {slot['professional']}"
            for index, slot in enumerate(slots, start=1)
        ]
        return self._ask(
            "choice",
            _("These times are free:") + "\n" + "\n".join(lines) + "\n" + _("Which one suits you?"),
            intent,
            list(state["labels"]),
        )

    def _chosen(self, flow: str, choice: int) -> Answer:
        if flow == "book" or (flow == "reschedule" and self.state.get("appointment")):
            slots = self.state.get("slots", [])
            if not 1 <= choice <= len(slots):
                return self._again(FLOW_INTENTS.get(flow, Intent.BOOK))
            self.state["slot"] = slots[choice - 1]["slot"]
            self.state.pop("expecting", None)
            return self._book_next() if flow == "book" else self._reschedule_next()
        # choosing one of the patient's appointments
        appointments = self.state.get("appointments", [])
        if not 1 <= choice <= len(appointments):
            return self._again(FLOW_INTENTS.get(flow, Intent.MY_APPOINTMENTS))
        self.state["appointment"] = appointments[choice - 1]["appointment"]
        self.state.pop("expecting", None)
        return self._verified_next()

    def _answered(self, flow: str, yes: bool) -> Answer:
        if flow == "after_price":
            procedure = self.state.get("procedure")
            self._reset()
            if not yes:
                return Answer(_("All right. Anything else I can help you with?"), Intent.DENY)
            self.state.update(flow="book", procedure=procedure)
            return self._book_next()
        if not yes:
            self._reset()
            return Answer(
                _("All right, I changed nothing. Anything else I can help you with?"),
                Intent.DENY,
            )
        if flow == "book":
            return self._book()
        if flow == "cancel":
            return self._act("cancel_appointment", Intent.CANCEL)
        if flow == "reschedule":
            return self._act("reschedule_appointment", Intent.RESCHEDULE)
        if flow == "confirm":
            return self._act("confirm_appointment", Intent.CONFIRM)
        self._reset()
        return Answer(_("All right."), Intent.CONFIRM)

    def _book(self) -> Answer:
        state = self.state
        arguments = {"slot": state["slot"]}
        if self.session.verified_patient is None:
            arguments.update(
                first_name=state.get("first_name", ""),
                last_name=state.get("last_name", ""),
                dni=state.get("dni", ""),
                phone=state.get("phone", ""),
            )
        try:
            booked = self._tool("book", **arguments)["appointment"]
        except ToolRefused as refusal:
            return self._refused(refusal, Intent.BOOK)
        self._reset()
        return Answer(
            _(
                "Done! Your appointment is booked for %(when)s with %(professional)s. "
                "We will send you a reminder."
            )
            % {"when": when(booked["starts_at"]), "professional": booked["professional"]},
            Intent.BOOK,
        )

    def _refused(self, refusal: ToolRefused, intent: Intent) -> Answer:
        code = refusal.code
        if code == "SLOT_TAKEN":
            self.state.pop("slot", None)
            self.state.pop("expecting", None)
            answer = self._offer(intent)
            answer.text = _("Sorry, that time was just taken.") + " " + answer.text
            return answer
        if code == "IDENTITY_MISMATCH":
            return self._hand_off(HandoffReason.REQUESTED, intent, booking_details=True)
        if code in ("INVALID_DOCUMENT", "INVALID_PHONE", "INVALID"):
            field = "dni" if code == "INVALID_DOCUMENT" else "phone"
            self.state.pop(field, None)
            answer = self._book_next()
            answer.text = _("That does not look right.") + " " + answer.text
            return answer
        if code in ("PLAN_LIMIT_REACHED", "BOOKING_LIMIT"):
            return self._hand_off(HandoffReason.REQUESTED, intent, booking_details=True)
        self._reset()
        # The tool's own message is for developers (English, codes): the patient gets this.
        return Answer(_("I could not do that here; the front desk can help you."), intent)

    # --- acting as the verified patient
    def _verified_next(self) -> Answer:
        flow = self.state.get("flow", "list")
        intent = FLOW_INTENTS.get(flow, Intent.MY_APPOINTMENTS)
        if self.session.verified_patient is None:
            answer = self._verify(intent)
            if answer is not None:
                return answer
        appointments = self._tool("my_appointments")["appointments"]
        if flow == "list" or not appointments:
            self._reset()
            if not appointments:
                return Answer(
                    _("You have no upcoming appointments. Shall I book one for you?"),
                    intent,
                    [_("Book an appointment")],
                )
            lines = [
                f"• {when(item['starts_at'])} — {item['professional']}" for item in appointments
            ]
            return Answer(
                _("Your upcoming appointments:") + "\n" + "\n".join(lines),
                intent,
                [_("Change an appointment"), _("Cancel an appointment")],
            )
        chosen = self.state.get("appointment")
        if chosen is None and len(appointments) == 1:
            chosen = self.state["appointment"] = appointments[0]["appointment"]
        if chosen is None:
            if flow == "confirm":  # the next one: the one a reminder asks about
                chosen = self.state["appointment"] = appointments[0]["appointment"]
            else:
                self.state["appointments"] = appointments
                self.state["labels"] = [_short(item["starts_at"]) for item in appointments]
                lines = [
                    f"{index}. {when(item['starts_at'])} — {item['professional']}"
                    for index, item in enumerate(appointments, start=1)
                ]
                return self._ask(
                    "choice",
                    _("Which appointment?") + "\n" + "\n".join(lines),
                    intent,
                    list(self.state["labels"]),
                )
        item = next((a for a in appointments if a["appointment"] == chosen), None)
        if item is None:
            self._reset()
            return Answer(_("I cannot find that appointment any more."), intent)
        if flow == "confirm":
            if self.reminder_appointment_id or not self.bare_yes:
                return self._act("confirm_appointment", Intent.CONFIRM)
            # A bare "sí" out of the blue may mean anything: ask about the appointment.
            return self._ask(
                "yes_no",
                _("Shall I confirm your appointment of %(when)s with %(professional)s?")
                % {"when": when(item["starts_at"]), "professional": item["professional"]},
                intent,
                [_("Yes"), _("No")],
            )
        if flow == "reschedule":
            # The same length, and the same professional unless the patient named another.
            self.state.setdefault("professional", item["professional_id"])
            self.state["minutes"] = item["minutes"]
        if flow == "cancel":
            return self._ask(
                "yes_no",
                _("Shall I cancel your appointment of %(when)s with %(professional)s?")
                % {"when": when(item["starts_at"]), "professional": item["professional"]},
                intent,
                [_("Yes"), _("No")],
            )
        return self._reschedule_next()

    def _reschedule_next(self) -> Answer:
        if not self.state.get("slot"):
            return self._offer(Intent.RESCHEDULE)
        return self._ask(
            "yes_no",
            _("Shall I move your appointment to %(slot)s?")
            % {"slot": self._slot_label(self.state["slot"])},
            Intent.RESCHEDULE,
            [_("Yes"), _("No")],
        )

    def _act(self, tool: str, intent: Intent) -> Answer:
        if self.session.verified_patient is None:  # it lapsed while the patient thought
            for key in ("dni", "code_sent"):
                self.state.pop(key, None)
            answer = self._verify(intent)
            if answer is not None:
                return answer
        arguments = {"appointment": self.state.get("appointment", "")}
        if tool == "reschedule_appointment":
            arguments["slot"] = self.state.get("slot", "")
        try:
            done = self._tool(tool, **arguments)["appointment"]
        except ToolRefused as refusal:
            return self._refused(refusal, intent)
        self._reset()
        moment = when(done["starts_at"])
        texts = {
            "cancel_appointment": _("Your appointment of %(when)s is cancelled."),
            "confirm_appointment": _("Thank you! Your appointment of %(when)s is confirmed."),
            "reschedule_appointment": _(
                "Done! Your appointment is now on %(when)s with %(professional)s."
            ),
        }
        return Answer(texts[tool] % {"when": moment, "professional": done["professional"]}, intent)

    def _match_phone(self) -> bool:
        """On WhatsApp, verify by the sender's number: the one patient with it on file, or
        among several (a family) the one whose DNI was given. Whether it verified."""
        conversation = self.conversation
        if self.session.verified_patient is not None:
            return True
        if conversation.channel != "WHATSAPP" or not conversation.phone:
            return False
        matches = list(
            Patient.objects.filter(phone=conversation.phone, is_archived=False).order_by("id")
        )
        dni = self.state.get("dni")
        match = matches[0] if len(matches) == 1 else None
        match = match or next((p for p in matches if p.document_number == dni), None)
        if match is None:
            return False
        tools.verify(self.session, match, via="whatsapp")
        return True

    def _verify(self, intent: Intent) -> Answer | None:
        """Verify who writes, or ask for what is missing; None once verified."""
        if self._match_phone():
            return None
        if not self.state.get("dni"):
            return self._ask(
                "dni",
                _(
                    "First I need to confirm it is you. What is your DNI number? I will send "
                    "a code to the phone or email we have on file."
                ),
                intent,
                [],
            )
        if not self.state.get("code_sent"):
            try:
                self._tool("send_verification_code", dni=self.state["dni"])
            except ToolRefused as refusal:
                self._reset()
                if refusal.code == "RATE_LIMITED":
                    return Answer(
                        _("I have sent too many codes; please try again in an hour."), intent
                    )
                return Answer(_("That DNI does not look right. Shall we start again?"), intent)
            self.state["code_sent"] = True
            return self._ask(
                "code",
                _(
                    "If your details are on file, I have sent you a 6-digit code. "
                    "Please write it here."
                ),
                intent,
                [],
            )
        return self._ask("code", _("Please write the 6-digit code."), intent, [])

    def _check_code(self, code: str) -> Answer:
        flow = self.state.get("flow", "list")
        intent = FLOW_INTENTS.get(flow, Intent.MY_APPOINTMENTS)
        try:
            self._tool("check_verification_code", code=code)
        except ToolRefused as refusal:
            if refusal.code == "CODE_WRONG":
                return self._again(intent)
            self.state.pop("code_sent", None)
            self.state.pop("dni", None)
            return self._ask(
                "dni",
                _("That code is no longer valid. Write your DNI again to get a new one."),
                intent,
                [],
            )
        self.state.pop("expecting", None)
        return self._verified_next()

    # --- people
    def _hand_off(self, reason: str, intent: Intent, *, booking_details: bool = False) -> Answer:
        hand_off(self.session, reason)
        self._reset()
        self.state["misses"] = 0  # once a person hands it back, the count starts afresh
        from backend.clinic_admin.selectors import clinic_profile_get

        phone = clinic_profile_get().phone
        if reason == HandoffReason.URGENT:
            text = self._urgent_text()
        elif reason == HandoffReason.CLINICAL:
            text = _(
                "I cannot give medical advice, so I am passing your message to the clinic's "
                "team; a person will answer you here. If the pain is severe or you have "
                "swelling or fever, call us%(phone)s or go to an emergency service."
            ) % {"phone": f" ({phone})" if phone else ""}
        elif booking_details:
            text = _(
                "I could not finish the booking with those details. A person of the front desk "
                "will check them and write to you here."
            )
        elif reason == HandoffReason.MISUNDERSTOOD:
            text = _(
                "I am having trouble understanding. A person of the front desk will answer "
                "you here."
            )
        else:
            text = _("Of course. A person of the front desk will answer you here shortly.")
        return Answer(text, intent)

    def _urgent_text(self) -> str:
        from backend.clinic_admin.selectors import clinic_profile_get

        phone = clinic_profile_get().phone
        return _(
            "This sounds urgent. Please call us now%(phone)s, or go to the nearest "
            "emergency service. I cannot give medical advice; a person of the clinic "
            "will also read this conversation."
        ) % {"phone": f" ({phone})" if phone else ""}

    def _tool(self, name: str, **arguments: Any) -> dict[str, Any]:
        return tools.tool_run(self.session, name, arguments)


def _digits(text: str, length: int) -> str | None:
    digits = "".join(char for char in text if char.isdigit())
    return digits if len(digits) == length and len(text.strip()) <= length + 4 else None
