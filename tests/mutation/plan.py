"""What is mutated, and which tests must notice: the one table of the mutation runs.

Each target is a group of source files that a silent change would hurt most, and the tests
that hold what those files promise. ``-x`` stops at the first failure, so a killed mutant
costs only the tests before it. A mutant of a target runs only that target's tests (the
run then fits in minutes, not hours). ``only`` restricts a file to some of its definitions
(top-level names, or ``Class.method``) where the whole module would be too slow and mostly
beside the point. ``enums`` are the enums whose sets ``dental/EnumSetMember`` mutates: the
source's name for the enum, to the enum's import path.

Change the table with the code: a test (``test_plan.py``) fails when a file, a definition or
a test it names is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Source:
    path: str
    only: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Target:
    name: str
    what: str
    sources: tuple[Source, ...]
    tests: tuple[str, ...]
    # Tests written to kill this target's survivors. The report lists the mutants they were
    # the first to kill (pytest runs the files of one directory in name order, so "first",
    # not "only": a later file of ``tests`` might have killed some too).
    added: tuple[str, ...] = ()
    enums: dict[str, str] = field(default_factory=dict)
    # Tests of ``tests`` left out: a timing bound that a loaded machine cannot keep at nice 10
    # would fail the unmutated run, or kill mutants for the wrong reason.
    deselect: tuple[str, ...] = ()


ROLE = {"Role": "backend.accounts.models.Role"}
# The modules of backend.accounts.roles.GRANT_MODULES (the audit trail's grant is in accounts').
GRANT_FILES = tuple(
    Source(f"backend/{app}/permissions.py")
    for app in (
        "accounts",
        "patients",
        "resources",
        "scheduling",
        "clinical",
        "treatments",
        "billing",
    )
)

TARGETS: tuple[Target, ...] = (
    Target(
        name="permissions",
        what="roles and permissions: the grants of every domain, the matrix, the checks",
        sources=(
            Source("backend/accounts/roles.py", only=("_MATRIX", "grants", "role_has_permission")),
            Source("graphql_api/core/permissions.py"),
            *GRANT_FILES,
        ),
        tests=(
            "tests/accounts/test_role_matrix.py",
            "tests/accounts/test_auth.py",
        ),
        enums=ROLE,
    ),
    Target(
        name="appointment-transitions",
        what="the appointment lifecycle: its transitions, who may change it, rescheduling and "
        "cancelling",
        sources=(
            Source(
                "backend/scheduling/services.py",
                only=(
                    "TRANSITIONS",
                    "RESCHEDULABLE",
                    "_check_may_change_status",
                    "appointment_change_status",
                    "appointment_reschedule",
                    "appointment_cancel",
                ),
            ),
        ),
        tests=("tests/scheduling/test_lifecycle_and_agenda.py",),
        added=("tests/scheduling/test_rules_without_graphql.py",),
        enums={"S": "backend.scheduling.models.AppointmentStatus"},
    ),
    Target(
        name="plan-transitions",
        what="the treatment plan lifecycle: its transitions and completion",
        sources=(
            Source(
                "backend/treatments/services.py",
                only=(
                    "PLAN_TRANSITIONS",
                    "OPEN_PLAN",
                    "_require_draft",
                    "plan_change_status",
                    "_complete_if_done",
                    "plan_item_complete",
                    # plan_item_complete's steps
                    "_check_completable",
                    "_performed_at",
                    "_chart_item_done",
                ),
            ),
        ),
        tests=("tests/treatments/test_plans.py",),
        enums={"PlanStatus": "backend.treatments.models.PlanStatus"},
    ),
    Target(
        name="receipt-numbering",
        what="receipt numbers: the series lock, issuing and voiding",
        sources=(
            Source(
                "backend/billing/services.py",
                only=(
                    "_next_number",
                    "receipt_issue",
                    # receipt_issue's steps
                    "_charges_to_invoice",
                    "_customer",
                    "_receipt_create",
                    "receipt_void",
                ),
            ),
        ),
        tests=(
            "tests/billing/test_billing.py",
            "tests/billing/test_numbering_concurrency.py",
        ),
        added=("tests/billing/test_receipt_rules.py",),
    ),
    Target(
        name="plan-limits",
        what="plan limits: counting, the clinic lock, the refusal",
        sources=(Source("tenants_core/limits.py"),),
        tests=(
            "tests/tenants_core/test_plans.py",
            "tests/patients/test_patients.py::test_the_plan_limit_counts_patients_that_are_not_archived",
            "tests/accounts/test_staff.py::test_plan_limit_counts_active_users_only",
            "tests/platform/test_platform_api.py::test_a_downgrade_below_usage_is_refused_and_says_what_must_go",
            "tests/platform/test_platform_api.py::test_clinics_lists_clinics_with_limits_and_usage",
            "tests/platform/test_platform_api.py::test_clinics_usage_costs_one_statement_for_the_whole_page",
        ),
        added=("tests/tenants_core/test_plan_limits.py",),
    ),
    Target(
        name="tenancy-routing",
        what="Host → clinic routing: the routing cache and the tenant middleware",
        sources=(Source("tenants_core/routing.py"), Source("tenants_core/middleware.py")),
        tests=(
            "tests/tenants_core/test_routing_cache.py",
            "tests/test_routing_http.py",
            "tests/test_isolation.py",
            "tests/tenants_core/test_routing_database_errors.py",
            "tests/deadlocks/test_conflicts.py::test_the_middleware_answers_a_conflict_409_and_an_outage_503",
        ),
        added=("tests/tenants_core/test_routing_races_and_outages.py",),
        deselect=(
            "tests/tenants_core/test_routing_cache.py::test_every_worker_refuses_a_suspended_clinic_within_a_second",
        ),
    ),
)


def target(name: str) -> Target:
    for candidate in TARGETS:
        if candidate.name == name:
            return candidate
    known = ", ".join(t.name for t in TARGETS)
    raise LookupError(f"no mutation target {name!r} (known: {known})")
