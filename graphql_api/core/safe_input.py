"""What text and numbers may enter the API, whichever way they come in.

Every request's JSON (a POST body, a GET's ``variables`` and ``extensions``) is decoded by
``decode_json`` and every document's literals are checked by ``literal_refusal``, so one set of
rules holds for every entry point:

- no NUL character (PostgreSQL text cannot store it) and no unpaired surrogate (it cannot be
  encoded as UTF-8, so the database driver raised), in any string or key;
- JSON nests at most ``MAX_JSON_DEPTH`` levels (Python's decoder recursed until a
  RecursionError: a 500);
- numbers have at most ``MAX_NUMBER_LENGTH`` characters and are finite: no ``NaN`` or
  ``Infinity``, no ``1e999999`` (a float that overflows to infinity), no 5,000-digit integer
  (Python refuses to convert one, with a ValueError: a 500);
- a JSON object has no key twice (two parsers could read two different requests).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.utils.translation import gettext as _
from graphql import (
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    IntValueNode,
    Node,
    StringValueNode,
    Token,
    TokenKind,
)

from backend.core.error_codes import CommonError

MAX_JSON_DEPTH = 32
MAX_NUMBER_LENGTH = 64
CODE = CommonError.BAD_REQUEST

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


class UnsafeInput(ValueError):
    """Input the API refuses; the message says why, for the client."""


def forbidden_text(text: str) -> bool:
    """True when the text holds a NUL or an unpaired surrogate."""
    return _FORBIDDEN.search(text) is not None


def _text_refusal() -> UnsafeInput:
    return UnsafeInput(_("The request contains a NUL character or an invalid Unicode character."))


def _number_refusal() -> UnsafeInput:
    return UnsafeInput(
        _("The request contains a number that is not finite or has more than %(max)d characters.")
        % {"max": MAX_NUMBER_LENGTH}
    )


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise UnsafeInput(_("The request's JSON has an object with a repeated key."))
    return result


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_LENGTH:
        raise _number_refusal()
    return int(text)


def _float(text: str) -> float:
    value = float(text) if len(text) <= MAX_NUMBER_LENGTH else math.inf
    if not math.isfinite(value):
        raise _number_refusal()
    return value


def _constant(text: str) -> Any:  # NaN, Infinity, -Infinity
    raise _number_refusal()


def decode_json(data: str | bytes) -> Any:
    """The JSON value of ``data``, or UnsafeInput with a message for the client."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_int,
            parse_float=_float,
            parse_constant=_constant,
        )
    except UnicodeDecodeError as error:
        raise UnsafeInput(_("The request body is not UTF-8.")) from error
    except json.JSONDecodeError as error:
        raise UnsafeInput(_("The request is not valid JSON.")) from error
    except RecursionError:
        # Raised by the decoder itself, well before the interpreter's stack is at risk.
        raise _depth_refusal() from None
    check_json(value)
    return value


def _depth_refusal() -> UnsafeInput:
    return UnsafeInput(
        _("The request's JSON nests more than %(max)d levels deep.") % {"max": MAX_JSON_DEPTH}
    )


def check_json(value: Any) -> None:
    """Refuse a decoded value that nests too deep or holds forbidden text (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if forbidden_text(item):
                raise _text_refusal()
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _depth_refusal()
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def check_text(*texts: object) -> None:
    """Refuse forbidden characters in plain strings (a GET's query, an operation name…)."""
    for text in texts:
        if isinstance(text, str) and forbidden_text(text):
            raise _text_refusal()


def literal_refusal(document: DocumentNode) -> GraphQLError | None:
    """A coded error for the first literal of the document the API refuses, else None.

    GraphQL escapes reach the same characters as JSON ones (``"\\u0000"``, ``"\\u{0}"``), and
    graphql-core turns an integer literal into a Python int when it coerces it. The check reads
    the parser's tokens (a string's token holds its value, escapes resolved) and falls back to
    the nodes for a document parsed without locations."""
    token = document.loc.start_token if document.loc else None
    if token is None:
        return _literal_node_refusal(document)
    source = document.loc.source if document.loc else None
    while token is not None:
        kind = token.kind
        if kind in _TEXT_TOKENS:
            if forbidden_text(token.value or ""):
                return _literal_error(_text_refusal(), token=token, source=source)
        elif kind in _NUMBER_TOKENS and _bad_number(token.value or "", kind is TokenKind.FLOAT):
            return _literal_error(_number_refusal(), token=token, source=source)
        token = token.next
    return None


_TEXT_TOKENS = frozenset({TokenKind.STRING, TokenKind.BLOCK_STRING})
_NUMBER_TOKENS = frozenset({TokenKind.INT, TokenKind.FLOAT})


def _bad_number(text: str, is_float: bool) -> bool:
    if len(text) > MAX_NUMBER_LENGTH:
        return True
    return is_float and not math.isfinite(float(text))


def _literal_node_refusal(document: DocumentNode) -> GraphQLError | None:
    stack: list[Node] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, StringValueNode) and forbidden_text(node.value):
            return _literal_error(_text_refusal(), node)
        if isinstance(node, (IntValueNode, FloatValueNode)) and _bad_number(
            node.value, isinstance(node, FloatValueNode)
        ):
            return _literal_error(_number_refusal(), node)
        for key in node.keys:
            child = getattr(node, key, None)
            if isinstance(child, Node):
                stack.append(child)
            elif isinstance(child, tuple | list):
                stack.extend(item for item in child if isinstance(item, Node))
    return None


def _literal_error(
    refusal: UnsafeInput,
    node: Node | None = None,
    *,
    token: Token | None = None,
    source: Any = None,
) -> GraphQLError:
    positions = [token.start] if token is not None else None
    return GraphQLError(
        str(refusal), node, source=source, positions=positions, extensions={"code": CODE}
    )
