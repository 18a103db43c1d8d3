"""Reading staff. Whoever may see the staff sees all of it; the selectors take the ``actor``
so that a rule about who sees whom has one place to go."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from backend.accounts.models import User
from backend.core.error_codes import CommonError


def staff_list(
    *, actor: User, search: str | None = None, include_inactive: bool = True
) -> QuerySet[User]:
    """The clinic's staff ``actor`` may see (all of it), ordered by name. Callers check the
    permission."""
    users = User.objects.all()
    if not include_inactive:
        users = users.filter(is_active=True)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    return users.order_by("full_name", "id")


def staff_user_get(*, actor: User, user_id: int | str) -> User:
    """One staff user ``actor`` may see (any); ``NOT_FOUND`` otherwise."""
    try:
        return User.objects.get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise ValidationError(_("No such staff user."), code=CommonError.NOT_FOUND) from None
