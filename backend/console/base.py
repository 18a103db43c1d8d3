"""What every page of the console shares: a query string a list cannot read is a redirect
to the plain list (Django's ``?e=1``), never a 500; and no "History" page, because the
console's actions are recorded in the platform's audit trail, never in Django's admin log
(which would stay empty)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.http import Http404, HttpRequest, HttpResponse


class ConsoleChangeList(ChangeList):
    def get_filters(self, request: HttpRequest) -> Any:
        """Django catches the ValueError of a bad date in the date hierarchy's parameters but
        not ``?created_at__year=99999999999999999999`` (an OverflowError) nor year 9999 (whose
        next year is past ``datetime``'s, a ValueError outside its guard)."""
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error

    def get_results(self, request: HttpRequest) -> None:
        """A date lookup outside the list's hierarchy (``?created_at__year=…`` on a list
        that allows it) overflows only when the query is compiled, here."""
        try:
            super().get_results(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error


class ConsoleAdmin(admin.ModelAdmin):
    """The base of every ModelAdmin of the console."""

    change_form_template = "console/change_form.html"

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        raise Http404

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return ConsoleChangeList
