"""Argument values that pass GraphQL validation, generated from the schema's types.

Every value is well typed for its argument, so the request gets past parsing, validation and
variable coercion to the resolver; what varies is what the resolver and the services see:

- Strings: plausible values for the argument (emails, DNI numbers, RUCs, phones, colours,
  subdomains, tooth surfaces…) or hostile ones that must reach the resolver (right-to-left
  marks, combining characters, astral characters, 200 kB of text, SQL and markup).
- IDs: rows of this clinic, of its own type (``World``).
- DateTime with an offset near now in the clinic's zone (an end after its start, mostly),
  Date near today, Time, Decimal as a string, Int in the argument's plausible range and at
  its limits, every enum value, lists and input objects with any subset of optional fields.

Then, per example, at most one hazard replaces one leaf (``Hazard``): another clinic's ID,
the ID of a row that exists nowhere, an ID whose type names another node, a malformed ID; a
NUL or a lone surrogate (the view refuses those with 400 ``BAD_REQUEST``); a 1 MB string
(over ``MAX_REQUEST_BYTES``: 413 ``REQUEST_TOO_LARGE``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from graphql.pyutils import Undefined
from hypothesis import strategies as st

from tests.fuzz.spec import KEY_TYPES, id_type
from tests.fuzz.world import ABSENT_PK, World
from tests.ids import global_id

# Strings that must reach the resolver, whatever it does with them.
RTL = ["\u202eevil\u202c", "\u200fمرحبا\u200f", "abc\u202edcba", "\u2067x\u2069", "\u061c"]
COMBINING = [
    "e\u0301",
    "Jose\u0301 Pe\u0301rez",
    "a" + "\u0301" * 300,
    "Z\u0334\u0321\u0322\u0348a\u0337l\u0336g\u0337o\u0335",
    "\u0301",
    "\u0e01\u0e34\u0e4a\u0e4a",
]
OTHER_HOSTILE = [
    "",
    " ",
    "\t\n",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "😀🦷",
    "𝕏𝔶𝔷",
    "'; DROP TABLE patients_patient; --",
    "<script>alert(1)</script>",
    "%00",
    "../../etc/passwd",
    "0",
    "-1",
    "1e30",
    "NaN",
    "null",
    "x" * 5_000,
    "é" * 20_000,
    "y" * 200_000,  # 200 kB: under the request limit, over every column's length
]
HOSTILE_FAMILIES = {"rtl": RTL, "combining": COMBINING, "other": OTHER_HOSTILE}
FORBIDDEN = ["\x00", "a\x00b", "\ud800", "a\udfffb", "\udc00\ud800"]
ONE_MEGABYTE = "z" * (1 << 20)

PLATFORM_EMAIL = "root@platform.pe"
RUCS = ["20601234565", "20504321097", "20600000005", "20100070970", "10467896541", "20123456789"]
SUBDOMAINS = ["clinica1", "clinica2", "cerrada", "nueva-clinica", "fuzzclinic", "x", "-bad-"]


def _plain_text(max_size: int = 30) -> st.SearchStrategy[str]:
    return st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        max_size=max_size,
    )


@cache
def plausible_strings(name: str) -> st.SearchStrategy[str]:
    """Values a careful client would send for an argument called ``name``."""
    lowered = name.lower()
    if "email" in lowered:
        return st.sampled_from(
            [
                "ana@clinica.pe",
                "luis.soto@correo.pe",
                "ana@clinica.pe",
                "admin@clinica1.pe",
                "fuzz-admin0@clinica1.pe",
                "root@platform.pe",
                "no-at-sign",
                "a@b",
            ]
        )
    if lowered == "password" or lowered.endswith("password"):
        return st.sampled_from(["Muy-segura-123", "s3cure-Pass!word", "123", "password"])
    if lowered in {"documentnumber", "customerdocument", "legalid"}:
        return st.sampled_from(["44556677", "70112233", "1234", "AB123456", "12345678", *RUCS])
    if "phone" in lowered:
        return st.sampled_from(["987654321", "+51987654321", "987 654 321", "01 4567890", "12"])
    if lowered == "color":
        return st.sampled_from(["#3B82F6", "#fff", "red", "#GGGGGG"])
    if lowered in {"subdomain", "targetsubdomain"}:
        return st.sampled_from(SUBDOMAINS)
    if lowered == "domain":
        return st.sampled_from(["smile.localhost", "clinica1.localhost", "bad domain", "a.pe"])
    if lowered == "timezone":
        return st.sampled_from(["America/Lima", "Europe/Madrid", "Mars/Base", "UTC"])
    if lowered == "surfaces":
        return st.sampled_from(["O", "M", "D", "V", "B", "L", "P", "I", "X"])
    if lowered in {"code"}:
        return st.sampled_from(["X1", "RES1", "CONS", "NEW-9"])
    if lowered in {"entitytype"}:
        return st.sampled_from(["patient", "appointment", "receipt", "nothing"])
    if lowered in {"after", "before"}:
        return st.sampled_from(["YXJyYXljb25uZWN0aW9uOjA=", "YXJyYXljb25uZWN0aW9uOjE=", "nope"])
    return st.one_of(
        st.sampled_from(["Ana", "Sillón 9", "Dolor en molar", "Control", "Devolución", "Plan A"]),
        _plain_text(),
    )


@cache
def hostile_strings() -> st.SearchStrategy[tuple[str, str]]:
    """(family, text) of a string every resolver must take without a 5xx."""
    return st.sampled_from(list(HOSTILE_FAMILIES)).flatmap(
        lambda family: st.sampled_from(HOSTILE_FAMILIES[family]).map(lambda s: (family, s))
    )


INT_RANGES = {
    "tooth": [11, 16, 21, 36, 48, 51, 85, 0, 10, 19, 99, -1],
    "first": [0, 1, 5, 20, 100, 101, -1],
    "last": [0, 1, 5, 100, 101, -1],
    "durationMinutes": [15, 30, 45, 60, 90, 0, -15, 7, 10_000],
    "defaultDurationMinutes": [15, 30, 60, 0, -5, 100_000],
    "quantity": [1, 2, 3, 0, -1, 1_000_000],
    "phase": [1, 2, 3, 0, -1, 32_767, 32_768],
    "sequence": [1, 2, 3, 0, -1, 32_768],
}
INT_LIMITS = [0, 1, -1, 2**31 - 1, -(2**31), 2**15, 2**16]
DECIMALS = [
    "10.00",
    "0.01",
    "50",
    "120.00",
    "0",
    "-5.00",
    "0.005",
    "1e2",
    "1E+30",
    "99999999999.99",
    "0.18",
    "1",
    "3.75",
    "-0",
    "0.0000001",
]
_INT32 = st.integers(-(2**31), 2**31 - 1)
INTS = {name: st.one_of(st.sampled_from(values), _INT32) for name, values in INT_RANGES.items()}
ANY_INT = st.one_of(st.sampled_from(INT_LIMITS), _INT32)
DECIMAL_STRINGS = st.one_of(
    st.sampled_from(DECIMALS), st.decimals(min_value=-1000, max_value=100_000, places=2).map(str)
)


@dataclass
class Leaf:
    """A place in the variables: a string, or an ID of ``node_type``."""

    path: tuple[Any, ...]
    kind: str  # "string" or "id"
    node_type: str | None = None


@dataclass
class Generated:
    variables: dict[str, Any]
    leaves: list[Leaf] = field(default_factory=list)
    hostile: set[str] = field(default_factory=set)  # families of hostile strings sent


class VariablesGenerator:
    """Draws the variables of one operation (``data`` is hypothesis's ``st.data()``)."""

    def __init__(
        self, data: Any, world: World, backups: list[str], password: str, *, complete: bool = False
    ):
        self.data = data
        # complete: every optional argument and input field given, none null, so that every
        # ID the operation can take is there to be swapped for another clinic's.
        self.complete = complete
        self.password = password
        self.world = world
        self.backups = backups
        self.zone = ZoneInfo(world.clinic.timezone)
        self.now = dt.datetime.now(self.zone).replace(second=0, microsecond=0)

    def draw(self, strategy: st.SearchStrategy[Any], label: str) -> Any:
        return self.data.draw(strategy, label=label)

    def variables(self, operation: str, arguments: dict[str, GraphQLArgument]) -> Generated:
        generated = Generated({})
        values: dict[str, Any] = {}
        # One example in three sends only plausible strings, so that whole calls can succeed;
        # in the others, two strings in five are hostile.
        self.hostility = 0 if self.complete else self.draw(st.sampled_from([0, 2, 2]), "hostility")
        if operation == "login" and self.draw(st.booleans(), "real credentials?"):
            email = self.draw(st.sampled_from([*self.world.emails, PLATFORM_EMAIL]), "email")
            generated.leaves += [Leaf(("email",), "string"), Leaf(("password",), "string")]
            generated.variables = {"email": email, "password": self.password}
            return generated
        for name, argument in arguments.items():
            required = (
                isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
            )
            if required or self.complete or self.draw(st.booleans(), f"give {name}"):
                values[name] = self.value(
                    operation, name, argument.type, (name,), generated, values
                )
        generated.variables = values
        return generated

    def value(
        self,
        operation: str,
        name: str,
        graphql_type: GraphQLInputType,
        path: tuple[Any, ...],
        generated: Generated,
        siblings: dict[str, Any],
    ) -> Any:
        if not isinstance(graphql_type, GraphQLNonNull):
            if not self.complete and self.draw(st.integers(0, 9), f"{name} null?") == 0:
                return None
            inner: GraphQLInputType = graphql_type
        else:
            inner = graphql_type.of_type
        if isinstance(inner, GraphQLList):
            size = self.draw(st.integers(1 if self.complete else 0, 3), f"{name} size")
            return [
                self.value(operation, name, inner.of_type, (*path, i), generated, {})
                for i in range(size)
            ]
        if isinstance(inner, GraphQLEnumType):
            return self.draw(st.sampled_from(sorted(inner.values)), name)
        if isinstance(inner, GraphQLInputObjectType):
            result: dict[str, Any] = {}
            for field_name, input_field in inner.fields.items():
                required = (
                    isinstance(input_field.type, GraphQLNonNull)
                    and input_field.default_value is Undefined
                )
                if required or self.complete or self.draw(st.booleans(), f"give {field_name}"):
                    result[field_name] = self.value(
                        operation,
                        field_name,
                        input_field.type,
                        (*path, field_name),
                        generated,
                        result,
                    )
            return result
        assert isinstance(inner, GraphQLScalarType), inner
        return self.scalar(operation, name, inner.name, path, generated, siblings)

    def scalar(
        self,
        operation: str,
        name: str,
        scalar: str,
        path: tuple[Any, ...],
        generated: Generated,
        siblings: dict[str, Any],
    ) -> Any:
        if scalar == "ID":
            node_type = id_type(operation, name)
            assert node_type, f"{operation}.{name}: add it to tests/fuzz/spec.py"
            generated.leaves.append(Leaf(path, "id", node_type))
            if node_type == "ClinicBackup":
                return self.draw(st.sampled_from(self.backups), name)
            ids = self.world.ids[node_type]
            # The first row of each type is the one the others hang on (the patient with the
            # appointments, charges and notes): name it more often, so that calls fit together.
            return self.draw(st.sampled_from([ids[0], ids[0], *ids]), name)
        if scalar == "String":
            generated.leaves.append(Leaf(path, "string"))
            if self.draw(st.integers(0, 4), f"{name} hostile?") < self.hostility:
                family, text = self.draw(hostile_strings(), name)
                generated.hostile.add(family)
                return text
            return self.draw(plausible_strings(name), name)
        if scalar == "Int":
            return self.draw(INTS.get(name, ANY_INT), name)
        if scalar == "Boolean":
            return self.draw(st.booleans(), name)
        if scalar == "Float":
            return self.draw(st.floats(allow_nan=False, allow_infinity=False), name)
        if scalar == "Decimal":
            return self.draw(DECIMAL_STRINGS, name)
        if scalar == "DateTime":
            return self.datetime(name, siblings)
        if scalar == "Date":
            return self.date(name, siblings)
        if scalar == "Time":
            hours = st.sampled_from([dt.time(8), dt.time(13, 30), dt.time(20), dt.time(23, 59)])
            return self.draw(st.one_of(hours, st.times()), name).isoformat()
        if scalar == "JSON":
            return self.draw(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), name)
        if scalar == "Upload":
            # The fuzzer posts JSON, where no file can be: whatever stands in for one (a name,
            # a number, an object) reaches the resolver, which must refuse it with a code.
            stand_ins = st.one_of(plausible_strings(name), st.integers(), st.just({}))
            return self.draw(stand_ins, name)
        raise AssertionError(f"no strategy for the scalar {scalar}")

    def datetime(self, name: str, siblings: dict[str, Any]) -> str:
        start = siblings.get("startsAt") if name == "endsAt" else siblings.get("from")
        if name in {"endsAt", "to"} and isinstance(start, str) and self.draw(CHANCE_4_IN_5, name):
            minutes = self.draw(LENGTHS, f"{name} length")
            return (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=minutes)).isoformat()
        kind, days, hour, minute = self.draw(DATETIME_PARTS, name)
        if kind == "odd":
            return self.draw(ODD_DATETIMES, name).isoformat()
        value = (self.now + dt.timedelta(days=days)).replace(hour=hour, minute=minute)
        zone = {"local": self.zone, "utc": dt.UTC, "far east": KIRITIMATI}[kind]
        return value.astimezone(zone).isoformat()

    def date(self, name: str, siblings: dict[str, Any]) -> str:
        start = siblings.get("from")
        if name == "to" and isinstance(start, str) and self.draw(st.booleans(), "to after from"):
            days = self.draw(st.integers(0, 40), "days")
            first = dt.date.fromisoformat(start)  # an odd date may be 9999-12-31: stop there
            return (first + dt.timedelta(days=min(days, (dt.date.max - first).days))).isoformat()
        today = self.now.date()
        if name in {"birthDate", "lastDentalVisit"}:
            days = self.draw(PAST_DAYS, name)  # in the past, or tomorrow
            return (today - dt.timedelta(days=days)).isoformat()
        days = self.draw(DATE_OFFSETS, name)
        if days is None:
            return self.draw(ODD_DATES, name).isoformat()
        return (today + dt.timedelta(days=days)).isoformat()


KIRITIMATI = ZoneInfo("Pacific/Kiritimati")
CHANCE_4_IN_5 = st.integers(0, 4).map(bool)
LENGTHS = st.sampled_from([15, 30, 45, 60, 90, 24 * 60])
# Mostly clinic-local times in the coming days, in working hours; sometimes the same instant
# with another offset, or any instant of the calendar with a fixed offset.
DATETIME_PARTS = st.tuples(
    st.sampled_from(["local", "local", "local", "local", "utc", "far east", "odd"]),
    st.integers(-3, 30),
    st.integers(6, 21),
    st.sampled_from([0, 15, 30, 45]),
)
ODD_DATETIMES = st.datetimes(
    min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001 (hypothesis takes naive bounds)
    max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.sampled_from([dt.UTC, *(dt.timezone(dt.timedelta(hours=h)) for h in (-5, 9, 14))]),
)
PAST_DAYS = st.one_of(st.integers(1, 90 * 365), st.just(-1))
DATE_OFFSETS = st.one_of(st.integers(-30, 60), st.none())
ODD_DATES = st.sampled_from([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29)])


# --- hazards: at most one per example --------------------------------------------------

ID_HAZARDS = ("other clinic", "absent", "wrong type", "malformed")
STRING_HAZARDS = ("forbidden", "one megabyte", "not a string")
# (upper bound of the roll, hazard): 70% none; 20% an ID that names no row of this clinic;
# 10% refused before any resolver (a malformed ID, a NUL or a lone surrogate, a number, a
# list or an object where a string goes, 1 MB).
HAZARD_ROLLS = [
    (70, "none"),
    (78, "other clinic"),
    (84, "absent"),
    (90, "wrong type"),
    (92, "malformed"),
    (95, "forbidden"),
    (97, "not a string"),
    (100, "one megabyte"),
]
NOT_STRINGS = st.sampled_from([7, -1.5, True, [], ["x"], {}, {"a": 1}])


@dataclass(frozen=True)
class Hazard:
    kind: str  # "none", one of ID_HAZARDS or STRING_HAZARDS
    path: tuple[Any, ...] = ()
    value: Any = None
    original: Any = None  # what the leaf held before


def _set(variables: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    """Put ``value`` at ``path``; returns what was there."""
    target: Any = variables
    for step in path[:-1]:
        target = target[step]
    original = target.get(path[-1]) if isinstance(target, dict) else target[path[-1]]
    target[path[-1]] = value
    return original


def draw_hazard(data: Any, generated: Generated, own: World, other: World | None) -> Hazard:
    """Pick at most one hazard for this example and apply it to ``generated.variables``.

    A number from 0 to 99 decides, so that hypothesis's simplest examples carry none."""
    ids = [
        leaf for leaf in generated.leaves if leaf.kind == "id" and leaf.node_type not in KEY_TYPES
    ]
    strings = [leaf for leaf in generated.leaves if leaf.kind == "string"]
    roll = data.draw(st.integers(0, 99), label="hazard")
    kind = next(kind for limit, kind in HAZARD_ROLLS if roll < limit)
    if kind in ID_HAZARDS and not ids:
        kind = "none"
    if kind == "other clinic" and other is None:
        kind = "absent"
    if kind == "none":
        return Hazard("none")
    if kind in ID_HAZARDS:
        leaf = data.draw(st.sampled_from(ids), label="hazard at")
        assert leaf.node_type
        if kind == "other clinic":
            assert other is not None
            value = data.draw(st.sampled_from(other.ids[leaf.node_type]), label="other ID")
        elif kind == "absent":
            value = global_id(leaf.node_type, ABSENT_PK, own.clinic)
        elif kind == "wrong type":
            wrong = data.draw(
                st.sampled_from(sorted({*own.ids} - {leaf.node_type} | {"Nope"})), label="type"
            )
            value = global_id(wrong, own.pks[leaf.node_type][0], own.clinic)
        else:
            value = data.draw(st.sampled_from(["", "not base64!", "UGF0aWVudA", "🦷"]), "bad ID")
        return Hazard(kind, leaf.path, value, _set(generated.variables, leaf.path, value))
    if kind == "not a string" and not strings:
        return Hazard("none")
    value = {
        "forbidden": lambda: data.draw(st.sampled_from(FORBIDDEN), label="forbidden"),
        "not a string": lambda: data.draw(NOT_STRINGS, label="not a string"),
        "one megabyte": lambda: ONE_MEGABYTE,
    }[kind]()
    if strings:
        leaf = data.draw(st.sampled_from(strings), label="hazard at")
        return Hazard(kind, leaf.path, value, _set(generated.variables, leaf.path, value))
    # No string argument: the value travels as a variable the document does not declare,
    # which the request decoder reads all the same.
    generated.variables["unused"] = value
    return Hazard(kind, ("unused",), value)
