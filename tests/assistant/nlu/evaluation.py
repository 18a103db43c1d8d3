"""Scores ``understand`` on the labelled utterances: intent and slot accuracy per split."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from backend.assistant.nlu import Understanding, understand

from .conftest import CATALOG, PROFESSIONALS, TODAY


def slot_value(understanding: Understanding, slot: str) -> Any:
    """The slot as the labels write it: dates "YYYY-MM-DD" or "first..last", times "HH:MM"
    or "start..end", the clinical flag by name."""
    value = getattr(understanding, slot)
    if slot == "dates" and value is not None:
        first, last = value.first.isoformat(), value.last.isoformat()
        return first if first == last else f"{first}..{last}"
    if slot == "times" and value is not None:
        start, end = value.start.strftime("%H:%M"), value.end.strftime("%H:%M")
        return start if start == end else f"{start}..{end}"
    if slot == "clinical":
        return value.value
    return value


@dataclass
class Report:
    split: str
    utterances: int = 0
    intents_right: int = 0
    slots: int = 0
    slots_right: int = 0
    misses: list[str] = field(default_factory=list)
    intent_misses: Counter[str] = field(default_factory=Counter)

    @property
    def intent_accuracy(self) -> float:
        return self.intents_right / self.utterances

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.slots

    def summary(self) -> str:
        lines = [
            f"{self.split}: {self.utterances} utterances, intent accuracy "
            f"{self.intent_accuracy:.3f} ({self.intents_right}/{self.utterances}), slot accuracy "
            f"{self.slot_accuracy:.3f} ({self.slots_right}/{self.slots})",
            f"  intent misses by expected intent: {dict(self.intent_misses) or 'none'}",
        ]
        lines += [f"  MISS {miss}" for miss in self.misses]
        return "\n".join(lines)


def evaluate(rows: list[dict[str, Any]], split: str, today: dt.date = TODAY) -> Report:
    report = Report(split)
    for row in rows:
        if row["split"] != split:
            continue
        got = understand(
            row["text"],
            today=today,
            catalog=CATALOG,
            professionals=PROFESSIONALS,
            expecting=row.get("expecting"),
        )
        report.utterances += 1
        if got.intent.value == row["intent"]:
            report.intents_right += 1
        else:
            report.intent_misses[row["intent"]] += 1
            report.misses.append(f"{row['text']!r}: intent {got.intent.value}, not {row['intent']}")
        for slot, expected in row["slots"].items():
            report.slots += 1
            actual = slot_value(got, slot)
            if actual == expected:
                report.slots_right += 1
            else:
                report.misses.append(f"{row['text']!r}: {slot} {actual!r}, not {expected!r}")
    return report
