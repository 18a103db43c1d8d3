"""What a front-end developer reads in GraphiQL or in generated types: every type of the
schema is described, every operation is, and so is every field and argument of the front
desk's flow (sign in, find a patient, find a slot, book, read the agenda, sign out).

Out of scope, on purpose: the payload unions, ``OperationInfo``, ``OperationMessage`` and
``OperationMessageKind`` (strawberry-django generates them, the same for every mutation),
the ``Query`` and ``Mutation`` roots, ``id`` fields and arguments (the ``Node`` interface
says what they are) and ``input`` arguments (their input type is described)."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
)

from graphql_api.schema import schema

GENERATED = {"Query", "Mutation", "OperationInfo", "OperationMessage", "OperationMessageKind"}

FRONT_DESK_TYPES = (
    "AuthToken",
    "StaffUser",
    "Patient",
    "Professional",
    "Chair",
    "Slot",
    "Appointment",
    "ScheduleAppointmentInput",
    "RescheduleAppointmentInput",
    # Taking a payment at the front desk.
    "Charge",
    "Receipt",
    "ReceiptLine",
    "Payment",
    "Balance",
)
FRONT_DESK_OPERATIONS = (
    ("Mutation", "login"),
    ("Query", "me"),
    ("Query", "patient"),
    ("Query", "patients"),
    ("Query", "professionals"),
    ("Query", "chairs"),
    ("Query", "availability"),
    ("Query", "appointment"),
    ("Query", "appointments"),
    ("Mutation", "scheduleAppointment"),
    ("Mutation", "rescheduleAppointment"),
    ("Mutation", "changeAppointmentStatus"),
    ("Mutation", "cancelAppointment"),
    ("Mutation", "logout"),
)


def _types():
    return {
        name: graphql_type
        for name, graphql_type in schema._schema.type_map.items()
        if not name.startswith("__")
    }


def test_every_type_has_a_description():
    described = (
        GraphQLObjectType,
        GraphQLInputObjectType,
        GraphQLEnumType,
        GraphQLScalarType,
        GraphQLUnionType,
    )
    missing = [
        name
        for name, graphql_type in _types().items()
        if name not in GENERATED
        and not (isinstance(graphql_type, GraphQLUnionType) and name.endswith("Payload"))
        and isinstance(graphql_type, described)
        and not (graphql_type.description or "").strip()
    ]
    assert missing == []


def test_every_operation_has_a_description():
    missing = [
        f"{root}.{name}"
        for root in ("Query", "Mutation")
        for name, field in _types()[root].fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == []
    assert len(_types()["Query"].fields) + len(_types()["Mutation"].fields) > 100


def test_every_field_of_the_front_desk_types_has_a_description():
    missing = [
        f"{type_name}.{name}"
        for type_name in FRONT_DESK_TYPES
        for name, field in _types()[type_name].fields.items()
        if name != "id" and not (field.description or "").strip()
    ]
    assert missing == []


def test_every_argument_of_the_front_desk_operations_has_a_description():
    missing = [
        f"{root}.{operation}({name})"
        for root, operation in FRONT_DESK_OPERATIONS
        for name, argument in _types()[root].fields[operation].args.items()
        if name not in ("id", "input", "first", "last", "after", "before", "offset")
        and not (argument.description or "").strip()
    ]
    assert missing == []


def test_every_connection_counts_its_items_non_null():
    """A list's ``totalCount`` is always known: codegen must not type it ``number | null``."""
    connections = [name for name in _types() if name.endswith("Connection")]
    assert len(connections) >= 10
    assert [
        name for name in connections if str(_types()[name].fields["totalCount"].type) != "Int!"
    ] == []
