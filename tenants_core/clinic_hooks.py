"""What the clinic apps do for the platform, registered by them.

``tenants_core`` sits below the clinic's domain apps and imports none of them (the layers in
``pyproject.toml``, checked by ``lint-imports``). Where the platform must act in a clinic's
schema or record an event, the app that knows how registers a hook here from its
``AppConfig.ready()``, as the plan caps are registered (``limits.resource_register``):

- ``event_recorder_register``: the audit trail (``backend.audit``) records the platform's
  events (``clinic.create``, ``clinic.suspend``…) in the current schema's trail;
- ``provisioning_step_register``: work inside a new clinic's schema, in the provisioning
  transaction, in registration order (``backend.accounts`` creates the first ADMIN);
- ``restore_step_register``: SQL on a restored schema before the restore commits
  (``backend.accounts`` revokes the tokens the backup still had live);
- ``file_keeper_register``: the clinic's stored files (``backend.files``), which backups
  carry and restores write back (``FileKeeper``).

A hook runs in the caller's transaction: whatever it writes commits or rolls back with the
platform's change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, Protocol

from django.db.backends.utils import CursorWrapper
from django.db.models import Model

from tenants_core.models import Clinic


class EventRecorder(Protocol):
    def __call__(
        self,
        *,
        actor: Any | None,
        action: str,
        entity: Model | None = None,
        changes: dict[str, Any] | None = None,
        actor_email: str = "",
    ) -> object: ...


@dataclass(frozen=True)
class NewClinic:
    """What a provisioning step knows of the clinic being created. The admin's password is
    already hashed; ``actor`` is the platform user provisioning it (None for a command)."""

    clinic: Clinic
    admin_email: str
    admin_full_name: str
    admin_password_hash: str
    actor: Any


@dataclass(frozen=True)
class StoredObject:
    """One stored file of a clinic, as its row records it."""

    key: str
    size: int
    sha256: str  # hex


class FileKeeper(Protocol):
    """What backups and restores need of the clinic's file storage. ``tenants_core`` knows
    no storage and no files table: the files app answers for both."""

    def prefix(self, schema: str) -> str:
        """The key prefix of every object of the clinic whose schema is ``schema``."""
        ...

    def listed(self, cursor: CursorWrapper, schema: str) -> list[StoredObject]:
        """The objects the rows of ``schema`` refer to, read through ``cursor`` (in the
        caller's transaction and snapshot)."""
        ...

    def open(self, key: str) -> IO[bytes]:
        """The stored object, for reading; ``FileNotFoundError`` when it is missing."""
        ...

    def exists(self, key: str) -> bool: ...

    def write(self, key: str, source: IO[bytes]) -> None:
        """Store ``source`` under exactly ``key`` (replacing what is there)."""
        ...

    def delete(self, key: str) -> None: ...

    def rekey(self, cursor: CursorWrapper, schema: str, old_prefix: str, new_prefix: str) -> None:
        """Rows of ``schema`` whose keys start with ``old_prefix`` start with ``new_prefix``."""
        ...


ProvisioningStep = Callable[[NewClinic], None]
RestoreStep = Callable[[CursorWrapper, str], None]  # (cursor, the restored schema's name)

_event_recorders: list[EventRecorder] = []
_provisioning_steps: list[ProvisioningStep] = []
_restore_steps: list[RestoreStep] = []
_file_keepers: list[FileKeeper] = []


def _register(registry: list[Any], hook: Any) -> None:
    if hook not in registry:  # AppConfig.ready() may run again (tests)
        registry.append(hook)


def event_recorder_register(recorder: EventRecorder) -> None:
    _register(_event_recorders, recorder)


def provisioning_step_register(step: ProvisioningStep) -> None:
    _register(_provisioning_steps, step)


def restore_step_register(step: RestoreStep) -> None:
    _register(_restore_steps, step)


def file_keeper_register(keeper: FileKeeper) -> None:
    """The one keeper of the clinics' files (a later registration replaces it)."""
    _file_keepers[:] = [keeper]


def file_keeper() -> FileKeeper | None:
    """The registered keeper; None when no files app is installed (backups carry no files)."""
    return _file_keepers[0] if _file_keepers else None


def event_record(
    *,
    actor: Any | None,
    action: str,
    entity: Model,
    changes: dict[str, Any],
    actor_email: str = "",
) -> None:
    """Record a platform event in the current schema's trail, in the current transaction.
    Refuses to run without a recorder: a platform change is never left unaudited."""
    if not _event_recorders:
        raise RuntimeError("no event recorder registered (backend.audit is not installed)")
    for recorder in _event_recorders:
        recorder(
            actor=actor, action=action, entity=entity, changes=changes, actor_email=actor_email
        )


def provisioning_steps() -> tuple[ProvisioningStep, ...]:
    return tuple(_provisioning_steps)


def restore_steps() -> tuple[RestoreStep, ...]:
    return tuple(_restore_steps)
