"""The console's forms. Each only collects input: the service it feeds validates it, and its
ValidationErrors are shown on the form (``errors_onto``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm, AdminPasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.accounts.auth import auth_credentials_check
from backend.accounts.errors import AuthError
from backend.accounts.services import user_password_change
from backend.audit.services import audit_record
from tenants_core.models import PlanCode


class ConsoleLoginForm(AdminAuthenticationForm):
    """Platform superusers only, through the API's own throttled credential check: failures
    per account and client IP are the same rows, whichever door they came through."""

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            user = auth_credentials_check(email=email, password=password)
            if not (user.is_active and user.is_superuser):
                # As for a wrong password: the console does not say which accounts exist.
                raise ValidationError(
                    _("The email or the password is not correct."),
                    code=AuthError.INVALID_CREDENTIALS,
                )
            audit_record(
                actor=user, action="auth.login", entity=user, changes={"channel": "console"}
            )
            self.user_cache = user
        return self.cleaned_data


class ConsolePasswordChangeForm(AdminPasswordChangeForm):
    """Django's form for the operator's own password (the old one, the new one twice, the
    validators), saved through ``user_password_change``: set, the operator's API tokens
    revoked, audited."""

    def save(self, commit: bool = True) -> Any:
        changed = user_password_change(
            actor=self.user,
            user=self.user,
            password=self.cleaned_data["new_password1"],
            channel="console",
        )
        # The view re-hashes the session with this object: it must carry the new hash.
        self.user.password = changed.password
        return self.user


def errors_onto(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal on the form: each field's errors on that field when the form has
    it, on the form as a whole otherwise."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _plan_field() -> forms.ChoiceField:
    return forms.ChoiceField(label=gettext_lazy("Plan"), choices=PlanCode.choices)


class ClinicCreateForm(forms.Form):
    subdomain = forms.CharField(label=gettext_lazy("Subdomain"), required=False)
    name = forms.CharField(label=gettext_lazy("Name"), required=False)
    legal_id = forms.CharField(label=gettext_lazy("RUC"), required=False)
    email = forms.CharField(label=gettext_lazy("Email"), required=False)
    plan = _plan_field()
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"), initial=settings.DEFAULT_CLINIC_TIMEZONE, required=False
    )
    admin_email = forms.CharField(
        label=gettext_lazy("First admin's email"),
        required=False,
        help_text=gettext_lazy("Empty: the clinic's email."),
    )
    admin_password = forms.CharField(
        label=gettext_lazy("First admin's password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
    )


class PlanChangeForm(forms.Form):
    plan = _plan_field()


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,  # the service says what a reason must be
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DomainAddForm(forms.Form):
    domain = forms.CharField(label=gettext_lazy("Host name"), required=False)


class ConfirmForm(forms.Form):
    """No input: the POST (with its CSRF token) is the confirmation."""
