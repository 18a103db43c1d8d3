"""Types of staff users and authentication."""

from __future__ import annotations

from datetime import datetime

import strawberry
import strawberry_django
from strawberry import relay

from backend.accounts import models
from backend.accounts.models import Role
from graphql_api.core.docstrings import django_type, graphql_type

# The model's choices are the GraphQL enum: one source for its name and values.
strawberry.enum(Role, description="A staff member's role in the clinic.")


@django_type(models.User)
class StaffUser(relay.Node):
    """A person who signs in: clinic staff, or a platform operator on the platform's domain."""

    email: strawberry.auto = strawberry_django.field(description="The sign-in email, lower case.")
    full_name: strawberry.auto = strawberry_django.field(description="As colleagues see it.")
    is_active: strawberry.auto = strawberry_django.field(
        description="False once deactivated: it cannot sign in."
    )
    date_joined: strawberry.auto = strawberry_django.field(description="When it was created.")

    @strawberry_django.field(
        only=["role"], description="The clinic role; null for platform operators."
    )
    def role(self, root: models.User) -> Role | None:
        return Role(root.role) if root.role else None


@graphql_type
class AuthToken:
    """A bearer token. Send it as ``Authorization: Bearer <token>`` to this domain only; the
    token is shown once and stored only as a hash."""

    token: str = strawberry.field(description="The secret to send as the bearer token.")
    expires_at: datetime = strawberry.field(description="After this, sign in again.")
    user: StaffUser = strawberry.field(description="Who signed in.")


@django_type(models.User)
class StaffMember(relay.Node):
    """A colleague as records show them (the author of a note, who took a payment): name and
    role only. Emails and account state are for admins (``staff``)."""

    full_name: strawberry.auto

    @strawberry_django.field(only=["role"])
    def role(self, root: models.User) -> Role | None:
        return Role(root.role) if root.role else None
