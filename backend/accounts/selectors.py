"""Reading staff."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from backend.accounts.models import User


def staff_list(*, search: str | None = None, include_inactive: bool = True) -> QuerySet[User]:
    """The clinic's staff, ordered by name. Callers check the permission."""
    users = User.objects.all()
    if not include_inactive:
        users = users.filter(is_active=True)
    if search:
        users = users.filter(Q(email__icontains=search) | Q(full_name__icontains=search))
    return users.order_by("full_name", "id")
