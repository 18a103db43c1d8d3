"""Clinics in the console: a read-only list and page, and each platform action as a small
form that calls the same service as the GraphQL mutation (``graphql_api/platform``). Limits,
the audit trail and the routing cache's invalidation therefore apply by construction; the
console itself writes no clinic, domain or backup row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.console.base import ConsoleAdmin, ConsoleChangeList
from backend.console.forms import (
    ClinicCreateForm,
    ConfirmForm,
    DomainAddForm,
    PlanChangeForm,
    SuspendForm,
    errors_onto,
)
from tenants_core import backups, selectors, services
from tenants_core.models import Clinic

# What an action does with a clinic, the valid form's data and the operator; its success
# message.
Perform = Callable[[Clinic, dict[str, Any], Any], str]


class ClinicChangeList(ConsoleChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        # Users and patients of the page's clinics, in one SQL statement.
        self.result_list = selectors.clinics_with_usage(list(self.result_list))


@admin.display(description=gettext_lazy("Users"))
def _users(clinic: Clinic) -> Any:
    return getattr(clinic, "usage_counts", {}).get("users", "—")


@admin.display(description=gettext_lazy("Patients"))
def _patients(clinic: Clinic) -> Any:
    return getattr(clinic, "usage_counts", {}).get("patients", "—")


class ClinicAdmin(ConsoleAdmin):
    list_display = ("subdomain", "name", "plan", "status", _users, _patients, "created_at")
    list_filter = ("plan", "status")
    search_fields = ("subdomain",)  # shows the search box; the selector does the searching
    list_select_related = ("plan",)
    list_per_page = 50
    actions = None
    change_form_template = "console/clinic_change_form.html"
    readonly_fields = ("domain_list", "sender_list")
    fields = (
        "subdomain",
        "name",
        "legal_id",
        "email",
        "plan",
        "status",
        "suspension_reason",
        "suspended_at",
        "timezone",
        "max_users_override",
        "max_patients_override",
        "created_at",
        "domain_list",
        "sender_list",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Clinic]:
        return selectors.clinic_list().select_related("plan")  # never the platform itself

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Clinic], search_term: str
    ) -> tuple[QuerySet[Clinic], bool]:
        if not search_term.strip():
            return queryset, False
        found = selectors.clinic_list(search=search_term).values("pk")
        return queryset.filter(pk__in=found), False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ClinicChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    @admin.display(description=gettext_lazy("Domains"))
    def domain_list(self, clinic: Clinic) -> str:
        return ", ".join(domain.domain for domain in clinic.domains.order_by("-is_primary", "id"))

    @admin.display(description=gettext_lazy("Messaging senders"))
    def sender_list(self, clinic: Clinic) -> str:
        return ", ".join(f"{s.channel} {s.external_id}" for s in clinic.senders.all()) or "—"

    # The page is read-only; creating is the provisioning form; nothing is deleted here.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        def action(name: str, view: Callable[..., HttpResponse]) -> Any:
            return path(
                f"<path:object_id>/{name}/",
                self.admin_site.admin_view(view),
                name=f"tenants_core_clinic_{name}",
            )

        return [
            action("plan", self.plan_view),
            action("suspend", self.suspend_view),
            action("reactivate", self.reactivate_view),
            action("domain", self.domain_view),
            action("backup", self.backup_view),
            *super().get_urls(),
        ]

    # --- the actions -----------------------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Provision a clinic (``clinic_provision``): schema, domain, first admin."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ClinicCreateForm(request.POST if request.method == "POST" else None)

        def create(_clinic: Any, data: dict[str, Any], actor: Any) -> str:
            clinic = services.clinic_provision(actor=actor, **data)
            return _("Clinic “%(name)s” created at %(subdomain)s.") % {
                "name": clinic.name,
                "subdomain": clinic.subdomain,
            }

        return self._form_page(request, None, form, _("Create a clinic"), create)

    def plan_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def change(clinic: Clinic, data: dict[str, Any], actor: Any) -> str:
            clinic = services.clinic_plan_change(actor=actor, clinic=clinic, plan=data["plan"])
            return _("Clinic %(clinic)s is now on the %(plan)s plan.") % {
                "clinic": clinic.subdomain,
                "plan": clinic.plan.get_code_display(),
            }

        return self._action(request, object_id, PlanChangeForm, _("Change plan"), change)

    def suspend_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def suspend(clinic: Clinic, data: dict[str, Any], actor: Any) -> str:
            services.clinic_suspend(actor=actor, clinic=clinic, reason=data["reason"])
            return _("Clinic %(clinic)s is suspended.") % {"clinic": clinic.subdomain}

        return self._action(request, object_id, SuspendForm, _("Suspend"), suspend)

    def reactivate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def reactivate(clinic: Clinic, data: dict[str, Any], actor: Any) -> str:
            services.clinic_reactivate(actor=actor, clinic=clinic)
            return _("Clinic %(clinic)s is active again.") % {"clinic": clinic.subdomain}

        return self._action(request, object_id, ConfirmForm, _("Reactivate"), reactivate)

    def domain_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def add(clinic: Clinic, data: dict[str, Any], actor: Any) -> str:
            domain = services.clinic_domain_add(actor=actor, clinic=clinic, domain=data["domain"])
            return _("%(domain)s now routes to %(clinic)s.") % {
                "domain": domain.domain,
                "clinic": clinic.subdomain,
            }

        return self._action(request, object_id, DomainAddForm, _("Add a domain"), add)

    def backup_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        def back_up(clinic: Clinic, data: dict[str, Any], actor: Any) -> str:
            backup = backups.clinic_backup_create(clinic=clinic, actor=actor)
            return _("Backup %(id)s made (%(size)d bytes).") % {
                "id": backup.id,
                "size": backup.size_bytes,
            }

        return self._action(request, object_id, ConfirmForm, _("Back up"), back_up)

    # --- one shape for every action --------------------------------------------------------

    def _action(
        self,
        request: HttpRequest,
        object_id: str,
        form_class: type[forms.Form],
        title: str,
        perform: Perform,
    ) -> HttpResponse:
        clinic = self.get_object(request, unquote(object_id))
        if clinic is None:
            self.message_user(request, _("No clinic has this id."), messages.WARNING)
            return HttpResponseRedirect(reverse("console:tenants_core_clinic_changelist"))
        form = form_class(request.POST if request.method == "POST" else None)
        return self._form_page(request, clinic, form, title, perform)

    def _form_page(
        self,
        request: HttpRequest,
        clinic: Clinic | None,
        form: forms.Form,
        title: str,
        perform: Perform,
    ) -> HttpResponse:
        """GET: the form. POST: the service, in a savepoint, so that a refusal leaves nothing
        behind and is shown on the form (translated, with its code); a success goes back to
        the clinic's page with a message."""
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    done = perform(clinic, form.cleaned_data, request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                errors_onto(form, error)
            else:
                self.message_user(request, done, messages.SUCCESS)
                if clinic is None:
                    return HttpResponseRedirect(reverse("console:tenants_core_clinic_changelist"))
                return HttpResponseRedirect(
                    reverse("console:tenants_core_clinic_change", args=[clinic.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: {clinic.subdomain}" if clinic else title,
            "opts": self.opts,
            "clinic": clinic,
            "form": form,
            "error_codes": _error_codes(form),
            "submit_label": title,
        }
        return TemplateResponse(request, "console/clinic_action.html", context)


def _error_codes(form: forms.Form) -> list[str]:
    """The codes of the form's errors (a service's refusal carries its code), shown beside
    the translated messages so that an operator can quote it."""
    if not form.is_bound:
        return []
    codes = {
        str(error.code)
        for errors in form.errors.as_data().values()
        for error in errors
        if error.code and str(error.code).isupper()
    }
    return sorted(codes)


def register(site: admin.AdminSite) -> None:
    site.register(Clinic, ClinicAdmin)
