"""SQL expressions that compute, in PostgreSQL, exactly the wire value of a field.

Each function returns SQL text for ``%s``-parameterised statements (psycopg2): literal ``%`` is
doubled. The clinic's key and zone are not parameters: the plan's text keeps the markers
``CLINIC`` and ``ZONE`` (inside string literals), replaced per request by ``bind`` with values
checked to be a number and an IANA zone name, so that one cached text serves every clinic.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

CLINIC = "\x01clinic\x01"
ZONE = "\x01zone\x01"
# A stored value the field's resolver would refuse (an enum value not in the enum): the
# statement answers this string in its place, and the runner declines when it sees it, so the
# normal execution reports the error it always reported. (JSON escapes the control chars.)
INVALID = "\x02invalid\x02"
INVALID_JSON = "\\u0002invalid\\u0002"

# Python's str.isspace() characters (what ``str.strip()`` removes), as regex escapes.
_PYTHON_WHITESPACE = "".join(
    f"\\u{ord(char):04x}" for char in map(chr, range(0x10000)) if char.isspace()
)
_ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")


def literal(text: str) -> str:
    """``text`` as a SQL string literal (standard_conforming_strings), ``%`` doubled."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column(alias: str, name: str) -> str:
    return f"{alias}.{identifier(name)}"


def base64_of(text_sql: str) -> str:
    """``base64.b64encode(text.encode()).decode()``: PostgreSQL's encoder wraps at 76 chars."""
    return f"translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), E'\\n', '')"


def global_id(type_name: str, pk_sql: str) -> str:
    """``base64("<Type>:<clinic>.<pk>")`` (graphql_api/core/ids.py)."""
    return base64_of(f"{literal(type_name + ':')} || '{CLINIC}.' || ({pk_sql})::text")


def cursor(index_sql: str) -> str:
    """strawberry's list cursor: ``base64("arrayconnection:<index>")``."""
    return base64_of(f"'arrayconnection:' || ({index_sql})::text")


def datetime(value_sql: str) -> str:
    """``value.astimezone(zone).replace(microsecond=0).isoformat()``: the local time to the
    second, then the offset as ``±HH:MM`` (``:SS`` too when the offset has seconds)."""
    local = f"(({value_sql}) AT TIME ZONE '{ZONE}')"
    offset = f"extract(epoch FROM {local} - (({value_sql}) AT TIME ZONE 'UTC'))::int"
    return (
        f"to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN {offset} < 0 THEN '-' ELSE '+' END"
        f" || to_char(make_interval(secs => abs({offset})),"
        f" CASE WHEN abs({offset}) %% 60 = 0 THEN 'HH24:MI' ELSE 'HH24:MI:SS' END)"
    )


def enum_name(value_sql: str, members: type[enum.Enum], *, blank_is_null: bool) -> str:
    """The member's name for its stored value (GraphQL enums answer names)."""
    if blank_is_null:
        value_sql = f"NULLIF({value_sql}, '')"
    pairs = [(str(member.value), member.name) for member in members]
    if all(value == name for value, name in pairs):
        values = ", ".join(literal(value) for value, _name in pairs)
        cases = f"WHEN {value_sql} IN ({values}) THEN {value_sql}"
    else:
        cases = " ".join(
            f"WHEN {value_sql} = {literal(value)} THEN {literal(name)}" for value, name in pairs
        )
    return f"CASE WHEN {value_sql} IS NULL THEN NULL {cases} ELSE '{INVALID}' END"


def concat(values_sql: Sequence[str], separator: str) -> str:
    return f" || {literal(separator)} || ".join(f"({value})" for value in values_sql)


def any_not_blank(values_sql: Sequence[str]) -> str:
    """``bool(a.strip() or b.strip() …)`` for text columns."""
    tests = " OR ".join(f"({value}) ~ '[^{_PYTHON_WHITESPACE}]'" for value in values_sql)
    return f"coalesce({tests}, false)"


def json_object(pairs: Sequence[tuple[str, str]]) -> str:
    """``json_build_object`` keeps the keys in order (``jsonb`` would sort them)."""
    return "json_build_object(" + ", ".join(f"{literal(k)}, {v}" for k, v in pairs) + ")"


def bind(text: str, *, clinic: str, zone: str) -> str:
    """The plan's text for one clinic: its key and zone in place of the markers."""
    if not clinic.isascii() or not clinic.isdigit():
        raise ValueError(f"not a clinic key: {clinic!r}")
    if not _ZONE_NAME.fullmatch(zone):
        raise ValueError(f"not a zone name: {zone!r}")
    return text.replace(CLINIC, clinic).replace(ZONE, zone)
