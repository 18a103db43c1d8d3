"""Short-lived signed download links, and who may follow them.

A link (``/files/<token>``) names the clinic's schema, the file and the user it was made for,
and expires after ``FILE_URL_SECONDS``. It is made only by a resolver that has checked the
user's right to the file; when it is followed, the hook registered for the file's purpose runs
again in the request's transaction (it checks that the user may still read it, and audits the
read). So a link is useless on another clinic's domain, after it expires, or once the user
lost the right."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing

from backend.files.models import StoredFile
from backend.files.storage import current_schema

_SALT = "backend.files.download"

ReadHook = Callable[[StoredFile, Any], None]  # (file, user id); raises PermissionDenied
_READ_HOOKS: dict[str, ReadHook] = {}
# (user id, token id) → whether the sign-in the link was made for is still live (not signed
# out, revoked, expired; the user active). Registered by the accounts app.
CredentialCheck = Callable[[Any, Any], bool]
_credential_check: list[CredentialCheck] = []


def credential_check_register(check: CredentialCheck) -> None:
    _credential_check[:] = [check]


def credential_live(user_id: Any, token_id: Any) -> bool:
    """True when no check is registered, or the registered one says the sign-in is live."""
    return all(check(user_id, token_id) for check in _credential_check)


def read_hook_register(purpose: str, hook: ReadHook) -> None:
    """``hook(stored, user_id)`` runs before a download of a file of ``purpose`` is served.
    A purpose with no hook cannot be downloaded through a link."""
    _READ_HOOKS[purpose] = hook


def read_hook(purpose: str) -> ReadHook | None:
    return _READ_HOOKS.get(purpose)


@dataclass(frozen=True)
class Link:
    schema: str
    file_id: int
    user_id: Any
    token_id: Any
    inline: bool


def download_url(
    stored: StoredFile, *, user_id: Any, token_id: Any = None, inline: bool = False
) -> str:
    """A relative URL that serves ``stored`` for ``FILE_URL_SECONDS``, for the user signed in
    with the token ``token_id`` (signing out, or losing the token, ends the link too).
    ``inline`` (images only) lets a browser show it in place; anything else downloads as an
    attachment."""
    inline = inline and stored.content_type in {"image/png", "image/jpeg", "image/webp"}
    token = signing.dumps(
        {"s": current_schema(), "f": stored.pk, "u": user_id, "t": token_id, "i": int(inline)},
        salt=_SALT,
    )
    return f"/files/{token}"


class LinkExpired(Exception):
    pass


class LinkInvalid(Exception):
    pass


def link_read(token: str) -> Link:
    """The link in ``token``; LinkExpired or LinkInvalid (forged, altered, another clinic's)."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.FILE_URL_SECONDS)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    if not isinstance(data, dict) or data.get("s") != current_schema():
        raise LinkInvalid
    return Link(
        schema=data["s"],
        file_id=int(data["f"]),
        user_id=data.get("u"),
        token_id=data.get("t"),
        inline=bool(data["i"]),
    )
