"""Every error code a client can receive, where it comes from, and which operation may answer
it: read from the code, so that the list in ``docs/clients.md`` cannot drift
(``manage.py export_error_codes``; ``--check`` in CI).

- **The codes** are the members of the error enums in ``ERROR_ENUMS``; what each one means is
  its attribute docstring (the string under the member). ``tests/graphql_api/
  test_error_codes.py`` fails when an ``*Error`` enum is not listed here, when a member has
  no docstring or is raised nowhere, or when code raises a code outside these enums.
- **Where a code comes from** is found in the source: each module that names a member
  (``SchedulingError.APPOINTMENT_OVERLAP``) can answer it. Modules are grouped by domain
  (``backend/<domain>``, ``tenants_core`` as ``platform``); the request's way in (middleware,
  the view, non-GraphQL endpoints) is ``HTTP``.
- **Per operation**: its permission extensions give ``TENANT_DOMAIN_ONLY``/
  ``PUBLIC_DOMAIN_ONLY``, ``UNAUTHENTICATED`` and ``FORBIDDEN``; an ``ID`` argument (also
  inside an input) gives ``INVALID_ID`` and ``NOT_FOUND``; a connection gives
  ``INVALID_PAGINATION``. Its business codes are those its GraphQL package and the domain
  package behind it name, with what they use of the shared code (``backend/core``,
  ``backend/files``, ``tenants_core``: a function imported by name brings the codes of that
  function and of what it calls; a module imported whole brings all of its codes), but not
  other domains' packages. An upper bound per domain, not per operation: the operations of
  one domain share one list (``error_sources`` reads the source).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from itertools import pairwise

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLScalarType,
    get_named_type,
)
from strawberry.permission import PermissionExtension
from strawberry.types.base import StrawberryObjectDefinition

from backend.accounts.errors import AuthError, StaffError
from backend.assistant.errors import AssistantError
from backend.billing.errors import BillingError
from backend.clinic_admin.errors import ClinicAdminError
from backend.clinical.errors import ClinicalError
from backend.core.contacts import ContactError
from backend.core.error_codes import CommonError
from backend.core.text import TextError
from backend.core.transactions import TransactionError
from backend.documents.errors import DocumentError
from backend.files.errors import FileError
from backend.metrics.errors import MetricsError
from backend.notifications.errors import NotificationError
from backend.notifications.webhooks import WebhookError
from backend.patients.errors import PatientError
from backend.reports.errors import ReportError
from backend.resources.errors import ResourceError
from backend.scheduling.errors import SchedulingError
from backend.treatments.errors import TreatmentError
from graphql_api.core.error_sources import (
    Unit,
    attributes_named_in,
    package,
    project_modules,
    unit_attributes_and_uses,
)
from graphql_api.core.permissions import (
    HasPermission,
    IsAuthenticated,
    IsPlatformAdmin,
    PublicDomainOnly,
    TenantDomainOnly,
)
from tenants_core.errors import PlatformError

# Every enum of codes that reaches a client, shared ones first.
ERROR_ENUMS: tuple[type[StrEnum], ...] = (
    CommonError,
    TransactionError,
    TextError,
    ContactError,
    FileError,
    AuthError,
    StaffError,
    PatientError,
    ResourceError,
    SchedulingError,
    ClinicalError,
    DocumentError,
    TreatmentError,
    BillingError,
    NotificationError,
    AssistantError,
    ClinicAdminError,
    ReportError,
    MetricsError,
    PlatformError,
    WebhookError,
)

# Any GraphQL operation may answer these, whatever it does: the document or the request
# refused (nothing ran), a bug or an outage of ours, a lost race (nothing saved), a rule
# without a code of its own.
ANY_OPERATION: tuple[str, ...] = (
    CommonError.BAD_REQUEST,
    CommonError.GRAPHQL_VALIDATION_FAILED,
    CommonError.INVALID,
    CommonError.INTERNAL_ERROR,
    CommonError.DATABASE_UNAVAILABLE,
    TransactionError.CONCURRENT_UPDATE,
)

# The way in, before or around GraphQL: what these modules name is answered at the HTTP level
# (a JSON body ``{"errors": [{"message", "extensions": {"code"}}]}`` with a 4xx/5xx status).
HTTP_MODULES: frozenset[str] = frozenset(
    {
        "backend.core.middleware",
        "backend.core.views",
        "tenants_core.middleware",
        "graphql_api.core.http_input",
        "graphql_api.core.views",
        "backend.files.views",
        "backend.branding.views",
        "backend.notifications.webhooks",
        "backend.observability.middleware",
    }
)

# Modules that name codes without raising them (the enums themselves, the classification of
# every error, the catalog): not a source of any code.
NOT_SOURCES: frozenset[str] = frozenset(
    {"graphql_api.core.errors", "graphql_api.core.error_logging", __name__}
)

# The domain package behind a GraphQL package, where the names differ.
BACKEND_OF: dict[str, str] = {
    "platform": "tenants_core",
    "clinic_settings": "tenants_core",
    "dashboard": "backend.reports",
}

# Packages a domain's closure of imports does not enter: other domains are theirs.
SHARED_PACKAGES = ("backend.core", "backend.files", "tenants_core", "graphql_api.core.uploads")

PERMISSION_CODES = (CommonError.UNAUTHENTICATED, CommonError.FORBIDDEN)
ID_CODES = (CommonError.INVALID_ID, CommonError.NOT_FOUND)


@dataclass(frozen=True)
class ErrorCode:
    code: str
    enum: str  # the enum that defines it ("SchedulingError")
    meaning: str


def meanings(enum: type[StrEnum]) -> dict[str, str]:
    """Each member's attribute docstring (the string literal right under it)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(enum)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for statement, following in pairwise(body):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[statement.targets[0].id] = " ".join(following.value.value.split())
    return found


def error_codes() -> list[ErrorCode]:
    """Every member of every enum, in the order of ``ERROR_ENUMS``."""
    codes: list[ErrorCode] = []
    for enum in ERROR_ENUMS:
        said = meanings(enum)
        codes.extend(
            ErrorCode(code=member.value, enum=enum.__name__, meaning=said.get(member.name, ""))
            for member in enum
        )
    return codes


# --- the source: which module names which member ----------------------------------------


@cache
def _members() -> dict[str, dict[str, str]]:
    return {enum.__name__: {m.name: m.value for m in enum} for enum in ERROR_ENUMS}


def _codes(attributes: Iterable[tuple[str, str]]) -> frozenset[str]:
    members = _members()
    return frozenset(
        members[name][attribute]
        for name, attribute in attributes
        if attribute in members.get(name, {})
    )


def codes_named_in(module: str) -> frozenset[str]:
    """The codes ``module`` names as ``SomeError.MEMBER``."""
    return _codes(attributes_named_in(module))


def area(module: str) -> str:
    """How the list names where a code comes from: ``HTTP``, a domain, or ``GraphQL``."""
    if module in HTTP_MODULES:
        return "HTTP"
    parts = module.split(".")
    if parts[0] == "tenants_core":
        return "platform"
    if parts[0] == "graphql_api":
        return "GraphQL" if parts[1] == "core" else parts[1]
    return "shared" if parts[1] in ("core", "files") else parts[1]


def code_sources() -> dict[tuple[str, str], set[str]]:
    """Each member, as (its enum's name, its code), and the areas whose modules name it."""
    members = _members()
    sources: dict[tuple[str, str], set[str]] = {}
    for module in project_modules():
        if module in NOT_SOURCES or module.endswith((".errors", "error_codes")):
            continue
        for name, attribute in attributes_named_in(module):
            if attribute in members.get(name, {}):
                key = (name, members[name][attribute])
                sources.setdefault(key, set()).add(area(module))
    # What the GraphQL layer answers for any operation, or reads off an operation's arguments.
    for code in (*ANY_OPERATION, *ID_CODES):
        sources.setdefault((type(code).__name__, code), set()).add("GraphQL")
    return sources


def _closure_codes(starts: Iterable[str]) -> set[str]:
    """The codes ``starts`` name, and those of what they use, transitively, entering no other
    domain's package."""
    own = {package(module) for module in starts}
    seen: set[Unit] = set()
    stack: list[Unit] = [(module, None) for module in starts]
    codes: set[str] = set()
    while stack:
        unit = stack.pop()
        if unit in seen or unit[0] in NOT_SOURCES or unit[0] in HTTP_MODULES:
            continue
        seen.add(unit)
        named, uses = unit_attributes_and_uses(unit)
        codes |= _codes(named)
        stack.extend(
            use for use in uses if package(use[0]) in own or use[0].startswith(SHARED_PACKAGES)
        )
    return codes


@cache
def domain_codes(graphql_package: str) -> frozenset[str]:
    """The codes the operations of ``graphql_api.<graphql_package>`` can answer for a rule of
    their domain (besides permission, ID and pagination refusals)."""
    backend = BACKEND_OF.get(graphql_package, f"backend.{graphql_package}")
    modules = project_modules()
    if backend not in modules:
        raise LookupError(f"graphql_api.{graphql_package}: no package {backend} behind it")
    starts = [
        name
        for name in modules
        if name.startswith((f"graphql_api.{graphql_package}.", f"{backend}."))
        or name in (f"graphql_api.{graphql_package}", backend)
    ]
    return frozenset(_closure_codes(starts))


# --- operations -----------------------------------------------------------------------


@dataclass(frozen=True)
class OperationCodes:
    operation: str  # "mutation scheduleAppointment"
    package: str  # its GraphQL package: "scheduling"
    refusals: tuple[str, ...]  # domain, token, permission
    input_codes: tuple[str, ...]  # IDs, pagination
    domain_codes: tuple[str, ...]


def _has_id(types: Iterable[GraphQLInputType], seen: set[str]) -> bool:
    for graphql_type in types:
        named = get_named_type(graphql_type)
        if isinstance(named, GraphQLScalarType) and named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            seen.add(named.name)
            if _has_id((field.type for field in named.fields.values()), seen):
                return True
    return False


def _refusals(field: object) -> tuple[str, ...]:
    kinds = {
        type(permission)
        for extension in getattr(field, "extensions", ())
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    }
    codes: list[str] = []
    if TenantDomainOnly in kinds:
        codes.append(CommonError.TENANT_DOMAIN_ONLY)
    if PublicDomainOnly in kinds:
        codes.append(CommonError.PUBLIC_DOMAIN_ONLY)
    if kinds & {IsAuthenticated, HasPermission, IsPlatformAdmin}:
        codes.append(CommonError.UNAUTHENTICATED)
    if kinds & {HasPermission, IsPlatformAdmin}:
        codes.append(CommonError.FORBIDDEN)
    return tuple(codes)


def _order(codes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(codes) - set(ANY_OPERATION)))


def operation_codes(schema: strawberry.Schema) -> Iterator[OperationCodes]:
    """What each root field of ``schema`` can answer besides ``ANY_OPERATION``."""
    for kind, type_name in (("query", "Query"), ("mutation", "Mutation")):
        definition = schema.get_type_by_name(type_name)
        assert isinstance(definition, StrawberryObjectDefinition)
        graphql_root = schema._schema.get_type(type_name)  # the printed schema's types
        assert isinstance(graphql_root, GraphQLObjectType)
        for field in definition.fields:
            name = schema.config.name_converter.get_graphql_name(field)
            graphql_field: GraphQLField = graphql_root.fields[name]
            resolver = field.base_resolver
            module = resolver.wrapped_func.__module__ if resolver else type(field).__module__
            package = module.split(".")[1]
            inputs: list[str] = []
            if _has_id((argument.type for argument in graphql_field.args.values()), set()):
                inputs.extend(ID_CODES)
            if get_named_type(graphql_field.type).name.endswith("Connection"):
                inputs.append(CommonError.INVALID_PAGINATION)
            yield OperationCodes(
                operation=f"{kind} {name}",
                package=package,
                refusals=_refusals(field),
                input_codes=_order(inputs),
                domain_codes=_order(domain_codes(package)),
            )
